"""make bench-bulk: bulk rotation against a rate-limited fake, adaptive vs fixed concurrency.

The fake (``puretalk-ai fake-server --rate-limit 200 --latency 0.02``) runs in its own
process over loopback and reports, when stopped, how many requests it answered with each
status. Both contenders rotate the same 2000 keys, one after the other, each against a
fresh server (a full token bucket):

- adaptive: ``AsyncPuretalk.integrations.update_many(concurrency=32)``: workers share one
  pause when the server asks, and the concurrency adapts between 1 and 32;
- fixed: 32 workers under a semaphore, each calling ``update`` with its own retries (what a
  user writes without update_many: every worker retries on its own schedule).

Prints, for each: ``*_throughput_vs_rate_limit`` (updates per second / the rate limit;
target >= 0.85 for adaptive), ``*_429_share`` (share of requests answered 429; target
<= 0.05 for adaptive), ``*_failed`` (target 0). Figures, not a test: nothing is enforced.
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

CALLER_KEY = "bench-bulk-caller-key"


def start_fake(seed: Path, rate: float, latency: float) -> tuple[subprocess.Popen[str], str]:
    cli = str(Path(sys.executable).parent / "puretalk-ai")
    process = subprocess.Popen(
        [cli, "fake-server", "--seed", str(seed), "--rate-limit", str(rate),
         "--latency", str(latency)],
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


async def adaptive(base_url: str, keys: dict[str, str], concurrency: int) -> int:
    async with AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url, max_retries=8) as client:
        results = await client.integrations.update_many(keys, concurrency=concurrency)
    return sum(not r.ok for r in results)


async def fixed(base_url: str, keys: dict[str, str], concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)
    async with AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url, max_retries=8) as client:

        async def one(integration_id: str, api_key: str) -> bool:
            async with gate:
                try:
                    await client.integrations.update(integration_id, api_key=api_key)
                except PuretalkError:
                    return False
                return True

        done = await asyncio.gather(*(one(i, k) for i, k in keys.items()))
    return sum(not ok for ok in done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    ids = [str(uuid.UUID(int=n + 1)) for n in range(args.updates)]
    keys = {i: f"bench-new-key-{n:08d}" for n, i in enumerate(ids)}
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps([{"integration_id": i, "api_key": "old-key"} for i in ids]))
        figures: dict[str, float] = {}
        for name, contender in (("adaptive", adaptive), ("fixed", fixed)):
            process, base_url = start_fake(seed, args.rate, args.latency)
            try:
                started = time.perf_counter()
                failed = asyncio.run(contender(base_url, keys, args.concurrency))
                elapsed = time.perf_counter() - started
            finally:
                counts = stop_fake(process)
            total = sum(counts.values()) or 1
            ok = args.updates - failed
            figures[f"bulk_{name}_updates_per_s"] = ok / elapsed
            figures[f"bulk_{name}_requests"] = total
            figures[f"bulk_{name}_throughput_vs_rate_limit"] = ok / elapsed / args.rate
            figures[f"bulk_{name}_429_share"] = counts.get("429", 0) / total
            figures[f"bulk_{name}_failed"] = failed
    # The headline names the issue asks for are the adaptive run's.
    figures["bulk_throughput_vs_rate_limit"] = figures["bulk_adaptive_throughput_vs_rate_limit"]
    figures["bulk_429_share"] = figures["bulk_adaptive_429_share"]
    figures["bulk_failed"] = figures["bulk_adaptive_failed"]
    print(
        f"setup: {args.updates} updates, rate limit {args.rate:g}/s, latency "
        f"{args.latency * 1000:g} ms, concurrency {args.concurrency} (adaptive: at most)"
    )
    for name, value in figures.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
