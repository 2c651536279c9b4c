"""A fixture organisation for the authorization matrix: ``make_org`` plus one object of every kind,
created by its owner through the real services (HTTP as the owner, or the service functions), and a
signed-in client for every kind of caller.

Callers: ``owner`` (per route, hamlet by default), ``same_dept`` (ophelia, A1, no part in anything),
``other_dept`` (horatio, A2), ``other_agency`` (othello, B1), ``admin`` (prospero, A1 system admin),
``anonymous`` (no cookie), ``disabled`` (a session whose account was then disabled), ``expired`` (a
session past its expiry), ``pending_2fa`` (password accepted, second factor not yet given).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyotp
from PIL import Image
from sqlmodel import select
from starlette.testclient import TestClient

from office import accounts
from office.db import utcnow
from office.models import AuthSession, User
from tests.esign.svc import PIN, SEAL_PIN, enrol, make_seal
from tests.esign.test_docx_sig import build_docx
from tests.factories import PASSWORD, Org, login, make_org, make_user, new_client
from tests.tianbao import authz_objects as tianbao_objects

FIXED_CALLERS = {"same_dept": "ophelia", "other_dept": "horatio", "other_agency": "othello", "admin": "prospero"}
UNAUTHENTICATED = ("anonymous", "disabled", "expired", "pending_2fa")
MISSING_ID = 987_654


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    app: Any
    org: Org
    ids: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, TestClient] = field(default_factory=dict)
    main: Any = None  # the fixture client that runs the lifespan

    def client(self, username: str) -> TestClient:
        if username not in self.clients:
            c = new_client(self.app)
            login(c, username)
            self.clients[username] = c
        return self.clients[username]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def _ok(r: Any) -> Any:
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def build_world(app: Any) -> World:
    db = app.state.db
    org = make_org(db)
    w = World(app=app, org=org)
    _special_callers(w)
    ham, ger, yor, pro = (w.client(u) for u in ("hamlet", "gertrude", "yorick", "prospero"))
    ids = w.ids
    ids["agency_id"] = org.agencies["A"]
    ids["other_agency_id"] = org.agencies["B"]
    ids["dept_id"] = org.depts["A1"]

    # 办文: a draft by hamlet with an attachment; a reserved number (clerk); a delegation (hamlet -> polonius).
    from tests.docs_flow.conftest import BODY

    doc = _ok(
        ham.post(
            "/api/docs",
            json={
                "doc_type": "通知",
                "title": "关于做好年终工作的通知",
                "body": BODY,
                "main_recipients": ["各市人民政府"],
                "secrecy": "内部",
            },
        )
    )
    ids["doc_id"], ids["doc_version"] = doc["id"], doc["version"]
    att = _ok(
        ham.post(
            f"/api/docs/{doc['id']}/attachments",
            files={"file": ("统计表.xlsx", b"data")},
            data={"version": str(doc["version"])},
        )
    )
    ids["file_id"] = att["id"]
    ids["doc_version"] = _ok(ham.get(f"/api/docs/{doc['id']}"))["version"]
    ids["number_id"] = _ok(ger.post("/api/docs/numbers", json={"code": "粤府办", "year": 2026, "reason": "预留"}))["id"]
    now = utcnow()
    ids["delegation_id"] = _ok(
        ham.post(
            "/api/docs/delegations",
            json={
                "deputy_id": org.users["polonius"],
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(days=3)).isoformat(),
                "reason": "出差",
            },
        )
    )["id"]

    # 收文: registered by the clerk gertrude, with a scan; a 督办 item she opened for 秘书处.
    inc = _ok(
        ger.post(
            "/api/incoming",
            json={
                "title": "关于报送预算执行情况的函",
                "source_agency_name": "省审计厅",
                "original_number": "粤审函〔2026〕8号",
                "doc_type": "函",
                "body_text": "请于本月底前报送。",
            },
        )
    )
    ids["incoming_id"] = inc["id"]
    ids["incoming_file_id"] = _ok(
        ger.post(
            f"/api/incoming/{inc['id']}/files",
            data={"role": "main"},
            files={"file": ("来文.pdf", b"%PDF-1.4 scan", "application/pdf")},
        )
    )["id"]
    ids["item_id"] = _ok(
        ger.post(
            "/api/supervision/items",
            json={
                "title": "落实省领导批示精神",
                "owner_department_id": org.depts["A2"],
                "deadline": (now + timedelta(days=5)).isoformat(),
            },
        )
    )["id"]
    ids["circulation_id"] = MISSING_ID  # needs a document far along its route: not built here
    ids["archive_id"] = MISSING_ID  # likewise (archiving is tested in tests/docs_flow/test_incoming.py)

    # 会议: a room with a block (admin), a meeting organised by hamlet with polonius attending.
    room = _ok(pro.post("/api/meetings/rooms", json={"name": "第一会议室", "location": "三楼", "capacity": 12}))
    ids["room_id"] = room["id"]
    block = _ok(
        pro.post(
            f"/api/meetings/rooms/{room['id']}/blocks",
            json={"start": "2026-12-20T09:00:00+08:00", "end": "2026-12-20T12:00:00+08:00", "reason": "检修"},
        )
    )
    ids["block_id"] = block["id"]
    day = (utcnow() + timedelta(hours=8, days=7)).date()  # China's date a week from now
    meeting = _ok(
        ham.post(
            "/api/meetings",
            json={
                "title": "处务会",
                "start": f"{day}T09:00:00+08:00",  # a week on: a meeting to come (no booking in the past)
                "end": f"{day}T10:30:00+08:00",
                "room_id": room["id"],
                "attendees": [{"user_id": org.users["polonius"]}],
            },
        )
    )["meeting"]
    mid = ids["meeting_id"] = meeting["id"]
    ids["meeting_start"] = meeting["start"]
    _ok(ham.post(f"/api/meetings/{mid}/materials/links", json={"name": "议程说明", "url": "https://example.org/a"}))
    ids["material_id"] = _ok(
        ham.post(f"/api/meetings/{mid}/materials/files", files={"file": ("汇报材料.txt", "汇报材料".encode())})
    )["id"]
    minutes = _ok(
        ham.put(
            f"/api/meetings/{mid}/minutes",
            json={
                "number": "第1期",
                "host_name": "张伟",
                "recorder_name": "张伟",
                "topics": ["年度工作"],
                "summary": "会议听取汇报。",
                "decisions": [{"text": "同意。"}],
                "tasks": [{"title": "修改要点", "owner_unit": "综合处", "due_date": "2026-12-31"}],
            },
        )
    )
    ids["task_id"] = minutes["tasks"][0]["id"]
    ids["year"] = 2026
    ids["feed_token"] = _ok(ham.post("/api/meetings/feed"))["url"].rsplit("/", 1)[1].removesuffix(".ics")

    # 消息: a group by hamlet with polonius, one message, one attachment.
    conv = _ok(
        ham.post("/api/messages/conversations", json={"name": "综合处小组", "member_ids": [org.users["polonius"]]})
    )
    cid = ids["cid"] = conv["id"]
    ids["seq"] = _ok(ham.post(f"/api/messages/conversations/{cid}/messages", json={"text": "你好"}))["seq"]
    ids["aid"] = _ok(
        ham.post(f"/api/messages/conversations/{cid}/attachments", files={"file": ("a.png", png(), "image/png")})
    )["id"]
    ids["member_uid"] = org.users["polonius"]

    # 电子签章: hamlet's own credential and signature; an agency seal kept by yorick, usable by claudius.
    enrol(org, "hamlet")
    enrol(org, "claudius")
    enrol(org, "yorick")
    sig = _ok(ham.post("/api/esign/sign-text", json={"text": "同意。", "pin": PIN, "purpose": "审批意见"}))
    ids["signature_id"] = sig["id"]
    ids["seal_id"] = make_seal(org, users=("claudius",))
    ids["own_session_id"] = _session_ids(db, org.users["hamlet"])[-1]
    _banshi(w, ham, pro)
    tianbao_objects.build(w)  # 数据填报: tasks, returns, an item
    del yor
    return w


def _banshi(w: World, ham: TestClient, pro: TestClient) -> None:
    """办事: a form designed and published by the administrator (one step, polonius approves); hamlet's
    request on it, submitted; a file hamlet uploaded and has not attached yet."""
    u = w.org.users
    tid = _ok(pro.post("/api/banshi/admin/templates", json={"name": "采购申请", "category": "财务"}))["id"]
    w.ids["bs_draft"] = {
        "fields": [{"key": "reason", "label": "事由", "type": "text", "required": True}],
        "route": {
            "branches": [],
            "default": {"steps": [{"key": "s1", "name": "部门负责人审批", "mode": "any",
                                   "approvers": {"kind": "users", "user_ids": [u["polonius"]]}}]},
            "cc": {"submit": [], "end": []},
        },
        "options": {"batch": True},
    }  # fmt: skip
    _ok(pro.put(f"/api/banshi/admin/templates/{tid}/draft", json=w.ids["bs_draft"]))
    _ok(pro.post(f"/api/banshi/admin/templates/{tid}/publish"))
    req = _ok(
        ham.post("/api/banshi/requests", json={"template_id": tid, "values": {"reason": "购买打印纸"}, "submit": True})
    )
    w.ids["template_id"], w.ids["request_id"] = tid, req["id"]
    w.ids["bs_file_id"] = _ok(ham.post("/api/banshi/files", params={"name": "发票.pdf"}, content=b"%PDF-1.4 x"))["id"]


def _session_ids(db: Any, user_id: int) -> list[int]:
    with db.read() as s:
        return list(s.exec(select(AuthSession.id).where(AuthSession.user_id == user_id).order_by(AuthSession.id)))


def _special_callers(w: World) -> None:
    db, org = w.app.state.db, w.org
    a1 = org.depts["A1"]
    for name in ("rosencrantz", "guildenstern", "fortinbras"):
        org.users[name] = make_user(db, name, name, dept_id=a1)
    w.clients["anonymous"] = new_client(w.app)
    w.clients["disabled"] = w.client("rosencrantz")
    with db.write() as s:
        user = s.get(User, org.users["rosencrantz"])
        user.is_active = False  # the session row is left alive on purpose: the account check must refuse it
        s.add(user)
    w.clients["expired"] = w.client("guildenstern")
    with db.write() as s:
        for row in s.exec(select(AuthSession).where(AuthSession.user_id == org.users["guildenstern"])):
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
    with db.write() as s:
        actor = org.actor("fortinbras")
        secret = accounts.begin_totp(s, w.app.state.settings, actor)["secret"]
    with db.write() as s:
        accounts.enable_totp(s, w.app.state.settings, org.actor("fortinbras"), pyotp.TOTP(secret).now())
    pending = new_client(w.app)
    r = pending.post("/api/auth/login", json={"username": "fortinbras", "password": PASSWORD})
    assert r.json() == {"totp_required": True}, r.text
    pending.headers["x-csrf-token"] = pending.cookies.get("tb_csrf") or ""
    w.clients["pending_2fa"] = pending


__all__ = ["FIXED_CALLERS", "MISSING_ID", "SEAL_PIN", "UNAUTHENTICATED", "World", "build_docx", "build_world"]
