"""The semver guard: levels, required bumps, and the repository's own state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import api_guard

# Tests of the dev tooling, which make runs on .venv (3.11) only.
pytestmark = pytest.mark.tooling


@pytest.fixture(scope="module")
def current() -> dict[str, str]:
    return api_guard.view(api_guard.load(api_guard.ROOT))


def test_the_view_covers_the_wrapper_and_every_generated_field(current: dict[str, str]) -> None:
    assert "puretalk_ai.Puretalk.integrations" in current
    assert current["puretalk_ai_openapi.models.Integration.app_name"] == "attribute: str | Unset"
    assert current["puretalk_ai.Integration"].startswith("class(")  # aliases resolved


def test_a_removed_field_is_major_and_needs_a_minor_bump_while_0x(
    current: dict[str, str],
) -> None:
    new = dict(current)
    del new["puretalk_ai_openapi.models.Integration.app_name"]
    level, lines = api_guard.compare(current, new)
    assert level == "major"
    assert lines == ["removed  puretalk_ai_openapi.models.Integration.app_name"]
    assert api_guard.required((0, 2, 0), level) == (0, 3, 0)
    assert api_guard.required((1, 4, 2), level) == (2, 0, 0)


def test_a_changed_type_is_major_and_an_addition_minor(current: dict[str, str]) -> None:
    changed = {**current, "puretalk_ai_openapi.models.Integration.app_name": "attribute: int"}
    assert api_guard.compare(current, changed)[0] == "major"
    added = {**current, "puretalk_ai_openapi.models.Integration.description": "attribute: str"}
    level, lines = api_guard.compare(current, added)
    assert (level, lines) == (
        "minor",
        ["added    puretalk_ai_openapi.models.Integration.description"],
    )
    assert api_guard.required((1, 4, 2), level) == (1, 5, 0)
    assert api_guard.required((0, 6, 0), level) == (0, 6, 1)  # 0.x: an addition is a patch
    assert api_guard.compare(current, dict(current)) == (None, [])


def _tree(tmp_path: Path) -> Path:
    """A copy of what the guard reads, with a snapshot of its own (the repository's is
    never touched, so this stays green through a release)."""
    root = tmp_path / "tree"
    for name in ("wrapper", "generated"):
        shutil.copytree(
            api_guard.ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(api_guard.ROOT / "CHANGELOG.md", root / "CHANGELOG.md")
    shutil.copytree(api_guard.ROOT / "api", root / "api")
    assert api_guard.main(["release-prep", "--root", str(root)]) == 0
    return root


def _set_version(root: Path, version: str, changelog: bool = True) -> None:
    (root / "wrapper" / "puretalk_ai" / "_version.py").write_text(f'__version__ = "{version}"\n')
    if changelog:
        text = (root / "CHANGELOG.md").read_text()
        (root / "CHANGELOG.md").write_text(f"## [{version}]\n\n- a release\n\n" + text)


def _model(root: Path) -> Path:
    return root / "generated" / "puretalk_ai_openapi" / "models" / "integration.py"


def _guard(root: Path, *command: str) -> int:
    return api_guard.main([*command, "--root", str(root)])


def test_a_removed_field_fails_until_a_bump_and_release_prep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    version = api_guard.version_of(root)
    major, minor, _ = api_guard.parse_version(version)
    assert _guard(root, "check") == 0
    capsys.readouterr()
    model = _model(root)
    model.write_text(model.read_text().replace("    app_name: str | Unset = UNSET\n", "", 1))
    # No bump: fails, names the level and the bump it needs.
    assert _guard(root, "check") == 1
    err = capsys.readouterr().err
    assert "removed  puretalk_ai_openapi.models.Integration.app_name" in err
    assert "(major level)" in err
    need = f"{major}.{minor + 1}.0" if major == 0 else f"{major + 1}.0.0"
    assert f"bump to at least {need}" in err
    _guard(root, "summary")
    assert "level: major" in capsys.readouterr().out
    # A patch bump is not enough, and release-prep refuses it.
    _set_version(root, f"{major}.{minor}.{_ + 1}")
    assert _guard(root, "check") == 1
    assert _guard(root, "release-prep") == 1
    assert f"bump to at least {need}" in capsys.readouterr().err
    # Bumped enough but not prepared: still red, and it says what to run.
    _set_version(root, need)
    assert _guard(root, "check") == 1
    assert "run make release-prep" in capsys.readouterr().err
    assert _guard(root, "release-prep") == 0
    assert _guard(root, "check") == 0
    assert api_guard.read_snapshot(root)["version"] == need


def test_an_added_field_is_minor_and_fails_without_a_bump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    capsys.readouterr()
    model = _model(root)
    model.write_text(
        model.read_text().replace(
            "    app_name: str | Unset = UNSET\n",
            "    app_name: str | Unset = UNSET\n    description: str | Unset = UNSET\n",
            1,
        )
    )
    _guard(root, "summary")
    out = capsys.readouterr().out
    assert "level: minor" in out
    assert "added    puretalk_ai_openapi.models.Integration.description" in out
    assert _guard(root, "check") == 1
    err = capsys.readouterr().err
    assert "(minor level)" in err
    major, minor, patch = api_guard.parse_version(api_guard.version_of(root))
    need = f"{major}.{minor}.{patch + 1}" if major == 0 else f"{major}.{minor + 1}.0"
    assert f"bump to at least {need}" in err


def test_a_bump_without_a_changelog_entry_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    _set_version(root, "9.9.9", changelog=False)
    assert _guard(root, "check") == 1
    err = capsys.readouterr().err
    assert "CHANGELOG.md has no entry '## [9.9.9]'" in err
    assert _guard(root, "release-prep") == 1


def test_the_repository_passes_its_own_guard(capsys: pytest.CaptureFixture[str]) -> None:
    assert api_guard.main(["check"]) == 0, capsys.readouterr().err
    # The snapshot is the current release's: a bump without release-prep fails.
    assert api_guard.read_snapshot()["version"] == api_guard.version_of(api_guard.ROOT)
