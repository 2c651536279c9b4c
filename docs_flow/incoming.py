"""收文办理 (条例 第二十四条): 签收, 登记, 初审, 拟办, 批办, 承办, 答复, on the generic route engine.

A 收文 is a case of kind ``incoming_document``. Each step's ``tag`` says what acting on it means:

* ``sign_for`` 签收: records who signed for it and when (the sender's receipt turns "signed").
* ``register`` 登记: gives it the next 收文编号 of the year (``numbering``, series "收").
* ``review`` 初审: pass, or ``reject`` (wrong addressee, incomplete): back to the sender with a reason.
* ``propose`` 拟办: the clerk's proposed handling (required).
* ``instruct`` 批办: a leader's instruction, the lead (主办) and co-handling (协办) departments and a
  deadline; the deadline becomes a 督办 item.
* ``handle`` 承办: every named department records what it did (optionally with a reply file).
* ``reply`` 答复/办结: finishing the route archives the record as an immutable package.

An archived record refuses every change with 423 ``archived``. ``version`` is the optimistic lock.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from docs_flow import (
    case_kinds,
    engine,
    numbering,
    route_view,
    steps,
    tasks,
    templates,
    versioning,
    visibility,
    worklist,
)
from docs_flow.incoming_models import (
    Circulation,
    CirculationReader,
    IncomingDocument,
    IncomingFile,
    IncomingSource,
    IncomingStatus,
    SupervisionItem,
)
from docs_flow.models import CaseState, WfCase
from office import audit, events, policy
from office.actor import SYSTEM, Actor
from office.db import utcnow
from office.directory.service import users_with_role
from office.errors import Conflict, InvalidTransition, Locked, NotFound, PermissionDenied, ValidationError
from office.models import Department, DeptKind, Post, Role, User
from office.timefmt import iso

KIND = "incoming_document"
REG_CODE = "收"
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


@policy.rule("incoming.register")
def _can_register(actor: Actor, _resource: Any = None) -> bool:
    return actor.agency_id is not None and (
        actor.has(Role.clerk) or actor.has(Role.dept_head) or actor.has(Role.leader)
    )


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


def _parse_deadline(value: datetime | None, *, now: datetime | None = None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError("办理时限必须带时区", code="naive_datetime", field="deadline")
    if value <= (now or utcnow()):
        raise ValidationError("办理时限不能早于当前时间", code="deadline_past", field="deadline")
    return value


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
    if actor.user_id not in handlers(session, agency_id):
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
        deadline=_parse_deadline(deadline, now=now),
        body_text=body_text.strip(),
        created_by=actor.user_id,
    )
    session.add(doc)
    session.flush()
    case = _start_case(session, actor, doc)
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


def _start_case(session: Session, actor: Actor, doc: IncomingDocument) -> WfCase:
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
    _publish_change(session, doc, "created")
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
        _store_file(session, doc, role=role, name=name, content_type=ctype, data=data, by=0)
    _start_case(session, SYSTEM, doc)
    return doc


def _store_file(
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


# Editing ---------------------------------------------------------------------------------------------


EDITABLE = ("title", "source_agency_name", "original_number", "doc_type", "urgency", "body_text")


def check_update(
    session: Session, actor: Actor, incoming_id: int, *, version: int, changes: dict[str, Any]
) -> IncomingDocument:
    """Correct the registration data: the clerk may, until the leader's 批办."""
    doc = access_incoming(session, actor, incoming_id)
    check_not_archived(doc)
    _check_version(doc, version)
    if actor.user_id not in handlers(session, doc.agency_id):
        raise PermissionDenied("只有收发员可以修改登记信息", code="not_registrar")
    if doc.status in (IncomingStatus.handling, IncomingStatus.replying, IncomingStatus.returned):
        raise InvalidTransition("已批办或已退回的收文不能修改登记信息", code="registration_fixed")
    for name in EDITABLE:
        if name in changes and changes[name] is not None:
            setattr(doc, name, str(changes[name]).strip())
    if "deadline" in changes:
        doc.deadline = _parse_deadline(changes["deadline"])
    if not doc.title or not doc.source_agency_name:
        raise ValidationError("标题和来文机关不能为空", code="title_required")
    _bump(session, doc)
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
    doc = access_incoming(session, actor, incoming_id)
    check_not_archived(doc)
    if doc.created_by != actor.user_id or doc.source == IncomingSource.internal:
        raise PermissionDenied("只能删除自己误录入的纸质或外部来文", code="not_deletable")
    if doc.reg_number:
        raise InvalidTransition("已登记编号的收文不能删除（编号不可作废重用）", code="already_registered")
    case = case_of(session, doc)
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
    doc = access_incoming(session, actor, incoming_id)
    check_not_archived(doc)
    if role not in ("main", "attachment", "reply"):
        raise ValidationError("文件类型只能是 main / attachment / reply", code="bad_role")
    if len(data) > MAX_FILE:
        raise ValidationError("文件过大", code="file_too_large")
    case = case_of(session, doc)
    task = tasks.my_task(session, case, actor)
    if role == "reply":
        if task is None or case.route[task.step_index].get("tag") != "handle":
            raise PermissionDenied("答复文件由承办部门在承办时上传", code="not_handler")
    elif actor.user_id not in handlers(session, doc.agency_id):
        raise PermissionDenied("只有收发员可以上传来文文件", code="not_registrar")
    row = _store_file(session, doc, role=role, name=name, content_type=content_type, data=data, by=actor.user_id)
    _bump(session, doc)
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
    access_incoming(session, actor, incoming_id)
    row = session.get(IncomingFile, file_id)
    if row is None or row.incoming_id != incoming_id:
        raise NotFound()
    return row


def files_of(session: Session, incoming_id: int) -> list[IncomingFile]:
    return list(
        session.exec(
            select(IncomingFile).where(IncomingFile.incoming_id == incoming_id).order_by(IncomingFile.id)
        ).all()
    )


# Acting -----------------------------------------------------------------------------------------------


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
    doc = access_incoming(session, actor, incoming_id)
    check_not_archived(doc)
    _check_version(doc, version)
    case = case_of(session, doc)
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
    _bump(session, doc)
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
        doc.deadline = _parse_deadline(deadline)
    elif doc.deadline is not None and doc.deadline <= utcnow():
        raise ValidationError("原定办理时限已过，请重新指定", code="deadline_past", field="deadline")
    doc.instruction, doc.instructed_by = opinion, actor.user_id
    doc.lead_department_id, doc.co_department_ids = lead, co
    case.context = {**case.context, "handling_department_ids": [lead, *co]}
    session.add(case)
    if doc.deadline is not None:
        from docs_flow import supervision

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
    mine = {f.id: f for f in files_of(session, doc.id or 0) if f.role == "reply"}
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
    _bump(session, doc)
    audit.record(
        session, actor, "incoming.reject", target_type="incoming", target_id=doc.id, detail={"reason": reason[:200]}
    )
    from docs_flow import distribution

    distribution.on_incoming_change(session, doc, "returned")
    return doc


def _after(session: Session, actor: Actor, doc: IncomingDocument, t: case_kinds.Transition, tag: str) -> None:
    from docs_flow import distribution

    if tag == "sign_for" and t.completed_step is not None:
        distribution.on_incoming_change(session, doc, "signed")
    if t.entered_step is not None:
        doc.status = STATUS_BY_TAG.get(t.entered_step.get("tag", ""), doc.status)
    if t.finished:
        _finish(session, actor, doc)
    doc.updated_at = utcnow()
    session.add(doc)


def _finish(session: Session, actor: Actor, doc: IncomingDocument) -> None:
    from docs_flow import archive, distribution, supervision

    doc.status, doc.finished_at = IncomingStatus.archived, utcnow()
    session.add(doc)
    session.flush()
    supervision.complete_source(session, actor, "incoming", str(doc.id))
    distribution.on_incoming_change(session, doc, "handled")
    archive.archive_incoming(session, actor, doc)


def _check_version(doc: IncomingDocument, expected: int) -> None:
    versioning.check_version(doc, expected, STALE)


def _bump(session: Session, doc: IncomingDocument) -> None:
    """Write the change, move ``version`` by compare-and-set (``docs_flow.versioning``), tell the lists."""
    doc.updated_at = utcnow()
    session.add(doc)
    session.flush()
    versioning.bump(session, doc, STALE)
    _publish_change(session, doc, "updated")


def _publish_change(session: Session, doc: IncomingDocument, op: str) -> None:
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


# Reply (答复) as an outgoing document -----------------------------------------------------------------


def check_start_reply(session: Session, actor: Actor, incoming_id: int) -> int:
    """Start a 复函 (outgoing draft) pre-filled as the reply to this 收文; returns its id."""
    from docs_flow import service
    from docs_flow.schemas import DocumentCreate
    from typeset.layout import DocType

    doc = access_incoming(session, actor, incoming_id)
    check_not_archived(doc)
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
    _bump(session, doc)
    audit.record(
        session, actor, "incoming.reply", target_type="incoming", target_id=doc.id, detail={"document_id": out.id}
    )
    return out.id or 0


# Lists and detail -------------------------------------------------------------------------------------


def list_incoming(
    session: Session, actor: Actor, *, box: str, q: str = "", status: str = "", offset: int = 0, limit: int = 50
) -> dict[str, Any]:
    """待办 / 已办 / 传阅 / 全部."""
    policy.require(actor, "document.use")
    stmt = select(IncomingDocument)
    if box == "todo":
        stmt = stmt.where(
            col(IncomingDocument.case_id).in_(worklist.pending_case_ids(session, actor.user_id, kind=KIND))
        )
    elif box == "done":
        stmt = stmt.where(col(IncomingDocument.case_id).in_(worklist.done_case_ids(session, actor.user_id, kind=KIND)))
    elif box == "reading":
        holding = (
            sa_select(Circulation.incoming_id)
            .join(CirculationReader, CirculationReader.circulation_id == Circulation.id)
            .where(CirculationReader.user_id == actor.user_id, CirculationReader.state == "holding")
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
        "status_label": STATUS_LABELS[d.status],
        "current_step": step["name"] if step else None,
        "received_at": iso(d.received_at),
        "deadline": iso(d.deadline),
        "updated_at": iso(d.updated_at),
    }


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


def detail(session: Session, actor: Actor, incoming_id: int) -> dict[str, Any]:
    """Everything the handling page shows, including the actions this actor may take now."""
    from docs_flow import circulation

    doc = access_incoming(session, actor, incoming_id)
    case = case_of(session, doc)
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
        **incoming_public(doc),
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
        "files": [file_public(f) for f in files_of(session, doc.id or 0)],
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
    if actor.user_id in handlers(session, doc.agency_id) or actor.has(Role.leader):
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
        .order_by(Department.sort_order, Department.id)
    ).all()
    people = session.exec(
        select(User.id, User.name)
        .join(Post, Post.user_id == User.id)
        .join(Department, Department.id == Post.department_id)
        .where(Department.agency_id == actor.agency_id, User.is_active == true())
        .distinct()
    ).all()  # noqa: E712
    return {
        "departments": [{"id": d.id, "name": d.name} for d in depts],
        "people": [{"id": i, "name": n} for i, n in people],
        "is_registrar": actor.user_id in handlers(session, actor.agency_id or 0),
        "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
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
