"""Fault injection: N updates through the wrapper against a loopback fake with transient faults.

Usage: python -m scripts.faults [--updates 1000] [--max-retries 3] [--non-retryable]

The fake (puretalk_ai.testing served on 127.0.0.1) follows a deterministic schedule keyed
by integration, so the figures do not depend on which concurrent request arrives first.
Each scheduled fault hits an update's first attempt only:
    i % 10 == 1  503 with retry-after-ms: 1
    i % 10 == 3  429 with Retry-After: 0 and retry-after-ms: 1
    i % 10 == 5  the connection reset mid-response
    i % 20 == 7  a stall three times longer than the client's timeout
    i % 50 == 9  400 (only with --non-retryable: never retried)
It prints one `name: value` line per figure.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import Counter
from typing import Any

from puretalk_ai import Puretalk
from puretalk_ai.testing import FakePuretalk, Fault

CALLER_KEY = "faults-caller-key"
# Long enough that no unfaulted answer times out on a busy machine (an extra attempt would
# make the figures wrong), while a stall is sure to.
TIMEOUT = 1.5
STALL = TIMEOUT * 3


def planned_fault(index: int, non_retryable: bool) -> Fault | None:
    if non_retryable and index % 50 == 9:
        return Fault("status", status=400, headers={"content-type": "application/json"})
    if index % 10 == 1:
        return Fault("status", status=503, headers={"retry-after-ms": "1"})
    if index % 10 == 3:
        return Fault("status", status=429, headers={"retry-after": "0", "retry-after-ms": "1"})
    if index % 10 == 5:
        return Fault("reset")
    if index % 20 == 7:
        return Fault("delay", seconds=STALL)
    return None


class ScheduledFake(FakePuretalk):
    """Faults by integration and attempt, not by arrival order."""

    def __init__(self, ids: list[str], non_retryable: bool) -> None:
        super().__init__(api_key=CALLER_KEY)
        self.plan = {i: planned_fault(n, non_retryable) for n, i in enumerate(ids)}
        self.attempts: Counter[str] = Counter()
        for integration_id in ids:
            self.add_integration(integration_id=integration_id, api_key="old")

    def fault_for(self, method: str, raw_path: str) -> Fault | None:
        integration_id = raw_path.rsplit("/", 1)[-1]
        self.attempts[integration_id] += 1
        return self.plan.get(integration_id) if self.attempts[integration_id] == 1 else None


def run(
    updates: int = 1000, max_retries: int = 3, non_retryable: bool = False, concurrency: int = 32
) -> dict[str, Any]:
    ids = [str(uuid.UUID(int=n + 1)) for n in range(updates)]
    fake = ScheduledFake(ids, non_retryable)
    with (
        fake.serve() as server,
        Puretalk(
            api_key=CALLER_KEY, base_url=server.base_url, timeout=TIMEOUT, max_retries=max_retries
        ) as client,
    ):
        results = client.integrations.update_many(
            {i: f"new-{n}" for n, i in enumerate(ids)}, concurrency=concurrency
        )
    faulted = [i for i in ids if fake.plan[i] is not None]
    non_retryable_ids = [i for i in faulted if (f := fake.plan[i]) and f.status == 400]
    return {
        "updates": updates,
        "faults_injected": len(faulted),
        "succeeded": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "attempts_total": sum(fake.attempts.values()),
        "max_attempts_one_call": max(fake.attempts.values(), default=0),
        "non_retryable_faults": len(non_retryable_ids),
        "max_attempts_non_retryable": max((fake.attempts[i] for i in non_retryable_ids), default=0),
        "errors": dict(Counter(type(r.error).__name__ for r in results if r.error is not None)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fault injection against a loopback fake.")
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--non-retryable", action="store_true", help="also inject 400s")
    args = parser.parse_args(argv)
    report = run(args.updates, args.max_retries, args.non_retryable)
    for name, value in report.items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
