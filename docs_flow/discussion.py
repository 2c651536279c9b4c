"""讨论: the comment thread of an outgoing document, each comment tied to the body version it was
written on (an opinion at a route step may quote one: ``docs_flow.actions``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from docs_flow import service
from docs_flow.models import DocStatus, DocumentComment
from office import audit, events
from office.actor import Actor
from office.errors import Locked, ValidationError
from office.timefmt import iso
from workflow import worklist


def check_add_comment(session: Session, actor: Actor, doc_id: int, *, text: str) -> DocumentComment:
    """A comment in the document's thread, tied to the current body version."""
    doc = service.access_document(session, actor, doc_id)
    if doc.status == DocStatus.archived:
        raise Locked("公文已归档，不能再发表讨论", code="archived")
    text = text.strip()
    if not text:
        raise ValidationError("讨论内容不能为空", code="text_required")
    row = DocumentComment(
        document_id=doc_id, version_no=doc.body_version_no, author_id=actor.user_id, author_name=actor.name, text=text
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "docs.comment",
        target_type="document",
        target_id=doc_id,
        detail={"comment_id": row.id, "version_no": row.version_no},
    )
    case = service.case_of(session, doc)
    events.publish_on_commit(
        session,
        "docs.comment",
        {"op": "add", "document_id": doc_id, "comment_id": row.id},
        user_ids=worklist.participants(session, case) - {actor.user_id},
    )
    return row


def list_comments(session: Session, actor: Actor, doc_id: int) -> list[DocumentComment]:
    service.access_document(session, actor, doc_id)
    return list(
        session.exec(
            select(DocumentComment).where(DocumentComment.document_id == doc_id).order_by(col(DocumentComment.id))
        ).all()
    )


def comment_public(c: DocumentComment) -> dict[str, Any]:
    return {
        "id": c.id,
        "version_no": c.version_no,
        "author_id": c.author_id,
        "author": c.author_name,
        "text": c.text,
        "created_at": iso(c.created_at),
    }
