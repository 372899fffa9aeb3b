"""One API call as an I/O-free flow: the sync and async clients only carry out its steps.

``update_flow`` is a generator. It yields ``Send(request)`` and receives the
``httpx.Response`` or the ``httpx.RequestError`` the client got; it yields
``Sleep(seconds)`` and receives ``None``. It returns the parsed result or raises the
typed error. Retries, timeouts, the total deadline and logging are decided here, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import httpx

from ._exceptions import APIConnectionError, APITimeoutError, PuretalkError
from ._logs import logger
from ._retry import is_retryable_status, retry_delay

__all__ = ["CallOptions", "Flow", "Send", "Sleep", "run_flow"]

T = TypeVar("T")


# Plain slotted classes: these are built on every call, where attrs' frozen __init__ costs.
class Send:
    __slots__ = ("request",)

    def __init__(self, request: httpx.Request) -> None:
        self.request = request


class Sleep:
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


Step = Send | Sleep
Outcome = httpx.Response | httpx.RequestError | None
Flow = Generator[Step, Outcome, T]


class CallOptions(Generic[T]):
    """What one call needs; the parse function turns a response into T or raises."""

    __slots__ = (
        "build_request", "clock", "max_retries", "parse", "request_parts", "secrets",
        "timeout", "total_timeout",
    )  # fmt: skip

    def __init__(
        self,
        *,
        build_request: Callable[..., httpx.Request],
        request_parts: Mapping[str, Any],
        parse: Callable[[httpx.Response, Sequence[str]], T],
        secrets: Sequence[str],
        timeout: httpx.Timeout,
        max_retries: int,
        total_timeout: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.build_request = build_request
        self.request_parts = request_parts
        self.parse = parse
        self.secrets = secrets
        self.timeout = timeout
        self.max_retries = max_retries
        self.total_timeout = total_timeout
        self.clock = clock

    def __repr__(self) -> str:  # request_parts and secrets hold keys: never shown
        return f"CallOptions(max_retries={self.max_retries}, timeout={self.timeout})"


def _attempt_timeout(timeout: httpx.Timeout, remaining: float) -> httpx.Timeout:
    """Each phase of the attempt bounded by what is left of the total deadline."""

    def clamp(value: float | None) -> float:
        return remaining if value is None else min(value, remaining)

    return httpx.Timeout(
        connect=clamp(timeout.connect),
        read=clamp(timeout.read),
        write=clamp(timeout.write),
        pool=clamp(timeout.pool),
    )


def _transport_error(
    exc: httpx.RequestError, request: httpx.Request
) -> tuple[APIConnectionError, bool]:
    """The SDK error for a failed request and whether retrying it may help."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out ({type(exc).__name__}).", request=request), True
    retryable = isinstance(exc, httpx.TransportError)
    return APIConnectionError(
        f"Connection error ({type(exc).__name__}).", request=request
    ), retryable


def _log_attempt(
    request: httpx.Request,
    result: str,
    elapsed: float,
    attempt: int,
    attempts: int,
    delay: float | None,
) -> None:
    then = f"retrying in {delay:.3f} s" if delay is not None else "no retry"
    logger.debug(
        "%s %s -> %s in %.1f ms (attempt %d/%d; %s)",
        request.method,
        request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
        result,
        elapsed * 1000.0,
        attempt,
        attempts,
        then,
    )


def run_flow(options: CallOptions[T]) -> Flow[tuple[httpx.Response, T]]:
    """The whole call: attempts, classification, retries and the deadline."""
    clock = options.clock
    attempts = options.max_retries + 1
    deadline = None if options.total_timeout is None else clock() + options.total_timeout
    debug = logger.isEnabledFor(logging.DEBUG)
    last_error: PuretalkError | None = None
    for attempt in range(1, attempts + 1):
        timeout = options.timeout
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            timeout = _attempt_timeout(timeout, remaining)
        request = options.build_request(**options.request_parts, timeout=timeout)
        started = clock()
        outcome = yield Send(request)
        elapsed = clock() - started
        if isinstance(outcome, httpx.Response):
            status = outcome.status_code
            retryable = is_retryable_status(status) and attempt < attempts
            if not retryable:
                if debug:
                    _log_attempt(request, str(status), elapsed, attempt, attempts, None)
                return outcome, options.parse(outcome, options.secrets)
            # parse() raises the typed error for a non-2xx status.
            try:
                options.parse(outcome, options.secrets)
            except PuretalkError as exc:
                last_error = exc
            headers: Mapping[str, str] | None = outcome.headers
            result = str(status)
        else:
            assert outcome is not None
            last_error, retryable = _transport_error(outcome, request)
            headers = None
            result = type(outcome).__name__
            if not retryable or attempt == attempts:
                if debug:
                    _log_attempt(request, result, elapsed, attempt, attempts, None)
                raise last_error from outcome
        delay = retry_delay(attempt - 1, headers)
        if deadline is not None and clock() + delay >= deadline:
            if debug:
                _log_attempt(request, result, elapsed, attempt, attempts, None)
            break
        if debug:
            _log_attempt(request, result, elapsed, attempt, attempts, delay)
        yield Sleep(delay)
    raise APITimeoutError(
        f"total_timeout of {options.total_timeout} s ran out"
        + (f"; last error: {last_error.message}" if last_error else ""),
    ) from last_error
