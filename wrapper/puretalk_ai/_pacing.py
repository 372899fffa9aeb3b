"""How fast a bulk rotation sends: a client-side token bucket whose rate is learnt from the
server's 429s. No I/O and no clock of its own: every method takes ``now``.

The algorithm is the one AWS SDKs ship as their "adaptive" retry mode, itself TCP CUBIC
(RFC 9438) applied to a request rate instead of a window:

- until the first 429 the rate starts at START_RATE and doubles every DOUBLING seconds,
  never past twice the rate of what came back lately (TCP's slow start, in time);
- on a 429 (once per congestion event: answers to requests sent before the last decrease
  say nothing new), the limit is estimated from what the server *delivered* over the last
  second, counting the pause it asked for; the new rate is BETA times the lower of that
  estimate and the current rate;
- while no 429 comes, the rate follows the CUBIC curve back to the estimate in CUBIC_K
  seconds, stays near it, then probes further up, ever faster;
- the estimate is never below the most the server delivered in a second lately (a max
  filter, as BBR's bandwidth estimate): 429s that come whatever the rate (a per-key rule,
  a fault) cannot ratchet the batch down to nothing;
- the rate never runs ahead of twice the delivered rate (when latency or concurrency,
  not the server, is what limits the batch, the bucket has nothing to learn);
- ``RateLimit-Policy: q;w=s`` (IETF httpapi draft), or a limit with its window, when a
  server sends them, cap the rate from the first response that carries them.

Why these choices: measuring delivered successes instead of sent requests makes the
estimate the server's limit itself (a saturated server delivers exactly its limit), so one
decrease lands below it and the batch keeps >= 85 % of the allowed rate; CUBIC's plateau
near the last limit keeps the share of 429s low, and its convex probe finds a limit that
rose. ``scripts/bench_bulk.py`` sweeps rates, latencies, concurrency and limiter kinds.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping

__all__ = ["BETA", "CUBIC_K", "Pacer", "policy_rate"]

START_RATE = 10.0  # requests per second at the start of a batch
DOUBLING = 0.1  # the longest the start-up rate takes to double, until the first 429
MIN_DOUBLING = 0.05  # ... and the shortest: the round trip, measured, lies in between
UNPACED = 20_000.0  # a start-up rate past this paces nothing: latency limits the batch
BETA = 0.9  # the share of the estimated limit kept after a 429
CUBIC_K = 2.0  # seconds to climb back to the estimate after a decrease
WINDOW = 1.0  # seconds of deliveries that estimate the server's limit
MIN_RATE = 0.5  # requests per second, the slowest the bucket ever gets by itself
POLICY_FLOOR = 1e-3  # the slowest an announced policy may cap it (_bulk stops far sooner)
MIN_SPAN = 0.25  # seconds of saturation that make a measurement
PEAK_MEMORY = 10.0  # seconds a delivery peak is remembered as proof of the server's limit
_CUBIC_C = (1.0 - BETA) / CUBIC_K**3  # scale-free: a fraction of the estimate per s^3


def policy_rate(headers: Mapping[str, str]) -> float | None:
    """The rate a response's rate-limit headers announce (requests per second), or None.

    ``RateLimit-Policy: 100;w=60`` (the IETF draft; also ``"name";q=100;w=60``), or a limit
    with its window in seconds (``X-RateLimit-Limit: 100`` with ``X-RateLimit-Window:
    60``); anything else is ignored rather than guessed at (a bare limit says nothing of
    its window). Whatever the values, the answer is None or a finite number >= 0: a rate
    past UNPACED paces nothing (None), and one too slow to wait for is the caller's to
    refuse (``_bulk`` stops the batch).
    """
    policy = headers.get("ratelimit-policy")
    if policy:
        first = policy.split(",", 1)[0]
        quota, *params = (p.strip() for p in first.split(";"))
        named = {p[:2]: p[2:] for p in params if p[:2] in ("q=", "w=")}
        return _ratio(named.get("q=", quota), named.get("w="))
    limit = headers.get("x-ratelimit-limit") or headers.get("ratelimit-limit")
    window = headers.get("x-ratelimit-window") or headers.get("ratelimit-window")
    if limit and window:
        return _ratio(limit, window)
    return None


def _ratio(quota: str | None, window: str | None) -> float | None:
    try:
        q, w = float(quota or ""), float(window or "")
    except (ValueError, OverflowError):
        return None
    if not (math.isfinite(q) and math.isfinite(w)) or q <= 0 or w <= 0:
        return None
    rate = q / w  # may overflow to inf or underflow to 0: both are answered below
    if not math.isfinite(rate) or rate > UNPACED:
        return None
    return rate


class Pacer:
    """A token bucket of one request whose rate adapts (see the module docstring)."""

    __slots__ = (
        "_ceiling", "_delivered", "_doubling", "_estimate", "_first_send", "_peak", "_peak_at",
        "_policy",
        "_ramp", "_ramp_at", "_saturated_since", "_tokens", "_updated", "decreased_at",
        "decreases", "rate",
    )  # fmt: skip

    def __init__(self, max_rate: float | None = None) -> None:
        start = START_RATE if max_rate is None else min(START_RATE, max_rate)
        self.rate: float | None = start  # None: not paced
        self.decreased_at = -math.inf
        self.decreases = 0
        self._estimate = 0.0  # the limit estimated at the last decrease (CUBIC's W_max)
        self._policy: float | None = max_rate  # a cap: the server's policy, or the caller's
        self._ceiling = max_rate  # the caller's own cap, which no announced policy lifts
        self._tokens = 1.0
        self._updated = 0.0
        self._first_send: float | None = None
        self._saturated_since = math.inf  # the first 429
        self._peak = 0.0  # the most delivered in a WINDOW since start-up, lately
        self._peak_at = -math.inf
        self._delivered: collections.deque[float] = collections.deque()
        self._doubling = DOUBLING  # the round trip, measured, within [MIN_DOUBLING, DOUBLING]
        self._ramp = START_RATE  # the start-up rate, grown as time passes
        self._ramp_at: float | None = None

    def __repr__(self) -> str:
        rate = "unpaced" if self.rate is None else f"{self.rate:.1f}/s"
        return f"Pacer({rate}, decreases={self.decreases})"

    # --- sending ---------------------------------------------------------------------------

    def wait(self, now: float) -> float:
        """Seconds until the next request may leave (0: now; call ``take`` to send it)."""
        if self.rate is None:
            return 0.0
        self._refill(now)
        # A microsecond's worth of token is rounding, not a reason to wait.
        return 0.0 if self._tokens >= 1.0 - 1e-6 else (1.0 - self._tokens) / self.rate

    def take(self, now: float) -> None:
        """A request leaves now."""
        if self._first_send is None:
            self._first_send = self._updated = now
        if self.decreases == 0 and self.rate is not None:
            # Slow start goes on under an announced policy too (it caps the rate): a
            # generous policy must not pin the batch at the start-up rate.
            self._set_rate(self._startup_rate(now), now)
        if self.rate is not None:
            self._refill(now)
            self._tokens -= 1.0

    def _startup_rate(self, now: float) -> float | None:
        """Slow start, as TCP's: the rate doubles every round trip (measured, and never
        slower than every DOUBLING seconds), so the first overshoot of an unknown limit is
        bounded whatever the latency, and a server that has no limit near is reached in a
        few round trips, not seconds."""
        assert self._first_send is not None
        if self._ramp_at is None:
            self._ramp_at = now
        elapsed = max(0.0, now - self._ramp_at)
        self._ramp *= 2.0 ** min(elapsed / self._doubling, 64.0)
        self._ramp_at = now
        rate = min(self._ramp, 2.0 * UNPACED)
        # ... and never past twice the rate of what came back lately, as TCP's window
        # grows by what is acknowledged: a burst a server lets through at first (a fresh
        # window, a full bucket) cannot carry the rate far past its limit.
        # Lately: long enough to hold a few deliveries at this rate, a few round trips.
        current = self.rate if self.rate is not None else UNPACED
        lately = min(2 * DOUBLING, max(8 * self._doubling, 4.0 / current))
        if now - self._first_send >= lately:
            recent = sum(1 for t in reversed(self._delivered) if t >= now - lately)
            rate = min(rate, START_RATE + 2.0 * recent / lately)
            self._ramp = min(self._ramp, rate)
        return None if rate > UNPACED else rate

    def _refill(self, now: float) -> None:
        assert self.rate is not None
        # One token at most: requests leave evenly spaced, never in a burst.
        self._tokens = min(1.0, self._tokens + max(0.0, now - self._updated) * self.rate)
        self._updated = now

    # --- what the server said ----------------------------------------------------------------

    def announced(self, policy: float | None, now: float) -> None:
        """A response's rate-limit headers announce ``policy`` requests per second: a cap,
        clamped to [POLICY_FLOOR, UNPACED], that only ever lowers the rate."""
        if policy is None or not math.isfinite(policy):
            return
        policy = min(max(policy, POLICY_FLOOR), UNPACED)
        if self._ceiling is not None:
            policy = min(policy, self._ceiling)
        if policy == self._policy:
            return
        self._policy = policy
        if self.rate is None or self.rate > policy:
            self._set_rate(policy, now)

    def delivered(self, now: float, sent_at: float | None = None) -> None:
        """A request sent at ``sent_at`` succeeded ``now``."""
        if sent_at is not None and now > sent_at:
            self._doubling = max(MIN_DOUBLING, min(self._doubling, now - sent_at))
        self._delivered.append(now)
        self._forget(now)
        if self.decreases == 0:
            return
        if now - self._saturated_since >= WINDOW:
            # A max filter of the delivery rate, as BBR's bandwidth estimate: what the
            # server has shown it delivers (start-up bursts left out) is a floor for the
            # limit, so 429s that are not about the rate cannot ratchet the batch down.
            current = len(self._delivered) / WINDOW
            if current >= self._peak or now - self._peak_at > PEAK_MEMORY:
                self._peak, self._peak_at = current, now
        t = now - self.decreased_at - CUBIC_K
        target = self._estimate * (1.0 + _CUBIC_C * t**3)
        measured = self.delivery_rate(now)
        if measured is not None:
            target = min(target, 2.0 * measured)
        self._set_rate(target, now)

    def throttled(self, now: float, sent_at: float, asked: float | None) -> bool:
        """A 429 for a request sent at ``sent_at``; True when it starts a new congestion
        event (and so decreased the rate)."""
        if sent_at <= self.decreased_at:
            return False  # met the same full bucket as the one that decreased the rate
        self._forget(now)
        if self.decreases == 0 and self._first_send is not None:
            # The first 429 ends the start-up. Two estimates bracket the limit: the ramp's
            # rate when that request left, over the square root of two (too high when a
            # server's bucket absorbed the overshoot), and what was delivered per second
            # until the pause asked for ends (too low while the ramp was still climbing;
            # right for a window that let a burst through). Take their geometric middle.
            ramp = self.rate  # the ramp's rate when that request left, near enough
            span = (now - self._first_send) + max(asked or 0.0, 0.0)
            delivered = len(self._delivered) / span if span > 0 else math.inf
            upper = math.inf if ramp is None else ramp / 1.414
            # Nothing delivered yet says nothing of the limit (a 429 for another reason).
            estimate = math.sqrt(delivered * upper) if delivered > 0 else upper
        else:
            # What the server let through since it started turning requests away, per
            # second of that span plus the pause it asks for now: a saturated server
            # delivers exactly its limit. Too short a span says nothing yet.
            start = max(self._saturated_since, now - WINDOW)
            span = (now - start) + max(asked or 0.0, 0.0)
            estimate = math.inf
            if now - start >= MIN_SPAN:  # measured over a real span, not the pause alone
                delivered = sum(1 for t in reversed(self._delivered) if t >= start)
                estimate = delivered / span
        if self.decreases == 0:
            self._saturated_since = now
        if self.rate is not None:
            estimate = min(estimate, self.rate)
        if not math.isfinite(estimate):  # unpaced, and nothing measured: twice what came back
            estimate = max(2.0 * len(self._delivered) / WINDOW, START_RATE)
        if now - self._peak_at <= PEAK_MEMORY:
            estimate = max(estimate, self._peak)
        self._estimate = max(estimate, MIN_RATE)
        self._set_rate(BETA * self._estimate, now)
        self.decreased_at = now
        self.decreases += 1
        return True

    def delivery_rate(self, now: float) -> float | None:
        """Successes per second over the last WINDOW (None until a window has passed)."""
        if self._first_send is None or now - self._first_send < WINDOW:
            return None
        self._forget(now)
        return len(self._delivered) / WINDOW

    def _forget(self, now: float) -> None:
        while self._delivered and self._delivered[0] <= now - WINDOW:  # (now - WINDOW, now]
            self._delivered.popleft()

    def _set_rate(self, rate: float | None, now: float) -> None:
        if self.rate is not None:
            self._refill(now)
        else:
            self._tokens, self._updated = 1.0, now
        if rate is None:
            self.rate = self._policy
            return
        rate = max(rate, MIN_RATE)
        if self._policy is not None:
            rate = min(rate, self._policy)
        self.rate = rate
