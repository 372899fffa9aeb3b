"""The fake's rate limiters, the two kinds real servers use. No I/O, no clock of their own.

``admit(now)`` returns None when the request may pass, else the seconds until one would.
"""

from __future__ import annotations

import math
from typing import Literal, Protocol

__all__ = ["FixedWindow", "Limiter", "LimiterKind", "TokenBucket", "make_limiter"]

LimiterKind = Literal["token-bucket", "fixed-window"]


class Limiter(Protocol):
    rate: float

    def admit(self, now: float) -> float | None: ...


class TokenBucket:
    """``rate`` per second, with a bucket of a tenth of a second's worth (at least one)."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.size = max(1.0, rate / 10)
        self._tokens = self.size
        self._refilled = now

    def admit(self, now: float) -> float | None:
        elapsed = max(0.0, now - self._refilled)
        self._tokens = min(self.size, self._tokens + elapsed * self.rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.rate


class FixedWindow:
    """At most ``rate * window`` requests in each ``window`` seconds, counted from clock
    multiples of the window (as a server counting per calendar second does)."""

    def __init__(self, rate: float, window: float) -> None:
        self.rate = rate
        self.window = window
        self.quota = max(1, round(rate * window))
        self._start = -math.inf
        self._count = 0

    def admit(self, now: float) -> float | None:
        start = math.floor(now / self.window) * self.window
        if start != self._start:
            self._start, self._count = start, 0
        if self._count < self.quota:
            self._count += 1
            return None
        return start + self.window - now


def make_limiter(rate: float, kind: LimiterKind, window: float, now: float) -> Limiter:
    if kind == "token-bucket":
        return TokenBucket(rate, now)
    if kind == "fixed-window":
        return FixedWindow(rate, window)
    raise ValueError('rate_limiter must be "token-bucket" or "fixed-window"')
