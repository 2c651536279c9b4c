"""委托 (delegation) through HTTP: who may be a deputy, and that what a delegation gives ends with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import func, select
from starlette.testclient import TestClient

from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.models import AuditEntry, Role
from tests.conftest import Recorder
from tests.docs_flow.conftest import BODY, SIGNING_STEPS, Clients, act
from tests.esign.svc import PIN
from tests.factories import Org, make_user
from workflow.models import WfDelegation

# The generic route (函): nobody of 秘书处 is on it, so laertes reads a 函 only as polonius's deputy.
GENERIC = [
    ("polonius", "处室负责人核稿"),
    ("claudius", "机关领导签发"),
    ("gertrude", "编号"),
    ("yorick", "用印"),
    ("gertrude", "核发/分发"),
    ("gertrude", "归档"),
]


def delegate(c: TestClient, deputy_id: int, *, days: int = 3) -> Any:
    now = utcnow()
    return c.post(
        "/api/docs/delegations",
        json={
            "deputy_id": deputy_id,
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=days)).isoformat(),
            "reason": "出差",
        },
    )


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code < 300, r.text
    return r.json()  # type: ignore[no-any-return]


def delegation_rows(org: Org) -> tuple[int, int]:
    with org.db.read() as s:
        return (
            s.exec(select(func.count()).select_from(WfDelegation)).one(),
            s.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "workflow.delegate")).one(),
        )


def new_letter(users: Clients) -> dict[str, Any]:
    doc = ok(
        users["hamlet"].post(
            "/api/docs",
            json={"doc_type": "函", "title": "关于商请提供统计数据的函", "body": BODY, "main_recipients": ["省统计局"]},
        )
    )
    return ok(act(users["hamlet"], doc, "submit"))


def test_deputy_of_another_agency_is_refused_and_nothing_changes(users: Clients, org: Org, recorder: Recorder) -> None:
    # A 处室负责人 of 办公厅 to a 财政厅 staff member; a leader to 财政厅's leader.
    for principal, deputy in (("polonius", "othello"), ("claudius", "desdemona")):
        r = delegate(users[principal], org.users[deputy])
        assert r.status_code == 422, r.text
        assert r.json().items() >= {"error": "other_agency", "message": "受托人必须是本机关的人员"}.items()
        assert ok(users[principal].get("/api/docs/delegations"))["items"] == []
    assert delegation_rows(org) == (0, 0)
    assert not recorder.of("notify.delegation")


def test_deputy_must_hold_the_principals_step_roles(users: Clients, org: Org) -> None:
    # 签发 needs a 机关领导 of the agency: a 处室负责人 (or a 科员) may not sign in the leader's stead.
    for deputy in ("polonius", "hamlet"):
        r = delegate(users["claudius"], org.users[deputy])
        assert r.status_code == 422 and r.json()["error"] == "deputy_role", r.text
        assert "机关领导" in r.json()["message"]
    r = delegate(users["polonius"], org.users["hamlet"])  # 核稿 needs a 处室负责人
    assert r.status_code == 422 and "处室负责人" in r.json()["message"]
    assert delegation_rows(org) == (0, 0)
    deputy_leader = make_user(org.db, "rosalind", "高洁", dept_id=org.depts["A2"], roles={Role.staff, Role.leader})
    assert delegate(users["claudius"], deputy_leader).status_code == 201
    assert delegate(users["polonius"], org.users["laertes"]).status_code == 201  # another 处室负责人
    assert delegate(users["hamlet"], org.users["ophelia"]).status_code == 201  # a 科员's colleague
    assert delegation_rows(org) == (3, 3)


def test_access_through_a_delegation_ends_with_it(users: Clients, org: Org) -> None:
    delegation = ok(delegate(users["polonius"], org.users["laertes"]))
    doc = new_letter(users)
    deputy = users["laertes"]
    assert [d["id"] for d in ok(deputy.get("/api/docs?box=todo"))["items"]] == [doc["id"]]
    doc = ok(act(deputy, ok(deputy.get(f"/api/docs/{doc['id']}")), "approve", opinion="代为同意"))
    assert doc["route"]["history"][-1]["on_behalf_of"] == "王强"
    for who, step in GENERIC[1:]:  # on to the archive
        doc = ok(users[who].get(f"/api/docs/{doc['id']}"))
        if step == "编号":
            doc = ok(users[who].post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]}))
        doc = ok(act(users[who], doc, "approve", **({"pin": PIN} if step in SIGNING_STEPS else {})))
    assert doc["status"] == "archived"
    archive_id = ok(users["polonius"].get("/api/archive"))["items"][0]["id"]
    reads = (
        f"/api/docs/{doc['id']}",
        f"/api/docs/{doc['id']}/versions",
        f"/api/archive/{archive_id}",
        f"/api/archive/{archive_id}/download",
    )
    assert [deputy.get(url).status_code for url in reads] == [200] * 4  # while the 委托 runs
    for url in ("/api/docs?box=done", "/api/docs?box=all", "/api/archive", "/api/search?q=统计数据"):
        assert ok(deputy.get(url))["total"] == 1, url

    ok(users["polonius"].delete(f"/api/docs/delegations/{delegation['id']}"))
    answers = [deputy.get(url) for url in reads]
    assert [r.status_code for r in answers] == [404] * 4
    assert all(r.json()["error"] == "not_found" for r in answers)
    for url in ("/api/docs?box=done", "/api/docs?box=all", "/api/archive", "/api/search?q=统计数据"):
        assert ok(deputy.get(url))["total"] == 0, url
    assert [users["polonius"].get(url).status_code for url in reads] == [200] * 4  # his own, still


def test_expired_delegation_gives_no_access(users: Clients, org: Org) -> None:
    ok(delegate(users["polonius"], org.users["laertes"]))
    doc = new_letter(users)
    ok(act(users["laertes"], ok(users["laertes"].get(f"/api/docs/{doc['id']}")), "approve"))
    assert users["laertes"].get(f"/api/docs/{doc['id']}").status_code == 200
    with org.db.write() as s:  # the period runs out
        row = s.exec(select(WfDelegation)).one()
        row.starts_at, row.ends_at = utcnow() - timedelta(days=3), utcnow() - timedelta(seconds=1)
        s.add(row)
    assert users["laertes"].get(f"/api/docs/{doc['id']}").status_code == 404
    assert ok(users["laertes"].get("/api/docs?box=done"))["total"] == 0


def test_deputy_is_checked_again_when_acting(users: Clients, org: Org) -> None:
    """A delegation stored before these rules, or a deputy who has since lost the role, gives nothing."""
    doc = new_letter(users)
    doc = ok(act(users["polonius"], ok(users["polonius"].get(f"/api/docs/{doc['id']}")), "approve"))
    now = utcnow()
    with org.db.write() as s:  # an old row: 办公厅's leader to 财政厅's, written before set_delegation refused it
        s.add(
            WfDelegation(
                principal_id=org.users["claudius"],
                deputy_id=org.users["desdemona"],
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
            )
        )
    other = users["desdemona"]
    assert other.get(f"/api/docs/{doc['id']}").status_code == 404
    assert act(other, doc, "approve", pin=PIN).status_code == 404
    assert ok(other.get("/api/docs?box=todo"))["total"] == 0
    with org.db.write() as s:
        s.exec(select(WfDelegation)).one().revoked_at = utcnow()

    deputy_leader = make_user(org.db, "rosalind", "高洁", dept_id=org.depts["A2"], roles={Role.staff, Role.leader})
    ok(delegate(users["claudius"], deputy_leader))
    with org.db.write() as s:
        directory.set_roles(s, SYSTEM, deputy_leader, {Role.staff})  # no longer a 机关领导
    rosalind = users["rosalind"]
    doc = ok(rosalind.get(f"/api/docs/{doc['id']}"))  # may read the principal's pending 签发 while it runs
    assert "approve" not in doc["allowed_actions"]
    r = act(rosalind, doc, "approve", pin=PIN)
    assert r.status_code == 403 and r.json()["error"] == "deputy_not_allowed" and "机关领导" in r.json()["message"]
    assert ok(users["claudius"].get(f"/api/docs/{doc['id']}"))["status"] == "routing"
