"""The authorization matrix: every HTTP route and every websocket frame type, called as every kind of
caller on objects their owners created, compared with the expectation tables in ``tests/authz_expect/``
(one per package: ``office.py``, ``docs_flow.py`` ...).

A route or frame type without an expectation fails the test, so a new endpoint cannot ship without
someone deciding who may call it. Object ids are sequential integers, so isolation rests on
"forbidden answers exactly like missing": every expected 404 is compared, status and body, with the
same call on an id that does not exist.

Outcome classes: ``"2xx"`` (any status below 400), ``"4xx"`` (authorized, then refused on input or
state: 400/409/413/415/422/429), or the exact status 401, 403, 404. A 5xx never matches.
Set ``AUTHZ_DUMP=path`` to write the observed matrix (to review when adding routes).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from typing import Any

import pytest
from starlette.routing import Route, WebSocketRoute

from office.app import DOMAIN_PACKAGES
from office.config import Settings
from tests.authz_world import FIXED_CALLERS, MISSING_ID, SEAL_PIN, UNAUTHENTICATED, World, build_world
from tests.esign.svc import PIN
from tests.factories import login, make_user, new_client
from tests.tianbao import authz_objects as tianbao_objects

CALLERS = (
    "anonymous",
    "disabled",
    "expired",
    "pending_2fa",
    "other_agency",
    "other_dept",
    "same_dept",
    "admin",
    "owner",
)
# Calls that end or replace something run after the others, in this order (unlisted routes first).
LATER = [
    re.compile(p)
    for p in (
        r"POST /api/meetings/feed|PUT /api/meetings/.*/minutes|POST /api/docs/.*/actions",  # replace or move on
        r"POST .*/(recall|void|skip|suspend|disable|reset-password|withdraw)|DELETE .*"
        r"|POST /api/esign/(admin/users/.*/)?revoke",
        r"POST .*/leave",
        r"POST .*/(cancel|dissolve)|POST /api/esign/seals/.*/revoke",
        r"POST /api/auth/logout",  # ends the caller's own session
    )
]


def rank(method: str, path: str) -> int:
    key = f"{method} {path}"
    return next((i + 1 for i, rx in enumerate(LATER) if rx.fullmatch(key)), 0)


def expectations() -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    routes: dict[tuple[str, str], dict[str, Any]] = {}
    frames: dict[str, dict[str, Any]] = {}
    for name in ("office", *DOMAIN_PACKAGES):  # a table per package with routes (typeset has none)
        try:
            module = importlib.import_module(f"tests.authz_expect.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.authz_expect.{name}":
                raise
            continue
        for key, value in module.EXPECTATIONS.items():
            assert key not in routes, f"{key} declared twice"
            routes[key] = value
        frames.update(getattr(module, "FRAMES", {}))
    return routes, frames


def classify(status: int) -> str | int:
    if status < 400:
        return "2xx"
    if status in (401, 403, 404):
        return status
    if status < 500:
        return "4xx"
    return status


def params(w: World, method: str, path: str) -> dict[str, Any]:
    ids, users = w.ids, w.org.users
    values: dict[str, Any] = {
        "session_id": ids["spare_session_id"],
        "dept_id": ids["dept_id"],
        "user_id": users["osric"],
        "signature_id": ids["signature_id"],
        "seal_id": ids["seal_id"],
        "agency_id": ids["agency_id"],
        "doc_type": "通知",
        "number_id": ids["number_id"],
        "delegation_id": ids["delegation_id"],
        "doc_id": ids["doc_id"],
        "no": 1,
        "file_id": ids["file_id"],
        "room_id": ids["room_id"],
        "block_id": ids["block_id"],
        "year": 2026,
        "token": ids["feed_token"],
        "meeting_id": ids["meeting_id"],
        "material_id": ids["material_id"],
        "task_id": ids["task_id"],
        "cid": ids["cid"],
        "uid": ids["member_uid"],
        "seq": ids["seq"],
        "aid": ids["aid"],
        "incoming_id": ids["incoming_id"],
        "item_id": ids["item_id"],
        "circulation_id": ids["circulation_id"],
        "archive_id": ids["archive_id"],
        "request_id": ids["request_id"],
        "template_id": ids["template_id"],
    }
    if path.startswith("/api/banshi/files/"):
        values["file_id"] = ids["bs_file_id"]
    if path.startswith("/api/incoming/{incoming_id:int}/files/"):
        values["file_id"] = ids["incoming_file_id"]
    tianbao_objects.params(w, method, path, values)  # 数据填报's own ids for its paths
    if "/members/{uid:int}" in path:
        values["uid"] = users["laertes"]  # added by the owner earlier in the walk; polonius stays to leave
    if path.startswith("/api/directory/people/"):
        values["user_id"] = users["hamlet"]
    if path.startswith("/api/meetings/{meeting_id:int}/attendees/"):
        values["user_id"] = users["polonius"]
    return values


def fill(path: str, values: dict[str, Any], *, missing: bool = False) -> str:
    def sub(m: re.Match[str]) -> str:
        name, conv = m.group(1), m.group(2)
        if missing and conv == ":int" and name not in ("year", "no", "agency_id"):
            return str(MISSING_ID)
        return str(values[name])

    return re.sub(r"{(\w+)(:\w+)?}", sub, path)


def request_for(w: World, method: str, path: str) -> dict[str, Any] | None:
    """A valid request (body, query), so that callers get past input validation to the object check."""
    ids, users = w.ids, w.org.users
    from docs_flow.models import OutgoingDocument

    with w.app.state.db.read() as s:
        ids["doc_version"] = s.get(OutgoingDocument, ids["doc_id"]).version
    week = {"start": "2026-12-07T00:00:00+08:00", "end": "2026-12-14T00:00:00+08:00"}
    from docs_flow.incoming_models import IncomingDocument

    with w.app.state.db.read() as s:
        ids["incoming_version"] = s.get(IncomingDocument, ids["incoming_id"]).version
    from banshi.models import ApprovalRequest

    with w.app.state.db.read() as s:
        bs_version = s.get(ApprovalRequest, ids["request_id"]).version
    tianbao_spec = tianbao_objects.request(w, method, path)
    if tianbao_spec is not None:
        return tianbao_spec
    return _banshi_request(w, method, path, bs_version) or {
        ("PUT", "/api/incoming/{incoming_id:int}"): {
            "json": {"version": ids["incoming_version"], "title": "关于报送的函"}
        },
        ("POST", "/api/incoming/{incoming_id:int}/actions"): {
            "json": {"action": "approve", "version": ids["incoming_version"]}
        },
        ("POST", "/api/incoming/{incoming_id:int}/files"): {
            "data": {"role": "main"},
            "files": {"file": ("补充.pdf", b"%PDF-1.4 x")},
        },
        ("POST", "/api/incoming/{incoming_id:int}/circulations"): {"json": {"user_ids": [users["claudius"]]}},
        ("POST", "/api/incoming/circulations/{circulation_id:int}/read"): {"json": {"comment": "已阅"}},
        ("POST", "/api/supervision/items/{item_id:int}/remind"): {"json": {"message": "请抓紧"}},
        ("POST", "/api/supervision/items/{item_id:int}/escalate"): {"json": {"reason": "逾期"}},
        ("POST", "/api/supervision/items/{item_id:int}/complete"): {"json": {"reason": "已落实"}},
        ("GET", "/api/search"): {"params": {"q": "通知"}},
        ("GET", "/api/meetings"): {"params": week},
        ("GET", "/api/meetings/freebusy"): {"params": {**week, "user_ids": str(users["polonius"])}},
        ("GET", "/api/messages/search"): {"params": {"q": "你好"}},
        ("GET", "/api/docs/{doc_id:int}/diff"): {"params": {"a": 1, "b": 1}},
        ("POST", "/api/docs/delegations"): {
            "json": {  # a deputy of another agency; after hamlet's own 委托
                "deputy_id": users["othello"],
                "starts_at": "2030-01-06T09:00:00+08:00",
                "ends_at": "2030-01-10T18:00:00+08:00",
                "reason": "出差",
            }
        },
        ("POST", "/api/docs/{doc_id:int}/number"): {"json": {"version": ids["doc_version"]}},
        ("POST", "/api/docs/{doc_id:int}/joint-seal"): {"json": {"version": ids["doc_version"], "pin": PIN}},
        ("POST", "/api/docs/{doc_id:int}/import"): {"files": {"file": ("正文.docx", ids["docx"])}},
        ("POST", "/api/meetings/{meeting_id:int}/agencies/{agency_id:int}/nominees"): {
            "json": {"user_ids": [users["hamlet"]]}
        },
        ("PUT", "/api/meetings/{meeting_id:int}/minutes"): {"json": {"number": "第1期", "summary": "会议听取汇报。"}},
        ("PUT", "/api/docs/{doc_id:int}"): {
            "json": {"version": ids["doc_version"], "title": "关于做好年终工作的通知（修改）"}
        },
        ("POST", "/api/docs/{doc_id:int}/comments"): {"json": {"text": "请斟酌第二段。"}},
        ("POST", "/api/docs/{doc_id:int}/actions"): {
            "json": {"action": "submit", "version": ids["doc_version"], "opinion": "请审核"}
        },
        ("POST", "/api/docs/{doc_id:int}/attachments"): {
            "files": {"file": ("附件.txt", b"hello")},
            "data": {"version": str(ids["doc_version"])},
        },
        ("PATCH", "/api/docs/{doc_id:int}/attachments/{file_id:int}"): {
            "json": {"version": ids["doc_version"], "title": "附件一"}
        },
        ("POST", "/api/docs/{doc_id:int}/annexes"): {
            "json": {
                "version": ids["doc_version"],
                "title": "附件二",
                "blocks": [{"kind": "paragraph", "text": "内容"}],
            }
        },
        ("POST", "/api/docs/{doc_id:int}/annexes/import"): {
            "files": {"file": ("附件.docx", ids["docx"])},
            "data": {"version": str(ids["doc_version"])},
        },
        ("POST", "/api/messages/conversations/{cid:int}/messages"): {"json": {"text": "收到"}},
        ("PUT", "/api/messages/conversations/{cid:int}"): {"json": {"announcement": "本周五例会"}},
        ("POST", "/api/messages/conversations/{cid:int}/members"): {"json": {"user_ids": [users["laertes"]]}},
        ("PUT", "/api/messages/conversations/{cid:int}/members/{uid:int}"): {"json": {"role": "admin"}},
        ("PUT", "/api/messages/conversations/{cid:int}/mute"): {"json": {"muted": True}},
        ("POST", "/api/messages/conversations/{cid:int}/read"): {"json": {"seq": ids["seq"]}},
        ("PUT", "/api/messages/conversations/{cid:int}/messages/{seq:int}"): {"json": {"text": "你好！"}},
        ("POST", "/api/messages/conversations/{cid:int}/messages/{seq:int}/reactions"): {"json": {"emoji": "👍"}},
        ("POST", "/api/messages/conversations/{cid:int}/attachments"): {
            "files": {"file": ("a.txt", b"hello", "text/plain")}
        },
        ("PATCH", "/api/meetings/{meeting_id:int}"): {"json": {"title": "处务会（调整）"}},
        ("POST", "/api/meetings/{meeting_id:int}/cancel"): {"json": {"reason": "改期"}},
        ("POST", "/api/meetings/{meeting_id:int}/attendees"): {"json": {"attendees": [{"user_id": users["laertes"]}]}},
        ("POST", "/api/meetings/{meeting_id:int}/rsvp"): {"json": {"status": "accepted"}},
        ("PUT", "/api/meetings/{meeting_id:int}/agenda"): {"json": {"items": [{"title": "年度工作"}]}},
        ("POST", "/api/meetings/{meeting_id:int}/materials/links"): {
            "json": {"name": "链接", "url": "https://example.org/b"}
        },
        ("POST", "/api/meetings/{meeting_id:int}/materials/files"): {"files": {"file": ("材料.txt", b"text")}},
        ("POST", "/api/meetings/{meeting_id:int}/signin"): {"json": {}},
        # A well-formed body (its empty title is refused after authorization): who may enter 督办 items
        # is decided by the service, which knows the agency's supervision office.
        ("POST", "/api/supervision/items"): {"json": {"title": "", "deadline": "2099-01-01T09:00:00+08:00"}},
        ("POST", "/api/meetings/{meeting_id:int}/skip"): {"json": {"occurrence_start": ids["meeting_start"]}},
        ("POST", "/api/meetings/{meeting_id:int}/approval"): {"json": {"approve": True, "comment": ""}},
        ("PUT", "/api/esign/seals/{seal_id:int}/users"): {
            "json": {"user_ids": [users["claudius"]], "seal_pin": SEAL_PIN}
        },
        ("POST", "/api/esign/seals/{seal_id:int}/revoke"): {"json": {"reason": "测试"}},
        ("POST", "/api/esign/seals/{seal_id:int}/apply"): {
            "data": {"pin": PIN, "reference": "粤府办〔2026〕3号"},
            "files": {"file": ("x.docx", w.ids["docx"])},
        },
        ("POST", "/api/esign/signatures/{signature_id:int}/verify"): {"json": {"text": "同意。"}},
        ("PATCH", "/api/admin/users/{user_id:int}"): {"json": {"phone": "020-1234"}},
        ("PATCH", "/api/admin/departments/{dept_id:int}"): {"json": {"name": "综合处"}},
    }.get((method, path))


def _banshi_request(w: World, method: str, path: str, version: int) -> dict[str, Any] | None:
    """Well-formed 办事 calls: hamlet's request at its current version, the template's form values."""
    users, tid = w.org.users, w.ids["template_id"]
    act = {"version": version, "opinion": "理由"}
    return {
        ("POST", "/api/banshi/preview"): {"json": {"template_id": tid, "values": {"reason": "预览"}}},
        ("POST", "/api/banshi/requests"): {"json": {"template_id": tid, "values": {"reason": "再买一些"}}},
        ("GET", "/api/banshi/requests"): {"params": {"box": "mine"}},
        ("POST", "/api/banshi/requests/batch-approve"): {
            "json": {"items": [{"id": w.ids["request_id"], "version": version}]}
        },
        ("PUT", "/api/banshi/requests/{request_id:int}"): {"json": {"version": version, "values": {"reason": "改"}}},
        ("POST", "/api/banshi/requests/{request_id:int}/submit"): {"json": {"version": version}},
        ("POST", "/api/banshi/requests/{request_id:int}/approve"): {"json": act},
        ("POST", "/api/banshi/requests/{request_id:int}/reject"): {"json": act},
        ("POST", "/api/banshi/requests/{request_id:int}/return"): {"json": act},
        ("POST", "/api/banshi/requests/{request_id:int}/transfer"): {"json": {**act, "user_id": users["laertes"]}},
        ("POST", "/api/banshi/requests/{request_id:int}/add_signer"): {"json": {**act, "user_ids": [users["laertes"]]}},
        ("POST", "/api/banshi/requests/{request_id:int}/withdraw"): {"json": act},
        ("POST", "/api/banshi/requests/{request_id:int}/urge"): {"json": act},
        ("POST", "/api/banshi/files"): {"params": {"name": "附件.txt"}, "content": b"hello"},
        ("POST", "/api/banshi/admin/templates"): {"json": {"name": "用车申请"}},
        ("PUT", "/api/banshi/admin/templates/{template_id:int}"): {"json": {"description": "采购物品"}},
        ("PUT", "/api/banshi/admin/templates/{template_id:int}/draft"): {"json": w.ids["bs_draft"]},
        ("PUT", "/api/banshi/admin/leaders"): {"json": {"principal": users["claudius"], "supervisors": []}},
        ("PUT", "/api/banshi/admin/offices"): {
            "json": {"personnel_department_id": None, "finance_department_id": None}
        },
        ("POST", "/api/banshi/leave/people/{user_id:int}"): {
            "json": {"year": 2026, "kind": "annual", "days": 1, "reason": "补登"}
        },
        ("PUT", "/api/banshi/personnel/{user_id:int}"): {"json": {"work_start": "2010-07-01"}},
        ("PUT", "/api/banshi/travel-standards"): {"json": {"items": []}},
        ("GET", "/api/banshi/verify"): {"params": {"serial": "202612070001", "digest": "0" * 64}},
    }.get((method, path))


def call(client: Any, method: str, url: str, spec: dict[str, Any] | None) -> Any:
    return client.request(method, url, **(spec or {}))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The world's chat message is recalled by its owner near the end of the walk: on a loaded machine
    the walk outlasted the two-minute recall window (409 recall_window instead of the 2xx declared)."""
    return settings.with_overrides(chat_recall_seconds=3600)


def test_every_route_and_frame_matches_its_declared_expectation(app: Any, client: Any) -> None:
    declared, declared_frames = expectations()
    w = build_world(app)
    w.main = client
    w.org.users["osric"] = make_user(app.state.db, "osric", "奥斯里克", dept_id=w.org.depts["A1"])  # admin target
    spare = new_client(app)
    login(spare, "hamlet")
    w.ids["spare_session_id"] = _last_session(app, w.org.users["hamlet"])
    from tests.esign.test_docx_sig import build_docx

    w.ids["docx"] = build_docx()
    observed: dict[str, dict[str, Any]] = {}
    mismatches: list[str] = []
    frame_rows = _frames(w, {f: declared_frames.get(f, {}) for f in app.state.hub.frame_handlers}, mismatches)

    http_routes = [
        (m, r.path) for r in app.routes if isinstance(r, Route) for m in sorted((r.methods or set()) - {"HEAD"})
    ]
    undeclared = [f"{m} {p}" for m, p in http_routes if (m, p) not in declared]
    stale = [f"{m} {p}" for m, p in declared if (m, p) not in http_routes]
    ws_routes = [r.path for r in app.routes if isinstance(r, WebSocketRoute)]
    assert ws_routes == ["/ws"], ws_routes
    undeclared_frames = sorted(set(app.state.hub.frame_handlers) - set(declared_frames))

    # Callers run from least to most privileged on each route, and routes that end something (and logout,
    # which ends the caller's own session) run last, so no call spoils a later one.
    ordered = sorted(http_routes, key=lambda mp: rank(*mp))
    for method, path in ordered:
        exp = declared.get((method, path), {})
        values = params(w, method, path)
        url = fill(path, values)
        spec = request_for(w, method, path)
        row: dict[str, Any] = {}
        answered: dict[str, Any] = {}  # one call per user: the admin may also be the owner
        for caller in CALLERS:
            who = exp.get("owner_user", "hamlet") if caller == "owner" else FIXED_CALLERS.get(caller)
            c = w.clients[caller] if caller in UNAUTHENTICATED else w.client(who)
            key = caller if caller in UNAUTHENTICATED else who
            r = answered[key] = answered.get(key) or call(c, method, url, spec)
            got = classify(r.status_code)
            row[caller] = [got, r.status_code, r.text[:90]]
            want = exp.get(caller, "undeclared")
            if got != want and not (isinstance(want, tuple) and got in want):
                mismatches.append(
                    f"{method} {path} as {caller} ({who}): expected {want}, got {r.status_code} {r.text[:160]}"
                )
            if (
                got != "2xx"
                and caller in ("other_agency", "other_dept", "same_dept")
                and url != fill(path, values, missing=True)
            ):
                r2 = call(c, method, fill(path, values, missing=True), spec)
                if (r2.status_code, _same_for_all(r2.content)) != (r.status_code, _same_for_all(r.content)):
                    mismatches.append(
                        f"{method} {path} as {caller}: forbidden answers unlike missing: "
                        f"{r.status_code} {r.text[:100]} vs {r2.status_code} {r2.text[:100]}"
                    )
        observed[f"{method} {path}"] = row
    if os.environ.get("AUTHZ_DUMP"):
        with open(os.environ["AUTHZ_DUMP"], "w") as fh:
            json.dump({"routes": observed, "frames": frame_rows}, fh, ensure_ascii=False, indent=0)
    spare.close()
    w.close()
    assert not undeclared, "routes without an authz expectation:\n" + "\n".join(undeclared)
    assert not stale, "expectations for routes that no longer exist:\n" + "\n".join(stale)
    assert not undeclared_frames, f"websocket frame types without an expectation: {undeclared_frames}"
    assert not mismatches, f"{len(mismatches)} authorization mismatches:\n" + "\n".join(mismatches)


def _last_session(app: Any, user_id: int) -> int:
    from sqlmodel import select

    from office.models import AuthSession

    with app.state.db.read() as s:
        return max(s.exec(select(AuthSession.id).where(AuthSession.user_id == user_id)))  # type: ignore[type-var]


def _frames(w: World, declared: dict[str, dict[str, Any]], mismatches: list[str]) -> dict[str, Any]:
    """Each frame type, sent by the owner and by the other-agency user with the owner's conversation:
    the outcome is the first reply frame's type (or error code); a passive member sees nothing leak."""
    rows: dict[str, Any] = {}
    for ftype, exp in declared.items():
        row = {}
        for caller in ("other_agency", "owner"):
            who = "hamlet" if caller == "owner" else FIXED_CALLERS[caller]
            frame = {"type": ftype, "ref": "r1", **_frame_body(w, ftype)}
            got = _send_frame(w, who, frame)
            row[caller] = got
            if got != exp.get(caller, "undeclared"):
                mismatches.append(f"frame {ftype} as {caller}: expected {exp.get(caller)!r}, got {got!r}")
        rows[ftype] = row
    return rows


def _frame_body(w: World, ftype: str) -> dict[str, Any]:
    cid = w.ids["cid"]
    return {
        "chat.send": {"conversation_id": cid, "text": "帧消息", "client_id": f"c-{len(w.ids)}-{ftype}"},
        "chat.read": {"conversation_id": cid, "seq": w.ids["seq"]},
        "chat.typing": {"conversation_id": cid},
        "presence.set": {"status": "away"},
        "presence.watch": {"user_ids": [w.org.users["hamlet"], w.org.users["polonius"]]},
    }.get(ftype, {})


def _send_frame(w: World, username: str, frame: dict[str, Any]) -> str:
    c = w.main  # websockets need the client that runs the app's lifespan (the hub's event loop)
    login(c, username)
    with c.websocket_connect("/ws") as ws:
        first = ws.receive_json()
        assert first["type"] == "hello", first
        ws.send_json(frame)
        ws.send_json({"type": "ping"})
        acked = frame["type"] in ("chat.send", "chat.read")  # these answer with their ref after the commit
        while True:
            reply = ws.receive_json()
            if reply.get("type") == "pong" and not acked:
                return "none"
            if reply.get("ref") == frame["ref"] or reply.get("type") == "error":
                return f"error:{reply['error']}" if reply["type"] == "error" else reply["type"]


def _same_for_all(content: bytes) -> bytes:
    """An answer without its request id (office.logs puts a new one in every error body)."""
    return re.sub(rb'"request_id": "[0-9a-f]{24}"', b"", content)
