"""Where fork or loop signal handlers do not exist (Windows), and what importing the SDK
does to the process (issue 16): each case runs in its own interpreter, with the missing
piece removed before the SDK is imported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from puretalk_ai._cli import EXIT_INTERRUPTED
from tests.helpers import ROOT, fake_with, wait_for_successes
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

IDS = [str(uuid.UUID(int=n + 900)) for n in range(30)]


def _python(code: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, **kwargs,
    )  # fmt: skip


def test_import_and_update_without_os_register_at_fork() -> None:
    run = _python(
        f"""
        import os
        # What the standard library and httpx register at import, they guard themselves
        # (by checking for fork) on Windows: import them first, then take the API away.
        import asyncio, random, threading, httpx
        del os.register_at_fork  # as on Windows
        import puretalk_ai
        from puretalk_ai.testing import FakePuretalk
        fake = FakePuretalk(api_key={CALLER_KEY!r})
        fake.add_integration(integration_id={IDS[0]!r}, api_key="old-key-123")
        with fake.serve() as server, puretalk_ai.Puretalk(
            api_key={CALLER_KEY!r}, base_url=server.base_url
        ) as client:
            print(client.integrations.update({IDS[0]!r}, api_key={NEW_KEY!r}).integration_id)
        """
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == IDS[0]


def test_ctrl_c_reports_every_state_where_the_loop_has_no_signal_handlers(
    tmp_path: Path,
) -> None:
    fake = fake_with(IDS, latency=0.1)
    keys = tmp_path / "keys.csv"
    keys.write_text(
        "integration_id,api_key\n" + "".join(f"{i},{NEW_KEY}-{n}\n" for n, i in enumerate(IDS))
    )
    with fake.serve() as server:
        code = f"""
            import asyncio.unix_events, sys

            def refuse(self, *args):
                raise NotImplementedError  # what Windows' event loops do

            asyncio.unix_events._UnixSelectorEventLoop.add_signal_handler = refuse
            from puretalk_ai._cli import main
            sys.exit(main(["integrations", "update-many", {str(keys)!r},
                           "--base-url", {server.base_url!r}, "--concurrency", "2"]))
        """
        env = {**os.environ, "PURETALK_API_KEY": CALLER_KEY}
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_for_successes(fake, 3, seconds=60)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, err[-2000:]
    assert "Traceback" not in err
    assert "interrupted: the report on stdout is every id's state" in err
    lines = out.splitlines()
    assert {line.split()[1] for line in lines[:-1]} == set(IDS)


def test_python_dash_m_runs_the_cli() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "puretalk_ai", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "integrations" in run.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "puretalk_ai", "integrations", "update"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


# --- no process-wide side effects -------------------------------------------------------------

SNAPSHOT = """
import asyncio, csv, json, logging, os, signal, socket, ssl, sys, threading, warnings
import httpx
import puretalk_ai_openapi.models as models

def snapshot():
    return {
        "csv.field_size_limit": csv.field_size_limit(),
        "recursionlimit": sys.getrecursionlimit(),
        "socket.defaulttimeout": socket.getdefaulttimeout(),
        "root logger": [logging.getLogger().level, len(logging.getLogger().handlers)],
        "logging disabled": logging.root.manager.disable,
        "warnings.filters": len(warnings.filters),
        "signal handlers": [str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
        "sys.excepthook": repr(sys.excepthook),
        "threading.excepthook": repr(threading.excepthook),
        "asyncio policy": type(asyncio.get_event_loop_policy()).__name__,
        "httpx.Client.send": repr(httpx.Client.send),
        "httpx.AsyncClient.send": repr(httpx.AsyncClient.send),
        "model reprs": {n: repr(getattr(models, n).__repr__) for n in models.__all__},
        "environment": sorted(os.environ),
        "ssl default verify paths": repr(ssl.get_default_verify_paths()),
    }

before = snapshot()
import importlib, pkgutil, puretalk_ai
names = [m.name for m in pkgutil.walk_packages(puretalk_ai.__path__, "puretalk_ai.")]
for name in names:
    if name != "puretalk_ai.__main__":
        importlib.import_module(name)
after = snapshot()
print(json.dumps({"names": names, "changed": [k for k in before if before[k] != after[k]]}))
"""


def test_importing_every_module_changes_no_global_setting() -> None:
    run = _python(SNAPSHOT)
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout)
    assert "puretalk_ai._cli" in outcome["names"]
    assert "puretalk_ai.testing._cassettes" in outcome["names"]
    assert outcome["changed"] == []


def test_generated_model_reprs_are_masked_whatever_the_import_order() -> None:
    run = _python(
        """
        from puretalk_ai_openapi.models import Integration, IntegrationData
        print(repr(Integration(app_name="x", data=IntegrationData(api_key="sk-never-shown-1"))))
        """
    )
    assert run.returncode == 0, run.stderr
    assert "sk-never-shown-1" not in run.stdout
    assert "api_key='***'" in run.stdout
    assert "app_name='x'" in run.stdout
