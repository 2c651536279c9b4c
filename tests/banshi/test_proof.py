"""The proof of an approved request: the system's signature over its canonical record and route history,
in the transparency log; a changed value or history entry no longer verifies; the QR encodes the
verification address."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from starlette.testclient import TestClient

from banshi import actions, proof, submission
from banshi.models import ApprovalRequest, RequestStatus
from esign import tlog
from esign.models import LogLeaf
from office.db import Database
from tests.banshi.svc_helpers import make_template
from tests.factories import Org, login, new_client
from workflow.models import WfHistory


def _approved(db: Database, org: Org) -> ApprovalRequest:
    template_id = make_template(db, org)
    with db.write() as s:
        req = submission.create_request(
            s,
            org.actor("hamlet"),
            template_id=template_id,
            values={"reason": "购买打印纸", "amount": 12345},
            submit=True,
        )
        rid = req.id
    for who in ("polonius", "claudius"):
        with db.write() as s:
            req = s.get(ApprovalRequest, rid)
            assert req is not None
            actions.act(s, org.actor(who), rid, "approve", version=req.version, opinion=f"{who} 同意")  # type: ignore[arg-type]
    with db.read() as s:
        req = s.get(ApprovalRequest, rid)
        assert req is not None and req.status == RequestStatus.approved
        return req


@pytest.fixture
def web(client: TestClient) -> TestClient:
    """The app with ``banshi.routes_proof`` (added here until office.app lists it)."""
    from banshi import routes_proof

    paths = {getattr(r, "path", "") for r in client.app.router.routes}  # type: ignore[attr-defined]
    if "/api/banshi/verify" not in paths:
        client.app.router.routes[0:0] = routes_proof.routes  # type: ignore[attr-defined]
    return client


def _verify(db: Database, org: Org, who: str, serial: str, digest: str) -> dict[str, Any]:
    with db.read() as s:
        return proof.verify(s, org.actor(who), serial, digest)


def test_the_approved_request_is_signed_by_the_system_and_logged(db: Database, org: Org) -> None:
    req = _approved(db, org)
    p = req.proof
    assert set(p) >= {"alg", "digest", "signature", "signed_at", "leaf_index"}
    with db.read() as s:
        leaf = s.get(LogLeaf, p["leaf_index"])
        assert leaf is not None and leaf.kind == "system.signature"
        assert p["digest"].encode() in leaf.data and p["signature"].encode() in leaf.data
        assert tlog.verify_log(s).ok
    report = _verify(db, org, "ophelia", req.serial, p["digest"])
    assert report["valid"] is True, report
    assert report["serial"] == req.serial and report["applicant"] == "张伟" and report["log_index"] == p["leaf_index"]
    assert [(st["name"], st["by"]) for st in report["steps"]] == [("部门负责人审批", "王强"), ("分管领导审批", "赵刚")]
    # Without the digest (typed in by hand) the record still checks; a wrong digest does not.
    assert _verify(db, org, "ophelia", req.serial, "")["valid"] is True
    wrong = _verify(db, org, "ophelia", req.serial, "0" * 64)
    assert wrong["valid"] is False and "核验码" in wrong["reason"]
    # Another agency does not see it at all.
    other = _verify(db, org, "othello", req.serial, p["digest"])
    assert other == {"valid": False, "serial": req.serial, "reason": "未找到该审批编号的已批准申请"}


def test_a_changed_value_or_history_entry_fails_verification(db: Database, org: Org) -> None:
    req = _approved(db, org)
    digest = req.proof["digest"]
    with db.write() as s:  # someone with database access changes the amount afterwards
        s.execute(
            update(ApprovalRequest)
            .where(col(ApprovalRequest.id) == req.id)
            .values(values={"reason": "购买打印纸", "amount": 99999})
        )
    report = _verify(db, org, "hamlet", req.serial, digest)
    assert report["valid"] is False and "摘要不符" in report["reason"]
    with db.write() as s:
        s.execute(update(ApprovalRequest).where(col(ApprovalRequest.id) == req.id).values(values=req.values))
    assert _verify(db, org, "hamlet", req.serial, digest)["valid"] is True
    with db.write() as s:  # ...or an opinion in the route history
        first = s.exec(select(WfHistory).where(WfHistory.case_id == req.case_id, WfHistory.action == "approve")).first()
        assert first is not None
        s.execute(update(WfHistory).where(col(WfHistory.id) == first.id).values(opinion="不同意"))
    assert _verify(db, org, "hamlet", req.serial, digest)["valid"] is False
    with db.write() as s:  # ...or the stored signature itself
        s.execute(
            update(ApprovalRequest)
            .where(col(ApprovalRequest.id) == req.id)
            .values(proof=req.proof | {"signature": "00" * 64})
        )
    assert _verify(db, org, "hamlet", req.serial, digest)["valid"] is False


def test_verification_and_qr_over_http(web: TestClient, db: Database, org: Org) -> None:
    req = _approved(db, org)
    login(web, "ophelia")
    r = web.get("/api/banshi/verify", params={"serial": req.serial, "digest": req.proof["digest"]})
    assert r.status_code == 200 and r.json()["valid"] is True, r.text
    r = web.get("/api/banshi/verify", params={"serial": ""})
    assert r.status_code == 422 and r.json()["error"] == "serial_required"
    outsider = new_client(web.app)
    login(outsider, "othello")
    assert outsider.get("/api/banshi/verify", params={"serial": req.serial}).json()["valid"] is False

    applicant = new_client(web.app)
    login(applicant, "hamlet")
    r = applicant.get(f"/api/banshi/requests/{req.id}/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in r.content
    url = proof.verify_url("http://testserver/", req)
    assert url == f"http://testserver/#/banshi/verify?serial={req.serial}&digest={req.proof['digest']}"
    assert r.content == proof.qr_svg(url)  # the same symbol as the verification address makes
    assert r.content != proof.qr_svg(url + "x")
    # Someone who may not read the request gets nothing.
    assert outsider.get(f"/api/banshi/requests/{req.id}/qr.svg").status_code == 404
