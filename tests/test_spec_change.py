"""A spec change is a routine release: on a copy of the tree, a new docs page goes through
the regenerating guide's steps (make spec, make generate, read the level, bump by the 0.x
convention, CHANGELOG, make release-prep), and make check stays green with no edit under
tests/. Three changes a maintainer meets: an optional field added, a field removed (picked from the
current model), and a GET operation added (named by make generate, callable through
client.call against the shipped fake)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import DOCS_PAGE, ROOT, optional_text_field, source_files

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PROPERTIES = "    RuthConnectIntegration:\n      type: object\n      properties:\n"
ITEM_PATH = "  /ruth-connect/integrations/{integration_id}:\n"
GET_OPERATION = """    get:
      description: Get an integration based on the ID supplied
      parameters:
        - name: integration_id
          in: path
          description: ID of integration to get
          required: true
          schema:
            type: string
      responses:
        '200':
          description: Integration fetched
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/IntegrationsResponse'
        '404':
          description: Not Found
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
"""


def add_field(page: str) -> str:
    assert PROPERTIES in page
    field = "        category:\n          type: string\n          description: Category\n"
    return page.replace(PROPERTIES, PROPERTIES + field, 1)


def remove_field(page: str) -> str:
    """The page without the model's last optional plain-string field (whatever the spec
    holds today): its line and every line indented under it."""
    name = optional_text_field()
    lines = page.splitlines(keepends=True)
    start = lines.index(f"        {name}:\n")
    end = start + 1
    while end < len(lines) and lines[end].startswith(" " * 10):
        end += 1
    return "".join(lines[:start] + lines[end:])


def add_get(page: str) -> str:
    assert ITEM_PATH in page
    return page.replace(ITEM_PATH, ITEM_PATH + GET_OPERATION, 1)


def _run(tree: Path, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # The copy's packages, not the editable install of this checkout.
        "PYTHONPATH": os.pathsep.join(str(tree / p) for p in ("wrapper", "generated", ".")),
    }
    result = subprocess.run(
        [sys.executable, *argv], cwd=tree, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if ok:
        assert result.returncode == 0, (argv, result.stdout[-3000:], result.stderr[-3000:])
    return result


def _digest(tree: Path) -> str:
    files = sorted(p for p in (tree / "tests").rglob("*.py") if "__pycache__" not in p.parts)
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


# (the change to the docs page, the guard's level, the part of the version it bumps)
CHANGES: list[tuple[str, Callable[[str], str], str, int]] = [
    ("an optional field added", add_field, "minor", 2),
    ("a field removed", remove_field, "major", 1),
    ("a GET operation added", add_get, "minor", 2),
]


@pytest.mark.parametrize(("name", "change", "level", "part"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_spec_change_follows_the_readme_to_a_green_release(
    tmp_path: Path, name: str, change: Callable[[str], str], level: str, part: int
) -> None:
    tree = tmp_path / "tree"
    for file in source_files():
        target = tree / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / file, target)
    where = _run(tree, "-c", "import puretalk_ai; print(puretalk_ai.__file__)")
    assert where.stdout.startswith(str(tree))
    tests_before = _digest(tree)
    # 1. make spec SRC=the new docs page.
    page = tmp_path / "page.md"
    page.write_text(change(DOCS_PAGE.read_text()))
    _run(tree, "-m", "scripts.extract_spec", str(page))
    # 2. make generate, and its summary: the level, and the version to bump to.
    generated = _run(tree, "-m", "scripts.generate")
    summary = _run(tree, "-m", "scripts.api_guard", "summary").stdout
    assert f"level: {level}" in summary, summary
    need = re.search(r"bump the version to at least (\d+)\.(\d+)\.(\d+)", summary)
    assert need is not None, summary
    old = [int(p) for p in _run(tree, "-c", "import puretalk_ai; print(puretalk_ai.__version__)")
           .stdout.strip().split(".")]  # fmt: skip
    new = [int(p) for p in need.groups()]
    # The 0.x convention: a breaking change bumps the minor, an addition the patch.
    expected = old[:part] + [old[part] + 1] + [0] * (2 - part)
    assert new == expected, (old, new)
    assert _run(tree, "-m", "scripts.api_guard", "check", ok=False).returncode == 1
    # 3. bump and CHANGELOG, then make release-prep.
    version = ".".join(map(str, new))
    (tree / "wrapper/puretalk_ai/_version.py").write_text(f'__version__ = "{version}"\n')
    changelog = tree / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace(
            "## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}]\n- {name}.\n", 1
        )
    )
    _run(tree, "-m", "scripts.api_guard", "release-prep")
    # 4. make check's steps, and the guard and generated/ in sync: green, tests/ untouched.
    _run(tree, "-m", "scripts.api_guard", "check")
    _run(tree, "-m", "scripts.generate", "--check")
    _run(tree, "-m", "ruff", "check", "--no-cache", "wrapper", "scripts", "tests")
    _run(tree, "-m", "mypy", "--cache-dir=/dev/null")
    checked = _run(
        tree, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
        "-m", "not slow and not e2e",
    )  # fmt: skip
    assert " passed" in checked.stdout.strip().splitlines()[-1]
    assert _digest(tree) == tests_before
    if change is add_get:
        assert "named get_integration (in api/integrations)" in generated.stderr
        # Callable through client.call against the shipped fake.
        fetched = _run(
            tree, "-c",
            "from puretalk_ai.testing import FakePuretalk\n"
            "from puretalk_ai_openapi.api.integrations import get_integration\n"
            "fake = FakePuretalk()\n"
            "stored = fake.add_integration(app_name='vapi')\n"
            "with fake.client() as client:\n"
            "    answer = client.call(get_integration.sync_detailed, stored.integration_id)\n"
            "print(answer.results.app_name)",
        ).stdout  # fmt: skip
        assert fetched.strip() == "vapi"
