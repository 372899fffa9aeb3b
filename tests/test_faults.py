"""A small run of scripts/faults.py: the retry figures follow from the fault schedule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import faults
from tests.helpers import ROOT

# Real-time runs of the whole bulk path: the full suite only (make test on 3.11).
pytestmark = pytest.mark.slow

N = 100  # 35 transient faults: 10 x 503, 10 x 429, 10 resets, 5 stalls


def test_with_enough_retries_every_update_succeeds() -> None:
    report = faults.run(updates=N, max_retries=3)
    assert report["faults_injected"] == 35
    assert report["succeeded"] == N
    assert report["failed"] == 0
    assert report["attempts_total"] == N + 35
    assert report["max_attempts_one_call"] == 2


def test_without_retries_each_faulted_first_attempt_fails_but_429s_are_waited_out() -> None:
    report = faults.run(updates=N, max_retries=0)
    assert report["faults_injected"] == 35
    # A 429 that asks for a pause within 60 s is the batch's to wait out: never a failure.
    assert report["failed"] == 25
    assert report["attempts_total"] == N + 10
    assert report["errors"] == {
        "InternalServerError": 10,
        # The reset comes after a 200 status line: the change may have been applied, and
        # the error says so (with max_retries > 0 it is retried like a lost connection).
        "APIResponseValidationError": 10,
        "APITimeoutError": 5,
    }


def test_a_non_retryable_status_takes_exactly_one_attempt() -> None:
    report = faults.run(updates=N, max_retries=3, non_retryable=True)
    assert report["non_retryable_faults"] == 2
    assert report["failed"] == 2
    assert report["errors"] == {"BadRequestError": 2}
    assert report["max_attempts_non_retryable"] == 1


def test_the_script_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.faults", "--updates", "40"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    figures = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    for name in (
        "updates", "faults_injected", "succeeded", "failed", "attempts_total",
        "max_attempts_one_call",
    ):  # fmt: skip
        assert name in figures
    assert figures["updates"] == "40"
    assert figures["failed"] == "0"
