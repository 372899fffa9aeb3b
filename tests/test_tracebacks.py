"""Where tracebacks print every local of every frame, no key shows (issue 17): pytest
--showlocals, rich's tracebacks with show_locals, better-exceptions; and rich's pretty
printer shows results masked. Each is the real tool."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any

import better_exceptions
import pytest
from rich.console import Console
from rich.traceback import Traceback

from puretalk_ai import AsyncPuretalk, NotFoundError
from puretalk_ai.testing import FakePuretalk
from tests.helpers import ROOT
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

KNOWN = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
UNKNOWN = "00000000-0000-4000-8000-0000000000ff"

PYTEST_FILE = """
import os
import pytest
from puretalk_ai.testing import FakePuretalk

def test_an_update_of_an_unknown_id() -> None:
    # The keys come from the environment inside the call: this frame holds none of them.
    fake = FakePuretalk(api_key=os.environ["PROBE_CALLER"])
    client = fake.client()
    client.integrations.update("{unknown}", api_key=os.environ["PROBE_NEW"])

def test_update_many() -> None:
    fake = FakePuretalk(api_key=os.environ["PROBE_CALLER"])
    client = fake.client()
    results = client.integrations.update_many({{"{unknown}": os.environ["PROBE_NEW"]}})
    results[0].unwrap()
"""


def test_pytest_showlocals_prints_no_key_from_the_sdk_frames(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(textwrap.dedent(PYTEST_FILE.format(unknown=UNKNOWN)))
    env = {**os.environ, "PROBE_CALLER": CALLER_KEY, "PROBE_NEW": NEW_KEY}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--showlocals",
         "--tb=long", "-o", "addopts=", str(probe)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = run.stdout
    assert "2 failed" in out, out[-2000:]
    assert "NotFoundError" in out
    assert "key = MaskedKey(***)" in out  # the SDK's frames were shown, locals and all
    assert NEW_KEY not in out
    assert CALLER_KEY not in out


def new_key() -> str:
    # Called in the line that raises: better-exceptions shows the value of every *name* on
    # that line, so the caller's own frame (not the SDK's) would otherwise show the key.
    return NEW_KEY


def caller_key() -> str:
    return CALLER_KEY


def _not_found() -> BaseException:
    fake = FakePuretalk(api_key=caller_key())
    try:
        fake.client().integrations.update(UNKNOWN, api_key=new_key())
    except NotFoundError as exc:
        return exc
    raise AssertionError("no error")


def _async_not_found() -> BaseException:
    import asyncio

    fake = FakePuretalk(api_key=caller_key())

    async def run() -> BaseException:
        client: AsyncPuretalk = fake.async_client()
        try:
            await client.integrations.update(UNKNOWN, api_key=new_key())
        except NotFoundError as exc:
            return exc
        raise AssertionError("no error")

    return asyncio.run(run())


@pytest.mark.parametrize("make", [_not_found, _async_not_found])
def test_rich_tracebacks_with_locals_print_no_key(make: Any) -> None:
    exc = make()
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "MaskedKey(***)" in text  # the SDK's frames and their locals were rendered
    assert NEW_KEY not in text
    assert CALLER_KEY not in text


@pytest.mark.parametrize("make", [_not_found, _async_not_found])
def test_better_exceptions_prints_no_key(make: Any) -> None:
    exc = make()
    text = "".join(better_exceptions.format_exception(type(exc), exc, exc.__traceback__))
    assert "integrations.py" in text  # the SDK's frames were rendered
    assert NEW_KEY not in text
    assert CALLER_KEY not in text
    plain = "".join(traceback.format_exception(exc))
    assert NEW_KEY not in plain


def test_rich_prints_results_masked() -> None:
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=KNOWN, api_key="old-key-123")
    results = fake.client().integrations.update_many({KNOWN: NEW_KEY, UNKNOWN: NEW_KEY + "-2"})
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(results)
    console.print(results[0].integration)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "api_key='***'" in text
    assert NEW_KEY not in text
    assert CALLER_KEY not in text
