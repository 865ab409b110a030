"""The package's import rule (see ``mocap/__init__.py``): a room imports only rooms below it.

Every import of a mocap module is checked, function-local ones included; a function-local
import of a mocap module is allowed only in ``commands/`` (so ``mocap --help`` does not load
the library) and for the few modules that bring in a heavy optional dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mocap

PACKAGE = Path(mocap.__file__).resolve().parent
# bottom to top; a module may import its own room and the rooms before it
ROOMS = ("errors", "types", "units", "fileio", "geometry", "io", "perception", "tracking",
         "multiview", "lift", "motion", "skeleton", "retarget", "export", "app", "commands", "cli",
         "__main__")
# modules whose import pulls in a heavy optional dependency at import time
HEAVY = {"mocap.perception.engine.tflite", "mocap.lift.model"}  # torch


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "blender_scripts" or "blender_scripts" in rel.parts:
            continue  # run inside Blender, import nothing of mocap
        yield path, rel


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(tree: ast.AST):
    """(module, lineno, function-local) for every mocap import."""
    local_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                local_lines.add(id(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mocap":  # submodules only; names of mocap/__init__ are free
                names = [f"mocap.{a.name}" for a in node.names
                         if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").exists()]
            elif node.module.startswith("mocap."):
                names = [node.module]
            else:
                continue
            for name in names:
                yield name, node.lineno, id(node) in local_lines
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("mocap."):
                    yield a.name, node.lineno, id(node) in local_lines


def test_every_room_is_ranked():
    rooms = {rel.parts[0].removesuffix(".py") for _, rel in _modules()} - {"__init__"}
    assert rooms <= set(ROOMS), f"unranked rooms: {sorted(rooms - set(ROOMS))}"


@pytest.mark.parametrize(("path", "rel"), list(_modules()), ids=lambda v: str(v))
def test_imports_go_one_way(path, rel):
    here = rel.parts[0].removesuffix(".py")
    if here == "__init__":
        return
    rank = ROOMS.index(here)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for module, line, local in _imports(tree):
        there = _room(module)
        assert there in ROOMS, f"{rel}:{line} imports unknown room {module}"
        assert ROOMS.index(there) <= rank, (
            f"{rel}:{line} imports {module}: room {here!r} may not import {there!r} above it")
        if local and here != "commands":
            assert module in HEAVY, (
                f"{rel}:{line} imports {module} inside a function; import it at the top "
                "(a local import is only for a heavy optional dependency)")


def test_no_cycle_between_rooms():
    edges: dict[str, set[str]] = {}
    for path, rel in _modules():
        here = rel.parts[0].removesuffix(".py")
        for module, _, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if _room(module) != here:
                edges.setdefault(here, set()).add(_room(module))
    seen, stack = set(), []

    def visit(n):
        if n in stack:
            raise AssertionError(f"import cycle: {' -> '.join([*stack[stack.index(n):], n])}")
        if n in seen:
            return
        stack.append(n)
        for m in edges.get(n, ()):
            visit(m)
        stack.pop()
        seen.add(n)

    for n in list(edges):
        visit(n)
