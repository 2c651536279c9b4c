"""Bound attachments (随文装订的附件): an attachment whose title and content are laid out on pages of
their own after the 主体 and before the 版记 (GB/T 9704 §8, ``typeset.annex``).

A drafter types one (title and blocks in the body's format), imports one from a Word file (its title
becomes the attachment's title, its body the blocks; the answer says what was taken), or marks an
uploaded attachment as bound or not. The 附件说明 (``doc.attachments``) gives their order and numbers.
Every change follows the body's rules: only while the document may be edited
(``service.check_may_edit``), under its optimistic version, audited, and recorded as a new version
(留痕 keeps the bound attachments with the title and body, ``DocumentVersion.annexes``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlmodel import Session

from docs_flow import body as body_mod
from docs_flow import service
from docs_flow.models import DocAttachment, OutgoingDocument
from office import audit
from office.actor import Actor
from office.errors import NotFound, ValidationError
from typeset.docx_import import import_draft

MAX_TITLE = 200
ANNEX_LABEL_RE = re.compile(r"^附件\d{0,2}$")  # the label a Word attachment carries on its first line
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def annex_public(row: DocAttachment) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "title": row.title,
        "bound": row.bound,
        "blocks": row.blocks,
        "size": row.size,
        "sha256": row.sha256,
    }


def list_annexes(session: Session, actor: Actor, doc_id: int) -> list[DocAttachment]:
    """The bound attachments of a document its reader may see, in the 附件说明's order."""
    return service.bound_attachments(session, service.access_document(session, actor, doc_id))


def check_add_annex(
    session: Session, actor: Actor, doc_id: int, *, version: int, title: Any, blocks: Any
) -> DocAttachment:
    """A bound attachment typed in the editor, added at the end of the 附件说明."""
    doc, step = _editable(session, actor, doc_id, version)
    clean_title, clean_blocks = _title(title), _blocks(blocks)
    data = body_mod.canonical(clean_title, clean_blocks)
    return _add(session, actor, doc, step, clean_title, clean_blocks, data, "application/json", clean_title, "typed")


def check_import_annex(
    session: Session, actor: Actor, doc_id: int, *, version: int, data: bytes, filename: str
) -> tuple[DocAttachment, dict[str, Any]]:
    """A bound attachment from a Word file: its title (Word's Title style or a centred bold line, else
    the file's name) and its body; a leading "附件N" line is dropped (the layout prints its own). The
    file itself is kept as the attachment's download. Returns the row and what was taken."""
    doc, step = _editable(session, actor, doc_id, version)
    draft = import_draft(data)
    blocks = body_mod.from_objects(draft.body)
    if draft.main_recipients:  # a 主送-like line in an attachment is its text, not the document's 主送
        blocks.insert(0, {"kind": "paragraph", "text": "，".join(draft.main_recipients) + "："})
    label = bool(blocks) and blocks[0].get("kind") != "table" and ANNEX_LABEL_RE.fullmatch(blocks[0]["text"].strip())
    if label:
        blocks = blocks[1:]
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0].strip()
    title = _title(draft.title or stem)
    clean = _blocks(blocks)
    name = (filename.strip().replace("/", "_").replace("\\", "_") or f"{title}.docx")[:200]
    row = _add(session, actor, doc, step, title, clean, data, DOCX_TYPE, name, "import")
    taken = {
        "title": title,
        "title_from": "word" if draft.title else "file_name",
        "blocks": len(clean),
        "tables": sum(1 for b in clean if b["kind"] == "table"),
    }
    return row, taken


def check_update_annex(
    session: Session,
    actor: Actor,
    doc_id: int,
    file_id: int,
    *,
    version: int,
    title: Any = None,
    blocks: Any = None,
    bound: bool | None = None,
) -> DocAttachment:
    """Edit a bound attachment's title or content, or mark an attachment bound or not. An uploaded Word
    file marked bound without content given brings its own title and body."""
    doc, step = _editable(session, actor, doc_id, version)
    row = session.get(DocAttachment, file_id)
    if row is None or row.document_id != doc_id:
        raise NotFound("附件不存在", code="attachment_not_found")
    new_title = _title(title) if title is not None else row.title
    new_blocks = _blocks(blocks) if blocks is not None else row.blocks
    binding = bound if bound is not None else row.bound
    if binding and not row.bound and blocks is None and not row.blocks and row.content_type == DOCX_TYPE:
        draft = import_draft(row.data)
        new_blocks = _blocks(body_mod.from_objects(draft.body))
        new_title = new_title or _title(draft.title or row.name.rsplit(".", 1)[0])
    if binding and not new_title:
        new_title = _title(row.name.rsplit(".", 1)[0])
    if binding and not new_blocks:  # a file that is not a Word file: its content has to be typed
        raise ValidationError("随文装订的附件须有内容：请填写附件正文", code="annex_empty", field="blocks")
    before = (row.title, row.blocks, row.bound)
    row.title, row.blocks, row.bound = new_title, new_blocks, binding
    session.add(row)
    if row.bound and title is not None:  # the 附件说明 prints the same name as the attachment's page
        doc.attachments = [{**a, "name": new_title} if a.get("file_id") == row.id else a for a in doc.attachments]
    changed = (row.title, row.blocks, row.bound) != before
    _record(session, actor, doc, step, row, "update" if changed else "unchanged")
    return row


def _editable(session: Session, actor: Actor, doc_id: int, version: int) -> tuple[OutgoingDocument, str]:
    doc = service.access_document(session, actor, doc_id)
    service.check_version(doc, version)
    return doc, service.check_may_edit(session, actor, doc, service.case_of(session, doc))


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("附件标题不能为空", code="annex_title_required", field="title")
    text = " ".join(value.replace("\x00", "").split())
    if len(text) > MAX_TITLE:
        raise ValidationError(f"附件标题不能超过 {MAX_TITLE} 字", code="annex_title_too_long", field="title")
    return text


def _blocks(value: Any) -> list[dict[str, Any]]:
    try:
        blocks = body_mod.normalize_blocks(value)
    except ValidationError as exc:
        raise ValidationError(f"附件内容：{exc.message}", code=exc.code, field="blocks") from None
    if not blocks:  # a bound attachment is printed on pages of its own: it needs something to print
        raise ValidationError("随文装订的附件须有内容：请填写附件正文", code="annex_empty", field="blocks")
    return blocks


def _add(
    session: Session,
    actor: Actor,
    doc: OutgoingDocument,
    step: str,
    title: str,
    blocks: list[dict[str, Any]],
    data: bytes,
    content_type: str,
    name: str,
    how: str,
) -> DocAttachment:
    row = DocAttachment(
        document_id=doc.id or 0,
        name=name[:200],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        bound=True,
        title=title,
        blocks=blocks,
        uploaded_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    doc.attachments = [*doc.attachments, {"name": title, "file_id": row.id}]
    _record(session, actor, doc, step, row, how)
    return row


def _record(session: Session, actor: Actor, doc: OutgoingDocument, step: str, row: DocAttachment, op: str) -> None:
    """A new version (留痕 with the attachments as they now are), the version lock moved, the audit entry
    and the event, as for an edit of the body."""
    if op != "unchanged":
        service.new_version(session, actor, doc, step_name=step, note=f"附件：{row.title}"[:200])
    service.bump(session, doc)
    digest = hashlib.sha256(json.dumps(row.blocks, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    audit.record(
        session,
        actor,
        "docs.annex",
        target_type="document",
        target_id=doc.id,
        detail={
            "op": op,
            "file_id": row.id,
            "title": row.title,
            "bound": row.bound,
            "blocks": len(row.blocks),
            "blocks_sha256": digest,
            "version_no": doc.body_version_no,
        },
    )
    service.publish_update(session, doc, service.case_of(session, doc), "edit")
