"""The actions on a running 办事 request through the route engine (``workflow.engine``): 同意, 拒绝,
退回, 转交, 加签, 撤销 and 催办, and 批量同意. The engine checks who may act; ``banshi.transitions``
turns what it did into the request's status, 抄送 and notices."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from banshi import files, notices, transitions
from banshi.models import ApprovalRequest, RequestStatus
from banshi.service import STALE, STATUS_LABELS, access_request, bump, case_of, template_of
from office import audit, policy
from office.actor import Actor
from office.errors import InvalidTransition, OfficeError, PermissionDenied, ValidationError
from workflow import engine, tasks, versioning
from workflow.case_kinds import Transition
from workflow.models import WfCase

ACTIONS = ("approve", "reject", "return", "transfer", "add_signer", "withdraw", "urge")


def act(
    session: Session,
    actor: Actor,
    request_id: int,
    action: str,
    *,
    version: int,
    opinion: str = "",
    target: str | None = None,
    user_id: int | None = None,
    user_ids: list[int] | None = None,
    position: str = "with",
    file_ids: list[int] | None = None,
) -> ApprovalRequest:
    """同意, 拒绝, 退回, 转交, 加签, 撤销 or 催办 on a running request; the engine checks who may."""
    if action not in ACTIONS:
        raise ValidationError("不支持的操作", code="bad_action", field="action")
    req = access_request(session, actor, request_id)
    versioning.check_version(req, version, STALE)
    case = case_of(session, req)
    if case is None or req.status != RequestStatus.running:
        raise InvalidTransition(f"申请{STATUS_LABELS[req.status]}，不能{VERBS[action]}", code="not_running")
    opinion = (opinion or "").strip()
    attached = files.attach(session, actor, req, file_ids or [], opinion=True)
    t, _version = template_of(session, req)
    if action == "urge":
        _urge(session, actor, req, case, opinion)
        return req
    results = _run(session, actor, req, case, action, opinion, target, user_id, user_ids, position, attached)
    for tr in results:
        transitions.apply(session, req, t, tr)
    bump(session, req)
    # The route's people as the engine read them for its own event: not read again.
    notices.changed(session, req, action, results[-1].participants if results else None)
    return req


VERBS = {
    "approve": "同意",
    "reject": "拒绝",
    "return": "退回",
    "transfer": "转交",
    "add_signer": "加签",
    "withdraw": "撤销",
    "urge": "催办",
}


def _run(
    session: Session,
    actor: Actor,
    req: ApprovalRequest,
    case: WfCase,
    action: str,
    opinion: str,
    target: str | None,
    user_id: int | None,
    user_ids: list[int] | None,
    position: str,
    attached: list[int],
) -> list[Transition]:
    detail = {"file_ids": attached} if attached else None
    if action == "approve":
        return [engine.approve(session, actor, case, opinion=opinion, detail=detail)]
    if action == "reject":
        if not opinion:
            raise ValidationError("拒绝必须说明理由", code="reason_required", field="opinion")
        return [engine.terminate(session, actor, case, reason=opinion)]
    if action == "return":
        if not opinion:
            raise ValidationError("退回必须说明理由", code="reason_required", field="opinion")
        return [engine.return_to(session, actor, case, target=target or "draft", reason=opinion)]
    if action == "transfer":
        if user_id is None:
            raise ValidationError("请选择转交给谁", code="user_required", field="user_id")
        return [engine.transfer(session, actor, case, to_user_id=user_id, reason=opinion)]
    if action == "add_signer":
        people = list(dict.fromkeys([*(user_ids or []), *([user_id] if user_id is not None else [])]))
        if not people:
            raise ValidationError("请选择加签人员", code="user_required", field="user_ids")
        if position not in ("with", "before", "after"):
            raise ValidationError("加签方式只能是 with / before / after", code="bad_position", field="position")
        # One transition for everyone added: before or after the actor they make one step together.
        return [engine.add_signer(session, actor, case, user_ids=people, reason=opinion, position=position)]
    # withdraw: only the applicant, only while nobody has acted (the engine checks both again)
    if actor.user_id != req.applicant_id:
        raise PermissionDenied("只有申请人可以撤销申请", code="not_applicant")
    if tasks.acted_since_submit(session, case):
        raise InvalidTransition("已有审批人处理，不能撤销", code="already_acted")
    return [engine.withdraw(session, actor, case, reason=opinion)]


def _urge(session: Session, actor: Actor, req: ApprovalRequest, case: WfCase, message: str = "") -> None:
    if actor.user_id != req.applicant_id:
        raise PermissionDenied("只有申请人可以催办", code="not_applicant")
    engine.urge(session, actor, case, message=message)
    audit.record(session, actor, "banshi.urge", target_type="bs_request", target_id=req.id)


def batch_approve(session: Session, actor: Actor, items: list[tuple[int, int]], *, opinion: str = "") -> dict[str, Any]:
    """同意 several requests at once, each in its own SAVEPOINT: one that fails (not the actor's to
    approve, a stale version, a template that does not allow batch approval) changes nothing and is
    listed with its error; the others are approved."""
    policy.require(actor, "banshi.use")
    done: list[int] = []
    failed: list[dict[str, Any]] = []
    for request_id, version in items:
        pending: list[Any] = session.info.setdefault("pending_events", [])
        mark = len(pending)
        savepoint = session.begin_nested()
        try:
            req = access_request(session, actor, request_id)
            t, v = template_of(session, req)
            if not v.options.get("batch"):
                raise ValidationError("该表单不支持批量审批，请逐件审批", code="not_batchable")
            act(session, actor, request_id, "approve", version=version, opinion=opinion)
            savepoint.commit()
            done.append(request_id)
        except OfficeError as exc:
            savepoint.rollback()
            del pending[mark:]  # the events of a rolled-back item must not go out
            failed.append({"id": request_id, **exc.to_dict()})
    if done:
        audit.record(session, actor, "banshi.batch_approve", target_type="bs_request", detail={"ids": done})
    return {"done": done, "failed": failed}
