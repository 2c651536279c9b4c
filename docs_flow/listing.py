"""What the 发文 pages show: the boxes (待办, 已办, 我起草的, 全部), a document's detail with the actions
its reader may take now, and the choices for the draft form.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from docs_flow import joint_seal, numbering, service, visibility
from docs_flow.models import CLASSIFIED_LEVELS, OutgoingDocument, Secrecy, Urgency
from office import policy
from office.actor import Actor
from office.errors import InvalidTransition, Locked, PermissionDenied
from office.models import Department, User
from office.timefmt import iso
from typeset import convert
from typeset.layout import DocType
from workflow import route_view, tasks, worklist
from workflow.models import WfCase


def list_documents(
    session: Session, actor: Actor, *, box: str, q: str = "", offset: int = 0, limit: int = 50
) -> dict[str, Any]:
    """待办 / 已办 / 我起草的 / 全部 (what the actor may read)."""
    policy.require(actor, "document.use")
    stmt = select(OutgoingDocument)
    if box == "todo":
        stmt = stmt.where(
            col(OutgoingDocument.case_id).in_(worklist.pending_case_ids(session, actor.user_id, kind=service.KIND))
        )
    elif box == "done":
        stmt = stmt.where(
            col(OutgoingDocument.case_id).in_(worklist.done_case_ids(session, actor.user_id, kind=service.KIND))
        )
    elif box == "mine":
        stmt = stmt.where(OutgoingDocument.drafter_id == actor.user_id)
    else:
        stmt = stmt.where(visibility.outgoing_cond(actor))
    if q:
        like = f"%{q.strip()[:50]}%"
        stmt = stmt.where(or_(col(OutgoingDocument.title).like(like), col(OutgoingDocument.number).like(like)))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(OutgoingDocument.updated_at).desc()).offset(max(offset, 0)).limit(min(max(limit, 1), 200))
    ).all()
    return {"total": total, "items": _summaries(session, actor, list(rows))}


def _summaries(session: Session, actor: Actor, docs: list[OutgoingDocument]) -> list[dict[str, Any]]:
    cases = {c.id: c for c in session.exec(select(WfCase).where(col(WfCase.id).in_([d.case_id for d in docs]))).all()}
    names = {
        u.id: u.name for u in session.exec(select(User).where(col(User.id).in_({d.drafter_id for d in docs}))).all()
    }
    out = []
    for d in docs:
        case = cases.get(d.case_id)
        step = case.route[case.current_step] if case and case.current_step is not None else None
        out.append(
            {
                "id": d.id,
                "title": d.title,
                "doc_type": d.doc_type.value,
                "number": d.number,
                "status": d.status.value,
                "status_label": service.STATUS_LABELS[d.status],
                "urgency": d.urgency.value,
                "secrecy": d.secrecy.value,
                "drafter": names.get(d.drafter_id, ""),
                "current_step": step["name"] if step else None,
                "updated_at": iso(d.updated_at),
            }
        )
    return out


def document_detail(session: Session, actor: Actor, doc_id: int) -> dict[str, Any]:
    """Everything the document page shows, including the actions this actor may take now."""
    doc = service.access_document(session, actor, doc_id)
    case = service.case_of(session, doc)
    task = tasks.my_task(session, case, actor)
    step = case.route[task.step_index] if task is not None else None
    names = {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_([doc.drafter_id]))).all()}
    dept = session.get(Department, doc.drafting_dept_id) if doc.drafting_dept_id else None
    return {
        **document_public(doc),
        "drafter": names.get(doc.drafter_id, ""),
        "drafting_dept": dept.name if dept else "",
        "allowed_actions": allowed_actions(session, actor, doc, case),
        "joint_seal": joint_seal.status_for(session, actor, doc),  # 联合行文: seals applied and to come
        "return_targets": [{"key": k, "name": n} for k, n in tasks.return_targets(session, case)],
        "my_step": {
            "name": step["name"],
            "tag": step.get("tag", ""),
            "can_edit": step["can_edit"],
            "on_behalf_of": task.assignee_id if task and task.assignee_id != actor.user_id else None,
            "due_at": iso(task.due_at) if task else None,
        }
        if step
        else None,
        "needs_pin": bool(step and step.get("tag") in ("sign_off", "seal")),
        # 用印 makes the official PDF: say beforehand when the converters are not there.
        "official_copy": convert.status() if step and step.get("tag") == "seal" else None,
        "number_codes": numbering.agency_codes(session, doc.agency_id),
        "route": route_view.route_picture(session, case),
    }


def allowed_actions(session: Session, actor: Actor, doc: OutgoingDocument, case: WfCase) -> list[str]:
    actions = tasks.allowed_actions(session, case, actor)
    task = tasks.my_task(session, case, actor)
    tag = case.route[task.step_index].get("tag") if task is not None else None
    if tag == "number" and not doc.number:
        actions = [a for a in actions if a != "approve"] + ["number"]
    try:
        service.check_may_edit(session, actor, doc, case)
        actions.append("edit")
    except (Locked, PermissionDenied, InvalidTransition):
        pass
    return actions + ["comment", "download"]


def document_public(doc: OutgoingDocument) -> dict[str, Any]:
    return {
        "id": doc.id,
        "version": doc.version,
        "doc_type": doc.doc_type.value,
        "title": doc.title,
        "status": doc.status.value,
        "status_label": service.STATUS_LABELS[doc.status],
        "number": doc.number,
        "number_code": doc.number_code,
        "copy_no": doc.copy_no,
        "secrecy": doc.secrecy.value,
        "secrecy_period": doc.secrecy_period,
        "urgency": doc.urgency.value,
        "open_attribute": doc.open_attribute,
        "main_recipients": doc.main_recipients,
        "cc_recipients": doc.cc_recipients,
        "countersign_department_ids": doc.countersign_department_ids,
        "joint_issuers": doc.joint_issuers,
        "body": doc.body,
        "body_hash": doc.body_hash,
        "body_version_no": doc.body_version_no,
        "attachments": doc.attachments,
        "note": doc.note,
        "attendance": doc.attendance,
        "drafter_id": doc.drafter_id,
        "drafter_phone": doc.drafter_phone,
        "signer_name": doc.signer_name,
        "signed_hash": doc.signed_hash,
        "signed_version_no": doc.signed_version_no,
        "signed_at": iso(doc.signed_at),
        "written_date": doc.written_date.isoformat() if doc.written_date else None,
        "issuing_agency_name": doc.issuing_agency_name,
        "issued_date": doc.issued_date.isoformat() if doc.issued_date else None,
        "sealed": bool(doc.seal_record),
        "seal_method": doc.seal_record.get("method"),
        "sealed_sha256": doc.seal_record.get("sealed_sha256"),
        "official_pdf_sha256": doc.seal_record.get("official_pdf"),
        "official_ofd_sha256": doc.seal_record.get("official_ofd"),
        "created_at": iso(doc.created_at),
        "updated_at": iso(doc.updated_at),
    }


def meta(session: Session, actor: Actor) -> dict[str, Any]:
    policy.require(actor, "document.use")
    depts = session.exec(
        select(Department)
        .where(Department.agency_id == actor.agency_id, Department.id != actor.agency_id)
        .order_by(col(Department.sort_order), col(Department.id))
    ).all()
    return {
        "doc_types": [d.value for d in DocType],
        "secrecy": ["", Secrecy.internal.value],
        "refused_secrecy": list(CLASSIFIED_LEVELS),
        "urgency": [u.value for u in Urgency],
        "number_codes": numbering.agency_codes(session, actor.agency_id or 0),
        "departments": [{"id": d.id, "name": d.name} for d in depts],
        "status_labels": {s.value: label for s, label in service.STATUS_LABELS.items()},
    }
