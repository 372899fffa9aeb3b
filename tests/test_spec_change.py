"""A spec change the suite follows by itself: on a copy of the tree, Puretalk's spec drops
the `logo` field, and the README's steps (make generate, read the level, bump, CHANGELOG,
make release-prep) leave the checks green with no edit to tests/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, source_files

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

LOGO = """        logo:
          type: string
          format: uri
          description: Logo of the application
"""


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


def test_removing_a_field_and_following_the_readme_keeps_the_checks_green(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    for name in source_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    where = _run(tree, "-c", "import puretalk_ai; print(puretalk_ai.__file__)")
    assert where.stdout.startswith(str(tree))

    spec = tree / "openapi" / "puretalk.yaml"
    assert LOGO in spec.read_text()
    spec.write_text(spec.read_text().replace(LOGO, ""))
    # 2. make generate, and its summary: a removed field is major.
    _run(tree, "-m", "scripts.generate")
    assert "logo" not in (tree / "generated/puretalk_ai_openapi/models/integration.py").read_text()
    summary = _run(tree, "-m", "scripts.api_guard", "summary").stdout
    assert "removed  puretalk_ai_openapi.models.Integration.logo" in summary
    assert "level: major" in summary
    need = re.search(r"bump the version to at least (\d+\.\d+\.\d+)", summary)
    assert need is not None, summary
    # Without the bump the guard fails.
    assert _run(tree, "-m", "scripts.api_guard", "check", ok=False).returncode == 1
    # 3. bump and CHANGELOG, then make release-prep.
    version = tree / "wrapper" / "puretalk_ai" / "_version.py"
    version.write_text(f'__version__ = "{need.group(1)}"\n')
    changelog = tree / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace(
            "## [Unreleased]\n",
            f"## [Unreleased]\n\n## [{need.group(1)}]\n- The spec dropped `logo`.\n",
            1,
        )
    )
    _run(tree, "-m", "scripts.api_guard", "release-prep")
    # 4. make test's checks that a field change reaches: the guard, generated/ in sync,
    # mypy --strict over wrapper/, scripts/ and tests/, and the tests that read the model.
    _run(tree, "-m", "scripts.api_guard", "check")
    _run(tree, "-m", "scripts.generate", "--check")
    _run(tree, "-m", "mypy", "--cache-dir=/dev/null")
    tests = _run(
        tree, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "-m", "not slow",
        "tests/test_update.py", "tests/test_fake.py", "tests/test_fuzz.py",
        "tests/test_errors.py", "tests/test_generated_gaps.py", "tests/test_client.py",
    )  # fmt: skip
    assert " passed" in tests.stdout.strip().splitlines()[-1]
    # The fake serves only the model's fields now.
    served = _run(
        tree, "-c",
        "from puretalk_ai.testing import FakePuretalk\n"
        "fake = FakePuretalk()\n"
        "print(sorted(fake.add_integration().to_json()))",
    ).stdout  # fmt: skip
    assert "logo" not in served
    assert "app_name" in served
