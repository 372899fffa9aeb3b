"""The semver guard: the public API, snapshotted and compared with griffe.

    python -m scripts.api_guard check      # make check-api (part of make test)
    python -m scripts.api_guard summary    # what changed and its level (make generate)
    python -m scripts.api_guard snapshot [--ref REV]   # make api-snapshot

The snapshot (api/public-api.json) is the public API of the version it names: every public
name of `puretalk_ai` and `puretalk_ai_openapi` (the wrapper's `__all__`, every generated
model and its fields) with its signature or annotation, and griffe's own dump of both
packages. `check` fails when the API differs from the snapshot and the version is not
bumped enough for the change (removed or changed: major, which is minor while we are 0.x;
added: minor), or when CHANGELOG.md has no entry for the current version. Take a new
snapshot when releasing, after the bump.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

import griffe

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "api" / "public-api.json"
PACKAGES = ("puretalk_ai", "puretalk_ai_openapi")
SOURCES = ("wrapper", "generated")
Version = tuple[int, int, int]


def load(root: Path) -> dict[str, griffe.Module]:
    loader = griffe.GriffeLoader(search_paths=[str(root / s) for s in SOURCES])
    modules = {name: loader.load(name) for name in PACKAGES}
    loader.resolve_aliases(implicit=False, external=None)
    return modules  # type: ignore[return-value]


def _describe(obj: Any) -> str:
    kind = obj.kind.value
    if kind == "function":
        params = ", ".join(
            f"{p.kind.value} {p.name}: {p.annotation}"
            + ("" if p.default is None else f" = {p.default}")
            for p in obj.parameters
        )
        return f"function({params}) -> {obj.returns}"
    if kind == "attribute":
        return f"attribute: {obj.annotation}"
    if kind == "class":
        return f"class({', '.join(str(b) for b in obj.bases)})"
    return str(kind)


def view(modules: dict[str, griffe.Module]) -> dict[str, str]:
    """What users see: every public path with its signature, annotation or kind."""
    out: dict[str, str] = {}

    def walk(obj: Any, path: str, depth: int) -> None:
        if depth > 10 or path in out:
            return
        target = obj
        if obj.is_alias:
            try:
                target = obj.final_target
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                out[path] = f"alias of {obj.target_path}"
                return
        out[path] = _describe(target)
        if target.kind.value == "module":
            members = {n: m for n, m in target.members.items() if m.is_public}
        elif target.kind.value == "class":
            members = {
                n: m
                for n, m in target.all_members.items()
                if not n.startswith("_") or n == "__init__"
            }
        else:
            return
        for name, member in sorted(members.items()):
            walk(member, f"{path}.{name}", depth + 1)

    for name, module in modules.items():
        walk(module, name, 0)
    return out


def parse_version(text: str) -> Version:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text.strip())
    if not match:
        raise SystemExit(f"api_guard: not a release version: {text!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def version_of(root: Path) -> str:
    source = (root / "wrapper" / "puretalk_ai" / "_version.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', source)
    if not match:
        raise SystemExit("api_guard: no __version__ in _version.py")
    return match.group(1)


def compare(old: dict[str, str], new: dict[str, str]) -> tuple[str | None, list[str]]:
    """The change level ("major", "minor" or None) and one line per change."""
    removed = sorted(old.keys() - new.keys())
    added = sorted(new.keys() - old.keys())
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    lines = [f"removed  {k}" for k in removed]
    lines += [f"changed  {k}: {old[k]}  ->  {new[k]}" for k in changed]
    lines += [f"added    {k}" for k in added]
    if removed or changed:
        return "major", lines
    return ("minor" if added else None), lines


def required(base: Version, level: str | None) -> Version:
    major, minor, _patch = base
    if level is None:
        return base
    if level == "major" and major > 0:
        return major + 1, 0, 0
    return major, minor + 1, 0  # minor, and major while we are 0.x


def _explain(snapshot: dict[str, Any], modules: dict[str, griffe.Module]) -> list[str]:
    """griffe's own account of the breaking changes, for the humans reading the summary."""
    lines = []
    collection = griffe.ModulesCollection()
    olds = {}
    for name, dumped in snapshot["griffe"].items():
        olds[name] = json.loads(dumped, object_hook=griffe.json_decoder)
        olds[name]._modules_collection = collection  # so aliases across packages resolve
        collection[name] = olds[name]
    for name, old in olds.items():
        for breakage in griffe.find_breaking_changes(old, modules[name]):
            lines.append(f"griffe: {breakage.explain(style=griffe.ExplanationStyle.MARKDOWN)}")
    return lines


def read_snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return data


def changelog_has(version: str) -> bool:
    text = (ROOT / "CHANGELOG.md").read_text()
    return re.search(rf"^## \[{re.escape(version)}\]", text, re.MULTILINE) is not None


def summary() -> tuple[str | None, list[str], str, str]:
    snapshot = read_snapshot()
    modules = load(ROOT)
    level, lines = compare(snapshot["view"], view(modules))
    if level == "major":
        lines += _explain(snapshot, modules)
    return level, lines, snapshot["version"], version_of(ROOT)


def cmd_summary() -> int:
    level, lines, base, current = summary()
    if level is None:
        print(f"public API: unchanged since the snapshot of {base}")
        return 0
    need = ".".join(map(str, required(parse_version(base), level)))
    print(f"public API: {len(lines)} change(s) since the snapshot of {base}; level: {level}")
    for line in lines:
        print(f"  {line}")
    print(f"bump the version to at least {need} (now {current}) and add a CHANGELOG entry")
    return 0


def cmd_check() -> int:
    level, lines, base, current = summary()
    problems = []
    need = required(parse_version(base), level)
    if parse_version(current) < need:
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        problems.append(
            f"the public API changed since {base} ({level} level) but the version is {current}; "
            f"bump to at least {'.'.join(map(str, need))}"
        )
    if not changelog_has(current):
        problems.append(f"CHANGELOG.md has no entry '## [{current}]'")
    for problem in problems:
        print(f"check-api: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-api: {current} covers the API changes since {base} ({level or 'none'})")
    return 1 if problems else 0


def _tree_at(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        [shutil.which("git") or "git", "archive", ref, *SOURCES],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def cmd_snapshot(ref: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = ROOT if ref is None else _tree_at(ref, Path(tmp))
        modules = load(root)
        snapshot = {
            "version": version_of(root),
            "view": view(modules),
            "griffe": {name: m.as_json() for name, m in modules.items()},
        }
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: the public API of {snapshot['version']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The public-API semver guard.")
    parser.add_argument("command", choices=("check", "summary", "snapshot"))
    parser.add_argument("--ref", help="snapshot: the API at this git revision")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        return cmd_snapshot(args.ref)
    return cmd_check() if args.command == "check" else cmd_summary()


if __name__ == "__main__":
    sys.exit(main())
