"""办文 through HTTP: the full 通知 route, 留痕, permissions, bad input, templates, comments, output."""

from __future__ import annotations

import io
from typing import Any

from sqlmodel import func, select
from starlette.testclient import TestClient

from docs_flow import body as body_mod
from docs_flow.models import DocumentVersion, OutgoingDocument
from office.models import AuditEntry
from tests.conftest import Recorder
from tests.docs_flow.conftest import BODY, SIGNING_STEPS, Clients, act
from tests.esign.svc import PIN, enrol, writers_pass_while_deriving
from tests.factories import Org

ROUTE = [
    ("polonius", "处室负责人核稿"),
    ("laertes", "办公室审核"),
    ("laertes", "会签"),
    ("claudius", "机关领导签发"),
    ("laertes", "复核"),
    ("gertrude", "编号"),
    ("yorick", "用印"),
    ("gertrude", "核发/分发"),
    ("gertrude", "归档"),
]


def create(users: Clients, org: Org, **extra: Any) -> dict[str, Any]:
    payload = {
        "doc_type": "通知",
        "title": "关于做好年终工作的通知",
        "body": BODY,
        "main_recipients": ["各市人民政府"],
        "countersign_department_ids": [org.depts["A2"]],
        "urgency": "加急",
        "secrecy": "内部",
        **extra,
    }
    r = users["hamlet"].post("/api/docs", json=payload)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def get(users: Clients, who: str, doc: dict[str, Any]) -> dict[str, Any]:
    r = users[who].get(f"/api/docs/{doc['id']}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def advance(users: Clients, doc: dict[str, Any], upto: str) -> dict[str, Any]:
    """Approve step by step until the current step is ``upto``."""
    doc = ok(act(users["hamlet"], doc, "submit")) if doc["status"] == "draft" else doc
    current = doc["route"]["current_step"]
    for index, (who, step) in enumerate(ROUTE):
        if current is None or index < current:
            continue
        if step == upto:
            return get(users, who, doc)
        doc = get(users, who, doc)
        if step == "编号":
            doc = ok(users[who].post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]}))
        signing = {"pin": PIN} if step in SIGNING_STEPS else {}
        doc = ok(act(users[who], doc, "approve", opinion=f"{step}：同意", **signing))
    return doc


def test_full_route_signs_off_exact_version_numbers_seals_and_archives(
    users: Clients, org: Org, recorder: Recorder
) -> None:
    doc = create(users, org)
    assert doc["allowed_actions"] == ["submit", "edit", "comment", "download"]
    assert doc["secrecy"] == "内部" and doc["urgency"] == "加急" and doc["body_version_no"] == 1
    doc = ok(act(users["hamlet"], doc, "submit", opinion="请审核"))
    assert doc["status"] == "routing" and "withdraw" in doc["allowed_actions"]
    notify = recorder.of("notify.document")[-1]
    assert notify.user_ids == (org.users["polonius"],) and notify.payload["user_ids"] == [org.users["polonius"]]
    assert notify.payload["link"] == f"/docs/{doc['id']}" and notify.payload["source"] == "docs_flow"
    assert doc["id"] in [d["id"] for d in ok(users["polonius"].get("/api/docs?box=todo"))["items"]]

    # 核稿 may edit the text: a new version, diffed at character level with its author.
    doc = get(users, "polonius", doc)
    edited = [dict(b) for b in BODY]
    edited[1] = {"kind": "paragraph", "text": "各地各部门要认真贯彻落实本通知精神。"}
    doc = ok(users["polonius"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "body": edited}))
    assert doc["body_version_no"] == 2
    diff = ok(users["hamlet"].get(f"/api/docs/{doc['id']}/diff?a=1&b=2"))
    assert diff["b"]["author"] == "王强" and diff["b"]["step"] == "处室负责人核稿"
    changes = [(o["op"], o["text"]) for o in diff["ops"] if o["op"] != "equal"]
    assert changes == [("delete", "要求"), ("insert", "精神")]
    doc = ok(act(users["polonius"], doc, "approve", opinion="同意，请办公室审核"))

    doc = advance(users, doc, "机关领导签发")
    assert doc["allowed_actions"][:4] == ["approve", "return", "transfer", "add_signer"]
    r = act(users["claudius"], doc, "approve", opinion="同意印发")
    assert r.status_code == 422 and r.json()["error"] == "pin_required"
    r = act(users["claudius"], doc, "approve", opinion="同意印发", pin="999999")
    assert r.status_code == 403 and r.json()["error"] == "wrong_pin"
    doc = ok(act(users["claudius"], doc, "approve", opinion="同意印发", pin=PIN))
    assert doc["status"] == "signed" and doc["signer_name"] == "赵刚" and doc["written_date"]
    assert doc["signed_version_no"] == 2
    assert doc["signed_hash"] == body_mod.body_hash(doc["title"], edited)
    # Locked after 签发: nobody may change the text, not even an editor on the route.
    r = users["laertes"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "body": BODY})
    assert r.status_code == 423 and r.json()["error"] == "body_locked"

    doc = advance(users, doc, "编号")
    assert "number" in doc["allowed_actions"] and "approve" not in doc["allowed_actions"]
    r = act(users["gertrude"], doc, "approve")
    assert r.status_code == 409 and r.json()["error"] == "number_required"
    doc = advance(users, doc, "end")
    assert doc["status"] == "archived" and doc["number"].startswith("粤府办〔") and doc["number"].endswith("〕1号")
    assert doc["sealed"] and doc["issued_date"]
    steps = doc["route"]["steps"]
    assert [s["state"] for s in steps] == ["done"] * 9
    assert steps[3]["tasks"][0]["assignee"] == "赵刚" and steps[3]["tasks"][0]["opinion"] == "同意印发"
    assert recorder.of("notify.document")[-1].payload["title"].startswith("已办结")
    with org.db.read() as s:
        sign = s.exec(
            select(AuditEntry).where(
                AuditEntry.action == "workflow.approve", AuditEntry.detail["step"].as_string() == "sign_off"
            )
        ).one()
        assert sign.actor_name == "赵刚"
    assert ok(users["claudius"].get("/api/docs?box=done"))["items"][0]["id"] == doc["id"]
    check_download(users["yorick"], doc, numbered=True)
    # The download is the file sealed at 用印: the agency's seal over the date, verifiable by anyone.
    sealed = users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content
    report = (
        users["hamlet"].post("/api/esign/verify", files={"file": ("d.docx", sealed, "application/octet-stream")}).json()
    )
    assert report["valid"], report
    assert report["signatures"][0]["seal_name"].startswith("省政府办公厅")
    assert ok(users["hamlet"].get("/api/docs?box=mine"))["total"] == 1


def test_outsiders_cannot_read_act_or_download(users: Clients, org: Org) -> None:
    doc = create(users, org)
    doc = ok(act(users["hamlet"], doc, "submit"))
    for who in ("horatio", "othello", "desdemona"):  # other department; other agency; other agency's leader
        c = users[who]
        for r in (
            c.get(f"/api/docs/{doc['id']}"),
            act(c, doc, "approve"),
            c.get(f"/api/docs/{doc['id']}/docx"),
            c.get(f"/api/docs/{doc['id']}/versions"),
            c.get(f"/api/docs/{doc['id']}/comments"),
            c.post(f"/api/docs/{doc['id']}/comments", json={"text": "hi"}),
        ):
            assert r.status_code == 404, (who, r.text)
            assert r.json().items() >= {"error": "not_found", "message": "对象不存在或无权查看"}.items()
        assert c.get("/api/docs?box=all").json()["total"] == 0
    assert users["horatio"].get("/api/docs/999999").json()["error"] == "not_found"
    # The agency's clerk and leader see routed documents of their agency under 全部.
    assert ok(users["gertrude"].get("/api/docs?box=all"))["total"] == 1
    assert ok(users["desdemona"].get("/api/docs?box=all"))["total"] == 0


def test_on_route_but_not_current_actor_cannot_act(users: Clients, org: Org) -> None:
    doc = ok(act(users["hamlet"], create(users, org), "submit"))
    r = act(users["hamlet"], doc, "approve")
    assert r.status_code == 403 and r.json()["error"] == "not_current_actor"
    r = users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "title": "改标题"})
    assert r.status_code == 403
    assert get(users, "hamlet", doc)["title"] == "关于做好年终工作的通知"


def test_classified_documents_are_refused_with_an_explanation(users: Clients, org: Org) -> None:
    for level in ("秘密", "机密", "绝密"):
        r = users["hamlet"].post("/api/docs", json={"doc_type": "通知", "title": "涉密", "secrecy": level})
        assert r.status_code == 422
        assert r.json()["error"] == "classified_refused" and "涉密" in r.json()["message"]
    doc = create(users, org)
    r = users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "secrecy": "机密"})
    assert r.status_code == 422 and r.json()["error"] == "classified_refused"
    with org.db.read() as s:
        assert s.exec(select(func.count()).select_from(OutgoingDocument)).one() == 1
        assert s.get(OutgoingDocument, doc["id"]).secrecy.value == "内部"  # type: ignore[union-attr]


def test_stale_version_and_concurrent_approvals(users: Clients, org: Org) -> None:
    doc = create(users, org)
    stale = dict(doc)
    doc = ok(users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "title": "新标题"}))
    r = users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": stale["version"], "title": "旧的覆盖"})
    assert r.status_code == 409 and r.json()["error"] == "stale_version"
    r = act(users["hamlet"], stale, "submit")
    assert r.status_code == 409
    assert get(users, "hamlet", doc)["status"] == "draft"
    # Two 秘书处 actions quoting the same version: one wins, one gets 409, nothing doubled.
    doc = advance(users, doc, "办公室审核")
    a = act(users["laertes"], doc, "approve", opinion="第一次")
    b = act(users["laertes"], doc, "approve", opinion="第二次")
    assert (a.status_code, b.status_code) == (200, 409)
    route = a.json()["route"]
    assert route["steps"][1]["tasks"][0]["opinion"] == "第一次"
    assert [h["action"] for h in route["history"]].count("approve") == 2


def test_withdraw_return_and_resubmit(users: Clients, org: Org) -> None:
    doc = ok(act(users["hamlet"], create(users, org), "submit"))
    doc = ok(act(users["hamlet"], doc, "withdraw", reason="还要改"))
    assert doc["status"] == "withdrawn" and doc["allowed_actions"][:2] == ["submit", "edit"]
    r = act(users["polonius"], get(users, "hamlet", doc), "approve")
    assert r.status_code in (404, 409)  # polonius's task was cancelled; he is still on the route
    doc = ok(act(users["hamlet"], doc, "submit"))
    doc = advance(users, doc, "复核")
    assert doc["status"] == "signed"
    targets = [t["key"] for t in doc["return_targets"]]
    assert targets == ["draft", "review", "office_review", "countersign", "sign_off"]
    r = act(users["laertes"], doc, "return", target="review")
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    doc = ok(act(users["laertes"], doc, "return", target="review", reason="文字需要修改"))
    assert doc["status"] == "routing" and not doc["signed_hash"] and doc["signer_name"] == ""
    doc = get(users, "polonius", doc)
    assert "edit" in doc["allowed_actions"]  # unlocked again: the text will be signed anew
    doc = ok(act(users["polonius"], doc, "return", target="draft", reason="请拟稿人重写"))
    assert doc["status"] == "draft"
    assert "submit" in get(users, "hamlet", doc)["allowed_actions"]


def test_transfer_and_add_signer_over_http(users: Clients, org: Org) -> None:
    doc = advance(users, create(users, org), "机关领导签发")
    r = act(users["claudius"], doc, "add_signer")
    assert r.status_code == 422 and r.json()["error"] == "user_required"
    doc = ok(act(users["claudius"], doc, "add_signer", user_id=org.users["polonius"], reason="请再把关"))
    doc = ok(act(users["claudius"], doc, "approve", opinion="同意", pin=PIN))
    assert doc["status"] == "routing"  # waits for the added countersigner
    doc = get(users, "polonius", doc)
    assert "add_signer" not in doc["allowed_actions"]
    r = act(users["polonius"], doc, "approve", opinion="已核", pin=PIN)
    assert r.status_code == 409 and r.json()["error"] == "not_enrolled"  # a countersigner at 签发 signs too
    enrol(org, "polonius")
    doc = ok(act(users["polonius"], doc, "approve", opinion="已核", pin=PIN))
    assert doc["status"] == "signed" and doc["signer_name"] == "赵刚、王强"
    doc = get(users, "laertes", doc)
    doc = ok(act(users["laertes"], doc, "transfer", user_id=org.users["horatio"], reason="请刘洋复核"))
    assert [t["assignee"] for t in doc["route"]["steps"][4]["tasks"] if t["state"] == "pending"] == ["刘洋"]
    assert "approve" in get(users, "horatio", doc)["allowed_actions"]


def test_qingshi_needs_exactly_one_main_recipient(users: Clients, org: Org) -> None:
    doc = create(users, org, doc_type="请示", main_recipients=["省政府", "省委"])
    r = act(users["hamlet"], doc, "submit")
    assert r.status_code == 422 and r.json()["error"] == "qingshi_one_recipient"
    doc = ok(
        users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "main_recipients": ["省政府"]})
    )
    doc = ok(act(users["hamlet"], doc, "submit"))
    assert [s["name"] for s in doc["route"]["steps"]][:2] == ["处室负责人核稿", "机关领导签发"]  # generic route


def test_bad_bodies_are_refused(users: Clients, org: Org) -> None:
    doc = create(users, org)
    for bad in (
        [{"kind": "heading", "level": 9, "text": "x"}],
        [{"kind": "image"}],
        "text",
        [{"kind": "table", "rows": []}],
    ):
        r = users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "body": bad})
        assert r.status_code == 422, bad
    assert get(users, "hamlet", doc)["body"] == BODY


def test_comments_tied_to_versions_and_quoted_into_opinion(users: Clients, org: Org) -> None:
    doc = ok(act(users["hamlet"], create(users, org), "submit"))
    c = users["hamlet"].post(f"/api/docs/{doc['id']}/comments", json={"text": "第二段依据是省委文件"})
    assert c.status_code == 201 and c.json()["version_no"] == 1
    doc = get(users, "polonius", doc)
    doc = ok(act(users["polonius"], doc, "approve", opinion="同意", quote_comment_id=c.json()["id"]))
    opinion = doc["route"]["steps"][0]["tasks"][0]["opinion"]
    assert opinion.startswith("同意") and "张伟" in opinion and "第二段依据是省委文件" in opinion
    items = ok(users["laertes"].get(f"/api/docs/{doc['id']}/comments"))["items"]
    assert [i["text"] for i in items] == ["第二段依据是省委文件"]


def check_download(c: TestClient, doc: dict[str, Any], *, numbered: bool) -> None:
    """A .docx at every stage; before 编号 the number line is a blank 〔　　〕号 and pages say 草稿."""
    import docx

    r = c.get(f"/api/docs/{doc['id']}/docx")
    assert r.status_code == 200 and r.content.startswith(b"PK"), r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    word = docx.Document(io.BytesIO(r.content))
    texts = [p.text for p in word.paragraphs]
    header = "".join(p.text for p in word.sections[0].header.paragraphs)
    if numbered:
        assert doc["number"] in texts and "草稿" not in header
    else:
        placeholder = "第\u3000\u3000号" if doc["doc_type"] == "命令（令）" else "〔\u3000\u3000〕号"
        assert placeholder in texts and header.startswith("草稿")
    from typeset.conformance import check_docx

    report = check_docx(r.content)  # the system's own file passes its own checker at every stage
    assert report.ok, report.to_json()


def test_word_download_and_import_use_the_adapter(users: Clients, org: Org) -> None:
    doc = create(users, org)
    check_download(users["hamlet"], doc, numbered=False)
    r = users["hamlet"].post(f"/api/docs/{doc['id']}/import", files={"file": ("a.docx", b"not a docx")})
    assert r.status_code == 422 and r.json()["error"] == "not_docx"
    from typeset.render import render_docx
    from typeset.samples import demo_notice

    r = users["hamlet"].post(f"/api/docs/{doc['id']}/import", files={"file": ("a.docx", render_docx(demo_notice()))})
    assert r.status_code == 200, r.text
    blocks = r.json()["body"]
    assert any(b["kind"] == "heading" for b in blocks) and any(b["kind"] == "paragraph" for b in blocks)
    from tests.typeset.test_import import _word_draft

    r = users["hamlet"].post(f"/api/docs/{doc['id']}/import", files={"file": ("a.docx", _word_draft(title_style=True))})
    got = ok(r)
    assert got["title"] == "关于做好2027年春节期间值班工作的通知"
    assert got["main_recipients"] == ["各处室、各直属单位", "省财政厅"]
    assert [b["text"] for b in got["body"]] == ["一、值班安排", "各单位要安排专人值班。"]


def test_attachments_upload_and_download(users: Clients, org: Org) -> None:
    doc = create(users, org)
    r = users["hamlet"].post(
        f"/api/docs/{doc['id']}/attachments",
        files={"file": ("统计表.xlsx", b"data")},
        data={"version": str(doc["version"])},
    )
    assert r.status_code == 201, r.text
    doc = get(users, "hamlet", doc)
    assert doc["attachments"] == [{"name": "统计表", "file_id": r.json()["id"]}]
    assert users["hamlet"].get(f"/api/docs/{doc['id']}/attachments/{r.json()['id']}").content == b"data"
    assert users["horatio"].get(f"/api/docs/{doc['id']}/attachments/{r.json()['id']}").status_code == 404


def test_route_templates_admin_only_validated_and_snapshotted(users: Clients, org: Org) -> None:
    assert users["hamlet"].get("/api/docs/templates").status_code == 403
    admin = users["prospero"]
    types = [t["doc_type"] for t in ok(admin.get("/api/docs/templates"))["items"]]
    assert sorted(types) == ["*", "纪要", "通知"]
    inflight = ok(act(users["hamlet"], create(users, org), "submit"))
    r = admin.put("/api/docs/templates/通知", json={"steps": []})
    assert r.status_code == 422 and r.json()["error"] == "route_empty"
    unreachable = [
        {"key": "review", "name": "核稿", "actor": {"kind": "drafter_head"}, "next": "sign_off"},
        {"key": "orphan", "name": "无法到达", "actor": {"kind": "drafter_head"}},
        {"key": "sign_off", "name": "签发", "tag": "sign_off", "actor": {"kind": "role", "role": "leader"}},
    ]
    r = admin.put("/api/docs/templates/通知", json={"steps": unreachable})
    assert r.status_code == 422 and r.json()["error"] == "unreachable_step" and "无法到达" in r.json()["message"]
    r = admin.put("/api/docs/templates/通知", json={"steps": [unreachable[1]]})
    assert r.status_code == 422 and r.json()["error"] == "sign_off_required"
    r = admin.put(
        "/api/docs/templates/通知",
        json={
            "steps": [
                {
                    "key": "sign_off",
                    "name": "签发",
                    "tag": "sign_off",
                    "actor": {"kind": "user", "user_ids": [org.users["desdemona"]]},
                }
            ]
        },
    )
    assert r.status_code == 422  # a person of another agency
    short = [{"key": "sign_off", "name": "主任签发", "tag": "sign_off", "actor": {"kind": "role", "role": "leader"}}]
    saved = ok(admin.put("/api/docs/templates/通知", json={"name": "简易通知", "steps": short}))
    assert saved["revision"] == 2
    fresh = create(users, org)
    assert [s["name"] for s in fresh["route"]["steps"]] == ["主任签发"]
    assert len(get(users, "hamlet", inflight)["route"]["steps"]) == 9  # keeps its snapshot
    with org.db.read() as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "docs.template.save")).one()


def test_versions_listing_and_full_version(users: Clients, org: Org) -> None:
    doc = create(users, org)
    doc = ok(
        users["hamlet"].put(
            f"/api/docs/{doc['id']}",
            json={"version": doc["version"], "title": "关于X的通知", "note_for_version": "改标题"},
        )
    )
    items = ok(users["hamlet"].get(f"/api/docs/{doc['id']}/versions"))["items"]
    assert [(i["no"], i["author"], i["note"]) for i in items] == [(1, "张伟", "创建"), (2, "张伟", "改标题")]
    v1 = ok(users["hamlet"].get(f"/api/docs/{doc['id']}/versions/1"))
    assert v1["title"] == "关于做好年终工作的通知" and v1["body"] == BODY
    with org.db.read() as s:
        assert s.exec(select(func.count()).select_from(DocumentVersion)).one() == 2


def test_archived_document_takes_no_more_comments(users: Clients, org: Org) -> None:
    doc = advance(users, create(users, org), "end")
    assert doc["status"] == "archived"
    r = users["hamlet"].post(f"/api/docs/{doc['id']}/comments", json={"text": "补充一句"})
    assert r.status_code == 423 and r.json()["error"] == "archived"


def test_sign_off_and_seal_derive_the_key_before_taking_the_write_lock(
    users: Clients, org: Org, monkeypatch: Any
) -> None:
    doc = advance(users, create(users, org), "机关领导签发")
    free = writers_pass_while_deriving(monkeypatch, org.db)
    doc = ok(act(users["claudius"], doc, "approve", opinion="同意", pin=PIN))
    assert free == [True]
    doc = advance(users, doc, "用印")
    ok(act(users["yorick"], doc, "approve", opinion="用印", pin=PIN))
    assert free == [True, True]


def test_a_retried_create_with_the_same_key_makes_one_draft(users: Clients, org: Org) -> None:
    payload = {
        "doc_type": "通知",
        "title": "关于做好防汛工作的通知",
        "body": BODY,
        "main_recipients": ["各市人民政府"],
        "client_id": "form-7f3a",
    }
    first = users["hamlet"].post("/api/docs", json=payload)
    assert first.status_code == 201, first.text
    again = users["hamlet"].post("/api/docs", json={**payload, "title": "重试时标题已改"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.json()["title"] == "关于做好防汛工作的通知"  # the retry changes nothing
    other = users["ophelia"].post("/api/docs", json=payload)  # keys are each drafter's own
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    unkeyed = [users["hamlet"].post("/api/docs", json={**payload, "client_id": None}).json()["id"] for _ in range(2)]
    assert len(set(unkeyed)) == 2
    for bad in ("", "x" * 65):
        r = users["hamlet"].post("/api/docs", json={**payload, "client_id": bad})
        assert r.status_code == 422, bad
    with org.db.read() as s:
        mine = s.exec(
            select(func.count()).select_from(OutgoingDocument).where(OutgoingDocument.drafter_id == org.users["hamlet"])
        ).one()
    assert mine == 3
