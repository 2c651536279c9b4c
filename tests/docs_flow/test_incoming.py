"""收文 through HTTP: hand registration and the full route to 办结, return at 初审, distribution from an
outgoing document into another agency's inbox with receipts, circulation, archive immutability, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select
from starlette.testclient import TestClient

from docs_flow.incoming_models import ArchivePackage, DistributionReceipt, IncomingDocument, SupervisionItem
from office.models import AuditEntry
from tests.conftest import Recorder
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create, ok
from tests.factories import Org


def future(hours: int = 72) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def register(users: Clients, who: str = "gertrude", **extra: Any) -> dict[str, Any]:
    payload = {
        "title": "关于报送2026年度预算执行情况的函",
        "source_agency_name": "省审计厅",
        "original_number": "粤审函〔2026〕8号",
        "doc_type": "函",
        "body_text": "请于本月底前报送预算执行情况及相关说明材料。",
        **extra,
    }
    r = users[who].post("/api/incoming", json=payload)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def act(c: TestClient, doc: dict[str, Any], action: str = "approve", **extra: Any) -> Any:
    return c.post(f"/api/incoming/{doc['id']}/actions", json={"action": action, "version": doc["version"], **extra})


def get(c: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    return ok(c.get(f"/api/incoming/{doc['id']}"))


def test_full_incoming_route_from_registration_to_archive(users: Clients, org: Org, recorder: Recorder) -> None:
    doc = register(users)
    assert doc["status"] == "signed" and doc["signed_for_at"] and doc["route"]["steps"][0]["state"] == "done"
    upload = users["gertrude"].post(
        f"/api/incoming/{doc['id']}/files",
        data={"role": "main"},
        files={"file": ("来文扫描件.pdf", b"%PDF-1.4 scan", "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    doc = get(users["gertrude"], doc)
    # 登记 gives the year's next 收文编号.
    doc = ok(act(users["gertrude"], doc))
    year = datetime.now().year
    assert doc["reg_number"] == f"收〔{year}〕1号" and doc["status"] == "registered"
    doc = ok(act(users["gertrude"], doc))  # 初审 passes
    assert doc["status"] == "reviewed"
    r = act(users["gertrude"], doc)
    assert r.status_code == 422 and r.json()["error"] == "proposal_required"
    doc = ok(act(users["gertrude"], doc, opinion="建议请综合处牵头办理，秘书处协办"))
    assert doc["status"] == "proposed" and doc["proposal"].startswith("建议")
    assert recorder.of("notify.incoming")[-1].user_ids == (org.users["claudius"],)
    # Every change tells the 收文 lists that show it (and nobody in another agency) to refresh.
    changes = recorder.of("incoming.document")
    assert [e.payload["op"] for e in changes][:2] == ["created", "updated"]
    assert changes[-1].payload == {
        "op": "updated",
        "incoming_id": doc["id"],
        "version": doc["version"],
        "status": "proposed",
    }
    agency_a = {u for name, u in org.users.items() if name not in ("othello", "iago", "desdemona")}
    assert all(set(e.user_ids) <= agency_a for e in changes)
    assert {org.users["gertrude"], org.users["claudius"]} <= set(changes[-1].user_ids)

    # 批办: a leader's instruction, lead and co departments, a deadline (validated).
    leader = users["claudius"]
    doc = get(leader, doc)
    bad = [
        ({"lead_department_id": org.depts["A1"]}, "instruction_required"),
        ({"opinion": "请办理"}, "lead_required"),
        ({"opinion": "请办理", "lead_department_id": 999999}, "bad_department"),
        ({"opinion": "请办理", "lead_department_id": org.depts["B1"]}, "bad_department"),
        (
            {
                "opinion": "请办理",
                "lead_department_id": org.depts["A1"],
                "deadline": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            },
            "deadline_past",
        ),
    ]
    for extra, code in bad:
        r = act(leader, doc, **extra)
        assert r.status_code == 422 and r.json()["error"] == code, (extra, r.text)
    doc = ok(
        act(
            leader,
            doc,
            opinion="请综合处牵头办理，秘书处配合",
            lead_department_id=org.depts["A1"],
            co_department_ids=[org.depts["A2"]],
            deadline=future(96),
        )
    )
    assert doc["status"] == "handling" and doc["lead_department"] == "综合处" and doc["co_departments"] == ["秘书处"]
    assert doc["supervision"]["status"] == "open"
    handle_step = doc["route"]["steps"][5]
    assert sorted(t["assignee"] for t in handle_step["tasks"]) == ["王强", "陈静"]

    # 承办: each department records what it did; the lead department attaches a reply.
    head = users["polonius"]
    doc = get(head, doc)
    assert "start_reply" in doc["allowed_actions"]
    f = ok_created(
        head.post(
            f"/api/incoming/{doc['id']}/files",
            data={"role": "reply"},
            files={"file": ("答复意见.docx", b"PK reply", "application/octet-stream")},
        )
    )
    doc = get(head, doc)
    r = act(head, doc)
    assert r.status_code == 422 and r.json()["error"] == "result_required"
    doc = ok(act(head, doc, opinion="已汇总预算执行情况并起草答复", reply_file_ids=[f["id"]]))
    assert doc["status"] == "handling"  # waiting for the co-handling department
    doc = ok(act(users["laertes"], get(users["laertes"], doc), opinion="已提供秘书处数据"))
    assert doc["status"] == "replying"
    assert [(x["department"], x["role"]) for x in doc["results"]] == [("综合处", "主办"), ("秘书处", "协办")]
    assert doc["results"][0]["files"] == [{"id": f["id"], "name": "答复意见.docx"}]

    doc = ok(act(users["gertrude"], get(users["gertrude"], doc), opinion="已答复来文单位"))
    assert doc["status"] == "archived" and doc["allowed_actions"] == []
    with org.db.read() as s:
        item = s.exec(select(SupervisionItem)).one()
        assert item.status == "done" and item.handling_hours is not None
        pkg = s.exec(select(ArchivePackage).where(ArchivePackage.doc_kind == "incoming")).one()
        assert pkg.number == doc["reg_number"] and pkg.retention == "10年"
    archived = ok(users["gertrude"].get("/api/archive?kind=incoming"))
    assert archived["total"] == 1 and archived["items"][0]["doc_id"] == doc["id"]


def ok_created(r: Any) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_return_at_first_review_needs_reason_and_ends_the_route(users: Clients, org: Org) -> None:
    doc = register(users)
    doc = ok(act(users["gertrude"], doc))  # 登记
    r = act(users["gertrude"], doc, "reject")
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    r = act(users["hamlet"], doc, "reject", reason="非本机关职责")
    assert r.status_code == 404  # hamlet may not even see it
    doc = ok(act(users["gertrude"], doc, "reject", reason="来文主送机关有误，应主送省财政厅"))
    assert doc["status"] == "returned" and doc["return_reason"].startswith("来文主送")
    assert doc["route"]["state"] == "finished" and doc["allowed_actions"] == []
    assert [h["action"] for h in doc["route"]["history"]][-1] == "terminate"
    r = act(users["gertrude"], doc)
    assert r.status_code == 409


def test_bad_registration_input_is_refused_clearly(users: Clients, org: Org) -> None:
    c = users["gertrude"]
    for payload, code in [
        ({"source_agency_name": "省审计厅"}, "invalid_field"),
        ({"title": "  ", "source_agency_name": "省审计厅"}, "title_required"),
        ({"title": "标题", "source_agency_name": ""}, "source_required"),
        (
            {
                "title": "标题",
                "source_agency_name": "审计厅",
                "deadline": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            },
            "deadline_past",
        ),
        ({"title": "标题", "source_agency_name": "审计厅", "deadline": "2099-01-01T00:00:00"}, "naive_datetime"),
        ({"title": "标题", "source_agency_name": "审计厅", "received_at": future()}, "bad_received_at"),
        ({"title": "标题", "source_agency_name": "审计厅", "urgency": "很急"}, "invalid_field"),
    ]:
        r = c.post("/api/incoming", json=payload)
        assert r.status_code == 422 and r.json()["error"] == code, (payload, r.text)
    r = users["hamlet"].post("/api/incoming", json={"title": "标题", "source_agency_name": "审计厅"})
    assert r.status_code == 403
    with org.db.read() as s:
        assert s.exec(select(IncomingDocument)).all() == []


def test_distribution_from_outgoing_document_to_other_agency_inbox(
    users: Clients, org: Org, recorder: Recorder
) -> None:
    out = create(
        users,
        org,
        main_recipients=["省财政厅"],
        cc_recipients=["粤府办", "省委办公厅"],
        title="关于做好2027年预算编制工作的通知",
    )
    out = advance(users, out, "end")
    assert out["status"] == "archived"
    receipts = ok(users["hamlet"].get(f"/api/docs/{out['id']}/receipts"))["items"]
    assert [(r["recipient"], r["role"], r["status"]) for r in receipts] == [
        ("省财政厅", "main", "delivered"),
        ("粤府办", "cc", "delivered"),
        ("省委办公厅", "cc", "external"),
    ]
    assert users["othello"].get(f"/api/docs/{out['id']}/receipts").status_code == 404

    # Agency B has no 收发员: the head of its 办公室 signs for it.
    inbox = ok(users["iago"].get("/api/incoming?box=todo"))
    assert inbox["total"] == 1
    item = inbox["items"][0]
    assert item["title"] == out["title"] and item["source_agency_name"] == "省政府办公厅"
    assert item["original_number"] == out["number"] and item["status"] == "received"
    doc = ok(users["iago"].get(f"/api/incoming/{item['id']}"))
    assert {f["role"] for f in doc["files"]} >= {"main", "signature"}
    main = next(f for f in doc["files"] if f["role"] == "main" and f["name"].endswith(".docx"))
    word = users["iago"].get(f"/api/incoming/{doc['id']}/files/{main['id']}")
    assert word.status_code == 200 and word.content.startswith(b"PK")
    sig = next(f for f in doc["files"] if f["role"] == "signature")
    record = json.loads(users["iago"].get(f"/api/incoming/{doc['id']}/files/{sig['id']}").content)
    assert record["signed_hash"] == out["signed_hash"] and record["number"] == out["number"]
    assert "预算编制" in doc["body_text"] or doc["body_text"]
    # Nobody outside agency B sees B's copy.
    assert users["hamlet"].get(f"/api/incoming/{doc['id']}").status_code == 404
    assert ok(users["othello"].get("/api/incoming?box=all"))["total"] == 0

    doc = ok(act(users["iago"], doc))  # 签收
    assert doc["status"] == "signed"
    receipts = ok(users["hamlet"].get(f"/api/docs/{out['id']}/receipts"))["items"]
    assert receipts[0]["status"] == "signed" and receipts[0]["signed_at"]
    # Agency A's own copy (抄送) is in gertrude's inbox; she refuses it at 初审 and the drafter hears why.
    own = ok(users["gertrude"].get("/api/incoming?box=todo"))["items"][0]
    own = ok(act(users["gertrude"], get(users["gertrude"], own)))
    own = ok(act(users["gertrude"], own))
    ok(act(users["gertrude"], own, "reject", reason="本机关发文，无需办理"))
    receipts = ok(users["hamlet"].get(f"/api/docs/{out['id']}/receipts"))["items"]
    assert receipts[1]["status"] == "returned" and receipts[1]["note"] == "本机关发文，无需办理"
    last = recorder.of("notify.incoming")[-1]
    assert last.user_ids == (org.users["hamlet"],) and last.payload["title"].startswith("退回")


def test_circulation_sequential_and_parallel_with_tracking(users: Clients, org: Org, recorder: Recorder) -> None:
    doc = register(users)
    uids = [org.users["claudius"], org.users["polonius"], org.users["laertes"]]
    r = users["gertrude"].post(f"/api/incoming/{doc['id']}/circulations", json={"user_ids": [org.users["othello"]]})
    assert r.status_code == 422 and r.json()["error"] == "bad_user"
    r = users["hamlet"].post(f"/api/incoming/{doc['id']}/circulations", json={"user_ids": uids})
    assert r.status_code == 404
    doc = ok_created(
        users["gertrude"].post(
            f"/api/incoming/{doc['id']}/circulations", json={"user_ids": uids, "mode": "sequential", "note": "请阅"}
        )
    )
    circ = doc["circulations"][0]
    assert circ["holding"] == ["赵刚"] and [x["state"] for x in circ["readers"]] == ["holding", "waiting", "waiting"]
    assert recorder.of("notify.incoming")[-1].user_ids == (org.users["claudius"],)
    # Not yet their turn: polonius cannot see the document yet, nor mark it read.
    assert users["polonius"].get(f"/api/incoming/{doc['id']}").status_code == 404
    read = f"/api/incoming/circulations/{circ['id']}/read"
    doc = ok(users["claudius"].post(read, json={"comment": "已阅，请综合处研究"}))
    circ = doc["circulations"][0]
    assert circ["holding"] == ["王强"] and circ["readers"][0]["comment"] == "已阅，请综合处研究"
    assert users["claudius"].post(read, json={}).json()["error"] == "already_read"
    assert users["laertes"].post(read, json={}).status_code == 404  # not reached yet: invisible to him
    ok(users["polonius"].post(read, json={}))
    doc = ok(users["laertes"].post(read, json={"comment": "阅"}))
    circ = doc["circulations"][0]
    assert circ["state"] == "done" and circ["read_count"] == 3 and circ["holding"] == []
    assert recorder.of("notify.incoming")[-1].payload["title"].startswith("传阅完毕")

    doc = ok_created(
        users["gertrude"].post(
            f"/api/incoming/{doc['id']}/circulations", json={"user_ids": uids[:2], "mode": "parallel"}
        )
    )
    assert doc["circulations"][1]["holding"] == ["赵刚", "王强"]
    assert ok(users["polonius"].get("/api/incoming?box=reading"))["total"] == 1


def test_archived_records_are_immutable(users: Clients, org: Org) -> None:
    doc = register(users)
    for _ in range(3):
        doc = ok(act(users["gertrude"], doc, opinion="拟请综合处办理"))
    doc = ok(act(users["claudius"], get(users["claudius"], doc), opinion="同意", lead_department_id=org.depts["A1"]))
    doc = ok(act(users["polonius"], get(users["polonius"], doc), opinion="已办"))
    doc = ok(act(users["gertrude"], get(users["gertrude"], doc)))
    assert doc["status"] == "archived"
    g = users["gertrude"]
    attempts = [
        act(g, doc),
        act(g, doc, "reject", reason="x"),
        g.put(f"/api/incoming/{doc['id']}", json={"version": doc["version"], "title": "改"}),
        g.delete(f"/api/incoming/{doc['id']}"),
        g.post(
            f"/api/incoming/{doc['id']}/files",
            data={"role": "attachment"},
            files={"file": ("x.txt", b"x", "text/plain")},
        ),
        g.post(f"/api/incoming/{doc['id']}/circulations", json={"user_ids": [org.users["claudius"]]}),
        g.post(f"/api/incoming/{doc['id']}/reply"),
    ]
    for r in attempts:
        assert r.status_code == 423 and r.json()["error"] == "archived", r.text
    assert get(g, doc)["title"] == "关于报送2026年度预算执行情况的函"

    pkg = ok(g.get("/api/archive"))["items"][0]
    z = zipfile.ZipFile(io.BytesIO(g.get(f"/api/archive/{pkg['id']}/download").content))
    manifest = json.loads(z.read("manifest.json"))
    assert {f["name"] for f in manifest["files"]} >= {"metadata.json", "history.json"}
    assert json.loads(z.read("metadata.json"))["reg_number"] == doc["reg_number"]
    assert ok(g.get(f"/api/archive/{pkg['id']}/verify")) == {"ok": True, "problems": []}
    # Only an administrator, only after retention, only with a reason.
    r = g.post(f"/api/archive/{pkg['id']}/destroy", json={"reason": "到期"})
    assert r.status_code == 403
    admin = users["prospero"]
    r = admin.post(f"/api/archive/{pkg['id']}/destroy", json={"reason": ""})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    r = admin.post(f"/api/archive/{pkg['id']}/destroy", json={"reason": "到期销毁"})
    assert r.status_code == 409 and r.json()["error"] == "retention_not_expired"
    assert users["horatio"].get(f"/api/archive/{pkg['id']}").status_code == 404  # not in the lead department
    assert users["othello"].get(f"/api/archive/{pkg['id']}").status_code == 404


def test_destroy_after_retention_keeps_the_record_and_logs_the_reason(users: Clients, org: Org) -> None:
    from datetime import date

    from docs_flow import archive

    doc = register(users)
    for _ in range(3):
        doc = ok(act(users["gertrude"], doc, opinion="拟办"))
    doc = ok(act(users["claudius"], get(users["claudius"], doc), opinion="阅", lead_department_id=org.depts["A2"]))
    doc = ok(act(users["laertes"], get(users["laertes"], doc), opinion="已办"))
    ok(act(users["gertrude"], get(users["gertrude"], doc)))
    with org.db.write() as s:
        pkg = s.exec(select(ArchivePackage)).one()
        row = archive.check_destroy(
            s,
            org.actor("prospero"),
            pkg.id or 0,
            reason="保管期满，经鉴定销毁",
            today=date(pkg.retain_until.year + 1, 1, 1),
        )  # type: ignore[union-attr]
        assert row.data == b"" and row.destroyed_at is not None
    with org.db.read() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "archive.destroy")).one()
        assert entry.detail["reason"] == "保管期满，经鉴定销毁" and entry.actor_name == "吴磊"
    r = users["prospero"].get(f"/api/archive/{pkg.id}/download")
    assert r.status_code == 409 and r.json()["error"] == "destroyed"


def test_start_reply_prefills_an_outgoing_letter(users: Clients, org: Org) -> None:
    doc = register(users)
    for _ in range(3):
        doc = ok(act(users["gertrude"], doc, opinion="拟办"))
    doc = ok(act(users["claudius"], get(users["claudius"], doc), opinion="阅办", lead_department_id=org.depts["A1"]))
    r = users["polonius"].post(f"/api/incoming/{doc['id']}/reply")
    assert r.status_code == 201, r.text
    out = ok(users["polonius"].get(f"/api/docs/{r.json()['document_id']}"))
    assert out["doc_type"] == "函" and out["main_recipients"] == ["省审计厅"] and "复函" in out["title"]
    assert "粤审函〔2026〕8号" in out["body"][1]["text"]
    assert users["polonius"].post(f"/api/incoming/{doc['id']}/reply").json()["error"] == "reply_exists"


def test_stale_version_and_delete_rules(users: Clients, org: Org) -> None:
    doc = register(users)
    stale = dict(doc)
    doc = ok(users["gertrude"].put(f"/api/incoming/{doc['id']}", json={"version": doc["version"], "title": "新标题"}))
    assert act(users["gertrude"], stale).status_code == 409
    assert users["hamlet"].delete(f"/api/incoming/{doc['id']}").status_code == 404
    assert users["gertrude"].delete(f"/api/incoming/{doc['id']}").status_code == 204
    assert users["gertrude"].get(f"/api/incoming/{doc['id']}").status_code == 404
    doc = ok(act(users["gertrude"], register(users)))  # registered: has a number, cannot be deleted
    r = users["gertrude"].delete(f"/api/incoming/{doc['id']}")
    assert r.status_code == 409 and r.json()["error"] == "already_registered"
    with org.db.read() as s:
        assert s.exec(select(DistributionReceipt)).all() == []
