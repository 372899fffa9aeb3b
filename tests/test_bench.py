"""scripts/bench.py runs and prints its figures under stable names (speed is not asserted)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.helpers import ROOT

HEADLINE = [
    "sync_wrapper_vs_httpx",
    "sync_wrapper_cpu_vs_httpx",
    "sync_wrapper_vs_generated",
    "async_bulk_vs_httpx",
    "async_bulk_fast_vs_httpx",
    "async_bulk_fast_vs_aiohttp",
    "import_vs_httpx",
    "rss_growth_mib",
    "bulk_debug_log_slowdown",
]


@pytest.mark.slow
def test_quick_bench_prints_every_headline_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    figures = {}
    for line in result.stdout.splitlines():
        name, value = line.split(": ")
        figures[name] = float(value)
    assert list(figures)[-len(HEADLINE) :] == HEADLINE
    assert 0 <= figures["bench_server_cpu_share"] <= 2
    for name in [*HEADLINE[:-2], HEADLINE[-1]]:
        assert math.isfinite(figures[name])
        assert figures[name] > 0
    assert math.isfinite(figures["rss_growth_mib"])
