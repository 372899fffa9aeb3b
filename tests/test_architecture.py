"""The shape of the package, walked from its source: one HTTP boundary, an I/O-free core
that never imports the transport, and no import cycles (but under TYPE_CHECKING)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "wrapper" / "puretalk_ai"
HTTP_LIBRARIES = {"httpx", "httpcore", "httpx_aiohttp", "aiohttp"}
# The call flow, bulk state machine, response parsing, request building, retry policy:
# decisions in plain functions, free of I/O (h11 / httpcore style).
CORE = {"_call", "_bulk", "_response", "_request", "_retry", "_pacing"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("puretalk_ai", *parts))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(every module this file imports at run time, its top-level third-party names)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    third: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
                third.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                found.add(target)
                for alias in node.names:  # `from . import x` may name a submodule
                    found.add(f"{target}.{alias.name}")
            elif node.module:
                found.add(node.module)
                third.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found, third


def graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path)[0] & modules.keys() for name, path in modules.items()}


def test_only_the_boundary_module_imports_the_http_library() -> None:
    offenders = {
        _module_name(path): sorted(imports(path)[1] & HTTP_LIBRARIES)
        for path in PACKAGE.rglob("*.py")
        if path.name != "_httpx.py" and imports(path)[1] & HTTP_LIBRARIES
    }
    assert not offenders, f"import httpx/httpcore through puretalk_ai._httpx: {offenders}"


def test_the_core_imports_nothing_from_the_transport() -> None:
    edges = graph()
    offenders = {
        module: sorted(edges[f"puretalk_ai.{module}"] & {"puretalk_ai._transport"})
        for module in CORE
        if f"puretalk_ai.{module}" in edges
        and "puretalk_ai._transport" in edges[f"puretalk_ai.{module}"]
    }
    assert not offenders, f"the I/O-free core imports the transport: {offenders}"


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            # A package's __init__ imports its own submodules: that is not a cycle.
            if node.startswith(nxt + ".") and nxt != node:
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node)
    assert not cycles, "import cycles (move one side under TYPE_CHECKING or split):\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_modules_exist(module: str) -> None:
    assert (PACKAGE / f"{module}.py").exists()
