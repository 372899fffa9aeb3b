"""One API call as an I/O-free flow: the sync and async clients only carry out its steps.

``run_flow`` is a generator. It yields ``Send(request, wall)`` and receives the complete
``httpx.Response`` or the exception that stood for it (see ``_transport``); it yields
``Sleep(seconds)`` and receives ``None``. It returns the parsed result or raises the typed
error. Timeouts, the deadlines and logging are decided here, once; whether and when to
retry, by the one ``RetryPolicy`` (``_retry``).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

import httpx

from ._config import attempt_limit
from ._exceptions import APIConnectionError, APITimeoutError, PuretalkError, UnexpectedError
from ._logs import logger
from ._redaction import Secrets
from ._retry import DEFAULT_RETRY_POLICY, Decision, RetryPolicy
from ._transport import (
    RequestParts,
    certificate_problem,
    detached,
    failure_kind,
    may_have_arrived,
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
        "build_request", "clock", "idempotent", "max_retries", "parse", "parts", "policy",
        "secrets", "timeout", "total_timeout",
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
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        idempotent: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.build_request = build_request
        self.parts = parts
        self.parse = parse
        self.secrets = secrets
        self.timeout = timeout
        self.max_retries = max_retries
        self.total_timeout = total_timeout
        self.policy = policy
        self.idempotent = idempotent
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


def transport_error(exc: Exception, request: httpx.Request, secrets: Secrets) -> PuretalkError:
    """The SDK error for an exception a send ended in: the transport failures it knows
    (httpx's, aiohttp's, OS and TLS errors) by kind; anything else is an internal error
    that keeps its traceback, redacted, and is never called a connection error."""
    shown = redacted_request(request, secrets)
    kind = failure_kind(exc)
    arrived = may_have_arrived(exc)
    if kind == "timeout":
        message = f"Request timed out ({type(exc).__name__})."
        return APITimeoutError(message, request=shown, may_have_been_applied=arrived)
    if kind == "certificate":
        # A certificate that failed verification fails again: never retried.
        why = secrets.redact(certificate_problem(exc))
        message = f"Connection error: certificate verification failed ({why})."
        return APIConnectionError(
            message, request=shown, may_have_been_applied=False, retryable=False
        )
    if kind == "connection":
        message = f"Connection error ({type(exc).__name__})."
        return APIConnectionError(message, request=shown, may_have_been_applied=arrived)
    error = UnexpectedError(
        f"Unexpected error inside the SDK or its HTTP transport ({type(exc).__name__}); "
        "not a connection problem, and the change may have been applied. Please report it."
    )
    # The original's frames hold the request (key and all) in their locals: the traceback
    # travels as redacted text, and the cause as a redacted copy without frames.
    text = "".join(traceback.format_exception(exc))
    error.add_note("The original traceback (redacted):\n" + secrets.redact(text))
    return error


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
    applied = False  # whether any attempt so far may have applied the change
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
        if isinstance(outcome, httpx.Response):
            result = str(outcome.status_code)
            try:
                parsed = options.parse(outcome, secrets)
            except PuretalkError as exc:  # parse() raises the typed error a response stands for
                error: PuretalkError = exc
                cause: Exception | None = None
            else:
                _log_attempt(request, result, elapsed, attempt, attempts, "no retry")
                return outcome, parsed
        else:
            assert outcome is not None
            result = type(outcome).__name__
            error = transport_error(outcome, request, secrets)
            cause = detached(outcome, secrets)
        last_error = error
        # "May have been applied" is about the call: an earlier attempt may have applied it.
        applied = error.may_have_been_applied = applied or error.may_have_been_applied
        decision = options.policy.decide(
            error, attempt - 1, options.max_retries, idempotent=options.idempotent
        )
        if decision.retry and attempt == attempts:
            # A single call charges every retry, a server-named pause too: it always ends.
            decision = Decision(False, 0.0, True, "giving up")
        if decision.retry and deadline is not None and clock() + decision.delay >= deadline:
            _log_attempt(request, result, elapsed, attempt, attempts, "total_timeout; giving up")
            break
        _log_attempt(request, result, elapsed, attempt, attempts, decision.reason)
        if not decision.retry:
            if cause is None:
                raise error
            raise error from cause
        yield Sleep(decision.delay)
    raise APITimeoutError(
        f"total_timeout of {options.total_timeout} s ran out"
        + (f"; last error: {last_error.message}" if last_error else ""),
        may_have_been_applied=applied,
    ) from last_error
