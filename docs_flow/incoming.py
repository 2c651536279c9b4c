"""收文 (条例 第二十四条): the record, its route, who may read it, and its arrival in the inbox.

A 收文 is a case of kind ``incoming_document`` on the generic route engine: 签收, 登记, 初审, 拟办,
批办, 承办, 答复/办结 (:func:`incoming_route`). A document distributed inside Tongban arrives here
(:func:`deliver_internal`, called by ``distribution``). What each step means, the clerk's corrections
and manual registration are ``incoming_handling``; the pages' lists and detail ``incoming_listing``;
传阅 ``circulation``. This module depends on none of them, nor on the 发文 side.

An archived record refuses every change with 423 ``archived``. ``version`` is the optimistic lock
(``workflow.versioning``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from docs_flow import templates, visibility
from docs_flow.incoming_models import IncomingDocument, IncomingFile, IncomingSource, IncomingStatus
from office import events
from office.actor import SYSTEM, Actor
from office.db import utcnow
from office.directory.service import users_with_role
from office.errors import Locked, NotFound, ValidationError
from office.models import Post, Role
from office.timefmt import iso
from workflow import case_kinds, engine, steps, versioning, worklist
from workflow.models import WfCase

KIND = "incoming_document"
STALE = "收文已被他人处理，请刷新后重试"
STATUS_LABELS = {
    IncomingStatus.received: "待签收",
    IncomingStatus.signed: "待登记",
    IncomingStatus.registered: "待初审",
    IncomingStatus.reviewed: "待拟办",
    IncomingStatus.proposed: "待批办",
    IncomingStatus.handling: "承办中",
    IncomingStatus.replying: "待办结",
    IncomingStatus.archived: "已归档",
    IncomingStatus.returned: "已退回",
}


def _describe(session: Session, case: WfCase) -> tuple[str, str]:
    doc = session.get(IncomingDocument, case.subject_id)
    return (f"收文：{doc.title}" if doc else "收文"), f"/incoming/{case.subject_id}"


case_kinds.register_kind(
    KIND,
    case_kinds.KindSpec(event_prefix="incoming", notify_type="notify.incoming", source="docs_flow", describe=_describe),
)


# Route -------------------------------------------------------------------------------------------


def handler_actor(session: Session, agency_id: int) -> dict[str, Any]:
    """Who handles 收文 for an agency: its 收发员 (clerks), else the head of its 办公室."""
    if users_with_role(session, Role.clerk, agency_id=agency_id):
        return {"kind": "role", "role": "clerk", "department_id": None}
    office = templates._office_department(session, agency_id)
    if office and users_with_role(session, Role.dept_head, department_id=office):
        return {"kind": "role", "role": "dept_head", "department_id": office}
    return {"kind": "role", "role": "leader", "department_id": None}


def incoming_route(session: Session, agency_id: int) -> list[dict[str, Any]]:
    h = handler_actor(session, agency_id)
    leader = {"kind": "role", "role": "leader", "department_id": None}
    return steps.validate_route(
        [
            {"key": "sign_for", "name": "签收", "tag": "sign_for", "actor": h, "deadline_hours": 24},
            {"key": "register", "name": "登记", "tag": "register", "actor": h, "deadline_hours": 24},
            {"key": "review", "name": "初审", "tag": "review", "actor": h, "deadline_hours": 24},
            {"key": "propose", "name": "拟办", "tag": "propose", "actor": h, "deadline_hours": 24},
            {
                "key": "instruct",
                "name": "批办",
                "tag": "instruct",
                "actor": leader,
                "deadline_hours": 48,
                "allow_add_signer": True,
            },
            {
                "key": "handle",
                "name": "承办",
                "tag": "handle",
                "mode": "all",
                "actor": {"kind": "context_departments", "role": "dept_head", "key": "handling_department_ids"},
            },
            {"key": "reply", "name": "答复/办结", "tag": "reply", "actor": h},
        ]
    )


def handlers(session: Session, agency_id: int) -> list[int]:
    a = handler_actor(session, agency_id)
    return users_with_role(session, Role(a["role"]), agency_id=agency_id, department_id=a.get("department_id"))


# Access ------------------------------------------------------------------------------------------


def access_incoming(session: Session, actor: Actor, incoming_id: int) -> IncomingDocument:
    """The 收文 if ``actor`` may read it; ``NotFound`` for missing and forbidden alike."""
    doc = session.get(IncomingDocument, incoming_id)
    if doc is None:
        raise NotFound()
    visible = session.exec(
        select(func.count())
        .select_from(IncomingDocument)
        .where(
            IncomingDocument.id == incoming_id, col(IncomingDocument.id).in_(visibility.visible_ids(actor, "incoming"))
        )
    ).one()
    if not visible:
        raise NotFound()
    return doc


def check_not_archived(doc: IncomingDocument) -> None:
    if doc.status == IncomingStatus.archived:
        raise Locked("收文已办结归档，不能修改、删除或再办理", code="archived")


def case_of(session: Session, doc: IncomingDocument) -> WfCase:
    return engine.get_case(session, doc.case_id or 0)


# Arrival -------------------------------------------------------------------------------------------


def parse_deadline(value: datetime | None, *, now: datetime | None = None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError("办理时限必须带时区", code="naive_datetime", field="deadline")
    if value <= (now or utcnow()):
        raise ValidationError("办理时限不能早于当前时间", code="deadline_past", field="deadline")
    return value


def start_case(session: Session, actor: Actor, doc: IncomingDocument) -> WfCase:
    case = engine.create_case(
        session,
        actor,
        kind=KIND,
        subject_id=doc.id or 0,
        agency_id=doc.agency_id,
        route=incoming_route(session, doc.agency_id),
        context={"handling_department_ids": []},
    )
    doc.case_id = case.id
    session.add(doc)
    engine.submit(session, actor, case, opinion="来文")
    publish_change(session, doc, "created")
    return case


def deliver_internal(
    session: Session,
    *,
    agency_id: int,
    title: str,
    source_agency_id: int,
    source_agency_name: str,
    source_document_id: int,
    original_number: str,
    doc_type: str,
    urgency: str,
    secrecy: str,
    body_text: str,
    files: list[tuple[str, str, str, bytes]],
) -> IncomingDocument:
    """A document distributed inside Tongban arrives in ``agency_id``'s 收文 inbox, waiting for 签收.
    ``files`` are (role, name, content type, bytes)."""
    doc = IncomingDocument(
        agency_id=agency_id,
        source=IncomingSource.internal,
        title=title,
        source_agency_id=source_agency_id,
        source_agency_name=source_agency_name,
        source_document_id=source_document_id,
        original_number=original_number,
        doc_type=doc_type,
        urgency=urgency,
        secrecy=secrecy,
        body_text=body_text,
    )
    session.add(doc)
    session.flush()
    for role, name, ctype, data in files:
        store_file(session, doc, role=role, name=name, content_type=ctype, data=data, by=0)
    start_case(session, SYSTEM, doc)
    return doc


def store_file(
    session: Session, doc: IncomingDocument, *, role: str, name: str, content_type: str, data: bytes, by: int
) -> IncomingFile:
    name = name.strip().replace("/", "_").replace("\\", "_")[:200]
    if not name or not data:
        raise ValidationError("文件为空", code="empty_file")
    row = IncomingFile(
        incoming_id=doc.id or 0,
        role=role,
        name=name,
        content_type=content_type[:100] or "application/octet-stream",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=by,
    )
    session.add(row)
    session.flush()
    return row


# Files -----------------------------------------------------------------------------------------------


def files_of(session: Session, incoming_id: int) -> list[IncomingFile]:
    return list(
        session.exec(
            select(IncomingFile).where(IncomingFile.incoming_id == incoming_id).order_by(col(IncomingFile.id))
        ).all()
    )


# Version and change events ----------------------------------------------------------------------------


def check_version(doc: IncomingDocument, expected: int) -> None:
    versioning.check_version(doc, expected, STALE)


def bump(session: Session, doc: IncomingDocument) -> None:
    """Write the change, move ``version`` by compare-and-set (``workflow.versioning``), tell the lists."""
    doc.updated_at = utcnow()
    session.add(doc)
    session.flush()
    versioning.bump(session, doc, STALE)
    publish_change(session, doc, "updated")


def publish_change(session: Session, doc: IncomingDocument, op: str) -> None:
    """``incoming.document`` (id, version, status) to those whose 收文 lists show it, so they refresh:
    the agency's leaders and clerks, everyone on its route, its registrar and its lead department."""
    ids = set(users_with_role(session, Role.leader, agency_id=doc.agency_id))
    ids |= set(users_with_role(session, Role.clerk, agency_id=doc.agency_id))
    if doc.case_id is not None:
        ids |= worklist.participants(session, case_of(session, doc))
    if doc.created_by:
        ids.add(doc.created_by)
    if doc.lead_department_id is not None:
        ids |= set(session.exec(select(Post.user_id).where(Post.department_id == doc.lead_department_id)))
    events.publish_on_commit(
        session,
        "incoming.document",
        {"op": op, "incoming_id": doc.id, "version": doc.version, "status": doc.status.value},
        user_ids=ids - {0},
    )


# The record as JSON; notices --------------------------------------------------------------------------


def incoming_public(d: IncomingDocument) -> dict[str, Any]:
    return {
        "id": d.id,
        "version": d.version,
        "title": d.title,
        "source": d.source.value,
        "source_agency_id": d.source_agency_id,
        "source_agency_name": d.source_agency_name,
        "source_document_id": d.source_document_id,
        "original_number": d.original_number,
        "doc_type": d.doc_type,
        "urgency": d.urgency,
        "secrecy": d.secrecy,
        "copies": d.copies,
        "body_text": d.body_text,
        "received_at": iso(d.received_at),
        "signed_for_at": iso(d.signed_for_at),
        "reg_number": d.reg_number,
        "deadline": iso(d.deadline),
        "status": d.status.value,
        "status_label": STATUS_LABELS[d.status],
        "return_reason": d.return_reason,
        "proposal": d.proposal,
        "instruction": d.instruction,
        "lead_department_id": d.lead_department_id,
        "co_department_ids": d.co_department_ids,
        "results": d.results,
        "reply_document_id": d.reply_document_id,
        "finished_at": iso(d.finished_at),
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
    }


def notify(session: Session, user_ids: list[int], title: str, body: str, link: str) -> None:
    ids = sorted({u for u in user_ids if u})
    if ids:
        events.publish_on_commit(
            session,
            "notify.incoming",
            {"user_ids": ids, "title": title, "body": body, "link": link, "source": "docs_flow"},
            user_ids=ids,
        )
