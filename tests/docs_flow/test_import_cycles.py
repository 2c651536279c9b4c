"""No import loop between the modules of ``docs_flow``, counting the imports inside functions.

A function-level import hides a loop from Python's import machinery but not from a reader: each
module should be understandable from the ones below it. 收文 (``incoming*``, ``circulation``) sits
on the shared pieces (``visibility``, ``archive``, ``distribution``, ``versioning``), never the
other way round. Walks every module with ``ast``, like ``tests/test_architecture.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def module_imports(package: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of ``package`` that the file at ``path`` imports anywhere in it (top level or in a function)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: "from . import x" or "from .x import y"
                base = f"{package}.{base}" if base else package
            # "from package import x" names a module x; "from package.x import y" imports module x.
            names = [f"{base}.{alias.name}" for alias in node.names] if base == package else [base]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == package and len(parts) > 1 and parts[1] in modules:
                found.add(parts[1])
    return found - {path.stem}


def import_graph(package: str) -> dict[str, set[str]]:
    files = {p.stem: p for p in (ROOT / package).glob("*.py")}
    return {name: module_imports(package, path, set(files)) for name, path in files.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += graph.get(node, ())
    return seen


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import one another in a loop (each module reaches the others)."""
    reach = {node: reachable(graph, node) for node in graph}
    loops = {tuple(sorted(m for m in reach[node] if node in reach[m])) for node in graph if node in reach[node]}
    return sorted(list(loop) for loop in loops)


def test_loops_are_found_through_function_level_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (pkg / "c.py").write_text("import pkg.a\nfrom . import d\n")
    (pkg / "d.py").write_text("")
    modules = {"a", "b", "c", "d"}
    graph = {name: module_imports("pkg", pkg / f"{name}.py", modules) for name in modules}
    assert graph == {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert import_loops(graph) == [["a", "b", "c"]]
    graph["c"] = {"d"}
    assert import_loops(graph) == []


@pytest.mark.parametrize("package", ["docs_flow", "workflow"])
def test_modules_import_each_other_one_way(package: str) -> None:
    loops = import_loops(import_graph(package))
    assert not loops, f"modules of {package} that import one another: " + "; ".join(" ↔ ".join(m) for m in loops)
