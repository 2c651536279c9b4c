"""An outgoing document's files: attachments, the Word file and the sealed official copies (PDF, OFD)
for its readers, the GB/T 9704 conformance check and the Word import for its editor. Every download
is audited with the SHA-256 of the bytes handed out.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session

from docs_flow import output, service, typesetting
from docs_flow.models import DocAttachment, OutgoingDocument
from office import audit, policy
from office.actor import Actor
from office.errors import NotFound, ValidationError


def check_add_attachment(
    session: Session, actor: Actor, doc_id: int, *, name: str, content_type: str, data: bytes, version: int
) -> DocAttachment:
    doc = service.access_document(session, actor, doc_id)
    service.check_version(doc, version)
    case = service.case_of(session, doc)
    service.check_may_edit(session, actor, doc, case)
    name = name.strip().replace("/", "_").replace("\\", "_")[:200]
    if not name or not data:
        raise ValidationError("附件为空", code="empty_file")
    row = DocAttachment(
        document_id=doc_id,
        name=name,
        content_type=content_type[:100] or "application/octet-stream",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    doc.attachments = [*doc.attachments, {"name": name.rsplit(".", 1)[0], "file_id": row.id}]
    service.bump(session, doc)
    audit.record(
        session,
        actor,
        "docs.attachment",
        target_type="document",
        target_id=doc_id,
        detail={"file_id": row.id, "name": name, "sha256": row.sha256, "size": row.size},
    )
    return row


def get_attachment(session: Session, actor: Actor, doc_id: int, file_id: int) -> DocAttachment:
    service.access_document(session, actor, doc_id)
    row = session.get(DocAttachment, file_id)
    if row is None or row.document_id != doc_id:
        raise NotFound()
    return row


def render_document(session: Session, actor: Actor, doc_id: int) -> tuple[OutgoingDocument, bytes]:
    """The Word file for a reader of the document: the sealed bytes once sealed."""
    doc = service.access_document(session, actor, doc_id)
    data = output.official_file(session, doc)
    audit.record(
        session,
        actor,
        "docs.download",
        target_type="document",
        target_id=doc_id,
        detail={"version_no": doc.body_version_no, "sha256": hashlib.sha256(data).hexdigest()},
    )
    return doc, data


def official_copy(session: Session, actor: Actor, doc_id: int, fmt: str) -> tuple[OutgoingDocument, bytes]:
    """The sealed official copy (版式, ``fmt`` "pdf" or "ofd") for a reader; 404 until 用印 made one."""
    doc = service.access_document(session, actor, doc_id)
    data = {"pdf": output.official_pdf, "ofd": output.official_ofd}[fmt](session, doc)
    if data is None:
        reason = doc.seal_record.get(f"official_{fmt}_missing") or f"公文用印后才有正式版式文件（{fmt.upper()}）"
        raise NotFound(reason, code=f"no_official_{fmt}")
    audit.record(
        session,
        actor,
        "docs.download",
        target_type="document",
        target_id=doc_id,
        detail={"format": fmt, "sha256": hashlib.sha256(data).hexdigest()},
    )
    return doc, data


def check_conformance(session: Session, actor: Actor, data: bytes) -> dict[str, Any]:
    """GB/T 9704 check of an uploaded Word file (stores nothing but the audit entry)."""
    policy.require(actor, "document.use")
    report = output.check(data).to_dict()
    audit.record(
        session,
        actor,
        "docs.check_file",
        detail={
            "ok": report["ok"],
            "sha256": hashlib.sha256(data).hexdigest(),
            "deviations": len(report["deviations"]),
        },
    )
    return report


def document_conformance(session: Session, actor: Actor, doc_id: int) -> dict[str, Any]:
    """The check stored at 用印 for the sealed file, or a fresh check of the current rendering."""
    doc = service.access_document(session, actor, doc_id)
    stored = doc.seal_record.get("conformance")
    if stored is not None:
        return {**stored, "stored": True}
    fresh = typesetting.render(doc, service.bound_attachments(session, doc))
    return {**output.check(fresh).to_dict(), "stored": False}


def check_import_docx(session: Session, actor: Actor, doc_id: int, data: bytes) -> dict[str, Any]:
    """Title, 主送 and body blocks from a .docx for the editor (saving them is a normal edit)."""
    doc = service.access_document(session, actor, doc_id)
    service.check_may_edit(session, actor, doc, service.case_of(session, doc))
    return output.import_docx(data)
