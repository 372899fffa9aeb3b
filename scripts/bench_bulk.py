"""make bench-bulk: bulk rotation against rate-limited fakes, over a grid of conditions.

Each cell starts a fresh ``puretalk-ai fake-server`` in its own process (a full bucket, a
fresh window) with one rate limit (20, 100, 500 requests/s), one latency (0, 5, 100 ms)
and one limiter (token bucket, fixed one-second window), and rotates the same keys twice:

- paced: ``AsyncPuretalk().integrations.update_many(keys)`` with the defaults (no
  ``max_retries``; concurrency 8, or 32 in the cells that say so): the SDK learns the
  rate the server allows and sends at it;
- fixed: the same concurrency under a semaphore, each worker calling ``update`` with the
  default retries (what a user writes without update_many), the baseline.

Per cell: throughput against the achievable ceiling (the lowest of the rate limit,
concurrency / latency, and what this machine carries at that latency and concurrency with
no limit at all, measured first), the share of requests answered 429, the updates that
failed.
Printed at the end: the worst cell of each figure for each contender, and
``journal_throughput_ratio``: the CLI's ``update-many --journal`` against no journal at
500/s. Figures, not a test; docs/maintaining/benchmarks.md states the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from puretalk_ai import AsyncPuretalk, PuretalkError
from puretalk_ai.testing._limits import LimiterKind

CALLER_KEY = "bench-bulk-caller-key"
LIMITERS: tuple[LimiterKind, ...] = ("token-bucket", "fixed-window")
# Every cell: (rate limit per second, latency in seconds, concurrency, limiter kind).
GRID: list[tuple[float, float, int, LimiterKind]] = [
    (rate, latency, concurrency, limiter)
    for rate in (20.0, 100.0, 500.0)
    for latency in (0.0, 0.005, 0.1)
    for concurrency in (8, 32)
    for limiter in LIMITERS
]


def ceiling(rate: float, latency: float, concurrency: int) -> float:
    """The most updates per second a cell allows: its rate limit, or what `concurrency`
    requests in flight carry at this latency when that is less."""
    return min(rate, concurrency / latency) if latency else rate


def rows_for(most: float, seconds: float, minimum: int = 60) -> int:
    """Updates for a cell: `seconds` at its ceiling `most`, at least `minimum`."""
    return max(minimum, round(most * seconds))


CLI = str(Path(sys.executable).parent / "puretalk-ai")


def start_fake(
    seed: Path, rate: float | None, latency: float, limiter: LimiterKind = "token-bucket"
) -> tuple[subprocess.Popen[str], str]:
    """The fake in its own process; `rate` None: no rate limit."""
    limit = [] if rate is None else ["--rate-limit", str(rate), "--rate-limiter", limiter]
    process = subprocess.Popen(
        [CLI, "fake-server", "--seed", str(seed), *limit, "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PURETALK_API_KEY": CALLER_KEY},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"listening at (\S+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"the fake did not start: {line!r}")
    return process, match.group(1)


def stop_fake(process: subprocess.Popen[str]) -> dict[str, int]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    served = re.search(r"served \d+ requests: (.*)", out)
    counts: dict[str, int] = {}
    for part in (served.group(1) if served else "").split(", "):
        if " x " in part:
            n, status = part.split(" x ")
            counts[status] = int(n)
    return counts


async def paced(base_url: str, keys: dict[str, str], concurrency: int) -> int:
    async with AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url) as client:
        results = await client.integrations.update_many(keys, concurrency=concurrency)
    return sum(not r.ok for r in results)


async def fixed(base_url: str, keys: dict[str, str], concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)
    async with AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url) as client:

        async def one(integration_id: str, api_key: str) -> bool:
            async with gate:
                try:
                    await client.integrations.update(integration_id, api_key=api_key)
                except PuretalkError:
                    return False
                return True

        done = await asyncio.gather(*(one(i, k) for i, k in keys.items()))
    return sum(not ok for ok in done)


def machine_ceiling(seed: Path, ids: list[str], latency: float, concurrency: int) -> float:
    """Updates per second this machine carries at this latency and concurrency with no
    rate limit at all (client and fake share two cores: at 500/s the CPU, not the server's
    limit, is what bounds a run)."""
    rows = min(len(ids), max(100, round(ceiling(1000.0, latency, concurrency) * 0.6)))
    keys = {i: f"bench-new-key-{n:08d}" for n, i in enumerate(ids[:rows])}
    process, base_url = start_fake(seed, None, latency)
    try:
        started = time.perf_counter()
        asyncio.run(fixed(base_url, keys, concurrency))
        return rows / (time.perf_counter() - started)
    finally:
        stop_fake(process)


def run_cell(
    seed: Path, ids: list[str], rate: float, latency: float, concurrency: int,
    limiter: LimiterKind, seconds: float, machine: float,
) -> dict[str, dict[str, float]]:  # fmt: skip
    most = min(ceiling(rate, latency, concurrency), machine)
    rows = rows_for(most, seconds)
    keys = {i: f"bench-new-key-{n:08d}" for n, i in enumerate(ids[:rows])}
    figures: dict[str, dict[str, float]] = {}
    for name, contender in (("paced", paced), ("fixed", fixed)):
        process, base_url = start_fake(seed, rate, latency, limiter)
        try:
            started = time.perf_counter()
            failed = asyncio.run(contender(base_url, keys, concurrency))
            elapsed = time.perf_counter() - started
        finally:
            counts = stop_fake(process)
        total = sum(counts.values()) or 1
        figures[name] = {
            "throughput": (rows - failed) / elapsed / most,
            "share_429": counts.get("429", 0) / total,
            "failed": failed,
        }
    return figures


def journal_ratio(seed: Path, ids: list[str], tmp: Path) -> float:
    """update-many at 500/s, with --journal against without."""
    keys = tmp / "keys.csv"
    keys.write_text("integration_id,api_key\n" + "".join(
        f"{i},bench-new-key-{n:08d}\n" for n, i in enumerate(ids[:2000])
    ))  # fmt: skip
    rates = {}
    for name, extra in (("plain", []), ("journal", ["--journal", str(tmp / "j.jsonl")])):
        process, base_url = start_fake(seed, 500.0, 0.0, "token-bucket")
        try:
            started = time.perf_counter()
            subprocess.run(
                [CLI, "integrations", "update-many", str(keys), "--base-url", base_url, *extra],
                env={**os.environ, "PURETALK_API_KEY": CALLER_KEY},
                stdout=subprocess.DEVNULL, check=False,
            )  # fmt: skip
            rates[name] = 2000 / (time.perf_counter() - started)
        finally:
            stop_fake(process)
    return rates["journal"] / rates["plain"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per cell, at its ceiling")
    args = parser.parse_args()
    ids = [str(uuid.UUID(int=n + 1)) for n in range(3000)]
    worst: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps([{"integration_id": i, "api_key": "old-key"} for i in ids]))
        machine = {
            (latency, concurrency): machine_ceiling(seed, ids, latency, concurrency)
            for _, latency, concurrency, _ in GRID
        }
        print("rate/s latency conc limiter       ceiling/s | paced thr 429 failed | fixed ...")
        for rate, latency, concurrency, limiter in GRID:
            most = machine[latency, concurrency]
            cell = run_cell(seed, ids, rate, latency, concurrency, limiter, args.seconds, most)
            print(
                f"{rate:6g} {latency * 1000:5g}ms {concurrency:4d} {limiter:13s} "
                f"{min(ceiling(rate, latency, concurrency), most):9.0f} | "
                + " | ".join(
                    f"{c['throughput']:.2f} {c['share_429']:.3f} {c['failed']:3.0f}"
                    for c in cell.values()
                ),
                flush=True,
            )
            for name, c in cell.items():
                key = f"bulk_{name}_worst_throughput_vs_rate_limit"
                worst[key] = min(worst.get(key, 9.0), c["throughput"])
                key = f"bulk_{name}_worst_429_share"
                worst[key] = max(worst.get(key, 0.0), c["share_429"])
                key = f"bulk_{name}_failed_total"
                worst[key] = worst.get(key, 0.0) + c["failed"]
        worst["journal_throughput_ratio"] = journal_ratio(seed, ids, Path(tmp))
    # The headline names the issue asks for are the paced runs'.
    worst["bulk_worst_throughput_vs_rate_limit"] = worst[
        "bulk_paced_worst_throughput_vs_rate_limit"
    ]
    worst["bulk_worst_429_share"] = worst["bulk_paced_worst_429_share"]
    worst["bulk_failed_total"] = worst["bulk_paced_failed_total"]
    for name, value in worst.items():
        print(f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
