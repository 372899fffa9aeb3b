from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import generate

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = [pytest.mark.e2e, pytest.mark.tooling]


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / generate.PACKAGE
    generate.generate_into(out)
    return out


def test_committed_tree_matches_a_fresh_generation(fresh_tree: Path) -> None:
    assert generate.diff_trees(fresh_tree, generate.TARGET) == ""


def test_two_generations_are_byte_identical(fresh_tree: Path, tmp_path: Path) -> None:
    again = tmp_path / generate.PACKAGE
    generate.generate_into(again)
    assert generate._tree(again) == generate._tree(fresh_tree)


def test_generation_leaves_no_caches(fresh_tree: Path) -> None:
    names = {p.name for p in fresh_tree.rglob("*")}
    assert not names & {".ruff_cache", "__pycache__", ".mypy_cache"}
    assert (fresh_tree / "py.typed").is_file()


def test_readable_names_come_from_overlay_and_config(fresh_tree: Path) -> None:
    assert (fresh_tree / "api" / "integrations" / "update_integration.py").is_file()
    models = (fresh_tree / "models" / "__init__.py").read_text()
    for name in ("Integration", "IntegrationData", "UpdateIntegrationBody"):
        assert f'"{name}"' in models
    assert "RuthConnect" not in models
    assert "patch_ruth_connect" not in "".join(str(p) for p in fresh_tree.rglob("*"))


def test_one_changed_byte_in_generated_shows_as_a_diff(fresh_tree: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(fresh_tree, tampered)
    target = tampered / "models" / "integration.py"
    data = bytearray(target.read_bytes())
    data[data.index(b"app_name")] = ord("A")
    target.write_bytes(bytes(data))
    diff = generate.diff_trees(fresh_tree, tampered)
    (changed_line,) = [ln for ln in target.read_text().splitlines() if "App_name" in ln]
    assert "--- committed/models/integration.py" in diff
    assert "+++ regenerated/models/integration.py" in diff
    assert f"\n-{changed_line}\n" in diff  # the hand edit is what regenerating removes


def test_check_mode_fails_with_a_diff_when_generated_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / generate.PACKAGE
    shutil.copytree(generate.TARGET, stale)
    (stale / "types.py").write_bytes((stale / "types.py").read_bytes() + b"# edited by hand\n")
    monkeypatch.setattr(generate, "TARGET", stale)
    assert generate.main(["--check"]) == 1
    captured = capsys.readouterr()
    assert "-# edited by hand" in captured.out
    assert "make generate" in captured.err


def test_a_spec_change_fails_the_check_and_reaches_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = yaml.safe_load(generate.SPEC.read_bytes())
    spec["components"]["schemas"]["RuthConnectIntegration"]["properties"]["region"] = {
        "type": "string"
    }
    changed = tmp_path / "puretalk.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.setattr(generate, "SPEC", changed)
    assert generate.main(["--check"]) == 1
    # committed (without it) -> regenerated (with the new field): an addition is a "+"
    assert "\n+    region: str | Unset = UNSET\n" in capsys.readouterr().out


def test_any_byte_of_the_spec_fails_the_check_even_one_the_generator_ignores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = tmp_path / "puretalk.yaml"
    changed.write_bytes(generate.SPEC.read_bytes().replace(b"name: MIT", b"name: MIT "))
    monkeypatch.setattr(generate, "SPEC", changed)
    assert generate.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "--- committed/provenance.json" in out
    assert '"spec_sha256"' in out


def test_provenance_names_the_toolchain(fresh_tree: Path) -> None:
    record = json.loads((fresh_tree / "provenance.json").read_text())
    assert record["openapi_python_client"] == "0.29.1"
    assert record["ruff"] == "0.17.6"
    assert len(record["spec_sha256"]) == 64


def test_a_missing_ruff_is_an_error_not_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(generate.GenerationError, match="ruff is not installed"):
        generate.generate_into(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_overlay_target_that_matches_nothing_is_an_error() -> None:
    document: dict[str, Any] = {"paths": {"/a": {"get": {}}}}
    overlay = {"actions": [{"target": "$.paths['/b'].get", "update": {"operationId": "x"}}]}
    with pytest.raises(generate.GenerationError, match="matches nothing"):
        generate.apply_overlay(document, overlay)


def test_overlay_update_merges_into_the_target() -> None:
    document: dict[str, object] = {"paths": {"/a": {"get": {"description": "d"}}}}
    overlay = {"actions": [{"target": "$.paths['/a'].get", "update": {"operationId": "x"}}]}
    assert generate.apply_overlay(document, overlay) == {
        "paths": {"/a": {"get": {"description": "d", "operationId": "x"}}}
    }
