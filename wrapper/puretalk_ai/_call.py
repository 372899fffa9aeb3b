"""One API call as an I/O-free flow: the sync and async clients only carry out its steps.

``run_flow`` is a generator. It yields ``Send(request, wall)`` and receives the complete
``httpx.Response`` or the exception that stood for it (see ``_transport``); it yields
``Sleep(seconds)`` and receives ``None``. It returns the parsed result or raises the typed
error. Retries, timeouts, the deadlines and logging are decided here, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

import httpx

from ._config import attempt_limit
from ._exceptions import APIConnectionError, APIStatusError, APITimeoutError, PuretalkError
from ._logs import logger
from ._redaction import Secrets
from ._retry import MAX_RETRY_AFTER, is_retryable_status, retry_delay
from ._transport import (
    BROKEN,
    RequestParts,
    certificate_problem,
    detached,
    failure_kind,
    redacted_request,
)

__all__ = ["CallOptions", "Flow", "Send", "Sleep", "run_flow"]

T = TypeVar("T")


# Plain slotted classes: these are built on every call, where attrs' frozen __init__ costs.
class Send:
    """Send this request; the whole attempt must end within ``wall`` seconds (None: no limit)."""

    __slots__ = ("request", "wall")

    def __init__(self, request: httpx.Request, wall: float | None) -> None:
        self.request = request
        self.wall = wall


class Sleep:
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


Step = Send | Sleep
Outcome = httpx.Response | Exception | None
Flow = Generator[Step, Outcome, T]


class CallOptions(Generic[T]):
    """What one call needs; the parse function turns a response into T or raises."""

    __slots__ = (
        "build_request", "clock", "max_retries", "parse", "parts", "secrets",
        "timeout", "total_timeout",
    )  # fmt: skip

    def __init__(
        self,
        *,
        build_request: Callable[[RequestParts, httpx.Timeout], httpx.Request],
        parts: RequestParts,
        parse: Callable[[httpx.Response, Secrets], T],
        secrets: Secrets,
        timeout: httpx.Timeout,
        max_retries: int,
        total_timeout: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.build_request = build_request
        self.parts = parts
        self.parse = parse
        self.secrets = secrets
        self.timeout = timeout
        self.max_retries = max_retries
        self.total_timeout = total_timeout
        self.clock = clock

    def __repr__(self) -> str:  # parts and secrets hold keys: never shown
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
    exc: Exception, request: httpx.Request, secrets: Secrets
) -> tuple[APIConnectionError, bool]:
    """The SDK error for a failed request and whether retrying it may help."""
    shown = redacted_request(request, secrets)
    kind = failure_kind(exc)
    if kind == "timeout":
        return APITimeoutError(f"Request timed out ({type(exc).__name__}).", request=shown), True
    if kind == "certificate":
        # A certificate that failed verification fails again: never retried.
        why = secrets.redact(certificate_problem(exc))
        message = f"Connection error: certificate verification failed ({why})."
        return APIConnectionError(message, request=shown), False
    return (
        APIConnectionError(f"Connection error ({type(exc).__name__}).", request=shown),
        kind == "connection",
    )


def _path(request: httpx.Request) -> str:
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


def _log_attempt(
    request: httpx.Request,
    result: str,
    elapsed: float,
    attempt: int,
    attempts: int,
    then: str,
) -> None:
    # DEBUG: every attempt. INFO: only the attempts that lead to a retry or a give-up.
    level = logging.DEBUG if then == "no retry" else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "%s %s -> %s in %.1f ms (attempt %d/%d; %s)",
            request.method,
            _path(request),
            result,
            elapsed * 1000.0,
            attempt,
            attempts,
            then,
        )


def run_flow(options: CallOptions[T]) -> Flow[tuple[httpx.Response, T]]:
    """The whole call: attempts, classification, retries and the deadlines."""
    clock = options.clock
    secrets = options.secrets
    attempts = options.max_retries + 1
    deadline = None if options.total_timeout is None else clock() + options.total_timeout
    limit = attempt_limit(options.timeout)
    last_error: PuretalkError | None = None
    for attempt in range(1, attempts + 1):
        timeout = options.timeout
        wall = limit
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            timeout = _attempt_timeout(timeout, remaining)
            wall = remaining if wall is None else min(wall, remaining)
        request = options.build_request(options.parts, timeout)
        started = clock()
        outcome = yield Send(request, wall)
        elapsed = clock() - started
        asked: float | None = None
        if isinstance(outcome, httpx.Response):
            status = outcome.status_code
            # A 2xx whose body was lost on the way is retried like a lost connection: the
            # next answer may confirm the change (the last one says it may have applied).
            retryable = is_retryable_status(status) or (
                200 <= status < 300 and BROKEN in outcome.extensions
            )
            if not (retryable and attempt < attempts):
                then = "giving up" if retryable and attempts > 1 else "no retry"
                _log_attempt(request, str(status), elapsed, attempt, attempts, then)
                return outcome, options.parse(outcome, secrets)
            # parse() raises the typed error for a non-2xx status.
            try:
                options.parse(outcome, secrets)
            except PuretalkError as exc:
                last_error = exc
            if isinstance(last_error, APIStatusError):
                asked = last_error.retry_after
            result = str(status)
        else:
            assert outcome is not None
            last_error, retryable = _transport_error(outcome, request, secrets)
            result = type(outcome).__name__
            if not retryable or attempt == attempts:
                _log_attempt(request, result, elapsed, attempt, attempts, "giving up")
                raise last_error from detached(outcome, secrets)
        if asked is not None and asked > MAX_RETRY_AFTER:
            # The server asked for a longer pause than we would ever sleep: hammering it
            # sooner is rude and pointless, so the caller gets the error (and retry_after).
            _log_attempt(
                request, result, elapsed, attempt, attempts, f"server asks {asked:.0f} s; giving up"
            )
            assert last_error is not None
            raise last_error
        delay = retry_delay(attempt - 1, asked)
        if deadline is not None and clock() + delay >= deadline:
            _log_attempt(request, result, elapsed, attempt, attempts, "total_timeout; giving up")
            break
        _log_attempt(request, result, elapsed, attempt, attempts, f"retrying in {delay:.3f} s")
        yield Sleep(delay)
    raise APITimeoutError(
        f"total_timeout of {options.total_timeout} s ran out"
        + (f"; last error: {last_error.message}" if last_error else ""),
    ) from last_error
