"""Bound attachments (随文装订的附件) through the HTTP API: typed in the editor, imported from a Word
file (its title taken over, the answer saying what was taken), marked bound or not, in the 附件说明's
order; under the body's rules (the drafter or an editor on the route, the version lock, locked after
签发), audited and kept in the versions; bad input answered 422 in Chinese naming the field, changing
nothing."""

from __future__ import annotations

import io
from typing import Any

import docx
from sqlmodel import func, select

from docs_flow.models import DocAttachment, DocumentVersion
from office.models import AuditEntry
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create, get, ok
from tests.factories import Org

TABLE = {"kind": "table", "rows": [["单位", "联系人"], ["综合处", "张伟"]]}


def _word_attachment() -> bytes:
    """An attachment as people write one in Word: "附件2" on the first line, a centred bold title."""
    word = docx.Document()
    word.add_paragraph("附件2")
    p = word.add_paragraph()
    p.alignment = 1
    p.add_run("2027年度预算报送表填报说明").bold = True
    word.add_paragraph("一、填报范围")
    word.add_paragraph("各单位按本说明填报。")
    word.add_table(rows=2, cols=2).cell(0, 0).text = "项目"
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _paragraphs(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def _post_annex(users: Clients, who: str, doc: dict[str, Any], **body: Any) -> Any:
    return users[who].post(f"/api/docs/{doc['id']}/annexes", json={"version": doc["version"], **body})


def test_typed_and_imported_attachments_are_laid_out_in_the_order_of_the_note(users: Clients, org: Org) -> None:
    doc = create(users, org)
    r = _post_annex(
        users, "hamlet", doc, title="工作任务清单", blocks=[{"kind": "paragraph", "text": "任务如下。"}, TABLE]
    )
    assert r.status_code == 201, r.text
    typed = r.json()
    assert typed["bound"] and typed["title"] == "工作任务清单" and typed["blocks"][1] == TABLE
    doc = get(users, "hamlet", doc)
    r = users["hamlet"].post(
        f"/api/docs/{doc['id']}/annexes/import",
        files={"file": ("填报说明.docx", _word_attachment())},
        data={"version": str(doc["version"])},
    )
    assert r.status_code == 201, r.text
    imported = r.json()
    # What was taken: the Word title (not the file name), its blocks; its own "附件2" line dropped.
    assert imported["taken"] == {
        "title": "2027年度预算报送表填报说明",
        "title_from": "word",
        "blocks": 3,
        "tables": 1,
    }
    assert [b.get("text") for b in imported["blocks"][:2]] == ["一、填报范围", "各单位按本说明填报。"]
    doc = get(users, "hamlet", doc)
    assert [a["name"] for a in doc["attachments"]] == ["工作任务清单", "2027年度预算报送表填报说明"]
    assert doc["body_version_no"] == 3  # each addition is a version (留痕)
    text = _paragraphs(users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content)
    assert (
        text.index("附件1")
        < text.index("工作任务清单")
        < text.index("附件2")
        < text.index("2027年度预算报送表填报说明")
    )

    # The 附件说明's order is the pages' order: put the imported one first.
    doc = ok(
        users["hamlet"].put(
            f"/api/docs/{doc['id']}",
            json={"version": doc["version"], "attachments": list(reversed(doc["attachments"]))},
        )
    )
    listed = ok(users["hamlet"].get(f"/api/docs/{doc['id']}/annexes"))["items"]
    assert [a["id"] for a in listed] == [imported["id"], typed["id"]]
    text = _paragraphs(users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content)
    assert text.index("2027年度预算报送表填报说明") < text.index("工作任务清单")
    assert text[text.index("工作任务清单") - 1] == "附件2"  # the label, then the title a line below it

    # Unbound, it stays a line of the 附件说明 only; an edit of the content is a new version, diffed.
    r = users["hamlet"].patch(
        f"/api/docs/{doc['id']}/attachments/{typed['id']}", json={"version": doc["version"], "bound": False}
    )
    assert r.status_code == 200 and not r.json()["bound"], r.text
    doc = get(users, "hamlet", doc)
    text = _paragraphs(users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content)
    assert "工作任务清单" not in text and any("工作任务清单" in t for t in text if t.startswith("2."))
    r = users["hamlet"].patch(
        f"/api/docs/{doc['id']}/attachments/{imported['id']}",
        json={"version": doc["version"], "blocks": [{"kind": "paragraph", "text": "各单位按本说明如实填报。"}]},
    )
    assert r.status_code == 200, r.text
    doc = get(users, "hamlet", doc)
    n = doc["body_version_no"]
    diff = ok(users["hamlet"].get(f"/api/docs/{doc['id']}/diff?a={n - 1}&b={n}"))
    assert ("insert", "如实") in [(o["op"], o["text"]) for o in diff["ops"]]
    full = ok(users["hamlet"].get(f"/api/docs/{doc['id']}/versions/{n}"))
    assert full["annexes"][0]["title"] == "2027年度预算报送表填报说明"

    # An uploaded Word attachment marked bound brings its own title and content.
    r = users["hamlet"].post(
        f"/api/docs/{doc['id']}/attachments",
        files={"file": ("说明.docx", _word_attachment())},
        data={"version": str(doc["version"])},
    )
    doc = get(users, "hamlet", doc)
    r = users["hamlet"].patch(
        f"/api/docs/{doc['id']}/attachments/{r.json()['id']}", json={"version": doc["version"], "bound": True}
    )
    assert r.status_code == 200 and r.json()["title"] == "2027年度预算报送表填报说明" and r.json()["blocks"], r.text
    with org.db.read() as s:
        ops = [
            e.detail["op"]
            for e in s.exec(select(AuditEntry).where(AuditEntry.action == "docs.annex").order_by(AuditEntry.id))
        ]
    assert ops == ["typed", "import", "update", "update", "update"]


def test_bad_input_is_refused_in_chinese_naming_the_field_and_changes_nothing(users: Clients, org: Org) -> None:
    doc = create(users, org)
    typed = _post_annex(users, "hamlet", doc, title="工作任务清单", blocks=[TABLE]).json()
    doc = get(users, "hamlet", doc)

    def state() -> tuple[Any, ...]:
        with org.db.read() as s:
            rows = s.exec(select(DocAttachment).where(DocAttachment.document_id == doc["id"])).all()
            versions = s.exec(select(func.count()).select_from(DocumentVersion)).one()
            audits = s.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "docs.annex")).one()
        again = get(users, "hamlet", doc)
        return again["version"], again["attachments"], [(r.title, r.blocks, r.bound) for r in rows], versions, audits

    before = state()
    bad: list[tuple[dict[str, Any], str, str]] = [
        ({"title": "  ", "blocks": [TABLE]}, "title", "附件标题不能为空"),
        ({"title": "附" * 201, "blocks": [TABLE]}, "title", "附件标题不能超过 200 字"),
        ({"title": 5, "blocks": [TABLE]}, "title", "附件标题不能为空"),
        ({"title": "清单", "blocks": [{"kind": "picture"}]}, "blocks", "附件内容：第 1 段的类型无效"),
        ({"title": "清单", "blocks": "正文"}, "blocks", "附件内容：正文必须是段落列表"),
        ({"title": "清单", "blocks": [{"kind": "table", "rows": []}]}, "blocks", "附件内容：第 1 段表格格式错误"),
        ({"title": "清单", "blocks": []}, "blocks", "随文装订的附件须有内容"),
    ]
    for body, field, message in bad:
        r = _post_annex(users, "hamlet", doc, **body)
        assert r.status_code == 422 and r.json()["field"] == field and r.json()["message"].startswith(message), r.text
    url = f"/api/docs/{doc['id']}/attachments/{typed['id']}"
    for body, field, message in bad:
        r = users["hamlet"].patch(url, json={"version": doc["version"], **body})
        assert r.status_code == 422 and r.json()["field"] == field and r.json()["message"].startswith(message), r.text
    r = users["hamlet"].patch(url, json={"version": doc["version"], "blocks": []})
    assert r.status_code == 422 and r.json()["error"] == "annex_empty" and r.json()["field"] == "blocks"
    r = users["hamlet"].post(
        f"/api/docs/{doc['id']}/annexes/import",
        files={"file": ("a.docx", b"not a docx")},
        data={"version": str(doc["version"])},
    )
    assert r.status_code == 415, r.text
    # The version lock, the drafter alone before 送审, readers who may not see the document.
    r = _post_annex(users, "hamlet", {**doc, "version": doc["version"] - 1}, title="清单", blocks=[TABLE])
    assert r.status_code == 409, r.text
    assert _post_annex(users, "polonius", doc, title="清单", blocks=[TABLE]).status_code in (403, 404)
    assert users["horatio"].patch(url, json={"version": doc["version"], "bound": False}).status_code == 404
    assert state() == before

    # After 签发 the attachments are locked like the body.
    doc = advance(users, doc, "复核")
    r = users["laertes"].patch(url, json={"version": doc["version"], "title": "新标题"})
    assert r.status_code == 423 and r.json()["error"] == "body_locked", r.text
    assert _post_annex(users, "laertes", doc, title="清单", blocks=[TABLE]).status_code == 423
