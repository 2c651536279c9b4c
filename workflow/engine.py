"""A generic route engine: cases move along their steps. No HTTP, no documents.

A *case* (``WfCase``) runs along a snapshot of ordered steps (their shape: ``workflow.steps``).
When a step starts, its actors are resolved against the directory and each gets a pending task.
An "any" step completes when one of them approves (the others' tasks are cancelled); an "all" step
(parallel 会签) when every one has. People added by 加签 must always approve. A step whose
``context_departments`` list is empty is skipped. The initiator never reviews their own draft: at a
``drafter_head`` step (or one the kind's ``reviews_draft`` names) they are left out, and the step is
skipped if that leaves nobody.

加签 (``add_signer``) adds people beside the actor at the current step, or a step of them before or after
it (before: the step waits, its pending tasks given back once they have approved). 催办 (``urge``)
reminds the current step's people; it moves nothing.

Every transition checks who and which state (``workflow.tasks``: whose task the actor takes up, a
principal's under 委托 included, ``workflow.delegation``), bumps the case's ``version`` (optimistic
lock, ``workflow.versioning``: a caller quoting a stale version gets ``Conflict`` and nothing
changes), appends to the route history and the audit log, and publishes events through the case
kind's ``KindSpec`` (``workflow.case_kinds``) so the next actors are notified. Subject-specific rules (what a 签发 step
means for a document) live with the subject's service, which inspects the returned ``Transition``.

The modules around it: ``steps`` (route shape, who a step names), ``case_kinds`` (kinds, transitions,
notifications), ``tasks`` (who may act now), ``delegation`` (委托), ``worklist`` (待办/已办, who may
read a case), ``route_view`` (the route as people see it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from workflow import versioning
from workflow.case_kinds import Transition, initiator_label, kind_spec, notify_urge
from workflow.models import CaseState, TaskState, WfCase, WfHistory, WfTask
from workflow.moves import (
    STALE,
    active_colleague,
    cancel_pending,
    close_task,
    enter,
    finish_transition,
    history,
    mark_new,
)
from workflow.steps import current_step_of, index_of, next_index, validate_route
from workflow.tasks import (
    acted_since_submit,
    acting_task,
    current_assignees,
    may_add_signer,
    pending_assignees,
    return_targets,
    step_tasks,
)

__all__ = ["STALE"]  # callers quote engine.STALE for the Conflict message
URGE_INTERVAL = timedelta(minutes=10)  # 催办: at most once per case in this time
MAX_ADDED = 20  # people added by one 加签

# Case lifecycle ------------------------------------------------------------------------------------


def create_case(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    subject_id: int,
    agency_id: int | None,
    route: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
) -> WfCase:
    """A draft case holding a validated snapshot of ``route``."""
    kind_spec(kind)  # raises for a kind no service registered
    case = WfCase(
        kind=kind,
        subject_id=subject_id,
        agency_id=agency_id,
        initiator_id=actor.user_id,
        initiator_dept_id=actor.department_id,
        route=validate_route(route),
        context=dict(context or {}),
    )
    session.add(case)
    session.flush()
    mark_new(session, case)
    history(session, case, actor, "create", None)
    return case


def get_case(session: Session, case_id: int) -> WfCase:
    case = session.get(WfCase, case_id)
    if case is None:
        raise NotFound()
    return case


def submit(
    session: Session, actor: Actor, case: WfCase, *, opinion: str = "", expected_version: int | None = None
) -> Transition:
    """送审: the initiator starts (or restarts, after withdrawal or a return to the drafter) the route."""
    versioning.check_version(case, expected_version, STALE)
    if case.state not in (CaseState.draft, CaseState.withdrawn):
        raise InvalidTransition("只有草稿或已撤回的文件才能送审", code="not_draft")
    if actor.user_id != case.initiator_id:
        raise PermissionDenied(f"只有{initiator_label(case)}可以送审", code="not_initiator")
    t = Transition(case=case, action="submit", actor=actor)
    case.state = CaseState.running
    case.round += 1
    case.submitted_at = utcnow()
    history(session, case, actor, "submit", None, opinion=opinion)
    enter(session, case, 0, t)
    return finish_transition(session, t, opinion)


def approve(
    session: Session,
    actor: Actor,
    case: WfCase,
    *,
    opinion: str = "",
    detail: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Transition:
    """同意/办理: complete the actor's task; when the step is complete, move to the next one."""
    versioning.check_version(case, expected_version, STALE)
    task, behalf = acting_task(session, case, actor)
    step = case.route[task.step_index]
    t = Transition(case=case, action="approve", actor=actor, on_behalf_of=behalf, step=step, task=task)
    close_task(task, actor, TaskState.approved, opinion, detail)
    if step["mode"] == "any" and not task.is_added:
        for other in step_tasks(session, case, pending=True):
            if other.id != task.id and not other.is_added:
                close_task(other, None, TaskState.cancelled, "", None)
                t.removed_assignees.append(other.assignee_id)
    session.flush()
    history(session, case, actor, "approve", task.step_index, opinion=opinion, behalf=behalf, detail=detail)
    if not step_tasks(session, case, pending=True):
        t.completed_step = step
        enter(session, case, next_index(case, task.step_index), t)
    return finish_transition(session, t, opinion)


def return_to(
    session: Session, actor: Actor, case: WfCase, *, target: str, reason: str, expected_version: int | None = None
) -> Transition:
    """退回: send the case back to an earlier step (by key), or to the drafter (``target="draft"``)."""
    versioning.check_version(case, expected_version, STALE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("退回必须说明理由", code="reason_required")
    task, behalf = acting_task(session, case, actor)
    targets = return_targets(session, case)
    if target not in {k for k, _ in targets}:
        raise ValidationError(f"只能退回到已经办理过的前面步骤或{initiator_label(case)}", code="bad_return_target")
    t = Transition(
        case=case, action="return", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    close_task(task, actor, TaskState.returned, reason, None)
    t.removed_assignees += cancel_pending(session, case)
    history(session, case, actor, "return", task.step_index, opinion=reason, behalf=behalf, detail={"target": target})
    case.round += 1
    if target == "draft":
        case.state = CaseState.draft
        case.current_step = None
        t.entered_step = None
        t.new_assignees = [case.initiator_id]
    else:
        enter(session, case, index_of(case, target), t)
    return finish_transition(session, t, reason)


def withdraw(
    session: Session, actor: Actor, case: WfCase, *, reason: str = "", expected_version: int | None = None
) -> Transition:
    """撤回: the initiator takes the case back, allowed only until someone on the route has acted."""
    versioning.check_version(case, expected_version, STALE)
    if case.state != CaseState.running:
        raise InvalidTransition("只有流转中的文件才能撤回", code="not_running")
    if actor.user_id != case.initiator_id:
        raise PermissionDenied(f"只有{initiator_label(case)}可以撤回", code="not_initiator")
    if acted_since_submit(session, case):
        raise InvalidTransition("下一办理人已经办理，不能撤回", code="already_acted")
    t = Transition(case=case, action="withdraw", actor=actor, step=current_step_of(case))
    t.removed_assignees = cancel_pending(session, case)
    case.state = CaseState.withdrawn
    history(session, case, actor, "withdraw", case.current_step, opinion=reason)
    case.current_step = None
    return finish_transition(session, t, reason)


def transfer(
    session: Session,
    actor: Actor,
    case: WfCase,
    *,
    to_user_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> Transition:
    """转办: hand one's task at the current step to another person of the same agency."""
    versioning.check_version(case, expected_version, STALE)
    task, behalf = acting_task(session, case, actor)
    target = active_colleague(session, case, case.route[task.step_index], to_user_id)
    if target in pending_assignees(session, case):
        raise ValidationError("对方已在本步骤的办理人中", code="already_assigned")
    t = Transition(
        case=case, action="transfer", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    close_task(task, actor, TaskState.transferred, reason, {"to_user_id": target})
    session.add(
        WfTask(
            case_id=case.id or 0,
            step_index=task.step_index,
            step_key=task.step_key,
            round=case.round,
            assignee_id=target,
            is_added=task.is_added,
            transferred_from_id=task.assignee_id,
            due_at=task.due_at,
        )
    )
    t.new_assignees, t.removed_assignees = [target], [task.assignee_id]
    history(
        session, case, actor, "transfer", task.step_index, opinion=reason, behalf=behalf, detail={"to_user_id": target}
    )
    return finish_transition(session, t, reason)


def add_signer(
    session: Session,
    actor: Actor,
    case: WfCase,
    *,
    user_id: int | None = None,
    user_ids: list[int] | None = None,
    position: str = "with",
    reason: str = "",
    expected_version: int | None = None,
) -> Transition:
    """加签: a leader acting at the current step (or anyone, where the step allows it) adds people.
    ``position`` "with": they must also approve before this step completes; "after": a new step with
    them follows this one; "before": a new step with them comes first and this step waits, its pending
    tasks (the actor's among them) given back once they have approved."""
    versioning.check_version(case, expected_version, STALE)
    if position not in ("with", "before", "after"):
        raise ValidationError(
            "加签位置只能是 with（同时审批）、before（在我之前）或 after（在我之后）", code="bad_position"
        )
    ids = _signer_ids(user_id, user_ids)
    task, behalf = acting_task(session, case, actor)
    step = case.route[task.step_index]
    if not may_add_signer(step, actor):
        raise PermissionDenied("只有机关领导可以加签", code="add_signer_denied")
    if task.assignee_id in ids or actor.user_id in ids:
        raise ValidationError("不能给自己加签", code="self_signer")
    t = Transition(case=case, action="add_signer", actor=actor, on_behalf_of=behalf, step=step)
    if position == "with":
        targets = [active_colleague(session, case, step, u) for u in ids]
        if set(targets) & pending_assignees(session, case):
            raise ValidationError("对方已在本步骤的办理人中", code="already_assigned")
        for target in targets:
            session.add(
                WfTask(
                    case_id=case.id or 0,
                    step_index=task.step_index,
                    step_key=task.step_key,
                    round=case.round,
                    assignee_id=target,
                    is_added=True,
                    added_by_id=actor.user_id,
                    due_at=task.due_at,
                )
            )
        t.new_assignees = targets
    else:
        added = _added_step(case, actor, step, ids)
        targets = [active_colleague(session, case, added, u) for u in ids]
        if position == "after":
            _insert_after(case, task.step_index, added)
        else:
            _insert_before(session, case, task.step_index, added, t)
    detail = {"user_id": targets[0], "user_ids": targets, "position": position}
    history(session, case, actor, "add_signer", task.step_index, opinion=reason, behalf=behalf, detail=detail)
    return finish_transition(session, t, reason)


def _signer_ids(user_id: int | None, user_ids: list[int] | None) -> list[int]:
    raw = list(user_ids or []) + ([user_id] if user_id is not None else [])
    if not raw or not all(isinstance(u, int) and not isinstance(u, bool) for u in raw):
        raise ValidationError("请选择加签人员", code="bad_user")
    ids = sorted(set(raw))
    if len(ids) > MAX_ADDED:
        raise ValidationError(f"一次最多加签 {MAX_ADDED} 人", code="too_many_signers")
    return ids


def _added_step(case: WfCase, actor: Actor, step: dict[str, Any], ids: list[int]) -> dict[str, Any]:
    """The step 加签 before or after ``step`` inserts: everyone added must approve."""
    taken = {s["key"] for s in case.route}
    key = next(f"add{n}" for n in range(1, len(taken) + 2) if f"add{n}" not in taken)
    return {
        "key": key,
        "name": f"{actor.name[:40]}加签",
        "mode": "all",
        "actor": {"kind": "user", "user_ids": ids},
        "deadline_hours": step.get("deadline_hours"),
        "allow_add_signer": step.get("allow_add_signer", False),
        "added_by": actor.user_id,
        # a subject that keys things on the step (办事: which fields a step sees) treats it as the step's
        "origin": step.get("origin", step["key"]),
    }


def _insert_after(case: WfCase, index: int, added: dict[str, Any]) -> None:
    route = [dict(s) for s in case.route]
    jump = route[index].pop("next", None)  # the added step goes where this one went
    if jump:
        added["next"] = jump
    route.insert(index + 1, added)
    case.route = validate_route(route)


def _insert_before(session: Session, case: WfCase, index: int, added: dict[str, Any], t: Transition) -> None:
    """The added step takes ``index``; the step there moves one on with the tasks it had pending kept
    (``resume``) to be given back when it is entered again in this round (``moves.enter``)."""
    paused = []
    for other in step_tasks(session, case, pending=True):
        paused.append(
            {
                "assignee_id": other.assignee_id,
                "is_added": other.is_added,
                "added_by_id": other.added_by_id,
                "transferred_from_id": other.transferred_from_id,
            }
        )
        close_task(other, None, TaskState.cancelled, "", {"paused_by_add_signer": added["key"]})
        t.removed_assignees.append(other.assignee_id)
    for row in session.exec(select(WfTask).where(WfTask.case_id == case.id, WfTask.step_index >= index)).all():
        row.step_index += 1
        session.add(row)
    for h in session.exec(select(WfHistory).where(WfHistory.case_id == case.id, col(WfHistory.step_index) >= index)):
        h.step_index = (h.step_index or 0) + 1
        session.add(h)
    route = [dict(s) for s in case.route]
    route[index] = {**route[index], "resume": paused, "resume_round": case.round}
    route.insert(index, added)
    case.route = validate_route(route)
    session.flush()
    enter(session, case, index, t)


def terminate(
    session: Session, actor: Actor, case: WfCase, *, reason: str, expected_version: int | None = None
) -> Transition:
    """终止: the current actor ends a running case early (收文 refused at 初审, 办事 拒绝); pending tasks
    are cancelled and the case is finished with a ``terminate`` history entry."""
    versioning.check_version(case, expected_version, STALE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("终止必须说明理由", code="reason_required")
    task, behalf = acting_task(session, case, actor)
    t = Transition(
        case=case, action="terminate", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    close_task(task, actor, TaskState.returned, reason, None)
    t.removed_assignees = cancel_pending(session, case)
    history(session, case, actor, "terminate", task.step_index, opinion=reason, behalf=behalf)
    case.state = CaseState.finished
    case.current_step = None
    case.finished_at = utcnow()
    return finish_transition(session, t, reason)


def urge(session: Session, actor: Actor, case: WfCase, *, message: str = "") -> Transition:
    """催办: the initiator reminds the current step's people (and their deputies under 委托), at most
    once per case in ``URGE_INTERVAL``. The route does not move, so the version stays."""
    if case.state != CaseState.running or case.current_step is None:
        raise InvalidTransition("只有审批中的事项才能催办", code="not_running")
    if actor.user_id != case.initiator_id:
        raise PermissionDenied("只有发起人可以催办", code="not_initiator")
    last = session.exec(
        select(WfHistory.at)
        .where(WfHistory.case_id == case.id, WfHistory.action == "urge")
        .order_by(col(WfHistory.id).desc())
        .limit(1)
    ).first()
    if last is not None and utcnow() - last < URGE_INTERVAL:
        raise ValidationError("10 分钟内只能催办一次，请稍后再试", code="urged_recently")
    message = (message or "").strip()[:200]
    t = Transition(case=case, action="urge", actor=actor, step=current_step_of(case))
    t.notified = current_assignees(session, case)
    history(session, case, actor, "urge", case.current_step, opinion=message, detail={"user_ids": t.notified})
    audit.record(
        session,
        actor,
        "workflow.urge",
        target_type=case.kind,
        target_id=case.subject_id,
        detail={"case_id": case.id, "step": t.step["key"] if t.step else None, "user_ids": t.notified},
    )
    notify_urge(session, t, message)
    return t
