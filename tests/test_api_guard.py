"""The semver guard: levels, required bumps, and the repository's own state."""

from __future__ import annotations

import pytest

from scripts import api_guard


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
    assert api_guard.compare(current, dict(current)) == (None, [])


def test_check_fails_without_a_bump_or_a_changelog_entry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = api_guard.read_snapshot()
    monkeypatch.setattr(api_guard, "version_of", lambda root: snapshot["version"])
    assert api_guard.main(["check"]) == 1
    err = capsys.readouterr().err
    assert "the public API changed since" in err
    assert "bump to at least" in err
    monkeypatch.setattr(api_guard, "version_of", lambda root: "9.9.9")
    assert api_guard.main(["check"]) == 1
    assert "CHANGELOG.md has no entry '## [9.9.9]'" in capsys.readouterr().err


def test_the_repository_passes_its_own_guard(capsys: pytest.CaptureFixture[str]) -> None:
    assert api_guard.main(["check"]) == 0, capsys.readouterr().err
