"""纪要 finish on the default route: no 用印 (纪要 carry no seal) and a 期号 of their own."""

from __future__ import annotations

import io

import docx
from sqlmodel import select

from docs_flow.models import DocNumber
from tests.docs_flow.conftest import Clients, act
from tests.docs_flow.test_routes import create, get, ok
from tests.esign.svc import PIN
from tests.factories import Org
from typeset.conformance import check_docx

MINUTES_ROUTE = [
    ("polonius", "处室负责人核稿"),
    ("claudius", "机关领导签发"),
    ("gertrude", "编号"),
    ("gertrude", "核发/分发"),
    ("gertrude", "归档"),
]


def test_minutes_go_from_draft_to_archive_with_a_period_number_and_no_seal(users: Clients, org: Org) -> None:
    doc = create(
        users,
        org,
        doc_type="纪要",
        title="省政府办公厅第十二次主任办公会议纪要",
        main_recipients=[],
        attendance={
            "present": ["综合处 王强", "秘书处 李明"],
            "on_leave": ["财务处 陈静（出差）"],
            "sitting_in": ["省财政厅 刘洋"],
        },
    )
    assert doc["attendance"]["on_leave"] == ["财务处 陈静（出差）"]
    assert [s["name"] for s in doc["route"]["steps"]] == [name for _, name in MINUTES_ROUTE]
    doc = ok(act(users["hamlet"], doc, "submit"))
    for who, step in MINUTES_ROUTE:
        doc = get(users, who, doc)
        if step == "编号":
            doc = ok(users[who].post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]}))
            assert doc["number"] == "（第1期）"
        doc = ok(act(users[who], doc, "approve", **({"pin": PIN} if step == "机关领导签发" else {})))
    assert doc["status"] == "archived" and not doc["sealed"]
    word = docx.Document(io.BytesIO(users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content))
    assert "（第1期）" in [p.text for p in word.paragraphs]
    texts = [p.text for p in word.paragraphs]
    assert "出席：综合处 王强，秘书处 李明" in texts or any(t.startswith("出席：") and "王强" in t for t in texts)
    assert any(t.startswith("请假：") and "陈静" in t for t in texts)
    assert any(t.startswith("列席：") and "刘洋" in t for t in texts)
    checked = check_docx(users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content)
    assert checked.ok and checked.fmt == "minutes", checked.to_json()
    # A series of its own: the agency's 文件 numbers are untouched by it.
    with org.db.read() as s:
        assert [(n.code, n.seq) for n in s.exec(select(DocNumber)).all()] == [("纪要", 1)]


def test_a_minutes_route_with_a_seal_step_is_refused(users: Clients, org: Org) -> None:
    admin = users["prospero"]
    steps = ok(admin.get("/api/docs/templates"))["items"]
    generic = next(t for t in steps if t["doc_type"] == "*")["steps"]
    r = admin.put("/api/docs/templates/纪要", json={"steps": generic})
    assert r.status_code == 422 and r.json()["error"] == "minutes_not_sealed"
    assert ok(admin.put("/api/docs/templates/通知", json={"steps": generic}))["revision"] == 2


def test_attendance_is_for_minutes_only(users: Clients, org: Org) -> None:
    r = users["hamlet"].post(
        "/api/docs",
        json={
            "doc_type": "通知",
            "title": "关于开会的通知",
            "main_recipients": ["各处室"],
            "attendance": {"present": ["王强"]},
        },
    )
    assert r.status_code == 422 and r.json()["error"] == "attendance_minutes_only"
