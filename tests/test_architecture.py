"""Import direction, one way only: office <- esign <- docs_flow <- meetings, with typeset (GB/T 9704 layout)
below docs_flow and meetings and workflow (the route engine) below docs_flow; messaging imports office alone.

``office`` imports no domain package except ``office/app.py`` (which composes their routes,
models, startup, CLI and demo modules); nothing else imports ``messaging``. Walks every module's
imports with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "office": {"office"},
    "typeset": {"office", "typeset"},
    "esign": {"office", "esign"},
    # the route engine every case kind runs on (发文, 收文, 办事) knows no subject
    "workflow": {"office", "workflow"},
    "docs_flow": {"office", "esign", "typeset", "workflow", "docs_flow"},
    # meetings lays out its 纪要 through typeset and needs nothing of docs_flow.
    "meetings": {"office", "esign", "typeset", "meetings"},
    # 办事 runs on the route engine, applies seals through esign and links to 公文.
    "banshi": {"office", "esign", "workflow", "docs_flow", "banshi"},
    # 数据填报 validates its items with 办事's form engine (banshi.fields) and needs no route engine.
    "tianbao": {"office", "banshi", "tianbao"},
    "messaging": {"office", "messaging"},
}
PACKAGES = set(ALLOWED)
COMPOSER = ROOT / "office" / "app.py"  # the one module that imports every package


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PACKAGES


def test_import_direction() -> None:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.parent.name == "versions":  # migration scripts may name any model module
                continue
            bad = _imports(path) - (PACKAGES if path == COMPOSER else allowed)
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not violations, "\n".join(violations)


def test_nothing_imports_messaging() -> None:
    users = [
        p
        for pkg in PACKAGES - {"messaging"}
        for p in (ROOT / pkg).rglob("*.py")
        if "messaging" in _imports(p) and p != COMPOSER
    ]
    assert not users
