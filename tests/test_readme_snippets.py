"""Every Python snippet in the README type-checks under mypy --strict."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = [pytest.mark.e2e, pytest.mark.tooling]

PRELUDE = """\
from typing import Any
import puretalk_ai
from puretalk_ai import AsyncPuretalk, Puretalk

client: Puretalk
aclient: AsyncPuretalk
pairs: list[tuple[str, str]]
"""


def snippets() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL)
    return [textwrap.dedent(body) for _, body in blocks]


def test_the_readme_has_snippets() -> None:
    assert len(snippets()) >= 4


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null",
         "--python-version", "3.11", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={"MYPYPATH": f"{ROOT / 'wrapper'}:{ROOT / 'generated'}", "PATH": ""},
    )  # fmt: skip


def test_the_fakes_client_options_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "typo.py"
    path.write_text(
        "from puretalk_ai.testing import FakePuretalk\n"
        "FakePuretalk().client(max_retries=0, total_timeout=2.0)\n"
        "FakePuretalk().client(max_retires=0)\n"
        "FakePuretalk().async_client(timeout='slow')\n"
    )
    result = _mypy(path)
    assert result.returncode == 1
    assert ':3: error: Unexpected keyword argument "max_retires"' in result.stdout
    assert ':4: error: Argument "timeout"' in result.stdout
    assert ":2:" not in result.stdout


def test_every_readme_snippet_type_checks(tmp_path: Path) -> None:
    module = [PRELUDE]
    for number, body in enumerate(snippets()):
        # Each snippet runs in a function of its own, async so `await` is allowed.
        module.append(f"\n\nasync def snippet_{number}() -> None:\n")
        module.append(textwrap.indent(body, "    ") + "    pass\n")
    path = tmp_path / "readme_snippets.py"
    path.write_text("".join(module))
    result = _mypy(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_call_checks_the_operations_own_arguments(tmp_path: Path) -> None:
    """client.call(op, ...) is typed by the operation's own parameters (ParamSpec): a
    wrong type, an extra positional argument or an unknown keyword is a type error, on
    both clients; the right call type-checks and returns the 2xx model."""
    path = tmp_path / "calls.py"
    path.write_text(
        "from puretalk_ai import AsyncPuretalk, Puretalk\n"
        "from puretalk_ai_openapi.api.integrations import update_integration as op\n"
        "from puretalk_ai_openapi.models import IntegrationResponse\n"
        "client: Puretalk\n"
        "aclient: AsyncPuretalk\n"
        "ok: IntegrationResponse = client.call(op.sync_detailed, '6f1c')\n"
        "client.call(op.sync_detailed, 123)\n"
        "client.call(op.sync_detailed, '6f1c', 'extra')\n"
        "client.call(op.sync_detailed, '6f1c', bodyy=None)\n"
        "async def go() -> None:\n"
        "    fine: IntegrationResponse = await aclient.call(op.asyncio_detailed, '6f1c')\n"
        "    await aclient.call(op.asyncio_detailed, 123)\n"
    )
    result = _mypy(path)
    assert result.returncode == 1, result.stdout
    errors = {line.split(":")[1] for line in result.stdout.splitlines() if ": error:" in line}
    assert errors == {"7", "8", "9", "12"}, result.stdout


def test_every_readme_snippet_passes_pyright_strict(tmp_path: Path) -> None:
    """What VS Code users see: the same snippets under pyright's strict mode."""
    import json
    import shutil

    pyright = ROOT / "node_modules" / ".bin" / "pyright"
    assert pyright.exists(), "make install puts pyright in node_modules"
    module = [
        PRELUDE.replace("client: Puretalk", "client = Puretalk()")
        .replace("aclient: AsyncPuretalk", "aclient = AsyncPuretalk()")
        .replace("pairs: list[tuple[str, str]]", "pairs: list[tuple[str, str]] = []")
    ]
    for number, body in enumerate(snippets()):
        module.append(f"\n\nasync def snippet_{number}() -> None:\n")
        module.append(textwrap.indent(body, "    ") + "    pass\n")
    path = tmp_path / "readme_snippets.py"
    path.write_text("".join(module))
    config = tmp_path / "pyrightconfig.json"
    config.write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "extraPaths": [str(ROOT / "wrapper"), str(ROOT / "generated")],
                "pythonVersion": "3.11",
                "reportUnusedVariable": False,
                "reportUnusedExpression": False,
                "reportUnusedCoroutine": False,
                # Artifacts of the harness, which wraps each snippet in a function:
                "reportUnusedImport": False,
                "reportUnusedFunction": False,
            }
        )
    )
    venv_bin = str(Path(sys.executable).parent)
    result = subprocess.run(
        [str(pyright), "--outputjson", "-p", str(config), str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": f"{venv_bin}:{Path(shutil.which('node') or 'node').parent}"},
    )  # fmt: skip
    report = json.loads(result.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert errors == [], "\n".join(
        f"{d['range']['start']['line'] + 1}: {d['message']}" for d in errors
    )
