"""One API call as an I/O-free flow: the sync and async clients only carry out its steps.

``run_flow`` is a generator. It yields ``Send(parts, timeout, wall)`` and receives the
``Received`` response or the exception that stood for it (see ``_transport``); it yields
``Sleep(seconds)`` and receives ``None``. It returns the parsed result or raises the typed
error. Timeouts, the deadlines and logging are decided here, once; whether and when to
retry, by the one ``RetryPolicy`` (``_retry``).

A call inside ``update_many`` is this same flow with a ``Gate`` (``_bulk``): consulted
before every send, retries included, it paces the batch, holds it through a pause the
server asked for, and stops it; it learns from every attempt's outcome. That is all a
batch adds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Mapping
from typing import Generic, Protocol, TypeVar

from ._config import attempt_limit
from ._exceptions import APITimeoutError, PuretalkError
from ._failures import transport_error
from ._httpx import httpx
from ._logs import logger
from ._redaction import Secrets, detached
from ._request import RequestParts
from ._response import Parsed, Received
from ._retry import DEFAULT_RETRY_POLICY, Decision, RetryPolicy

__all__ = ["CallOptions", "Flow", "Gate", "NotSent", "Send", "Sleep", "run_flow"]

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
Outcome = Received | Exception | None
Flow = Generator[Step, Outcome, T]


class NotSent(Exception):
    """The call's gate stopped it before its first send (a stopped batch): nothing was
    sent. Internal: ``update_many`` reports the id as ``not_sent`` with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Gate(Protocol):
    """What a batch shares among its calls (see ``_bulk.ItemGate``). No I/O: every method
    takes ``now``."""

    free_retries: int  # retries on a server-named 429 pause not charged to max_retries

    def admit(self, now: float) -> float | str | None:
        """Before every send: None to send now, seconds to wait and ask again, or the
        reason the batch stopped."""

    def answered(
        self,
        error: PuretalkError | None,
        headers: Mapping[str, str] | None,
        decision: Decision | None,
        sent_at: float,
        now: float,
    ) -> None:
        """After every attempt: its error (None for a success), the response's headers
        when there was a response, and the retry decision (None for a success)."""


class CallOptions(Generic[T]):
    """What one call needs; the parse function turns a response into ``Parsed[T]`` or
    raises the typed error (told whether an earlier attempt may have applied the call)."""

    __slots__ = (
        "clock", "gate", "idempotent", "max_retries", "parse", "parts", "policy", "secrets",
        "timeout", "total_timeout",
    )  # fmt: skip

    def __init__(
        self,
        *,
        parts: RequestParts,
        parse: Callable[[Received, Secrets, bool], Parsed[T]],
        secrets: Secrets,
        timeout: httpx.Timeout,
        max_retries: int,
        total_timeout: float | None,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        idempotent: bool = True,
        gate: Gate | None = None,
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
        self.gate = gate
        self.clock = clock

    def __repr__(self) -> str:  # parts and secrets hold keys: never shown
        return f"CallOptions(max_retries={self.max_retries}, timeout={self.timeout})"


class Result(Generic[T]):
    """What a call that succeeded returns: the response, the parsed result, the retries."""

    __slots__ = ("parsed", "response", "retries_taken")

    def __init__(self, response: httpx.Response, parsed: Parsed[T], retries_taken: int) -> None:
        self.response = response
        self.parsed = parsed
        self.retries_taken = retries_taken


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
    parts: RequestParts, result: str, elapsed: float, attempt: int, attempts: int, then: str
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


def _charge(decision: Decision, charged: int, free: int, max_retries: int) -> Decision:
    """The budget: a retry the policy does not charge (a 429's server-named pause) is free
    while the call has free retries left (a batch's allowance; a single call has none, so
    it always ends); otherwise it is charged like any other."""
    if not decision.retry or decision.charged or free > 0:
        return decision
    if charged >= max_retries:
        return Decision(False, 0.0, True, "giving up" if max_retries else "no retry")
    return Decision(True, decision.delay, True, decision.reason)


def _through(
    gate: Gate, clock: Callable[[], float], deadline: float | None
) -> Generator[Sleep, Outcome, str | bool]:
    """Wait at the gate: True to send now, False when the deadline comes first, or the
    reason the batch stopped."""
    while (admitted := gate.admit(clock())) is not None:
        if isinstance(admitted, str):
            return admitted
        if deadline is not None and clock() + admitted >= deadline:
            return False
        yield Sleep(admitted)
    return True


def run_flow(options: CallOptions[T]) -> Flow[Result[T]]:
    """The whole call: the gate, attempts, classification, retries and the deadlines."""
    clock = options.clock
    secrets = options.secrets
    gate = options.gate
    free = initial_free = gate.free_retries if gate is not None else 0
    limit = attempt_limit(options.timeout)
    deadline: float | None = None  # set at the first send: waiting at a gate is not the call's
    last_error: PuretalkError | None = None
    cause: Exception | None = None
    applied = False  # whether any attempt so far may have applied the change
    attempt = charged = 0
    while True:
        if gate is not None:
            passed = yield from _through(gate, clock, deadline)
            if isinstance(passed, str):  # the batch stopped
                if last_error is None:
                    raise NotSent(passed)
                raise last_error from cause
            if not passed:
                break  # total_timeout runs out while the batch waits
        timeout, wall = options.timeout, limit
        if options.total_timeout is not None:
            if deadline is None:
                deadline = clock() + options.total_timeout
            remaining = deadline - clock()
            if remaining <= 0:
                break
            timeout = _attempt_timeout(timeout, remaining)
            wall = remaining if wall is None else min(wall, remaining)
        parts = options.parts
        attempt += 1
        started = clock()
        outcome = yield Send(parts, timeout, wall)
        elapsed = clock() - started
        headers: Mapping[str, str] | None = None
        if isinstance(outcome, Received):
            result = str(outcome.response.status_code)
            headers = outcome.response.headers
            try:
                parsed = options.parse(outcome, secrets, applied)
            except PuretalkError as exc:  # parse() raises the typed error a response stands for
                error: PuretalkError = exc
                cause = None
            else:
                if gate is not None:
                    gate.answered(None, headers, None, started, clock())
                _log_attempt(parts, result, elapsed, attempt, options.max_retries + 1, "no retry")
                return Result(outcome.response, parsed, attempt - 1)
        else:
            assert outcome is not None
            result = type(outcome).__name__
            error = transport_error(outcome, _sent(parts), secrets, applied)
            cause = detached(outcome, secrets)
        # "May have been applied" is about the call: each error is built knowing whether an
        # earlier attempt may have applied it (``applied`` above), and says so itself.
        applied = error.may_have_been_applied
        # The one place every error of an attempt passes: it learns how many retries came
        # before it, before it leaves the flow.
        error.retries_taken = attempt - 1
        last_error = error
        decision = options.policy.decide(
            error, charged, options.max_retries, idempotent=options.idempotent
        )
        decision = _charge(decision, charged, free, options.max_retries)
        if decision.retry:
            if decision.charged:
                charged += 1
            else:
                free -= 1
        if gate is not None:
            gate.answered(error, headers, decision, started, clock())
        attempts = options.max_retries + 1 + (initial_free - free)
        if decision.retry and deadline is not None and clock() + decision.delay >= deadline:
            _log_attempt(parts, result, elapsed, attempt, attempts, "total_timeout; giving up")
            break
        _log_attempt(parts, result, elapsed, attempt, attempts, decision.reason)
        if not decision.retry:
            if cause is None:
                raise error
            raise error from cause
        yield Sleep(decision.delay)
    timed_out = APITimeoutError(
        f"total_timeout of {options.total_timeout} s ran out"
        + (f"; last error: {last_error.message}" if last_error else ""),
        may_have_been_applied=applied,
    )
    timed_out.retries_taken = max(attempt - 1, 0)
    raise timed_out from last_error
