"""The docs work as written: the site builds in strict mode, and every Python block of
``README.md`` and ``docs/`` runs as a script (or, when its first line names a pytest file,
``# test_*.py`` or ``# conftest.py``, as that file under pytest) against the fake served on
127.0.0.1, and type-checks under ``mypy --strict`` and pyright strict."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from puretalk_ai.testing import FakePuretalk
from tests.helpers import ROOT

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = [pytest.mark.e2e, pytest.mark.tooling]

PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
    ROOT / "wrapper" / "puretalk_ai" / "__init__.py",
    ROOT / "wrapper" / "puretalk_ai" / "testing" / "__init__.py",
]
# The ids the docs use, served by the fake the blocks run against.
DOC_IDS = ("6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "9a2b7c4d-1e5f-4a3b-8c9d-0e1f2a3b4c5d")
DOC_CALLER_KEY = "pt-docs-caller-key-5e1d9b"
FILE_NAME = re.compile(r"^# ((?:test_\w+|conftest)\.py)\n")


@attrs.frozen
class Block:
    page: Path
    line: int
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def file_name(self) -> str | None:
        """The pytest file the block is (its first line names it), or None: a script."""
        match = FILE_NAME.match(self.code)
        return match.group(1) if match else None


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text()
        if page.suffix == ".py":  # a package docstring, rendered in the API reference
            text = str(ast.get_docstring(ast.parse(text), clean=False))
        for match in re.finditer(r"^( *)```python\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(page, line, textwrap.dedent(match.group(2))))
    return found


SCRIPTS = [b for b in blocks() if b.file_name is None]
PYTEST_PAGES = sorted({b.page for b in blocks() if b.file_name is not None})


def test_the_docs_have_blocks_of_both_kinds() -> None:
    assert len(SCRIPTS) >= 10
    assert any(b.page.name == "README.md" for b in SCRIPTS)
    assert sum(b.page.name == "__init__.py" for b in SCRIPTS) == 2  # the packages' docstrings
    assert PYTEST_PAGES == [ROOT / "docs" / "guide" / "testing.md"]


def _doc_fake() -> FakePuretalk:
    fake = FakePuretalk(api_key=DOC_CALLER_KEY)
    for integration_id in DOC_IDS:
        fake.add_integration(integration_id=integration_id, api_key="old-key", app_name="openai")
    return fake


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The fake, on 127.0.0.1, holding the docs' integrations; its base URL."""
    with _doc_fake().serve() as server:
        yield server.base_url


def _env(base_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PURETALK_API_KEY": DOC_CALLER_KEY,
        "PURETALK_BASE_URL": base_url,
    }


@pytest.mark.parametrize("block", SCRIPTS, ids=[b.name for b in SCRIPTS])
def test_every_block_runs_as_a_script(block: Block, served: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(block.code)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=_env(served),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.name}:\n{output[-3000:]}"
    assert DOC_CALLER_KEY not in output


@pytest.mark.parametrize("page", PYTEST_PAGES, ids=[p.name for p in PYTEST_PAGES])
def test_the_pytest_files_of_a_page_pass_record_and_replay(page: Path, tmp_path: Path) -> None:
    """The page's pytest files, written as they are, pass under pytest with the plugins
    of the dev lock (pytest-recording among them): first recording against the fake, then
    replaying their cassettes at the same URL with the fake stopped. No cassette holds a
    key."""
    files = [b for b in blocks() if b.page == page and b.file_name is not None]
    for block in files:
        (tmp_path / str(block.file_name)).write_text(block.code)
    tests = sum(block.code.count("\ndef test_") for block in files)

    def run(base_url: str, mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--record-mode={mode}", str(tmp_path)],
            cwd=tmp_path, env=_env(base_url), capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip

    fake = _doc_fake()
    with fake.serve() as server:
        base_url = server.base_url
        recorded = run(base_url, "once")
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-2000:]
    assert f"{tests} passed" in recorded.stdout
    recorded_requests = len(fake.requests)
    cassettes = sorted(tmp_path.rglob("cassettes/**/*.yaml"))
    assert cassettes, "the page records a cassette"
    new_keys = set()
    for block in files:
        new_keys |= set(re.findall(r'api_key="([^"]{8,})"', block.code))
    assert new_keys
    for cassette in cassettes:
        text = cassette.read_text()
        assert "***" in text
        assert DOC_CALLER_KEY not in text
        assert not any(key in text for key in new_keys), cassette.name
    replayed = run(base_url, "none")  # the server is gone: only the cassette can answer
    assert replayed.returncode == 0, replayed.stdout[-3000:] + replayed.stderr[-2000:]
    assert f"{tests} passed" in replayed.stdout
    assert len(fake.requests) == recorded_requests


def _all_blocks_as_files(tmp_path: Path) -> list[Path]:
    paths = []
    for number, block in enumerate(blocks()):
        name = block.file_name or f"snippet_{number}.py"
        path = tmp_path / name
        assert not path.exists(), f"two blocks named {name}"
        path.write_text(block.code)
        paths.append(path)
    return paths


def _mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null",
         "--python-version", "3.11", *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={"MYPYPATH": f"{ROOT / 'wrapper'}:{ROOT / 'generated'}", "PATH": ""},
    )  # fmt: skip


def test_every_block_type_checks_under_mypy_strict(tmp_path: Path) -> None:
    result = _mypy(*_all_blocks_as_files(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_block_passes_pyright_strict(tmp_path: Path) -> None:
    """What VS Code users see: each block, as written, under pyright's strict mode."""
    pyright = ROOT / "node_modules" / ".bin" / "pyright"
    assert pyright.exists(), "make install puts pyright in node_modules"
    paths = _all_blocks_as_files(tmp_path)
    config = tmp_path / "pyrightconfig.json"
    config.write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "extraPaths": [str(ROOT / "wrapper"), str(ROOT / "generated")],
                "pythonVersion": "3.11",
            }
        )
    )
    venv_bin = str(Path(sys.executable).parent)
    result = subprocess.run(
        [str(pyright), "--outputjson", "-p", str(config), *map(str, paths)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": f"{venv_bin}:{Path(shutil.which('node') or 'node').parent}"},
    )  # fmt: skip
    report = json.loads(result.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert errors == [], "\n".join(
        f"{Path(d['file']).name}:{d['range']['start']['line'] + 1}: {d['message']}" for d in errors
    )


def test_every_relative_link_of_the_readme_leads_to_a_file() -> None:
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local
    missing = [link for link in local if not (ROOT / link).exists()]
    assert missing == []


def test_the_readme_is_a_landing_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """make docs: a broken link, anchor or API reference fails the build (mkdocs --strict);
    the API reference holds every public name."""
    import puretalk_ai

    site = tmp_path / "site"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict",
         "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr
    reference = (site / "reference" / "index.html").read_text()
    names = [n for n in puretalk_ai.__all__ if n != "__version__"]
    missing = [n for n in names if f'id="puretalk_ai.{n}"' not in reference]
    assert missing == []


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


@pytest.mark.parametrize(
    ("page", "broken"),
    [
        ("guide/cli.md", "[the client](client.md#no-such-anchor)"),
        ("guide/cli.md", "[a page](no-such-page.md)"),
        ("reference.md", "::: puretalk_ai.NoSuchName"),
    ],
)
def test_a_broken_link_or_reference_fails_the_build(page: str, broken: str, tmp_path: Path) -> None:
    """Strict mode is armed: a copy of the docs with one broken link, anchor or API
    reference does not build."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    for package in ("wrapper", "generated"):
        (tmp_path / package).symlink_to(ROOT / package)
    with (tmp_path / "docs" / page).open("a") as file:
        file.write(f"\n\n{broken}\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "no-such" in result.stderr or "NoSuchName" in result.stderr, result.stderr
