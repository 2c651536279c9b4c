"""办文 (outgoing documents): drafting, editing with 留痕, routing, numbering, comments.

Documents ride on the generic engine (``docs_flow.engine``) as cases of kind ``outgoing_document``.
This module adds what a step *means* for a document (its ``tag``): 签发 records the exact body hash
the leader approved and locks the body; 编号 needs a 发文字号; 用印 applies the seal; 核发 sets the
印发日期; finishing the route archives the document. ``version`` on the document is the optimistic
lock every change quotes; a stale one gets ``Conflict`` and changes nothing.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from docs_flow import (
    archive,
    case_kinds,
    distribution,
    engine,
    numbering,
    output,
    route_view,
    tasks,
    templates,
    typesetting,
    versioning,
    visibility,
    worklist,
)
from docs_flow import body as body_mod
from docs_flow.models import (
    CLASSIFIED_LEVELS,
    MINUTES_SERIES,
    ORDER_SERIES,
    ORDER_SERIES_YEAR,
    CaseState,
    DocAttachment,
    DocStatus,
    DocumentComment,
    DocumentVersion,
    OutgoingDocument,
    Secrecy,
    Urgency,
    WfCase,
)
from docs_flow.schemas import DocumentCreate, DocumentUpdate, SheetFields
from office import audit, events, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, Locked, NotFound, PermissionDenied, ValidationError
from office.models import Department, Role, User
from office.timefmt import iso
from typeset import convert
from typeset.layout import DocType

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


@dataclass(frozen=True)
class DocAccess:
    """What policy needs to decide ``document.read``."""

    status: DocStatus
    on_route: bool
    same_agency: bool


@policy.rule("document.use")
def _can_use(actor: Actor, _resource: Any = None) -> bool:
    return actor.agency_id is not None


@policy.rule("document.read")
def _can_read(actor: Actor, res: DocAccess) -> bool:
    if res.on_route:
        return True
    agency_wide = actor.has(Role.leader) or actor.has(Role.clerk)
    return res.same_agency and agency_wide and res.status != DocStatus.draft


def access_document(session: Session, actor: Actor, doc_id: int) -> OutgoingDocument:
    """The document if ``actor`` may read it; ``NotFound`` for missing and forbidden alike."""
    doc = session.get(OutgoingDocument, doc_id)
    if doc is None:
        raise NotFound()
    on_route = worklist.on_route(session, _case(session, doc), actor.user_id)
    policy.require(actor, "document.read", DocAccess(doc.status, on_route, doc.agency_id == actor.agency_id), hide=True)
    return doc


def _case(session: Session, doc: OutgoingDocument) -> WfCase:
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
    _new_version(session, actor, doc, step_name="拟稿", note="创建")
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
    _check_version(doc, data.version)
    case = _case(session, doc)
    step_name = _check_may_edit(session, actor, doc, case)
    drafting = case.state in (CaseState.draft, CaseState.withdrawn)
    before = (doc.title, doc.body_hash)
    _apply_sheet(session, doc, data, drafting=drafting)
    if drafting:
        case.context = {**case.context, "countersign_department_ids": doc.countersign_department_ids}
        session.add(case)
    changed_text = (doc.title, body_mod.body_hash(doc.title, doc.body)) != before
    if changed_text:
        _new_version(session, actor, doc, step_name=step_name, note=data.note_for_version)
    _bump(session, doc)
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
    _publish_update(session, doc, case, "edit")
    return doc


def _check_may_edit(session: Session, actor: Actor, doc: OutgoingDocument, case: WfCase) -> str:
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
    for name in ("countersign_department_ids", "number_code"):
        if name in given and getattr(data, name) is not None and not drafting:
            raise InvalidTransition("会签部门和机关代字只能在拟稿时设定", code="route_fixed")
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


def _new_version(session: Session, actor: Actor, doc: OutgoingDocument, *, step_name: str, note: str = "") -> None:
    doc.body_hash = body_mod.body_hash(doc.title, doc.body)
    doc.body_version_no += 1
    session.add(
        DocumentVersion(
            document_id=doc.id or 0,
            no=doc.body_version_no,
            title=doc.title,
            body=doc.body,
            body_hash=doc.body_hash,
            author_id=actor.user_id,
            author_name=actor.name,
            step_name=step_name,
            note=note.strip()[:200],
        )
    )
    doc.updated_at = utcnow()
    session.add(doc)


def _check_version(doc: OutgoingDocument, expected: int) -> None:
    versioning.check_version(doc, expected, STALE)


def _bump(session: Session, doc: OutgoingDocument) -> None:
    """Write the change, then move ``version`` by compare-and-set (``docs_flow.versioning``)."""
    doc.updated_at = utcnow()
    session.add(doc)
    session.flush()
    versioning.bump(session, doc, STALE)


# Routing ------------------------------------------------------------------------------------------


def check_act(
    session: Session,
    actor: Actor,
    doc_id: int,
    *,
    action: str,
    version: int,
    opinion: str = "",
    target: str | None = None,
    user_id: int | None = None,
    reason: str = "",
    pin: str | None = None,
    quote_comment_id: int | None = None,
) -> OutgoingDocument:
    """Validate and perform one route action on a document (see ``docs_flow.engine`` for the rules)."""
    doc = access_document(session, actor, doc_id)
    _check_version(doc, version)
    case = _case(session, doc)
    opinion = _with_quote(session, doc, opinion.strip(), quote_comment_id)
    if action == "submit":
        _check_submittable(doc)
        t = engine.submit(session, actor, case, opinion=opinion)
    elif action == "approve":
        t = _approve(session, actor, doc, case, opinion, pin)
    elif action == "return":
        t = engine.return_to(session, actor, case, target=target or "", reason=reason or opinion)
    elif action == "withdraw":
        t = engine.withdraw(session, actor, case, reason=reason)
    elif action == "transfer":
        t = engine.transfer(session, actor, case, to_user_id=_required_user(user_id), reason=reason or opinion)
    elif action == "add_signer":
        t = engine.add_signer(session, actor, case, user_id=_required_user(user_id), reason=reason or opinion)
    else:
        raise ValidationError("未知操作", code="unknown_action")
    _after(session, actor, doc, t)
    _bump(session, doc)
    return doc


def _required_user(user_id: int | None) -> int:
    if user_id is None:
        raise ValidationError("请选择人员", code="user_required")
    return user_id


def _with_quote(session: Session, doc: OutgoingDocument, opinion: str, comment_id: int | None) -> str:
    if comment_id is None:
        return opinion
    c = session.get(DocumentComment, comment_id)
    if c is None or c.document_id != doc.id:
        raise ValidationError("引用的讨论意见不存在", code="bad_comment")
    quoted = f"（引用 {c.author_name} 的讨论：“{c.text[:500]}”）"
    return f"{opinion}\n{quoted}" if opinion else quoted


def _check_submittable(doc: OutgoingDocument) -> None:
    if not doc.body:
        raise ValidationError("正文为空，不能送审", code="body_required")
    if doc.doc_type == DocType.qingshi and len(doc.main_recipients) != 1:
        raise ValidationError("请示应当一文一事，只能主送一个上级机关", code="qingshi_one_recipient")
    if doc.doc_type in (DocType.qingshi, DocType.baogao, DocType.pifu, DocType.han) and not doc.main_recipients:
        raise ValidationError(f"{doc.doc_type.value}必须填写主送机关", code="recipient_required")


def _approve(
    session: Session, actor: Actor, doc: OutgoingDocument, case: WfCase, opinion: str, pin: str | None
) -> case_kinds.Transition:
    task = tasks.my_task(session, case, actor)
    tag = case.route[task.step_index].get("tag", "") if task is not None else ""
    detail: dict[str, Any] = {}
    if tag == "sign_off":
        record = output.on_sign_off(session, actor, doc, pin)
        doc.sign_record = {**doc.sign_record, "signers": [*doc.sign_record.get("signers", []), record]}
        detail = {"body_hash": doc.body_hash, "version_no": doc.body_version_no, "method": record["method"]}
    elif tag == "number" and not doc.number:
        raise InvalidTransition("请先编发文字号再办理", code="number_required")
    elif tag == "seal":
        if not doc.signed_hash or not doc.number:
            raise InvalidTransition("公文未签发或未编号，不能用印", code="not_ready_for_seal")
        doc.seal_record = output.seal_document(session, actor, doc, pin)
        detail = {"signed_hash": doc.signed_hash, "method": doc.seal_record["method"]}
    return engine.approve(session, actor, case, opinion=opinion, detail=detail)


def _after(session: Session, actor: Actor, doc: OutgoingDocument, t: case_kinds.Transition) -> None:
    """What a transition means for the document's status, signature, seal and dates."""
    case = t.case
    if t.action == "submit":
        doc.status = DocStatus.routing
    elif t.action == "withdraw":
        doc.status = DocStatus.withdrawn
    elif t.action == "return":
        _after_return(doc, case)
    done_tag = t.completed_step.get("tag") if t.completed_step else None
    if done_tag == "sign_off":
        signers = doc.sign_record.get("signers", [])
        doc.signed_hash, doc.signed_version_no = doc.body_hash, doc.body_version_no
        doc.signed_by_id, doc.signed_at = actor.user_id, utcnow()
        doc.signer_name = "、".join(dict.fromkeys(s["signer"] for s in signers)) or actor.name
        doc.written_date = datetime.now(CHINA).date()
        doc.status = DocStatus.signed
    elif done_tag == "seal":
        doc.status = DocStatus.sealed
    elif done_tag == "distribute":
        doc.issued_date = doc.issued_date or datetime.now(CHINA).date()  # settled at 用印 where sealed
        doc.status = DocStatus.issued
        distribution.distribute(session, actor, doc)
    if t.finished:
        if not distribution.already_distributed(session, doc):  # a route without a 分发 step
            distribution.distribute(session, actor, doc)
        doc.status = DocStatus.archived
        session.add(doc)
        archive.archive_outgoing(session, actor, doc)
        events.publish_on_commit(
            session,
            "notify.document",
            {
                "user_ids": [doc.drafter_id],
                "title": f"已办结：{doc.title}",
                "body": f"{doc.number or doc.title} 已完成全部流程并归档",
                "link": f"/docs/{doc.id}",
                "source": "docs_flow",
            },
            user_ids=[doc.drafter_id],
        )
    session.add(doc)


def _after_return(doc: OutgoingDocument, case: WfCase) -> None:
    """Going back to or before 签发 voids the sign-off (the text may change again); before 用印, the seal."""
    index = case.current_step if case.state == CaseState.running else -1
    tags = [s.get("tag", "") for s in case.route]
    sign_at = tags.index("sign_off") if "sign_off" in tags else len(tags)
    if index <= sign_at:
        doc.signed_hash, doc.signed_version_no, doc.signed_by_id, doc.signed_at = "", None, None, None
        doc.sign_record, doc.signer_name, doc.written_date = {}, "", None
    if "seal" in tags and index <= tags.index("seal"):
        doc.seal_record = {}
    if case.state == CaseState.draft:
        doc.status = DocStatus.draft
    elif not doc.signed_hash:
        doc.status = DocStatus.routing
    elif not doc.seal_record:
        doc.status = DocStatus.signed


def check_assign_number(
    session: Session, actor: Actor, doc_id: int, *, version: int, reserved_id: int | None = None
) -> OutgoingDocument:
    """编号: the person acting at the 编号 step gives the signed document its 发文字号 (next in
    sequence, or a number reserved earlier)."""
    if reserved_id is None:
        return number_op(actor, doc_id, version=version)(session)
    doc, case = _numberable(session, actor, doc_id, version=version)
    row = numbering.take_reserved(
        session, actor, reserved_id, agency_id=doc.agency_id, code=doc.number_code, document_id=doc.id or 0
    )
    return _bind_number(session, doc, case, row.text, row.id or 0)


def assign_number_queued(
    numberer: numbering.Numberer, actor: Actor, doc_id: int, *, version: int, reserved_id: int | None = None
) -> OutgoingDocument:
    """``check_assign_number`` through the group-commit allocator (many clerks numbering at once share
    one commit); returns once the number is durable. Call outside any write transaction."""
    if reserved_id is not None:
        return numberer.run(lambda s: check_assign_number(s, actor, doc_id, version=version, reserved_id=reserved_id))
    return numberer.run(number_op(actor, doc_id, version=version))


def number_op(actor: Actor, doc_id: int, *, version: int) -> numbering.NumberOp:
    """编号 with the next number in sequence, as a request for the allocator: the checks and the
    binding run inside the allocating transaction."""

    def prepare(session: Session, op: numbering.NumberOp) -> None:
        doc, case = _numberable(session, actor, doc_id, version=version)
        op.agency_id, op.code, op.document_id = doc.agency_id, doc.number_code, doc.id
        op.year = numbering.current_year()
        if doc.doc_type == DocType.jiyao:  # （第N期）, its own series: not a 机关代字, so not checked as one
            op.code, op.validate_code = MINUTES_SERIES, False
        elif doc.doc_type == DocType.mingling:  # 第N号, one series across the years
            op.code, op.validate_code, op.year = ORDER_SERIES, False, ORDER_SERIES_YEAR
        op.context.update(doc=doc, case=case)

    def bind(session: Session, got: numbering.Allocation) -> OutgoingDocument:
        return _bind_number(session, op.context["doc"], op.context["case"], got.text, got.id)

    op = numbering.NumberOp(actor, prepare=prepare, bind=bind)  # ``bind`` reads what ``prepare`` put on it
    return op


def _numberable(session: Session, actor: Actor, doc_id: int, *, version: int) -> tuple[OutgoingDocument, WfCase]:
    """The document if ``actor`` may number it now (reads only: refusing leaves no trace)."""
    doc = access_document(session, actor, doc_id)
    _check_version(doc, version)
    case = _case(session, doc)
    task = tasks.my_task(session, case, actor)
    if task is None or case.route[task.step_index].get("tag") != "number":
        raise PermissionDenied("只有编号步骤的办理人可以编号", code="not_number_step")
    if doc.number:
        raise InvalidTransition(f"已编号：{doc.number}", code="already_numbered")
    if not doc.signed_hash:
        raise InvalidTransition("公文签发后才能编号", code="not_signed")
    return doc, case


def _bind_number(session: Session, doc: OutgoingDocument, case: WfCase, text: str, number_id: int) -> OutgoingDocument:
    doc.number, doc.number_id = text, number_id
    _bump(session, doc)
    _publish_update(session, doc, case, "numbered")
    return doc


def _publish_update(session: Session, doc: OutgoingDocument, case: WfCase, op: str) -> None:
    events.publish_on_commit(
        session,
        "docs.document",
        {"op": op, "document_id": doc.id, "version": doc.version, "status": doc.status.value},
        user_ids=worklist.participants(session, case),
    )


# Versions and 留痕 -----------------------------------------------------------------------------------


def list_versions(session: Session, actor: Actor, doc_id: int) -> list[DocumentVersion]:
    access_document(session, actor, doc_id)
    return list(
        session.exec(
            select(DocumentVersion).where(DocumentVersion.document_id == doc_id).order_by(DocumentVersion.no)
        ).all()
    )


def get_version(session: Session, actor: Actor, doc_id: int, no: int) -> DocumentVersion:
    access_document(session, actor, doc_id)
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
        "ops": char_diff(body_mod.flatten(va.title, va.body), body_mod.flatten(vb.title, vb.body)),
    }


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
        out.update(title=v.title, body=v.body)
    return out


# Discussion ---------------------------------------------------------------------------------------


def check_add_comment(session: Session, actor: Actor, doc_id: int, *, text: str) -> DocumentComment:
    """A comment in the document's thread, tied to the current body version."""
    doc = access_document(session, actor, doc_id)
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
    case = _case(session, doc)
    events.publish_on_commit(
        session,
        "docs.comment",
        {"op": "add", "document_id": doc_id, "comment_id": row.id},
        user_ids=worklist.participants(session, case) - {actor.user_id},
    )
    return row


def list_comments(session: Session, actor: Actor, doc_id: int) -> list[DocumentComment]:
    access_document(session, actor, doc_id)
    return list(
        session.exec(
            select(DocumentComment).where(DocumentComment.document_id == doc_id).order_by(DocumentComment.id)
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


# Attachments and output -------------------------------------------------------------------------------


def check_add_attachment(
    session: Session, actor: Actor, doc_id: int, *, name: str, content_type: str, data: bytes, version: int
) -> DocAttachment:
    doc = access_document(session, actor, doc_id)
    _check_version(doc, version)
    case = _case(session, doc)
    _check_may_edit(session, actor, doc, case)
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
    _bump(session, doc)
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
    access_document(session, actor, doc_id)
    row = session.get(DocAttachment, file_id)
    if row is None or row.document_id != doc_id:
        raise NotFound()
    return row


def render_document(session: Session, actor: Actor, doc_id: int) -> tuple[OutgoingDocument, bytes]:
    """The Word file for a reader of the document: the sealed bytes once sealed."""
    doc = access_document(session, actor, doc_id)
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
    doc = access_document(session, actor, doc_id)
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
    doc = access_document(session, actor, doc_id)
    stored = doc.seal_record.get("conformance")
    if stored is not None:
        return {**stored, "stored": True}
    return {**output.check(typesetting.render(doc)).to_dict(), "stored": False}


def check_import_docx(session: Session, actor: Actor, doc_id: int, data: bytes) -> dict[str, Any]:
    """Title, 主送 and body blocks from a .docx for the editor (saving them is a normal edit)."""
    doc = access_document(session, actor, doc_id)
    _check_may_edit(session, actor, doc, _case(session, doc))
    return output.import_docx(data)


# Lists and detail -----------------------------------------------------------------------------------


def list_documents(
    session: Session, actor: Actor, *, box: str, q: str = "", offset: int = 0, limit: int = 50
) -> dict[str, Any]:
    """待办 / 已办 / 我起草的 / 全部 (what the actor may read)."""
    policy.require(actor, "document.use")
    stmt = select(OutgoingDocument)
    if box == "todo":
        stmt = stmt.where(
            col(OutgoingDocument.case_id).in_(worklist.pending_case_ids(session, actor.user_id, kind=KIND))
        )
    elif box == "done":
        stmt = stmt.where(col(OutgoingDocument.case_id).in_(worklist.done_case_ids(session, actor.user_id, kind=KIND)))
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
                "status_label": STATUS_LABELS[d.status],
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
    doc = access_document(session, actor, doc_id)
    case = _case(session, doc)
    task = tasks.my_task(session, case, actor)
    step = case.route[task.step_index] if task is not None else None
    names = {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_([doc.drafter_id]))).all()}
    dept = session.get(Department, doc.drafting_dept_id) if doc.drafting_dept_id else None
    return {
        **document_public(doc),
        "drafter": names.get(doc.drafter_id, ""),
        "drafting_dept": dept.name if dept else "",
        "allowed_actions": allowed_actions(session, actor, doc, case),
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
        _check_may_edit(session, actor, doc, case)
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
        "status_label": STATUS_LABELS[doc.status],
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
        .order_by(Department.sort_order, Department.id)
    ).all()
    return {
        "doc_types": [d.value for d in DocType],
        "secrecy": ["", Secrecy.internal.value],
        "refused_secrecy": list(CLASSIFIED_LEVELS),
        "urgency": [u.value for u in Urgency],
        "number_codes": numbering.agency_codes(session, actor.agency_id or 0),
        "departments": [{"id": d.id, "name": d.name} for d in depts],
        "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
    }
