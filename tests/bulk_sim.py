"""A deterministic simulation of bulk rotation: the real ``BulkRunner`` (and its pacer)
against a server with the fake's own limiters, latency and concurrency, on virtual time.

Used by the tests (every cell of the grid the benchmark runs, in well under a second) and
to tune the pacing; ``make bench-bulk`` confirms it against the real fake over loopback.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from typing import Any

import attrs
import httpx

from puretalk_ai import Integration, RateLimitError
from puretalk_ai._bulk import BulkItem, BulkRunner
from puretalk_ai._pacing import Pacer
from puretalk_ai._redaction import MaskedKey
from puretalk_ai.testing._limits import LimiterKind, make_limiter
from scripts import bench_bulk

NETWORK = 0.0005  # seconds each way on loopback


@attrs.frozen
class SimResult:
    ok: int
    failed: int
    requests: int
    rate_limited: int
    duration: float
    ceiling: float  # bench_bulk.ceiling: the most updates per second the cell allows

    @property
    def share_429(self) -> float:
        return self.rate_limited / max(self.requests, 1)

    @property
    def throughput_vs_ceiling(self) -> float:
        return self.ok / self.duration / self.ceiling


def _rate_limited(wait: float, rate: float) -> RateLimitError:
    request = httpx.Request("PATCH", "https://api.puretalk.test/")
    response = httpx.Response(429, request=request)
    return RateLimitError("Too many requests", response=response, body=None, retry_after=wait)


def simulate(
    rate: float,
    latency: float,
    concurrency: int,
    limiter: LimiterKind,
    updates: int,
    *,
    max_retries: int = 2,
    start: float = 1000.3,  # where in the server's window the batch starts
    pacer: Pacer | None = None,
) -> SimResult:
    items = [BulkItem(n, str(uuid.UUID(int=n + 1)), MaskedKey(f"k{n}")) for n in range(updates)]
    runner = BulkRunner(items, concurrency, max_retries, pacer=pacer)
    server = make_limiter(rate, limiter, 1.0, start)
    rtt = latency + 2 * NETWORK
    sequence = itertools.count()
    events: list[tuple[float, int, str, Any]] = []
    now = start
    success = Integration()
    idle: dict[int, float] = {}  # worker -> when it would wake

    def ask(worker: int) -> None:
        step = runner.next(now)
        if step is None:
            return
        if isinstance(step, float):
            idle[worker] = now + step
            heapq.heappush(events, (now + step, next(sequence), "wake", worker))
            return
        wait = server.admit(now + NETWORK)
        outcome: Any = success if wait is None else _rate_limited(wait, rate)
        heapq.heappush(events, (now + rtt, next(sequence), "answer", (worker, step, outcome)))

    for worker in range(runner.workers):
        ask(worker)
    last = now
    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "wake":
            if idle.get(data) != now:
                continue  # woken earlier by a finish
            del idle[data]
            ask(data)
            continue
        worker, item, outcome = data
        runner.finish(item, outcome, now)
        last = now
        ask(worker)
        # A finish wakes every waiting worker (the drivers' notify_all / wake.set()).
        for sleeper in list(idle):
            del idle[sleeper]
            ask(sleeper)
    results = runner.results()
    return SimResult(
        ok=sum(r.ok for r in results),
        failed=sum(r.state == "failed" for r in results),
        requests=runner.sent,
        rate_limited=runner.rate_limited,
        duration=last - start,
        ceiling=bench_bulk.ceiling(rate, latency, concurrency),
    )


def rows_for(rate: float, latency: float, concurrency: int) -> int:
    """Updates per cell: four seconds at the cell's ceiling, at least 100."""
    return bench_bulk.rows_for(bench_bulk.ceiling(rate, latency, concurrency), 4.0, minimum=100)


if __name__ == "__main__":
    worst_t, worst_s = 9.0, 0.0
    for cell in bench_bulk.GRID:
        n = rows_for(*cell[:3])
        for start in (1000.3, 1000.95):
            r = simulate(*cell, n, start=start)
            worst_t = min(worst_t, r.throughput_vs_ceiling)
            worst_s = max(worst_s, r.share_429)
            print(
                f"{cell} n={n} start={start}: thr={r.throughput_vs_ceiling:.3f} "
                f"429={r.share_429:.3f} failed={r.failed}"
            )
    print(f"worst throughput {worst_t:.3f}, worst 429 share {worst_s:.3f}")
