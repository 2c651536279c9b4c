"""留痕: every saved change of an outgoing document's title or body is a numbered version with its
author and step; readers list them, open one, and compare two character by character.
"""

from __future__ import annotations

import difflib
from typing import Any

from sqlmodel import Session, col, select

from docs_flow import body as body_mod
from docs_flow import service
from docs_flow.models import DocumentVersion
from office.actor import Actor
from office.errors import NotFound
from office.timefmt import iso


def list_versions(session: Session, actor: Actor, doc_id: int) -> list[DocumentVersion]:
    service.access_document(session, actor, doc_id)
    return list(
        session.exec(
            select(DocumentVersion).where(DocumentVersion.document_id == doc_id).order_by(col(DocumentVersion.no))
        ).all()
    )


def get_version(session: Session, actor: Actor, doc_id: int, no: int) -> DocumentVersion:
    service.access_document(session, actor, doc_id)
    row = session.exec(
        select(DocumentVersion).where(DocumentVersion.document_id == doc_id, DocumentVersion.no == no)
    ).first()
    if row is None:
        raise NotFound("版本不存在", code="version_not_found")
    return row


def diff_versions(session: Session, actor: Actor, doc_id: int, a: int, b: int) -> dict[str, Any]:
    """Character-level diff of the flattened text of versions ``a`` and ``b`` with their authors.

    Uses difflib here until ``docs_flow.diff`` lands (the lead swaps the call at merge)."""
    va, vb = get_version(session, actor, doc_id, a), get_version(session, actor, doc_id, b)
    return {
        "a": version_public(va),
        "b": version_public(vb),
        "ops": char_diff(_flat(va), _flat(vb)),
    }


def _flat(v: DocumentVersion) -> str:
    """The version's text: title and body, then each bound attachment's title and content."""
    parts = [body_mod.flatten(v.title, v.body)]
    parts += [body_mod.flatten(f"附件：{a.get('title', '')}", a.get("blocks") or []) for a in v.annexes]
    return "\n".join(parts)


def char_diff(old: str, new: str) -> list[dict[str, str]]:
    ops: list[dict[str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append({"op": "equal", "text": old[i1:i2]})
            continue
        if i2 > i1:
            ops.append({"op": "delete", "text": old[i1:i2]})
        if j2 > j1:
            ops.append({"op": "insert", "text": new[j1:j2]})
    return ops


def version_public(v: DocumentVersion, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "no": v.no,
        "author_id": v.author_id,
        "author": v.author_name,
        "step": v.step_name,
        "note": v.note,
        "body_hash": v.body_hash,
        "created_at": iso(v.created_at),
    }
    if full:
        out.update(title=v.title, body=v.body, annexes=v.annexes)
    return out
