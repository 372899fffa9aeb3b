"""Generate the low-level client from the vendored spec, reproducibly.

Usage:
  python -m scripts.generate            # rewrite generated/puretalk_ai_openapi
  python -m scripts.generate --check    # regenerate into a temp dir, diff, exit 1 on drift

Both modes run the same steps: apply openapi/overlay.yaml to openapi/puretalk.yaml in a
temp dir, run the pinned openapi-python-client with openapi/generator-config.yaml and the
templates in openapi/templates, and
verify that the pinned ruff really formatted the result (the generator only warns when
ruff is missing, which would silently change the bytes).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "puretalk.yaml"
OVERLAY = ROOT / "openapi" / "overlay.yaml"
CONFIG = ROOT / "openapi" / "generator-config.yaml"
# Copies of two of the generator's own templates, changed only where they say
# "puretalk-ai": secret-named fields get a masked repr (see types.py.jinja).
TEMPLATES = ROOT / "openapi" / "templates"
PACKAGE = "puretalk_ai_openapi"
TARGET = ROOT / "generated" / PACKAGE
PROVENANCE = "provenance.json"

# One segment of an Overlay target: .name or ['name'].
_SEGMENT = re.compile(r"\.(?P<name>[A-Za-z_][\w-]*)|\['(?P<quoted>[^']*)'\]")


class GenerationError(Exception):
    """Generation could not produce a trustworthy tree."""


def _tool(name: str) -> str:
    """The tool from this interpreter's environment, never a stray one from PATH."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise GenerationError(f"{name} is not installed in {path.parent}; run `make install`")
    return str(path)


def _resolve_target(document: dict[str, Any], target: str) -> dict[str, Any]:
    if not target.startswith("$"):
        raise GenerationError(f"overlay target must start with '$': {target!r}")
    node: Any = document
    position = 1
    while position < len(target):
        match = _SEGMENT.match(target, position)
        if match is None:
            raise GenerationError(f"unsupported overlay target syntax: {target!r}")
        key = match.group("name") or match.group("quoted")
        if not isinstance(node, dict) or key not in node:
            raise GenerationError(f"overlay target {target!r} matches nothing in the spec")
        node = node[key]
        position = match.end()
    if not isinstance(node, dict):
        raise GenerationError(f"overlay target {target!r} is not an object")
    return node


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Apply the `update` actions of an OpenAPI Overlay 1.0 document (a shallow merge)."""
    for action in overlay.get("actions", []):
        if "update" not in action or action.get("remove"):
            raise GenerationError("only overlay 'update' actions are supported")
        _resolve_target(document, action["target"]).update(action["update"])
    return document


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The verb of an operation on an item (a path ending in a parameter) or a collection.
_ITEM_VERBS = {"get": "get", "patch": "update", "put": "replace", "delete": "delete"}
_COLLECTION_VERBS = {"get": "list", "post": "create"}


def operation_name(method: str, path: str) -> tuple[str, str] | None:
    """The name and tag of an operation the spec leaves unnamed, in the style of the
    existing one: ``GET /ruth-connect/integrations/{integration_id}`` is
    ``get_integration`` in ``integrations``, ``GET .../integrations`` is
    ``list_integrations``, ``DELETE`` of an item ``delete_integration``. None when the
    path has no shape this rule knows (the overlay must name it)."""
    segments = [s for s in path.strip("/").split("/") if s]
    item = bool(segments) and segments[-1].startswith("{")
    literals = [s for s in segments if not s.startswith("{")]
    if not literals or not re.fullmatch(r"[a-z][a-z0-9-]*", literals[-1]):
        return None
    collection = literals[-1].replace("-", "_")
    verb = (_ITEM_VERBS if item else _COLLECTION_VERBS).get(method)
    if verb is None:
        return None
    one = item or verb == "create"  # about one integration, not the collection
    noun = collection[:-1] if one and collection.endswith("s") else collection
    return f"{verb}_{noun}", collection


def name_operations(document: dict[str, Any]) -> list[str]:
    """Give every operation without an ``operationId`` (after the overlay) a name and a
    tag from its method and path; one line per operation named, saying how to choose
    another in openapi/overlay.yaml. An operation no rule can name stops generation."""
    named: list[str] = []
    taken = {
        op.get("operationId")
        for item in document.get("paths", {}).values()
        for method, op in item.items()
        if method in _METHODS and isinstance(op, dict)
    }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            if operation.get("operationId"):
                continue
            found = operation_name(method, path)
            target = f"$.paths['{path}'].{method}"
            if found is None or found[0] in taken:
                raise GenerationError(
                    f"{method.upper()} {path} has no operationId and no name can be derived "
                    f"from its path; add to openapi/overlay.yaml:\n"
                    f'  - target: "{target}"\n    update:\n      operationId: <name>\n'
                    "      tags:\n        - <module>"
                )
            name, tag = found
            taken.add(name)
            operation["operationId"] = name
            operation.setdefault("tags", [tag])
            named.append(
                f"{method.upper()} {path} has no operationId: named {name} (in api/{tag}); "
                f'to name it otherwise, add an action for target "{target}" to '
                "openapi/overlay.yaml"
            )
    return named


def generate_into(
    output: Path,
    *,
    spec: Path | None = None,
    overlay_path: Path | None = None,
    config: Path | None = None,
) -> None:
    """Write the generated package to `output`, which must not exist yet. The inputs
    default to the vendored spec, overlay and config (tests pass fixture ones)."""
    ruff = _tool("ruff")
    generator = _tool("openapi-python-client")
    document = yaml.safe_load((spec or SPEC).read_bytes())
    overlay = yaml.safe_load((overlay_path or OVERLAY).read_bytes())
    env = dict(os.environ)
    # The post hooks call plain `ruff`: make it resolve to the pinned one.
    env["PATH"] = f"{Path(ruff).parent}{os.pathsep}{env.get('PATH', '')}"
    env["RUFF_NO_CACHE"] = "true"
    with tempfile.TemporaryDirectory(prefix="puretalk-spec-") as work:
        merged = Path(work) / "puretalk.yaml"
        document = apply_overlay(document, overlay)
        for line in name_operations(document):
            print(f"generate: {line}", file=sys.stderr)
        merged.write_text(yaml.safe_dump(document, sort_keys=False))
        result = subprocess.run(
            [
                generator, "generate",
                "--path", str(merged),
                "--config", str(config or CONFIG),
                "--custom-template-path", str(TEMPLATES),
                "--meta", "none",
                "--output-path", str(output),
            ],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    if result.returncode != 0 or "Unable to" in result.stdout + result.stderr:
        raise GenerationError(f"openapi-python-client failed:\n{result.stdout}{result.stderr}")
    formatted = subprocess.run(
        [ruff, "format", "--check", "--isolated", "--no-cache", str(output)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if formatted.returncode != 0:
        raise GenerationError(f"generated code is not ruff-formatted:\n{formatted.stdout}")
    for cache in output.rglob("__pycache__"):
        shutil.rmtree(cache)
    (output / "py.typed").touch()  # the generator writes it; make sure it stays
    (output / PROVENANCE).write_text(provenance(ruff))


def provenance(ruff: str) -> str:
    """What the tree was made from: so that any byte changed in the inputs, even one the
    generator ignores, or a different toolchain, shows up in check-generated's diff."""
    ruff_version = subprocess.run(
        [ruff, "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    record = {
        "spec_sha256": hashlib.sha256(SPEC.read_bytes()).hexdigest(),
        "overlay_sha256": hashlib.sha256(OVERLAY.read_bytes()).hexdigest(),
        "config_sha256": hashlib.sha256(CONFIG.read_bytes()).hexdigest(),
        "templates_sha256": hashlib.sha256(
            b"".join(p.name.encode() + p.read_bytes() for p in sorted(TEMPLATES.iterdir()))
        ).hexdigest(),
        "openapi_python_client": importlib.metadata.version("openapi-python-client"),
        "ruff": ruff_version,
    }
    return json.dumps(record, indent=2) + "\n"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def diff_trees(expected: Path, actual: Path) -> str:
    """A unified diff from `actual` (committed) to `expected` (fresh generation): what
    `make generate` would change, so an added field shows as `+` lines."""
    want, have = _tree(expected), _tree(actual)
    chunks: list[str] = []
    for name in sorted(want.keys() | have.keys()):
        if want.get(name) != have.get(name):
            a = have.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
            b = want.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
            diff = list(difflib.unified_diff(a, b, f"committed/{name}", f"regenerated/{name}"))
            chunks.append("".join(diff) or f"binary or whitespace-only difference in {name}\n")
    return "".join(chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate puretalk_ai_openapi from the spec.")
    parser.add_argument("--check", action="store_true", help="fail if generated/ is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="puretalk-gen-") as work:
        fresh = Path(work) / PACKAGE
        try:
            generate_into(fresh)
        except GenerationError as exc:
            print(f"generate: error: {exc}", file=sys.stderr)
            return 1
        if args.check:
            if not TARGET.exists():
                print(f"check-generated: {TARGET} is missing; run `make generate`", file=sys.stderr)
                return 1
            diff = diff_trees(fresh, TARGET)
            if diff:
                print(diff, end="")
                print(
                    "check-generated: generated/ differs from what the spec and config "
                    "produce; run `make generate` and commit the result",
                    file=sys.stderr,
                )
                return 1
            print("check-generated: generated/ is in sync with openapi/")
            return 0
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, TARGET)
    print(f"generated {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
