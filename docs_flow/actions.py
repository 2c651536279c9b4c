"""Route actions on an outgoing document (送审, 办理, 退回, 撤回, 转办, 加签) and what each step means for it.

The generic engine moves the case; this module adds the meaning of a step's ``tag``: 签发 records the
exact body hash the leader approved and locks the body, 编号 needs a 发文字号 (given here, through the
group-commit allocator or from a reserved number), 用印 applies the seal, 核发/分发 delivers the document
(``docs_flow.distribution``), and finishing the route archives it (``docs_flow.archive``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from docs_flow import archive, distribution, joint_seal, numbering, output, service, signoff
from docs_flow.models import (
    MINUTES_SERIES,
    ORDER_SERIES,
    ORDER_SERIES_YEAR,
    DocStatus,
    DocumentComment,
    OutgoingDocument,
)
from office import events
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, PermissionDenied, ValidationError
from typeset.layout import DocType
from workflow import case_kinds, engine, tasks
from workflow.models import CaseState, WfCase


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
    """Validate and perform one route action on a document (see ``workflow.engine`` for the rules)."""
    doc = service.access_document(session, actor, doc_id)
    service.check_version(doc, version)
    case = service.case_of(session, doc)
    opinion = _with_quote(session, doc, opinion.strip(), quote_comment_id)
    if action == "submit":
        _check_submittable(doc)
        t = engine.submit(session, actor, case, opinion=opinion)
    elif action == "approve":
        approved = _approve(session, actor, doc, case, opinion, pin)
        if approved is None:  # 联合行文: the lead sealed; the step waits for the co-issuers' seals (joint_seal)
            service.bump(session, doc)
            service.publish_update(session, doc, case, "sealed")
            joint_seal.announce(session, doc)
            return doc
        t = approved
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
    service.bump(session, doc)
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
) -> case_kinds.Transition | None:
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
        signoff.check_unchanged(session, doc)  # the leader signed the text and attachments: seal only those
        if doc.joint_issuers and doc.seal_record:  # 联合行文: the lead sealed; done when every co-issuer has
            waiting = joint_seal.pending(doc)
            if waiting:
                names = "、".join(str(j["name"]) for j in waiting)
                raise InvalidTransition(f"联合发文机关尚未全部用印：待{names}用印", code="joint_seals_pending")
        else:
            doc.seal_record = output.seal_document(session, actor, doc, pin)
            if doc.joint_issuers:
                return None  # the step stays at 用印 for the co-issuers' seals, in issuing order
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
        doc.written_date = datetime.now(service.CHINA).date()
        doc.status = DocStatus.signed
    elif done_tag == "seal":
        doc.status = DocStatus.sealed
    elif done_tag == "distribute":
        doc.issued_date = doc.issued_date or datetime.now(service.CHINA).date()  # settled at 用印 where sealed
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
    index = case.current_step if case.state == CaseState.running and case.current_step is not None else -1
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
    doc = service.access_document(session, actor, doc_id)
    service.check_version(doc, version)
    case = service.case_of(session, doc)
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
    service.bump(session, doc)
    service.publish_update(session, doc, case, "numbered")
    return doc
