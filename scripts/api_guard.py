"""The semver guard: the public API, snapshotted and compared with griffe.

    python -m scripts.api_guard check         # make check-api (part of make test)
    python -m scripts.api_guard summary       # what changed and its level (make generate)
    python -m scripts.api_guard release-prep  # make release-prep: check the bump, snapshot

The snapshot (api/public-api.json) is always the public API of the current release, the
version it names: every public name of `puretalk_ai` and `puretalk_ai_openapi` (the
wrapper's `__all__`, every generated model and its fields) with its signature or
annotation, and griffe's own dump of both packages. `check` fails when

- the API differs from the snapshot (removed or changed: major; added: minor) and the
  version is not bumped enough for it (under 0.x, as Cargo and npm's caret read it: a
  major change bumps the minor, a minor one the patch);
- the version was bumped but the snapshot still describes the previous release (the
  release is not prepared: `make release-prep` re-takes it once the bump is enough);
- CHANGELOG.md has no entry for the current version.

So between a change and its release the guard is red, and it names the bump it needs.
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
    """The least version a change of `level` needs after the release `base`.

    Plain semver from 1.0; under 0.x the convention of Cargo and npm's caret ranges: a
    breaking change bumps the minor, an addition the patch, so users who pin
    ``>=0.6,<0.7`` get every addition and no break."""
    major, minor, patch = base
    if level is None:
        return base
    if major == 0:
        return (0, minor + 1, 0) if level == "major" else (0, minor, patch + 1)
    return (major + 1, 0, 0) if level == "major" else (major, minor + 1, 0)


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


def read_snapshot(root: Path = ROOT) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / SNAPSHOT.relative_to(ROOT)).read_text())
    return data


def changelog_has(version: str, root: Path = ROOT) -> bool:
    text = (root / "CHANGELOG.md").read_text()
    return re.search(rf"^## \[{re.escape(version)}\]", text, re.MULTILINE) is not None


def summary(root: Path = ROOT) -> tuple[str | None, list[str], str, str]:
    """(level, one line per change, the snapshot's release, the current version)."""
    snapshot = read_snapshot(root)
    modules = load(root)
    level, lines = compare(snapshot["view"], view(modules))
    if level == "major":
        lines += _explain(snapshot, modules)
    return level, lines, snapshot["version"], version_of(root)


def _show(version: Version) -> str:
    return ".".join(map(str, version))


def problems(root: Path = ROOT) -> tuple[list[str], str | None, list[str]]:
    """What keeps the tree from being a prepared release: (what release-prep cannot fix,
    the one thing it does fix: a snapshot of the previous release, one line per change)."""
    level, lines, base, current = summary(root)
    found = []
    unprepared = None
    need = required(parse_version(base), level)
    if parse_version(current) < parse_version(base):
        found.append(f"the version {current} is older than the snapshot's release {base}")
    elif parse_version(current) < need:
        found.append(
            f"the public API changed since the release {base} ({level} level) but the version "
            f"is {current}; bump to at least {_show(need)}, add a CHANGELOG entry, then run "
            "make release-prep"
        )
    elif current != base:
        unprepared = (
            f"the version is {current} but api/public-api.json still describes {base}: run "
            "make release-prep to take the snapshot of this release"
        )
    if not changelog_has(current, root):
        found.append(f"CHANGELOG.md has no entry '## [{current}]'")
    return found, unprepared, lines


def cmd_summary(root: Path = ROOT) -> int:
    level, lines, base, current = summary(root)
    if level is None:
        print(f"public API: unchanged since the release {base}")
        return 0
    need = _show(required(parse_version(base), level))
    print(f"public API: {len(lines)} change(s) since the release {base}; level: {level}")
    for line in lines:
        print(f"  {line}")
    print(
        f"bump the version to at least {need} (now {current}), add a CHANGELOG entry, "
        "then run make release-prep"
    )
    return 0


def cmd_check(root: Path = ROOT) -> int:
    blocking, unprepared, lines = problems(root)
    found = blocking + ([unprepared] if unprepared else [])
    for line in lines if found else []:
        print(f"  {line}", file=sys.stderr)
    for problem in found:
        print(f"check-api: {problem}", file=sys.stderr)
    if not found:
        print(f"check-api: the public API is the release {version_of(root)}'s")
    return 1 if found else 0


def cmd_release_prep(root: Path = ROOT) -> int:
    """Take the snapshot of the current version, once the bump covers the API changes."""
    blocking, _unprepared, lines = problems(root)
    for line in lines if blocking else []:
        print(f"  {line}", file=sys.stderr)
    for problem in blocking:
        print(f"release-prep: {problem}", file=sys.stderr)
    if blocking:
        return 1
    return cmd_snapshot(None, root)


def _tree_at(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        [shutil.which("git") or "git", "archive", ref, *SOURCES],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def cmd_snapshot(ref: str | None, root: Path = ROOT) -> int:
    target = root / SNAPSHOT.relative_to(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        source = root if ref is None else _tree_at(ref, Path(tmp))
        modules = load(source)
        snapshot = {
            "version": version_of(source),
            "view": view(modules),
            "griffe": {name: m.as_json() for name, m in modules.items()},
        }
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target.relative_to(root)}: the public API of {snapshot['version']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The public-API semver guard.")
    parser.add_argument("command", choices=("check", "summary", "release-prep", "snapshot"))
    parser.add_argument("--ref", help="snapshot: the API at this git revision")
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree to look at")
    args = parser.parse_args(argv)
    if args.command == "snapshot":  # unchecked; the release step is release-prep
        return cmd_snapshot(args.ref, args.root)
    if args.command == "release-prep":
        return cmd_release_prep(args.root)
    return cmd_check(args.root) if args.command == "check" else cmd_summary(args.root)


if __name__ == "__main__":
    sys.exit(main())
