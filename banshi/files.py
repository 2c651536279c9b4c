"""Files of 办事: uploaded first (``upload``: the raw body, its name in the query), then attached to a
request by an attachment field's value or by an approver's opinion (``attach``). Until then only the
uploader may fetch one; once attached, whoever may read the request (``banshi.visibility``), except a
file attached through a field the reader may not see (``visible_to``): it follows its field.
Uploads and downloads are audited with the SHA-256 of the bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session, col, select

from banshi.models import ApprovalRequest, RequestFile
from banshi.visibility import hidden_file_ids, may_read
from office import audit, policy
from office.actor import Actor
from office.errors import NotFound, ValidationError
from office.web import safe_upload_name

MAX_FILES_PER_ACTION = 20


def upload(session: Session, actor: Actor, *, name: str, content_type: str, data: bytes) -> RequestFile:
    """Keep an uploaded file, not yet attached to anything (the size limit is the endpoint's)."""
    policy.require(actor, "banshi.use")
    if not data:
        raise ValidationError("文件为空", code="empty_file", field="file")
    clean_name = safe_upload_name(name, "附件")[:200]
    row = RequestFile(
        name=clean_name,
        content_type=(content_type or "application/octet-stream")[:100],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "banshi.file_upload",
        target_type="bs_file",
        target_id=row.id,
        detail={"name": row.name, "size": row.size, "sha256": row.sha256},
    )
    return row


def attach(
    session: Session, actor: Actor, req: ApprovalRequest, file_ids: list[int], *, opinion: bool = False
) -> list[int]:
    """Attach the actor's own uploads (unattached, or already this request's) to ``req``; any other id
    is refused as if it did not exist."""
    ids = sorted(set(file_ids))
    if not ids:
        return []
    if len(ids) > MAX_FILES_PER_ACTION and opinion:
        raise ValidationError(f"附件不能超过 {MAX_FILES_PER_ACTION} 个", code="too_many_files", field="file_ids")
    rows = session.exec(select(RequestFile).where(col(RequestFile.id).in_(ids))).all()
    usable = {
        r.id: r for r in rows if r.uploaded_by == actor.user_id and r.request_id in (None, req.id) and r.id is not None
    }
    missing = [i for i in ids if i not in usable]
    if missing:
        raise ValidationError("附件不存在或不是您上传的", code="bad_file", field="file_ids", file_ids=missing)
    for r in usable.values():
        if r.request_id is None:
            r.request_id = req.id
            session.add(r)
    session.flush()
    return ids


def get_file(session: Session, actor: Actor, file_id: int) -> RequestFile:
    """A file for its uploader, or (once attached) for a reader of its request; 404 otherwise."""
    row = session.get(RequestFile, file_id)
    if row is None:
        raise NotFound()
    if row.request_id is None:
        if row.uploaded_by != actor.user_id:
            raise NotFound()
    else:
        req = session.get(ApprovalRequest, row.request_id)
        if req is None or not may_read(session, actor, req) or row.id in hidden_file_ids(session, actor, req):
            raise NotFound()
    audit.record(
        session, actor, "banshi.file_download", target_type="bs_file", target_id=row.id, detail={"sha256": row.sha256}
    )
    return row


def files_of(session: Session, actor: Actor, req: ApprovalRequest) -> list[dict[str, Any]]:
    """The request's files as the page lists them to ``actor`` (without their bytes, and without those
    of fields hidden from them: the same ``hidden_file_ids`` as ``get_file``)."""
    hidden = hidden_file_ids(session, actor, req)
    rows = session.exec(
        select(RequestFile.id, RequestFile.name, RequestFile.size, RequestFile.uploaded_by)
        .where(RequestFile.request_id == req.id)
        .order_by(col(RequestFile.id))
    ).all()
    return [{"id": i, "name": n, "size": s, "uploaded_by": u} for i, n, s, u in rows if i not in hidden]
