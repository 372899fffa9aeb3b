"""Bulk rotation on virtual time: the real ``Batch`` (its pacer, pause and stops) and the
real single-call flow of every item (``run_flow``: retries, the retry policy, the budget),
against a scripted server, with the fake's own limiters, latency and concurrency.

Used by the tests (every cell of the grid the benchmark runs, in well under a second) and
to tune the pacing; ``make bench-bulk`` confirms it against the real fake over loopback.
Only the parsing is a stand-in (a 200 is a success, anything else its status error): the
parse path has tests of its own.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import httpx

from puretalk_ai import Integration, RawResponse, RetryPolicy
from puretalk_ai._bulk import Batch, BulkItem, UpdateResult
from puretalk_ai._call import CallOptions, Flow, Send, run_flow
from puretalk_ai._exceptions import status_error_class
from puretalk_ai._pacing import Pacer
from puretalk_ai._redaction import MaskedKey, Secrets
from puretalk_ai._request import RequestParts
from puretalk_ai._response import Parsed, Received
from puretalk_ai._retry import DEFAULT_RETRY_POLICY, retry_after
from puretalk_ai.testing._limits import LimiterKind, make_limiter
from scripts import bench_bulk

NETWORK = 0.0005  # seconds each way on loopback
OK = Integration()
_REQUEST = httpx.Request("PATCH", "https://api.puretalk.test/api/ruth-connect/integrations/x")
_PARTS = RequestParts("PATCH", _REQUEST.url, httpx.Headers(), b"{}")
_SUCCESS = httpx.Response(200, request=_REQUEST)


class Answer:
    """A scripted answer: a status with headers (the response), or an exception (a
    transport failure)."""

    __slots__ = ("error", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        headers: dict[str, str] | None = None,
        error: Exception | None = None,
    ) -> None:
        self.status = status
        self.headers = httpx.Headers(headers or {})
        self.error = error


class _Response:
    """What the flow reads of a response: its status and headers."""

    __slots__ = ("headers", "status_code")

    def __init__(self, answer: Answer) -> None:
        self.status_code = answer.status
        self.headers = answer.headers


def _parse(received: Received, secrets: Secrets, applied_before: bool) -> Parsed[Integration]:
    response: Any = received.response
    if response.status_code == 200:
        return Parsed(OK)
    real = httpx.Response(response.status_code, headers=response.headers, request=_REQUEST)
    cls = status_error_class(response.status_code)
    asked = retry_after(response.headers)
    raise cls("no", response=real, body=None, retry_after=asked, applied_before=applied_before)


def run_batch(
    batch: Batch,
    respond: Callable[[BulkItem, float], Answer],
    *,
    rtt: float = 0.01,
    max_retries: int = 2,
    start: float = 1000.0,
    total_timeout: float | None = None,
    until: float = 1e9,
) -> tuple[list[UpdateResult], float]:
    """Run every item's flow through the batch on virtual time, `batch.workers` at once;
    `respond(item, now)` answers each send, `rtt` later. Every id's result and when the
    last event happened."""
    sequence = itertools.count()
    events: list[tuple[float, int, int, Any]] = []
    now = start
    flows: dict[int, tuple[BulkItem, Flow[Any]]] = {}

    def clock() -> float:
        return now

    def options(item: BulkItem) -> CallOptions[Integration]:
        return CallOptions(
            parts=_PARTS,
            parse=_parse,
            secrets=Secrets(()),
            timeout=httpx.Timeout(30.0),
            max_retries=max_retries,
            total_timeout=total_timeout,
            policy=batch.policy,
            gate=batch.gate(item),
            clock=clock,
        )

    def advance(worker: int, value: Any) -> None:
        """Carry the worker's flow to its next step (a new item's flow when it has none,
        or its last one ended) and schedule what that step waits for."""
        while True:
            fresh = worker not in flows
            if fresh:
                item = batch.take()
                if item is None:
                    return
                flows[worker] = (item, run_flow(options(item)))
            item, flow = flows[worker]
            try:
                step = next(flow) if fresh else flow.send(value)
            except StopIteration as done:
                del flows[worker]
                raw = RawResponse(http_response=_SUCCESS, parsed=done.value.parsed.value)
                batch.finish(item, raw)
                continue
            except Exception as exc:
                del flows[worker]
                batch.finish(item, exc)
                continue
            if isinstance(step, Send):
                answer = respond(item, now)
                outcome: Any = answer.error or Received(_Response(answer))  # type: ignore[arg-type]
                heapq.heappush(events, (now + rtt, next(sequence), worker, outcome))
            else:
                heapq.heappush(events, (now + step.seconds, next(sequence), worker, None))
            return

    for worker in range(batch.workers):
        advance(worker, None)
    last = now
    while events:
        now, _, worker, value = heapq.heappop(events)
        if now > until:
            break
        last = now
        advance(worker, value)
    return batch.results(), last


def items(n: int) -> list[BulkItem]:
    return [BulkItem(i, str(uuid.UUID(int=i + 1)), MaskedKey(f"new-key-{i:06d}")) for i in range(n)]


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
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> SimResult:
    batch = Batch(items(updates), concurrency, pacer=pacer, policy=policy)
    server = make_limiter(rate, limiter, 1.0, start)

    def respond(item: BulkItem, now: float) -> Answer:
        wait = server.admit(now + NETWORK)
        if wait is None:
            return Answer(200)
        return Answer(429, {"retry-after-ms": f"{wait * 1000:.3f}"})

    results, last = run_batch(
        batch, respond, rtt=latency + 2 * NETWORK, max_retries=max_retries, start=start
    )
    return SimResult(
        ok=sum(r.ok for r in results),
        failed=sum(r.state == "failed" for r in results),
        requests=batch.sent,
        rate_limited=batch.rate_limited,
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
