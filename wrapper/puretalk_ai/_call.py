"""One API call as an I/O-free flow: the sync and async clients only carry out its steps.

``run_flow`` is a generator. It yields ``Send(parts, timeout, wall)`` and receives the complete
``httpx.Response`` or the exception that stood for it (see ``_transport``); it yields
``Sleep(seconds)`` and receives ``None``. It returns the parsed result or raises the typed
error. Timeouts, the deadlines and logging are decided here, once; whether and when to
retry, by the one ``RetryPolicy`` (``_retry``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

from ._config import attempt_limit
from ._exceptions import APITimeoutError, PuretalkError
from ._failures import transport_error
from ._httpx import httpx
from ._logs import logger
from ._redaction import Secrets, detached
from ._request import RequestParts
from ._retry import DEFAULT_RETRY_POLICY, Decision, RetryPolicy

__all__ = ["CallOptions", "Flow", "Send", "Sleep", "run_flow"]

T = TypeVar("T")


# Plain slotted classes: these are built on every call, where attrs' frozen __init__ costs.
class Send:
    """Build the request from ``parts`` with ``timeout`` and send it; the whole attempt must
    end within ``wall`` seconds (None: no limit). The shell's sender builds it (its own
    client's way, or a user's client's ``build_request``), so the flow never calls back."""

    __slots__ = ("parts", "timeout", "wall")

    def __init__(self, parts: RequestParts, timeout: httpx.Timeout, wall: float | None) -> None:
        self.parts = parts
        self.timeout = timeout
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
        "clock", "idempotent", "max_retries", "parse", "parts", "policy", "secrets",
        "timeout", "total_timeout",
    )  # fmt: skip

    def __init__(
        self,
        *,
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


def _path(parts: RequestParts) -> str:
    return parts.url.raw_path.split(b"?", 1)[0].decode("ascii")


def _sent(parts: RequestParts) -> httpx.Request:
    """The request as sent, for the redacted copy on a transport error."""
    return httpx.Request(parts.method, parts.url, headers=parts.headers, content=parts.content)


def _log_attempt(
    parts: RequestParts,
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
            parts.method,
            _path(parts),
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
        parts = options.parts
        started = clock()
        outcome = yield Send(parts, timeout, wall)
        elapsed = clock() - started
        if isinstance(outcome, httpx.Response):
            result = str(outcome.status_code)
            try:
                parsed = options.parse(outcome, secrets)
            except PuretalkError as exc:  # parse() raises the typed error a response stands for
                error: PuretalkError = exc
                cause: Exception | None = None
            else:
                _log_attempt(parts, result, elapsed, attempt, attempts, "no retry")
                return outcome, parsed
        else:
            assert outcome is not None
            result = type(outcome).__name__
            error = transport_error(outcome, _sent(parts), secrets)
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
            _log_attempt(parts, result, elapsed, attempt, attempts, "total_timeout; giving up")
            break
        _log_attempt(parts, result, elapsed, attempt, attempts, decision.reason)
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
