"""Where the policy rules live: each package's ``@policy.rule`` functions in its ``rules.py`` (one kind
of place per package), registered by ``office.app.load_rules`` on every way in: the app, migrations
and the CLI all come through ``load_all_models``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from office.app import DOMAIN_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("office", *DOMAIN_PACKAGES)
PENDING: set[str] = set()


def _registers_rules(path: Path) -> bool:
    """Whether the module calls ``policy.rule`` (as a decorator or directly)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare = path == ROOT / "office" / "policy.py" or any(
        isinstance(n, ast.ImportFrom) and n.module == "office.policy" and any(a.name == "rule" for a in n.names)
        for n in ast.walk(tree)
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "rule" and getattr(f.value, "id", "") == "policy":
                return True
            if bare and isinstance(f, ast.Name) and f.id == "rule":
                return True
    return False


def test_every_policy_rule_lives_in_a_rules_module() -> None:
    outside: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name != "rules.py" and _registers_rules(path):
                outside.setdefault(package, []).append(str(path.relative_to(ROOT)))
    assert not {p: m for p, m in outside.items() if p not in PENDING}
    assert all(p in outside for p in PENDING), "a pending package's rules have all moved: drop it from PENDING"


def test_load_all_models_registers_every_package_rules() -> None:
    # A fresh interpreter: the CLI's way in, with no app and no routes imported.
    code = (
        "from office.app import load_all_models; load_all_models(); from office import policy; "
        "print(' '.join(policy.actions()))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    registered = set(out.stdout.split())
    for action in ("org.manage", "directory.read", "self.manage", "esign.sign", "esign.seal_manage"):
        assert action in registered
    for action in ("meeting.read", "meeting.room.manage", "conversation.manage", "message.send"):
        assert action in registered


def test_expected_outcomes_are_test_data_not_package_code() -> None:
    # The authorization matrix's tables (who should get what) live in tests/authz_expect/.
    shipped = [str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("authz.py")]
    assert not shipped
