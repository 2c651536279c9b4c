"""The audit log in plain Chinese: every action the code records has a label in static/js/labels.js (a new
one without a label fails here), and /api/admin/audit names the people and departments an entry points at,
so the page shows 张伟 and 综合处 where the entry stores their numbers."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from docs_flow.models import NumberState
from office import audit
from office.app import DOMAIN_PACKAGES
from tests.factories import Org, login

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("office", *DOMAIN_PACKAGES)


def recorded_actions() -> set[str]:
    """The action codes passed to audit.record, with the values the few computed ones take."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "Pending")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"
                ):
                    continue
                at = 2 if node.func.attr == "record" else 1  # record(session, actor, action), Pending(actor, action)
                arg = (
                    node.args[at]
                    if len(node.args) > at
                    else next((k.value for k in node.keywords if k.arg == "action"), None)
                )
                found |= values(arg)
    return found


def values(arg: ast.expr | None) -> set[str]:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return {arg.value}
    if isinstance(arg, ast.IfExp):
        return values(arg.body) | values(arg.orelse)
    if isinstance(arg, ast.JoinedStr):
        text = ast.unparse(arg)
        if "esign.seal_" in text:
            return {f"esign.seal_{op}" for op in ("suspended", "resumed", "revoked")}
        if "docs.number." in text:
            return {f"docs.number.{state.value}" for state in NumberState}
        if "workflow." in text:
            engine = (ROOT / "workflow" / "engine.py").read_text(encoding="utf-8")
            return {f"workflow.{a}" for a in re.findall(r'Transition\([^)]*?action="([a-z_]+)"', engine, re.S)}
    raise AssertionError(f"an audit action this test cannot read: {ast.unparse(arg) if arg else None}")


def labelled() -> set[str]:
    source = (ROOT / "static" / "js" / "labels.js").read_text(encoding="utf-8")
    block = source.split("export const AUDIT_ACTIONS = {", 1)[1].split("};", 1)[0]
    return set(re.findall(r'^\s*"([a-z_.0-9]+)":', block, re.M))


def test_every_recorded_action_has_a_chinese_label() -> None:
    actions = recorded_actions()
    assert {"auth.login", "workflow.submit", "workflow.add_signer", "esign.seal_revoked", "meeting.signin"} <= actions
    assert not actions - labelled(), f"actions without a label in static/js/labels.js: {sorted(actions - labelled())}"


def test_the_log_names_people_and_departments(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    hamlet = org.users["hamlet"]
    assert client.put(f"/api/admin/users/{hamlet}/roles", json={"roles": ["staff", "clerk"]}).status_code == 200
    r = client.patch(f"/api/admin/departments/{org.depts['A2']}", json={"name": "秘书一处"})
    assert r.status_code == 200
    with org.db.write() as s:  # an entry with people and a department in its detail
        audit.record(
            s,
            org.actor("prospero"),
            "supervision.remind",
            target_type="supervision",
            target_id=7,
            detail={"to": [hamlet, org.users["ophelia"]], "department_id": org.depts["A1"], "user_id": 999_999},
        )
    items = client.get("/api/admin/audit", params={"limit": 3}).json()["items"]
    remind, dept, roles = items
    assert remind["names"] == {
        "target": None,
        "detail": {"to": ["张伟", "李娜"], "department_id": "综合处", "user_id": "（编号 999999）"},
    }
    assert remind["detail"]["to"] == [hamlet, org.users["ophelia"]]  # the entry itself keeps the ids
    assert dept["action"] == "department.update" and dept["names"]["target"] == "秘书一处"
    assert roles["action"] == "user.roles" and roles["names"]["target"] == "张伟"
    assert json.dumps(items, ensure_ascii=False).count("张伟") >= 2
