"""When to retry and how long to wait. No I/O: the clock and randomness are passed in.

delay(n) = min(INITIAL_DELAY * 2**n, MAX_DELAY) * (1 - JITTER * u),  u uniform in [0, 1)
where n counts the retries already made (0 for the first retry). A server's
``retry-after-ms`` or ``Retry-After`` (seconds or HTTP-date) wins when it lies in
[0, MAX_RETRY_AFTER]; a longer ask means no retry at all (decided in ``_call``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping

__all__ = ["is_retryable_status", "retry_after", "retry_delay"]

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
JITTER = 0.25
MAX_RETRY_AFTER = 60.0

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
    """Seconds the server asks us to wait, or None when it does not say (or says nonsense)."""
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


def retry_delay(
    retries_taken: int,
    asked: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to sleep before the next attempt; `asked` is the server's retry_after."""
    if asked is not None and 0 <= asked <= MAX_RETRY_AFTER:
        return asked
    backoff = min(INITIAL_DELAY * 2.0**retries_taken, MAX_DELAY)
    return backoff * (1.0 - JITTER * rng())
