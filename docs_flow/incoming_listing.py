"""What the 收文 pages show: the boxes (待办, 已办, 传阅, 全部), a record's detail with the actions its
reader may take now, and the choices for the registration form.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from docs_flow import circulation, incoming, visibility
from docs_flow.incoming_models import (
    Circulation,
    CirculationReader,
    IncomingDocument,
    IncomingFile,
    IncomingStatus,
    SupervisionItem,
)
from office import policy
from office.actor import Actor
from office.models import Department, DeptKind, Post, Role, User
from office.timefmt import iso
from workflow import route_view, tasks, worklist
from workflow.models import WfCase


def list_incoming(
    session: Session, actor: Actor, *, box: str, q: str = "", status: str = "", offset: int = 0, limit: int = 50
) -> dict[str, Any]:
    """待办 / 已办 / 传阅 / 全部."""
    policy.require(actor, "document.use")
    stmt = select(IncomingDocument)
    if box == "todo":
        stmt = stmt.where(
            col(IncomingDocument.case_id).in_(worklist.pending_case_ids(session, actor.user_id, kind=incoming.KIND))
        )
    elif box == "done":
        stmt = stmt.where(
            col(IncomingDocument.case_id).in_(worklist.done_case_ids(session, actor.user_id, kind=incoming.KIND))
        )
    elif box == "reading":
        holding = (
            sa_select(col(Circulation.incoming_id))
            .join(CirculationReader, col(CirculationReader.circulation_id) == Circulation.id)
            .where(col(CirculationReader.user_id) == actor.user_id, col(CirculationReader.state) == "holding")
        )
        stmt = stmt.where(col(IncomingDocument.id).in_(holding))
    else:
        stmt = stmt.where(col(IncomingDocument.id).in_(visibility.visible_ids(actor, "incoming")))
    if status:
        stmt = stmt.where(IncomingDocument.status == status[:20])
    if q:
        like = "%" + q.strip()[:50].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                col(IncomingDocument.title).like(like, escape="\\"),
                col(IncomingDocument.reg_number).like(like, escape="\\"),
                col(IncomingDocument.original_number).like(like, escape="\\"),
            )
        )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(IncomingDocument.updated_at).desc()).offset(max(offset, 0)).limit(min(max(limit, 1), 200))
    ).all()
    return {"total": total, "items": [summary(session, d) for d in rows]}


def summary(session: Session, d: IncomingDocument) -> dict[str, Any]:
    case = session.get(WfCase, d.case_id) if d.case_id else None
    step = case.route[case.current_step] if case and case.current_step is not None else None
    return {
        "id": d.id,
        "title": d.title,
        "reg_number": d.reg_number,
        "original_number": d.original_number,
        "source": d.source.value,
        "source_agency_name": d.source_agency_name,
        "doc_type": d.doc_type,
        "urgency": d.urgency,
        "status": d.status.value,
        "status_label": incoming.STATUS_LABELS[d.status],
        "current_step": step["name"] if step else None,
        "received_at": iso(d.received_at),
        "deadline": iso(d.deadline),
        "updated_at": iso(d.updated_at),
    }


def detail(session: Session, actor: Actor, incoming_id: int) -> dict[str, Any]:
    """Everything the handling page shows, including the actions this actor may take now."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    case = incoming.case_of(session, doc)
    task = tasks.my_task(session, case, actor)
    step = case.route[task.step_index] if task is not None else None
    depts = {
        d.id: d.name
        for d in session.exec(
            select(Department).where(col(Department.id).in_([doc.lead_department_id or 0, *doc.co_department_ids]))
        ).all()
    }
    item = session.exec(
        select(SupervisionItem).where(
            SupervisionItem.source_kind == "incoming", SupervisionItem.source_id == str(doc.id)
        )
    ).first()
    return {
        **incoming.incoming_public(doc),
        "lead_department": depts.get(doc.lead_department_id or 0, ""),
        "co_departments": [depts.get(i, "") for i in doc.co_department_ids],
        "allowed_actions": allowed_actions(session, actor, doc, case),
        "my_step": {
            "name": step["name"],
            "tag": step.get("tag", ""),
            "due_at": iso(task.due_at) if task else None,
        }
        if step
        else None,
        "return_targets": [{"key": k, "name": n} for k, n in tasks.return_targets(session, case) if k != "draft"],
        "files": [file_public(f) for f in incoming.files_of(session, doc.id or 0)],
        "circulations": circulation.circulations_of(session, doc.id or 0),
        "supervision": {
            "id": item.id,
            "status": item.status,
            "deadline": iso(item.deadline),
            "escalation_level": item.escalation_level,
        }
        if item
        else None,
        "route": route_view.route_picture(session, case),
    }


def allowed_actions(session: Session, actor: Actor, doc: IncomingDocument, case: WfCase) -> list[str]:
    if doc.status in (IncomingStatus.archived, IncomingStatus.returned):
        return []
    acts = [
        a for a in tasks.allowed_actions(session, case, actor) if a in ("approve", "return", "transfer", "add_signer")
    ]
    task = tasks.my_task(session, case, actor)
    tag = case.route[task.step_index].get("tag") if task is not None else None
    if tag == "review":
        acts.append("reject")
    if tag in ("sign_for", "register", "review"):
        acts = [a for a in acts if a != "return"]
    if actor.user_id in incoming.handlers(session, doc.agency_id) or actor.has(Role.leader):
        acts.append("circulate")
    if tag in ("handle", "reply") and not doc.reply_document_id:
        acts.append("start_reply")
    return acts


def file_public(f: IncomingFile) -> dict[str, Any]:
    return {
        "id": f.id,
        "role": f.role,
        "name": f.name,
        "content_type": f.content_type,
        "size": f.size,
        "sha256": f.sha256,
        "created_at": iso(f.created_at),
    }


def meta(session: Session, actor: Actor) -> dict[str, Any]:
    policy.require(actor, "document.use")
    depts = session.exec(
        select(Department)
        .where(Department.agency_id == actor.agency_id, Department.kind == DeptKind.department)
        .order_by(col(Department.sort_order), col(Department.id))
    ).all()
    people = session.exec(
        select(User.id, User.name)
        .join(Post, col(Post.user_id) == User.id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(Department.agency_id == actor.agency_id, User.is_active == true())
        .distinct()
    ).all()  # noqa: E712
    return {
        "departments": [{"id": d.id, "name": d.name} for d in depts],
        "people": [{"id": i, "name": n} for i, n in people],
        "is_registrar": actor.user_id in incoming.handlers(session, actor.agency_id or 0),
        "status_labels": {s.value: label for s, label in incoming.STATUS_LABELS.items()},
    }
