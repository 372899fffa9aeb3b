"""make bench: the wrapper's cost measured side by side with raw httpx, in one run.

Prints one `name: value` line per figure; the five headline names are stable from one
release to the next so figures can be compared:
  sync_wrapper_vs_httpx      wrapper time per call / raw httpx time per call
  sync_wrapper_vs_generated  wrapper time per call / generated function time per call
  async_bulk_vs_httpx        wrapper update_many throughput / raw httpx throughput (c=32)
  import_vs_httpx            cold `import puretalk_ai` / cold `import httpx` (median)
  rss_growth_mib             RSS growth over 20,000 wrapper calls
The server is a minimal HTTP/1.1 keep-alive server in its own process on 127.0.0.1.
Rounds alternate between the contenders, and each figure is a median over rounds, so
machine noise hits every contender alike. Targets are read from the figures, never
enforced by a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx

INTEGRATION_ID = "123e4567-e89b-12d3-a456-426614174000"
CALLER_KEY = "bench-caller-key"
NEW_KEY = "bench-new-key"
BODY = json.dumps(
    {
        "msg": "Integration updated successfully",
        "err": False,
        "results": {
            "integration_id": INTEGRATION_ID,
            "app_name": "elevenlabs",
            "friendly_app_name": "ElevenLabs",
            "logo": "https://cdn.puretalk.ai/logos/elevenlabs.png",
            "data": {"api_key": NEW_KEY},
            "tools": ["text_to_speech", "voice_clone"],
            "is_custom_tool": False,
            "created_at": "2025-01-02T03:04:05Z",
            "updated_at": "2026-11-26T10:00:00Z",
        },
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


_ID = INTEGRATION_ID.encode()


# --- the server (runs in a child process: python -m scripts.bench --serve) -------------------


class _Protocol(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive responder: the server must never be the bottleneck."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # uvloop's transports are not asyncio.Transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            # Echo the id from the path (ids here are all 36 characters, so the length
            # holds): the wrapper refuses an answer about another integration.
            target = head.split(b" ", 2)[1].rsplit(b"/", 1)[-1]
            self.transport.write(
                RESPONSE.replace(_ID, target) if len(target) == len(_ID) else RESPONSE
            )


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def _run_server() -> None:
    try:
        import uvloop
    except ImportError:  # the figures stay side by side; only the ceiling is lower
        asyncio.run(_serve())
    else:
        uvloop.run(_serve())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.bench", "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    if not port.isdigit():
        process.kill()
        raise RuntimeError("the bench server did not start")
    return process, f"http://127.0.0.1:{port}"


# --- contenders --------------------------------------------------------------------------------


def sync_contenders(base_url: str) -> dict[str, tuple[Callable[[], Any], Callable[[], None]]]:
    from puretalk_ai import Puretalk
    from puretalk_ai_openapi import AuthenticatedClient
    from puretalk_ai_openapi.api.integrations import update_integration
    from puretalk_ai_openapi.models import UpdateIntegrationBody, UpdateIntegrationBodyData

    raw = httpx.Client(timeout=30)
    url = f"{base_url}/ruth-connect/integrations/{INTEGRATION_ID}"
    raw_headers = {"X-API-KEY": CALLER_KEY}

    def raw_call() -> Any:
        response = raw.patch(url, json={"data": {"api_key": NEW_KEY}}, headers=raw_headers)
        response.raise_for_status()
        return response.json()["results"]

    generated = AuthenticatedClient(
        base_url=base_url, token=CALLER_KEY, prefix="", auth_header_name="X-API-KEY"
    )

    def generated_call() -> Any:
        body = UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=NEW_KEY))
        return update_integration.sync_detailed(INTEGRATION_ID, client=generated, body=body).parsed

    wrapper = Puretalk(api_key=CALLER_KEY, base_url=base_url)

    def wrapper_call() -> Any:
        return wrapper.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)

    return {
        "httpx": (raw_call, raw.close),
        "generated": (generated_call, lambda: generated.get_httpx_client().close()),
        "wrapper": (wrapper_call, wrapper.close),
    }


def time_per_call(call: Callable[[], Any], n: int) -> tuple[float, float]:
    """(wall seconds, client-process CPU seconds) per call."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n


def bench_sync(base_url: str, n: int, rounds: int) -> dict[str, float]:
    contenders = sync_contenders(base_url)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for call, _ in contenders.values():
        time_per_call(call, max(50, n // 10))  # warm up connections and caches
    order = list(contenders)
    for round_ in range(rounds):
        for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
            wall, used = time_per_call(contenders[name][0], n)
            samples[name].append(wall)
            cpu[name].append(used)
    for _, close in contenders.values():
        close()
    figures = {name: statistics.median(values) for name, values in samples.items()}
    figures.update({f"{name}_cpu": statistics.median(values) for name, values in cpu.items()})
    return figures


async def _bulk_raw(base_url: str, n: int, concurrency: int) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        gate = asyncio.Semaphore(concurrency)
        url = f"{base_url}/ruth-connect/integrations/{INTEGRATION_ID}"

        async def one() -> Any:
            async with gate:
                response = await client.patch(
                    url, json={"data": {"api_key": NEW_KEY}}, headers={"X-API-KEY": CALLER_KEY}
                )
                response.raise_for_status()
                return response.json()["results"]

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm the pool
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - started)


async def _bulk_aiohttp(base_url: str, n: int, concurrency: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        gate = asyncio.Semaphore(concurrency)
        url = f"{base_url}/ruth-connect/integrations/{INTEGRATION_ID}"

        async def one() -> Any:
            async with (
                gate,
                session.patch(
                    url, json={"data": {"api_key": NEW_KEY}}, headers={"X-API-KEY": CALLER_KEY}
                ) as response,
            ):
                response.raise_for_status()
                return (await response.json())["results"]

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm the pool
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - started)


async def _bulk_fast(base_url: str, n: int, concurrency: int) -> float:
    return await _bulk_wrapper(base_url, n, concurrency, backend="aiohttp")


async def _bulk_wrapper(
    base_url: str,
    n: int,
    concurrency: int,
    backend: Literal["httpx", "aiohttp"] = "httpx",
    distinct_keys: bool = False,
) -> float:
    from puretalk_ai import AsyncPuretalk

    ids = [f"{INTEGRATION_ID[:-6]}{i:06d}" for i in range(n)]
    # Distinct keys: every update brings a key the log filter has not seen (a real rotation).
    keys = {i: f"{NEW_KEY}-{i}" if distinct_keys else NEW_KEY for i in ids}
    async with AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url, http_backend=backend) as client:
        warm = {i: NEW_KEY for i in ids[:concurrency]}
        await client.integrations.update_many(warm, concurrency=concurrency)
        started = time.perf_counter()
        results = await client.integrations.update_many(keys, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    if not all(r.ok for r in results):
        raise RuntimeError("bulk updates failed during the benchmark")
    return n / elapsed


BULK = {"httpx": _bulk_raw, "wrapper": _bulk_wrapper, "fast": _bulk_fast, "aiohttp": _bulk_aiohttp}


def bench_bulk(
    base_url: str, server_pid: int, n: int, rounds: int, concurrency: int = 32
) -> dict[str, float]:
    """Throughput per contender (median of alternating rounds), and the server's CPU share
    while the fastest contender ran: well below 1.0 means the server was not the limit."""
    samples: dict[str, list[float]] = {name: [] for name in BULK}
    shares: list[float] = []
    order = list(BULK)
    for round_ in range(rounds):
        for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
            cpu, wall = cpu_seconds(server_pid), time.perf_counter()
            samples[name].append(asyncio.run(BULK[name](base_url, n, concurrency)))
            if name == "aiohttp":
                shares.append((cpu_seconds(server_pid) - cpu) / (time.perf_counter() - wall))
    figures = {name: statistics.median(values) for name, values in samples.items()}
    figures["server_cpu_share"] = max(shares)
    return figures


def bench_debug_log(base_url: str, n: int, rounds: int) -> float:
    """How much slower a bulk rotation of `n` distinct keys runs with PURETALK_LOG=debug's
    handler (to a null stream, so only the SDK's cost counts): median over alternating
    rounds, as a ratio (1.0: no cost)."""
    import logging

    from puretalk_ai._logs import log_handler, logger

    samples: dict[bool, list[float]] = {False: [], True: []}
    with open(os.devnull, "w", encoding="utf-8") as null:
        handler = log_handler(null)
        for round_ in range(rounds):
            for debug in (False, True) if round_ % 2 == 0 else (True, False):
                if debug:
                    logger.addHandler(handler)
                    logger.setLevel(logging.DEBUG)
                try:
                    rate = asyncio.run(_bulk_wrapper(base_url, n, 32, distinct_keys=True))
                finally:
                    logger.removeHandler(handler)
                    logger.setLevel(logging.NOTSET)
                samples[debug].append(rate)
    return statistics.median(samples[False]) / statistics.median(samples[True])


def import_time(module: str) -> float:
    code = (
        "import time; t = time.perf_counter(); import "
        + module
        + "; print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return float(result.stdout)


def bench_import(runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"httpx": [], "puretalk_ai": []}
    for _ in range(runs):
        for module in samples:
            samples[module].append(import_time(module))
    return {module: statistics.median(values) for module, values in samples.items()}


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def bench_rss(base_url: str, calls: int) -> float:
    from puretalk_ai import Puretalk

    with Puretalk(api_key=CALLER_KEY, base_url=base_url) as client:
        for _ in range(1000):
            client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
        gc.collect()
        before = rss_mib()
        for _ in range(calls):
            client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
        gc.collect()
        return rss_mib() - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the wrapper against raw httpx.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    args = parser.parse_args(argv)
    if args.serve:
        _run_server()
        return 0
    n, rounds, bulk_n, imports, rss_calls, debug_n = (
        (50, 2, 64, 3, 500, 64) if args.quick else (1000, 5, 640, 15, 20_000, 3000)
    )
    server, base_url = start_server()
    try:
        sync = bench_sync(base_url, n, rounds)
        bulk = bench_bulk(base_url, server.pid, bulk_n, max(2, rounds - 2))
        imported = bench_import(imports)
        growth = bench_rss(base_url, rss_calls)
        debug_slowdown = bench_debug_log(base_url, debug_n, max(2, rounds - 2))
    finally:
        server.kill()
        server.wait(timeout=10)
    figures = {
        "sync_httpx_us_per_call": sync["httpx"] * 1e6,
        "sync_generated_us_per_call": sync["generated"] * 1e6,
        "sync_wrapper_us_per_call": sync["wrapper"] * 1e6,
        "async_bulk_httpx_per_s": bulk["httpx"],
        "async_bulk_wrapper_per_s": bulk["wrapper"],
        "import_httpx_ms": imported["httpx"] * 1e3,
        "import_puretalk_ai_ms": imported["puretalk_ai"] * 1e3,
        "sync_httpx_cpu_us_per_call": sync["httpx_cpu"] * 1e6,
        "sync_wrapper_cpu_us_per_call": sync["wrapper_cpu"] * 1e6,
        "async_bulk_fast_per_s": bulk["fast"],
        "async_bulk_aiohttp_per_s": bulk["aiohttp"],
        "bench_server_cpu_share": bulk["server_cpu_share"],
        "sync_wrapper_vs_httpx": sync["wrapper"] / sync["httpx"],
        "sync_wrapper_cpu_vs_httpx": sync["wrapper_cpu"] / sync["httpx_cpu"],
        "sync_wrapper_vs_generated": sync["wrapper"] / sync["generated"],
        "async_bulk_vs_httpx": bulk["wrapper"] / bulk["httpx"],
        "async_bulk_fast_vs_httpx": bulk["fast"] / bulk["httpx"],
        "async_bulk_fast_vs_aiohttp": bulk["fast"] / bulk["aiohttp"],
        "import_vs_httpx": imported["puretalk_ai"] / imported["httpx"],
        "rss_growth_mib": growth,
        "bulk_debug_log_slowdown": debug_slowdown,
    }
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
