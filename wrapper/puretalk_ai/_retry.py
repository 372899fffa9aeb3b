"""The one retry policy: what is retried, how long to wait, when to give up. No I/O.

``RetryPolicy.decide`` takes the typed error an attempt ended in and answers for
``integrations.update``, ``client.call`` and ``update_many`` alike:

- retried: a lost connection or a timeout (not a certificate that failed verification:
  it fails again), a retryable status (408, 409, 429, >= 500), a 2xx whose body was lost
  on the way (a retry may confirm the change);
- never retried: any other status, a 2xx that reports an error or is unusable, an
  unexpected (internal) error, or anything on a non-idempotent request (POST: a retry
  could apply it twice);
- the wait: the server's ``retry-after-ms`` or ``Retry-After`` when it lies in
  (0, max_retry_after]; otherwise ``min(initial_delay * 2**n, max_delay) * (1 - jitter*u)``
  where n counts the retries already made and u is uniform in [0, 1). An ask of zero or a
  date in the past is no ask (the backoff applies, so a server cannot make a hot loop);
  an ask beyond ``max_retry_after`` means no retry at all;
- the budget: a retry is charged to ``max_retries``, except a 429's server-named pause
  (``charged=False``). A single call charges every retry anyway, so it always ends; in
  ``update_many`` the pacer owns the batch's rate, and a named pause never fails an item.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping

import attrs

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    PuretalkError,
)

__all__ = ["Decision", "RetryPolicy", "is_retryable_status", "retry_after"]

_RETRYABLE = frozenset({408, 409, 429})


def is_retryable_status(status_code: int) -> bool:
    return status_code >= 500 or status_code in _RETRYABLE


def _finite(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asks us to wait, or None when it does not say (or says nonsense).
    A date in the past gives a negative number: the policy treats it as no ask."""
    ms = headers.get("retry-after-ms")
    if ms is not None and (value := _finite(ms)) is not None:
        return value / 1000.0
    header = headers.get("retry-after")
    if header is None:
        return None
    if (value := _finite(header)) is not None:
        return value
    import email.utils  # rare: only for an HTTP-date Retry-After

    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.timestamp() - now()


class Decision:
    """What to do after a failed attempt. Plain slotted class: built on every failure."""

    __slots__ = ("charged", "delay", "reason", "retry", "too_long")

    retry: bool
    delay: float  # seconds to wait before the next attempt (0 when not retrying)
    charged: bool  # whether the retry uses up one of max_retries
    reason: str  # for the log line: "retrying in ...", "giving up", ...
    too_long: bool  # the server asked for a pause beyond max_retry_after

    def __init__(
        self, retry: bool, delay: float, charged: bool, reason: str, too_long: bool = False
    ) -> None:
        self.retry = retry
        self.delay = delay
        self.charged = charged
        self.reason = reason
        self.too_long = too_long

    def __repr__(self) -> str:
        return (
            f"Decision(retry={self.retry}, delay={self.delay:.3f}, charged={self.charged}, "
            f"reason={self.reason!r})"
        )


def _check_delay(name: str) -> Callable[[object, attrs.Attribute[float], float], None]:
    def check(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")

    return check


def _check_jitter(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"jitter must be a number, not {type(value).__name__}")
    if not 0 <= value <= 1:
        raise ValueError(f"jitter must be within [0, 1], got {value!r}")


@attrs.frozen(slots=True)
class RetryPolicy:
    """How failed attempts are retried: pass ``retry_policy=RetryPolicy(...)`` to a client
    (``max_retries`` stays the client's budget). The defaults suit the real API."""

    initial_delay: float = attrs.field(default=0.5, validator=_check_delay("initial_delay"))
    max_delay: float = attrs.field(default=8.0, validator=_check_delay("max_delay"))
    jitter: float = attrs.field(default=0.25, validator=_check_jitter)
    max_retry_after: float = attrs.field(default=60.0, validator=_check_delay("max_retry_after"))

    def backoff(self, retries_taken: int, rng: Callable[[], float] = random.random) -> float:
        """The wait before retry number ``retries_taken + 1`` when the server names none."""
        delay = min(self.initial_delay * 2.0 ** min(retries_taken, 64), self.max_delay)
        return delay * (1.0 - self.jitter * rng())

    def server_pause(self, error: PuretalkError) -> float | None:
        """The pause the server named with this error that the policy waits out: within
        (0, max_retry_after]. None when it names none, zero, a date past, or a longer one."""
        asked = error.retry_after if isinstance(error, APIStatusError) else None
        return asked if asked is not None and 0 < asked <= self.max_retry_after else None

    def decide(
        self,
        error: PuretalkError,
        retries_taken: int,
        max_retries: int,
        *,
        idempotent: bool = True,
        rng: Callable[[], float] = random.random,
    ) -> Decision:
        """Retry or not, after how long, and whether it uses up the budget.

        ``retries_taken`` counts the charged retries already made."""
        if not idempotent:
            return Decision(False, 0.0, False, "no retry (not idempotent)")
        status = error.status_code if isinstance(error, APIStatusError) else None
        if isinstance(error, APIConnectionError):
            retryable = error.retryable
        elif status is not None:
            retryable = is_retryable_status(status)
        elif isinstance(error, APIResponseValidationError):
            retryable = error.body_incomplete
        else:  # a reported error, an unusable success, an unexpected error
            retryable = False
        if not retryable:
            return Decision(False, 0.0, False, "no retry")
        asked = error.retry_after if isinstance(error, APIStatusError) else None
        if asked is not None and asked > self.max_retry_after:
            # The server asked for a longer pause than we would ever sleep: hammering it
            # sooner is rude and pointless, so the caller gets the error (and retry_after).
            reason = f"server asks {asked:.0f} s; giving up"
            return Decision(False, 0.0, False, reason, too_long=True)
        pause = self.server_pause(error)
        charged = not (pause is not None and status == 429)
        if charged and retries_taken >= max_retries:
            return Decision(False, 0.0, True, "giving up" if max_retries else "no retry")
        delay = pause if pause is not None else self.backoff(retries_taken, rng)
        return Decision(True, delay, charged, f"retrying in {delay:.3f} s")


DEFAULT_RETRY_POLICY = RetryPolicy()
