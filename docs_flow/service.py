"""办文 (outgoing documents): the document itself, who may read it, drafting and editing.

Documents ride on the generic engine (``workflow.engine``) as cases of kind ``outgoing_document``.
``version`` on the document is the optimistic lock every change quotes (``workflow.versioning``); a
stale one gets ``Conflict`` and changes nothing. Around this module: the route actions and what each
step means (``actions``: 签发, 编号, 用印, 分发, 归档), 留痕 (``revisions``), 讨论 (``discussion``), the
document's files (``files``) and what the pages show (``listing``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from docs_flow import body as body_mod
from docs_flow import numbering, rules, templates, visibility
from docs_flow.models import (
    CLASSIFIED_LEVELS,
    DocAttachment,
    DocStatus,
    DocumentVersion,
    OutgoingDocument,
    Secrecy,
    Urgency,
)
from docs_flow.schemas import DocumentCreate, DocumentUpdate, SheetFields
from office import audit, events, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, Locked, NotFound, PermissionDenied, ValidationError
from office.models import Department
from typeset.layout import DocType
from workflow import case_kinds, engine, tasks, versioning, worklist
from workflow.models import CaseState, WfCase

KIND = "outgoing_document"
CHINA = ZoneInfo("Asia/Shanghai")
STATUS_LABELS = {
    DocStatus.draft: "拟稿",
    DocStatus.routing: "流转中",
    DocStatus.signed: "已签发",
    DocStatus.sealed: "已用印",
    DocStatus.issued: "已分发",
    DocStatus.archived: "已归档",
    DocStatus.withdrawn: "已撤回",
}
STALE = "公文已被他人修改或处理，请刷新后重试"
CLASSIFIED_MESSAGE = (
    "涉密公文（秘密、机密、绝密）不得在连接互联网或非涉密网络的系统中处理。"
    "本系统只办理非涉密和“内部”公文，请通过涉密载体或涉密信息系统办理。"
)


def _describe(session: Session, case: WfCase) -> tuple[str, str]:
    doc = session.get(OutgoingDocument, case.subject_id)
    return (doc.title if doc else "公文"), f"/docs/{case.subject_id}"


case_kinds.register_kind(
    KIND,
    case_kinds.KindSpec(
        event_prefix="docs",
        notify_type="notify.document",
        source="docs_flow",
        describe=_describe,
        reviews_draft=lambda step: step.get("tag") == "review",
    ),
)


# Access -------------------------------------------------------------------------------------------


def access_document(session: Session, actor: Actor, doc_id: int) -> OutgoingDocument:
    """The document if ``actor`` may read it; ``NotFound`` for missing and forbidden alike."""
    doc = session.get(OutgoingDocument, doc_id)
    if doc is None:
        raise NotFound()
    on_route = worklist.on_route(session, case_of(session, doc), actor.user_id)
    access = rules.DocAccess(
        doc.status, on_route, doc.agency_id == actor.agency_id, visibility.co_issuer_keeper(actor, doc)
    )
    policy.require(actor, "document.read", access, hide=True)
    return doc


def case_of(session: Session, doc: OutgoingDocument) -> WfCase:
    return engine.get_case(session, doc.case_id or 0)


# Creating and editing -----------------------------------------------------------------------------


def check_create_document(session: Session, actor: Actor, data: DocumentCreate) -> OutgoingDocument:
    """A new 发文 draft with the agency's route for its type (snapshotted) and version 1 of its body.

    With ``client_id``, a create the drafter already made with that key returns that draft again
    and changes nothing (the answer to the first try was lost; the retry must not make a second)."""
    policy.require(actor, "document.use")
    if data.client_id:
        earlier = session.exec(
            select(OutgoingDocument).where(
                OutgoingDocument.drafter_id == actor.user_id, OutgoingDocument.client_id == data.client_id
            )
        ).first()
        if earlier is not None:
            return earlier
    agency_id = actor.agency_id or 0
    agency = session.get(Department, agency_id)
    code = data.number_code or (agency.code if agency and agency.code else "")
    doc = OutgoingDocument(
        agency_id=agency_id,
        doc_type=data.doc_type,
        title=data.title.strip(),
        drafter_id=actor.user_id,
        client_id=data.client_id,
        drafting_dept_id=actor.department_id,
        number_code=code,
        issuing_agency_name=agency.name if agency else "",
    )
    _apply_sheet(session, doc, data, drafting=True)
    if not doc.title:
        raise ValidationError("标题不能为空", code="title_required")
    session.add(doc)
    session.flush()
    tpl = templates.template_for(session, agency_id, data.doc_type)
    case = engine.create_case(
        session,
        actor,
        kind=KIND,
        subject_id=doc.id or 0,
        agency_id=agency_id,
        route=tpl.steps,
        context={
            "countersign_department_ids": doc.countersign_department_ids,
            "template_id": tpl.id,
            "template_revision": tpl.revision,
        },
    )
    doc.case_id = case.id
    new_version(session, actor, doc, step_name="拟稿", note="创建")
    audit.record(
        session,
        actor,
        "docs.create",
        target_type="document",
        target_id=doc.id,
        detail={"title": doc.title, "doc_type": doc.doc_type.value, "template": tpl.id},
    )
    return doc


def check_update_document(session: Session, actor: Actor, doc_id: int, data: DocumentUpdate) -> OutgoingDocument:
    """Save the draft sheet and/or body. Title/body changes become a new version (留痕)."""
    doc = access_document(session, actor, doc_id)
    check_version(doc, data.version)
    case = case_of(session, doc)
    step_name = check_may_edit(session, actor, doc, case)
    drafting = case.state in (CaseState.draft, CaseState.withdrawn)
    before = (doc.title, doc.body_hash)
    _apply_sheet(session, doc, data, drafting=drafting)
    if drafting:
        case.context = {**case.context, "countersign_department_ids": doc.countersign_department_ids}
        session.add(case)
    changed_text = (doc.title, body_mod.body_hash(doc.title, doc.body)) != before
    if changed_text:
        new_version(session, actor, doc, step_name=step_name, note=data.note_for_version)
    bump(session, doc)
    audit.record(
        session,
        actor,
        "docs.edit",
        target_type="document",
        target_id=doc.id,
        detail={
            "version_no": doc.body_version_no,
            "text_changed": changed_text,
            "fields": sorted(k for k in data.model_fields_set if k not in ("version", "body")),
        },
    )
    publish_update(session, doc, case, "edit")
    return doc


def check_may_edit(session: Session, actor: Actor, doc: OutgoingDocument, case: WfCase) -> str:
    """The step name under which the actor edits; raises if they may not edit now."""
    if doc.signed_hash:
        raise Locked("公文已签发，正文已锁定；如需修改，请退回签发前的步骤", code="body_locked")
    if case.state in (CaseState.draft, CaseState.withdrawn):
        if actor.user_id != doc.drafter_id:
            raise PermissionDenied("只有拟稿人可以修改草稿", code="not_drafter")
        return "拟稿"
    if case.state != CaseState.running:
        raise InvalidTransition("公文已办结，不能修改", code="case_finished")
    task = tasks.my_task(session, case, actor)
    if task is None:
        raise PermissionDenied("您不是当前步骤的办理人，不能修改", code="not_current_actor")
    step = case.route[task.step_index]
    if not step.get("can_edit"):
        raise PermissionDenied(f"“{step['name']}”步骤不允许修改正文", code="edit_not_allowed")
    return str(step["name"])


def _apply_sheet(session: Session, doc: OutgoingDocument, data: SheetFields, *, drafting: bool) -> None:
    given = data.model_fields_set
    if data.secrecy is not None:
        doc.secrecy = _secrecy(data.secrecy)
    for name in ("secrecy_period", "copy_no", "note", "drafter_phone", "issuing_agency_name", "open_attribute"):
        value = getattr(data, name)
        if value is not None:
            setattr(doc, name, value.strip())
    if data.title is not None:
        doc.title = data.title.strip()
        if not doc.title:
            raise ValidationError("标题不能为空", code="title_required")
    if data.urgency is not None:
        doc.urgency = Urgency(data.urgency)
    if data.main_recipients is not None:
        doc.main_recipients = _names(data.main_recipients)
    if data.cc_recipients is not None:
        doc.cc_recipients = _names(data.cc_recipients)
    if data.attachments is not None:
        doc.attachments = [{"name": a.name.strip(), "file_id": a.file_id} for a in data.attachments]
    if data.attendance is not None:
        if doc.doc_type != DocType.jiyao:
            raise ValidationError(
                "只有纪要填写出席、请假、列席人员", code="attendance_minutes_only", field="attendance"
            )
        doc.attendance = {k: _names(getattr(data.attendance, k)) for k in ("present", "on_leave", "sitting_in")}
    if data.body is not None:
        doc.body = body_mod.normalize_blocks(data.body)
    for name in ("countersign_department_ids", "number_code", "joint_issuers"):
        if name in given and getattr(data, name) is not None and not drafting:
            raise InvalidTransition("会签部门、机关代字和联合发文机关只能在拟稿时设定", code="route_fixed")
    if data.joint_issuers is not None:
        doc.joint_issuers = _joint_issuers(session, doc.agency_id, data.joint_issuers)
    if data.countersign_department_ids is not None:
        doc.countersign_department_ids = _countersign(session, doc.agency_id, data.countersign_department_ids)
    if data.number_code is not None:
        if data.number_code not in numbering.agency_codes(session, doc.agency_id):
            raise ValidationError(f"机关代字“{data.number_code}”不属于本机关", code="bad_code")
        doc.number_code = data.number_code


def _secrecy(value: str) -> Secrecy:
    value = value.strip()
    if value in CLASSIFIED_LEVELS:
        raise ValidationError(CLASSIFIED_MESSAGE, code="classified_refused", field="secrecy")
    if value in ("", "非密", "无"):
        return Secrecy.none
    if value == Secrecy.internal.value:
        return Secrecy.internal
    raise ValidationError("密级只能是“非密”或“内部”", code="bad_secrecy", field="secrecy")


def _names(values: list[str]) -> list[str]:
    out = [v.strip()[:100] for v in values if v and v.strip()]
    return list(dict.fromkeys(out))


def _countersign(session: Session, agency_id: int, ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(ids))
    found = {d.id: d for d in session.exec(select(Department).where(col(Department.id).in_(ids))).all()}
    for i in ids:
        if i not in found or found[i].agency_id != agency_id:
            raise ValidationError("会签部门必须是本机关的处室", code="bad_department")
    return ids


MAX_JOINT_ISSUERS = 5


def _joint_issuers(session: Session, agency_id: int, ids: list[int]) -> list[dict[str, object]]:
    """联合行文: the other issuing agencies, in the order given (the issuing order), as stored: each an
    agency of the directory, named once, not the document's own (the lead), at most five."""
    if len(ids) > MAX_JOINT_ISSUERS:
        raise ValidationError(
            f"联合发文机关最多 {MAX_JOINT_ISSUERS} 个（不含主办机关）",
            code="too_many_joint_issuers",
            field="joint_issuers",
        )
    if len(set(ids)) != len(ids):
        raise ValidationError("联合发文机关不能重复", code="duplicate_joint_issuer", field="joint_issuers")
    if agency_id in ids:
        raise ValidationError(
            "联合发文机关不能是本机关（本机关为主办机关）", code="own_agency_joint", field="joint_issuers"
        )
    found = {d.id: d for d in session.exec(select(Department).where(col(Department.id).in_(ids))).all()} if ids else {}
    for i in ids:
        if i not in found or found[i].agency_id != i:
            raise ValidationError("联合发文机关必须是通讯录中的机关", code="bad_joint_issuer", field="joint_issuers")
    return [{"agency_id": i, "name": found[i].name} for i in ids]


def new_version(session: Session, actor: Actor, doc: OutgoingDocument, *, step_name: str, note: str = "") -> None:
    doc.body_hash = body_mod.body_hash(doc.title, doc.body)
    doc.body_version_no += 1
    session.add(
        DocumentVersion(
            document_id=doc.id or 0,
            no=doc.body_version_no,
            title=doc.title,
            body=doc.body,
            body_hash=doc.body_hash,
            annexes=[{"file_id": r.id, "title": r.title, "blocks": r.blocks} for r in bound_attachments(session, doc)],
            author_id=actor.user_id,
            author_name=actor.name,
            step_name=step_name,
            note=note.strip()[:200],
        )
    )
    doc.updated_at = utcnow()
    session.add(doc)


def bound_attachments(session: Session, doc: OutgoingDocument) -> list[DocAttachment]:
    """The bound attachments (随文装订, laid out on pages of their own) in the 附件说明's order; one left
    out of the 附件说明 is not printed."""
    order = {a.get("file_id"): i for i, a in enumerate(doc.attachments) if a.get("file_id")}
    if not order:
        return []
    rows = session.exec(
        select(DocAttachment).where(DocAttachment.document_id == doc.id, col(DocAttachment.bound).is_(True))
    ).all()
    return sorted((r for r in rows if r.id in order), key=lambda r: order[r.id])


def check_version(doc: OutgoingDocument, expected: int) -> None:
    versioning.check_version(doc, expected, STALE)


def bump(session: Session, doc: OutgoingDocument) -> None:
    """Write the change, then move ``version`` by compare-and-set (``workflow.versioning``)."""
    doc.updated_at = utcnow()
    session.add(doc)
    session.flush()
    versioning.bump(session, doc, STALE)


def publish_update(session: Session, doc: OutgoingDocument, case: WfCase, op: str) -> None:
    events.publish_on_commit(
        session,
        "docs.document",
        {"op": op, "document_id": doc.id, "version": doc.version, "status": doc.status.value},
        user_ids=worklist.participants(session, case),
    )
