"""收文办理: what each step of the 收文 route means (see ``docs_flow.incoming`` for the route), and the
clerk's corrections.

* 签收 records who signed for it and when (the sender's receipt turns "signed").
* 登记 gives it the next 收文编号 of the year (``numbering``, series "收").
* 初审 passes, or ``reject`` sends it back to the sender with a reason (wrong addressee, incomplete).
* 拟办 records the clerk's proposed handling (required).
* 批办 records a leader's instruction, the lead (主办) and co-handling (协办) departments and a
  deadline; the deadline becomes a 督办 item (``docs_flow.supervision``).
* 承办 records what every named department did (optionally with a reply file).
* 答复/办结: finishing the route archives the record as an immutable package (:func:`archive_incoming`).

A paper or external document is registered here by hand; a 复函 starts as an outgoing draft.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from docs_flow import archive, distribution, incoming, numbering, service, supervision
from docs_flow.incoming_models import ArchivePackage, IncomingDocument, IncomingFile, IncomingSource, IncomingStatus
from docs_flow.schemas import DocumentCreate
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, DeptKind
from office.timefmt import iso
from typeset.layout import DocType
from workflow import case_kinds, engine, tasks
from workflow.models import CaseState, WfCase

REG_CODE = "收"
STATUS_BY_TAG = {
    "sign_for": IncomingStatus.received,
    "register": IncomingStatus.signed,
    "review": IncomingStatus.registered,
    "propose": IncomingStatus.reviewed,
    "instruct": IncomingStatus.proposed,
    "handle": IncomingStatus.handling,
    "reply": IncomingStatus.replying,
}
MAX_FILE = 50 * 1024 * 1024


def check_register_manual(
    session: Session,
    actor: Actor,
    *,
    title: str,
    source_agency_name: str,
    source: str = "paper",
    original_number: str = "",
    doc_type: str = "",
    urgency: str = "",
    copies: int = 1,
    received_at: datetime | None = None,
    deadline: datetime | None = None,
    body_text: str = "",
) -> IncomingDocument:
    """A paper or external electronic document entered by hand. The clerk has it in hand, so 签收 is
    recorded at once; the record then waits at 登记."""
    policy.require(actor, "incoming.register")
    agency_id = actor.agency_id or 0
    if actor.user_id not in incoming.handlers(session, agency_id):
        raise PermissionDenied("只有本机关的收发员可以登记收文", code="not_registrar")
    title, source_agency_name = (title or "").strip(), (source_agency_name or "").strip()
    if not title:
        raise ValidationError("标题不能为空", code="title_required", field="title")
    if not source_agency_name:
        raise ValidationError("来文机关不能为空", code="source_required", field="source_agency_name")
    if source not in (IncomingSource.paper.value, IncomingSource.electronic.value):
        raise ValidationError("来文方式只能是 paper（纸质）或 electronic（外部电子公文）", code="bad_source")
    now = utcnow()
    if received_at is not None and (received_at.tzinfo is None or received_at > now):
        raise ValidationError("收文时间不能晚于当前时间", code="bad_received_at", field="received_at")
    doc = IncomingDocument(
        agency_id=agency_id,
        source=IncomingSource(source),
        title=title,
        source_agency_name=source_agency_name,
        original_number=original_number.strip(),
        doc_type=doc_type.strip(),
        urgency=urgency.strip(),
        copies=copies,
        received_at=received_at or now,
        deadline=incoming.parse_deadline(deadline, now=now),
        body_text=body_text.strip(),
        created_by=actor.user_id,
    )
    session.add(doc)
    session.flush()
    case = incoming.start_case(session, actor, doc)
    doc.signed_for_at, doc.signed_for_by = now, actor.user_id
    t = engine.approve(session, actor, case, opinion="登记时签收")
    _after(session, actor, doc, t, "sign_for")
    audit.record(
        session,
        actor,
        "incoming.create",
        target_type="incoming",
        target_id=doc.id,
        detail={"title": title, "source": source, "source_agency": source_agency_name},
    )
    return doc


EDITABLE = ("title", "source_agency_name", "original_number", "doc_type", "urgency", "body_text")


def check_update(
    session: Session, actor: Actor, incoming_id: int, *, version: int, changes: dict[str, Any]
) -> IncomingDocument:
    """Correct the registration data: the clerk may, until the leader's 批办."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    incoming.check_not_archived(doc)
    incoming.check_version(doc, version)
    if actor.user_id not in incoming.handlers(session, doc.agency_id):
        raise PermissionDenied("只有收发员可以修改登记信息", code="not_registrar")
    if doc.status in (IncomingStatus.handling, IncomingStatus.replying, IncomingStatus.returned):
        raise InvalidTransition("已批办或已退回的收文不能修改登记信息", code="registration_fixed")
    for name in EDITABLE:
        if name in changes and changes[name] is not None:
            setattr(doc, name, str(changes[name]).strip())
    if "deadline" in changes:
        doc.deadline = incoming.parse_deadline(changes["deadline"])
    if not doc.title or not doc.source_agency_name:
        raise ValidationError("标题和来文机关不能为空", code="title_required")
    incoming.bump(session, doc)
    audit.record(
        session,
        actor,
        "incoming.edit",
        target_type="incoming",
        target_id=doc.id,
        detail={"fields": sorted(k for k in changes if k in (*EDITABLE, "deadline"))},
    )
    return doc


def check_delete(session: Session, actor: Actor, incoming_id: int) -> None:
    """Only a hand-registered record the clerk entered by mistake, before 登记, may be deleted."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    incoming.check_not_archived(doc)
    if doc.created_by != actor.user_id or doc.source == IncomingSource.internal:
        raise PermissionDenied("只能删除自己误录入的纸质或外部来文", code="not_deletable")
    if doc.reg_number:
        raise InvalidTransition("已登记编号的收文不能删除（编号不可作废重用）", code="already_registered")
    case = incoming.case_of(session, doc)
    if case.state == CaseState.running and tasks.my_task(session, case, actor) is not None:
        engine.terminate(session, actor, case, reason="误录入，删除")
    for f in session.exec(select(IncomingFile).where(IncomingFile.incoming_id == doc.id)).all():
        session.delete(f)
    doc.case_id = None
    session.flush()
    session.delete(doc)
    audit.record(
        session, actor, "incoming.delete", target_type="incoming", target_id=incoming_id, detail={"title": doc.title}
    )


def check_add_file(
    session: Session, actor: Actor, incoming_id: int, *, role: str, name: str, content_type: str, data: bytes
) -> IncomingFile:
    """Attach a scan / file (the clerk) or a reply document (a handling department at 承办)."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    incoming.check_not_archived(doc)
    if role not in ("main", "attachment", "reply"):
        raise ValidationError("文件类型只能是 main / attachment / reply", code="bad_role")
    if len(data) > MAX_FILE:
        raise ValidationError("文件过大", code="file_too_large")
    case = incoming.case_of(session, doc)
    task = tasks.my_task(session, case, actor)
    if role == "reply":
        if task is None or case.route[task.step_index].get("tag") != "handle":
            raise PermissionDenied("答复文件由承办部门在承办时上传", code="not_handler")
    elif actor.user_id not in incoming.handlers(session, doc.agency_id):
        raise PermissionDenied("只有收发员可以上传来文文件", code="not_registrar")
    row = incoming.store_file(
        session, doc, role=role, name=name, content_type=content_type, data=data, by=actor.user_id
    )
    incoming.bump(session, doc)
    audit.record(
        session,
        actor,
        "incoming.file",
        target_type="incoming",
        target_id=doc.id,
        detail={"file_id": row.id, "name": row.name, "role": role, "sha256": row.sha256},
    )
    return row


def get_file(session: Session, actor: Actor, incoming_id: int, file_id: int) -> IncomingFile:
    incoming.access_incoming(session, actor, incoming_id)
    row = session.get(IncomingFile, file_id)
    if row is None or row.incoming_id != incoming_id:
        raise NotFound()
    return row


def check_act(
    session: Session,
    actor: Actor,
    incoming_id: int,
    *,
    action: str,
    version: int,
    opinion: str = "",
    reason: str = "",
    target: str | None = None,
    user_id: int | None = None,
    lead_department_id: int | None = None,
    co_department_ids: list[int] | None = None,
    deadline: datetime | None = None,
    reply_file_ids: list[int] | None = None,
) -> IncomingDocument:
    """One step of 收文办理 (see the module docstring for what each step requires)."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    incoming.check_not_archived(doc)
    incoming.check_version(doc, version)
    case = incoming.case_of(session, doc)
    opinion, reason = opinion.strip(), reason.strip()
    task = tasks.my_task(session, case, actor)
    tag = case.route[task.step_index].get("tag", "") if task is not None else ""
    if action == "approve":
        if task is None:
            engine.approve(session, actor, case)  # raises the engine's precise error
        _before_approve(
            session,
            actor,
            doc,
            case,
            tag,
            opinion,
            lead_department_id,
            co_department_ids or [],
            deadline,
            reply_file_ids or [],
        )
        t = engine.approve(session, actor, case, opinion=opinion, detail=_detail(doc, tag))
    elif action == "reject":
        if tag != "review":
            raise InvalidTransition("只有初审时可以退回来文单位", code="not_review_step")
        return _reject(session, actor, doc, case, reason or opinion)
    elif action == "return":
        t = engine.return_to(session, actor, case, target=target or "", reason=reason or opinion)
    elif action == "transfer":
        if user_id is None:
            raise ValidationError("请选择人员", code="user_required")
        t = engine.transfer(session, actor, case, to_user_id=user_id, reason=reason or opinion)
    elif action == "add_signer":
        if user_id is None:
            raise ValidationError("请选择人员", code="user_required")
        t = engine.add_signer(session, actor, case, user_id=user_id, reason=reason or opinion)
    else:
        raise ValidationError("未知操作", code="unknown_action")
    _after(session, actor, doc, t, tag)
    incoming.bump(session, doc)
    return doc


def _detail(doc: IncomingDocument, tag: str) -> dict[str, Any]:
    if tag == "register":
        return {"reg_number": doc.reg_number}
    if tag == "instruct":
        return {
            "lead_department_id": doc.lead_department_id,
            "co_department_ids": doc.co_department_ids,
            "deadline": iso(doc.deadline),
        }
    return {}


def _before_approve(
    session: Session,
    actor: Actor,
    doc: IncomingDocument,
    case: WfCase,
    tag: str,
    opinion: str,
    lead: int | None,
    co: list[int],
    deadline: datetime | None,
    reply_files: list[int],
) -> None:
    now = utcnow()
    if tag == "sign_for":
        doc.signed_for_at, doc.signed_for_by = now, actor.user_id
    elif tag == "register" and not doc.reg_number:
        row = numbering.allocate(
            session,
            actor,
            agency_id=doc.agency_id,
            code=REG_CODE,
            year=numbering.current_year(),
            validate_code=False,
            reason=f"收文 #{doc.id}",
        )
        doc.reg_number, doc.reg_number_id = row.text, row.id
    elif tag == "propose":
        if not opinion:
            raise ValidationError("请填写拟办意见", code="proposal_required", field="opinion")
        doc.proposal = opinion
    elif tag == "instruct":
        _instruct(session, actor, doc, case, opinion, lead, co, deadline)
    elif tag == "handle":
        _record_result(session, actor, doc, case, opinion, reply_files)


def _instruct(
    session: Session,
    actor: Actor,
    doc: IncomingDocument,
    case: WfCase,
    opinion: str,
    lead: int | None,
    co: list[int],
    deadline: datetime | None,
) -> None:
    if not opinion:
        raise ValidationError("请填写批办意见", code="instruction_required", field="opinion")
    if lead is None:
        raise ValidationError("请指定主办部门", code="lead_required", field="lead_department_id")
    co = [d for d in dict.fromkeys(co) if d != lead]
    depts = {d.id: d for d in session.exec(select(Department).where(col(Department.id).in_([lead, *co]))).all()}
    for d in [lead, *co]:
        dept = depts.get(d)
        if dept is None or dept.agency_id != doc.agency_id or dept.kind != DeptKind.department:
            raise ValidationError(f"部门（编号 {d}）不存在或不属于本机关", code="bad_department", department_id=d)
    if deadline is not None:
        doc.deadline = incoming.parse_deadline(deadline)
    elif doc.deadline is not None and doc.deadline <= utcnow():
        raise ValidationError("原定办理时限已过，请重新指定", code="deadline_past", field="deadline")
    doc.instruction, doc.instructed_by = opinion, actor.user_id
    doc.lead_department_id, doc.co_department_ids = lead, co
    case.context = {**case.context, "handling_department_ids": [lead, *co]}
    session.add(case)
    if doc.deadline is not None:
        supervision.track(
            session,
            actor,
            agency_id=doc.agency_id,
            source_kind="incoming",
            source_id=str(doc.id),
            title=doc.title,
            owner_department_id=lead,
            deadline=doc.deadline,
            link=f"/incoming/{doc.id}",
        )


def _record_result(
    session: Session, actor: Actor, doc: IncomingDocument, case: WfCase, text: str, reply_files: list[int]
) -> None:
    if not text:
        raise ValidationError("请填写办理情况", code="result_required", field="opinion")
    mine = {f.id: f for f in incoming.files_of(session, doc.id or 0) if f.role == "reply"}
    for fid in reply_files:
        if fid not in mine:
            raise ValidationError("答复文件不存在", code="bad_file")
    dept_ids = case.context.get("handling_department_ids", [])
    dept_id = next((d for d in dept_ids if d in actor.headed_department_ids or d in actor.department_ids), None)
    dept = session.get(Department, dept_id) if dept_id else None
    entry = {
        "department_id": dept_id,
        "department": dept.name if dept else "",
        "role": "主办" if dept_id == doc.lead_department_id else "协办",
        "by_id": actor.user_id,
        "by": actor.name,
        "at": iso(utcnow()),
        "text": text[:5000],
        "files": [{"id": fid, "name": mine[fid].name} for fid in reply_files],
    }
    doc.results = [*doc.results, entry]


def _reject(session: Session, actor: Actor, doc: IncomingDocument, case: WfCase, reason: str) -> IncomingDocument:
    """初审退回: wrong addressee or incomplete; the route ends and the sender is told why."""
    if not reason:
        raise ValidationError("退回来文必须说明理由", code="reason_required", field="reason")
    engine.terminate(session, actor, case, reason=reason)
    doc.status, doc.return_reason, doc.finished_at = IncomingStatus.returned, reason[:500], utcnow()
    incoming.bump(session, doc)
    audit.record(
        session, actor, "incoming.reject", target_type="incoming", target_id=doc.id, detail={"reason": reason[:200]}
    )
    distribution.on_incoming_change(session, doc, "returned")
    return doc


def _after(session: Session, actor: Actor, doc: IncomingDocument, t: case_kinds.Transition, tag: str) -> None:
    if tag == "sign_for" and t.completed_step is not None:
        distribution.on_incoming_change(session, doc, "signed")
    if t.entered_step is not None:
        doc.status = STATUS_BY_TAG.get(t.entered_step.get("tag", ""), doc.status)
    if t.finished:
        _finish(session, actor, doc)
    doc.updated_at = utcnow()
    session.add(doc)


def _finish(session: Session, actor: Actor, doc: IncomingDocument) -> None:
    doc.status, doc.finished_at = IncomingStatus.archived, utcnow()
    session.add(doc)
    session.flush()
    supervision.complete_source(session, actor, "incoming", str(doc.id))
    distribution.on_incoming_change(session, doc, "handled")
    archive_incoming(session, actor, doc)


def check_start_reply(session: Session, actor: Actor, incoming_id: int) -> int:
    """Start a 复函 (outgoing draft) pre-filled as the reply to this 收文; returns its id."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    incoming.check_not_archived(doc)
    if doc.reply_document_id:
        raise Conflict("已起草答复文件", code="reply_exists", document_id=doc.reply_document_id)
    ref = f"（{doc.original_number}）" if doc.original_number else ""
    body = [
        {"kind": "paragraph", "text": f"{doc.source_agency_name}：" if doc.source_agency_name else ""},
        {"kind": "paragraph", "text": f"你单位《{doc.title}》{ref}收悉。现函复如下："},
    ]
    data = DocumentCreate(
        doc_type=DocType.han,
        title=f"关于《{doc.title}》的复函"[:200],
        main_recipients=[doc.source_agency_name] if doc.source_agency_name else [],
        body=[b for b in body if b["text"]],
        note=f"答复收文 {doc.reg_number}".strip(),
    )
    out = service.check_create_document(session, actor, data)
    doc.reply_document_id = out.id
    incoming.bump(session, doc)
    audit.record(
        session, actor, "incoming.reply", target_type="incoming", target_id=doc.id, detail={"document_id": out.id}
    )
    return out.id or 0


def archive_incoming(session: Session, actor: Actor, doc: IncomingDocument) -> ArchivePackage:
    """Package a finished 收文: its files, registration and handling data, route history."""
    rows = session.exec(
        select(IncomingFile).where(IncomingFile.incoming_id == doc.id).order_by(col(IncomingFile.id))
    ).all()
    files: list[tuple[str, bytes]] = []
    for f in rows:
        folder = {"main": "", "signature": "", "attachment": "attachments/", "reply": "replies/"}[f.role]
        suffix = f.name.rsplit(".", 1)[-1].lower()
        name = f"document.{suffix}" if f.role == "main" and suffix in ("docx", "pdf") else f"{folder}{f.id}_{f.name}"
        files.append((name, f.data))
    files += [
        ("metadata.json", archive.as_json({**incoming.incoming_public(doc), "kind": "incoming"})),
        ("history.json", archive.as_json(archive.route_history(session, doc.case_id))),
    ]
    return archive.store_package(
        session,
        actor,
        "incoming",
        doc.id or 0,
        agency_id=doc.agency_id,
        title=doc.title,
        number=doc.reg_number,
        doc_type=doc.doc_type,
        files=files,
    )
