"""A generic route engine: cases move along their steps. No HTTP, no documents.

A *case* (``WfCase``) runs along a snapshot of ordered steps (their shape: ``workflow.steps``).
When a step starts, its actors are resolved against the directory and each gets a pending task.
An "any" step completes when one of them approves (the others' tasks are cancelled); an "all" step
(parallel 会签) when every one has. People added by 加签 must always approve. A step whose
``context_departments`` list is empty is skipped. The initiator never reviews their own draft: at a
``drafter_head`` step (or one the kind's ``reviews_draft`` names) they are left out, and the step is
skipped if that leaves nobody.

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

from sqlmodel import Session, select

from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import User
from workflow import versioning
from workflow.case_kinds import Transition, kind_spec, notify_transition, own_review, reviews_draft
from workflow.models import CaseState, TaskState, WfCase, WfHistory, WfTask
from workflow.steps import agencies_of, current_step_of, index_of, next_index, resolve_actors, validate_route
from workflow.tasks import (
    acted_since_submit,
    acting_task,
    may_add_signer,
    pending_assignees,
    return_targets,
    step_tasks,
)

STALE = "文件已被他人处理，请刷新后重试"  # the Conflict a caller quoting a stale version gets

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
    _history(session, case, actor, "create", None)
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
        raise PermissionDenied("只有拟稿人可以送审", code="not_initiator")
    t = Transition(case=case, action="submit", actor=actor)
    case.state = CaseState.running
    case.round += 1
    case.submitted_at = utcnow()
    _history(session, case, actor, "submit", None, opinion=opinion)
    _enter(session, case, 0, t)
    return _finish_transition(session, t, opinion)


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
    _close_task(task, actor, TaskState.approved, opinion, detail)
    if step["mode"] == "any" and not task.is_added:
        for other in step_tasks(session, case, pending=True):
            if other.id != task.id and not other.is_added:
                _close_task(other, None, TaskState.cancelled, "", None)
                t.removed_assignees.append(other.assignee_id)
    session.flush()
    _history(session, case, actor, "approve", task.step_index, opinion=opinion, behalf=behalf, detail=detail)
    if not step_tasks(session, case, pending=True):
        t.completed_step = step
        _enter(session, case, next_index(case, task.step_index), t)
    return _finish_transition(session, t, opinion)


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
        raise ValidationError("只能退回到已经办理过的前面步骤或拟稿人", code="bad_return_target")
    t = Transition(
        case=case, action="return", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    _close_task(task, actor, TaskState.returned, reason, None)
    t.removed_assignees += _cancel_pending(session, case)
    _history(session, case, actor, "return", task.step_index, opinion=reason, behalf=behalf, detail={"target": target})
    case.round += 1
    if target == "draft":
        case.state = CaseState.draft
        case.current_step = None
        t.entered_step = None
        t.new_assignees = [case.initiator_id]
    else:
        _enter(session, case, index_of(case, target), t)
    return _finish_transition(session, t, reason)


def withdraw(
    session: Session, actor: Actor, case: WfCase, *, reason: str = "", expected_version: int | None = None
) -> Transition:
    """撤回: the initiator takes the case back, allowed only until someone on the route has acted."""
    versioning.check_version(case, expected_version, STALE)
    if case.state != CaseState.running:
        raise InvalidTransition("只有流转中的文件才能撤回", code="not_running")
    if actor.user_id != case.initiator_id:
        raise PermissionDenied("只有拟稿人可以撤回", code="not_initiator")
    if acted_since_submit(session, case):
        raise InvalidTransition("下一办理人已经办理，不能撤回", code="already_acted")
    t = Transition(case=case, action="withdraw", actor=actor, step=current_step_of(case))
    t.removed_assignees = _cancel_pending(session, case)
    case.state = CaseState.withdrawn
    _history(session, case, actor, "withdraw", case.current_step, opinion=reason)
    case.current_step = None
    return _finish_transition(session, t, reason)


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
    target = _active_colleague(session, case, case.route[task.step_index], to_user_id)
    if target in pending_assignees(session, case):
        raise ValidationError("对方已在本步骤的办理人中", code="already_assigned")
    t = Transition(
        case=case, action="transfer", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    _close_task(task, actor, TaskState.transferred, reason, {"to_user_id": target})
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
    _history(
        session, case, actor, "transfer", task.step_index, opinion=reason, behalf=behalf, detail={"to_user_id": target}
    )
    return _finish_transition(session, t, reason)


def add_signer(
    session: Session, actor: Actor, case: WfCase, *, user_id: int, reason: str = "", expected_version: int | None = None
) -> Transition:
    """加签: a leader acting at the current step (or anyone, where the step allows it) adds a person
    who must also approve before the step completes."""
    versioning.check_version(case, expected_version, STALE)
    task, behalf = acting_task(session, case, actor)
    step = case.route[task.step_index]
    if not may_add_signer(step, actor):
        raise PermissionDenied("只有机关领导可以加签", code="add_signer_denied")
    target = _active_colleague(session, case, step, user_id)
    if target in pending_assignees(session, case):
        raise ValidationError("对方已在本步骤的办理人中", code="already_assigned")
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
    t = Transition(case=case, action="add_signer", actor=actor, on_behalf_of=behalf, step=step, new_assignees=[target])
    _history(
        session, case, actor, "add_signer", task.step_index, opinion=reason, behalf=behalf, detail={"user_id": target}
    )
    return _finish_transition(session, t, reason)


def terminate(session: Session, actor: Actor, case: WfCase, *, reason: str) -> Transition:
    """终止: the current actor ends a running case early (e.g. 收文 refused at 初审); pending tasks are
    cancelled and the case is finished with a ``terminate`` history entry."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("终止必须说明理由", code="reason_required")
    task, behalf = acting_task(session, case, actor)
    t = Transition(
        case=case, action="terminate", actor=actor, on_behalf_of=behalf, step=case.route[task.step_index], task=task
    )
    _close_task(task, actor, TaskState.returned, reason, None)
    t.removed_assignees = _cancel_pending(session, case)
    _history(session, case, actor, "terminate", task.step_index, opinion=reason, behalf=behalf)
    case.state = CaseState.finished
    case.current_step = None
    case.finished_at = utcnow()
    return _finish_transition(session, t, reason)


# Internals -----------------------------------------------------------------------------------------


def _enter(session: Session, case: WfCase, index: int, t: Transition) -> None:
    """Make ``index`` the current step (skipping steps with nobody to act); past the end, finish."""
    while index < len(case.route):
        step = case.route[index]
        people = resolve_actors(session, case, step)
        reason = "no_departments"
        if reviews_draft(case, step) and case.initiator_id in people:
            # Nobody reviews their own draft (a 处室负责人 drafting is his own 核稿 head). The route's rule
            # then decides who reviews: the step's other holders of the role if it has any (another head
            # of the department), else the step is skipped like one with nobody to act, and the next
            # step on the route (办公室审核, or 签发 by the leader) is the first to review the draft.
            people = [p for p in people if p != case.initiator_id]
            reason = "drafter_is_reviewer"
        if people:
            break
        _history(session, case, None, "skip", index, detail={"reason": reason})
        index = next_index(case, index)
    else:
        case.state = CaseState.finished
        case.current_step = None
        case.finished_at = utcnow()
        t.finished = True
        t.entered_step = None
        _history(session, case, None, "finish", None)
        return
    case.current_step = index
    due = utcnow() + timedelta(hours=step["deadline_hours"]) if step.get("deadline_hours") else None
    for uid in people:
        session.add(
            WfTask(
                case_id=case.id or 0,
                step_index=index,
                step_key=step["key"],
                round=case.round,
                assignee_id=uid,
                due_at=due,
            )
        )
    t.entered_step = step
    t.new_assignees = sorted(set(t.new_assignees) | set(people))


def _close_task(
    task: WfTask, actor: Actor | None, state: TaskState, opinion: str, detail: dict[str, Any] | None
) -> None:
    task.state = state
    task.opinion = opinion
    task.acted_at = utcnow()
    if actor is not None:
        task.acted_by_id = actor.user_id
    if detail:
        task.detail = dict(detail)


def _cancel_pending(session: Session, case: WfCase) -> list[int]:
    removed = []
    for t in session.exec(select(WfTask).where(WfTask.case_id == case.id, WfTask.state == TaskState.pending)).all():
        _close_task(t, None, TaskState.cancelled, "", None)
        session.add(t)
        removed.append(t.assignee_id)
    return removed


def _active_colleague(session: Session, case: WfCase, step: dict[str, Any], user_id: int) -> int:
    """Someone a task at ``step`` may be handed to (转办, 加签): active, of the case's agency, and not the
    drafter at a step that reviews the draft."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationError("指定的人员不存在或已停用", code="bad_user")
    if case.agency_id is not None and case.agency_id not in agencies_of(session, user_id):
        raise ValidationError("只能转给本机关的人员", code="other_agency")
    if own_review(case, step, user_id):
        raise ValidationError("不能交给拟稿人审核自己起草的文稿", code="own_draft")
    return user_id


def _history(
    session: Session,
    case: WfCase,
    actor: Actor | None,
    action: str,
    step_index: int | None,
    *,
    opinion: str = "",
    behalf: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    step = case.route[step_index] if step_index is not None else None
    session.add(
        WfHistory(
            case_id=case.id or 0,
            actor_id=actor.user_id if actor else 0,
            actor_name=actor.name if actor else "系统",
            on_behalf_of_id=behalf,
            action=action,
            step_index=step_index,
            step_name=step["name"] if step else "",
            round=case.round,
            opinion=opinion,
            detail=dict(detail or {}),
        )
    )


def _finish_transition(session: Session, t: Transition, opinion: str) -> Transition:
    case = t.case
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    versioning.bump(session, case, STALE)
    audit.record(
        session,
        t.actor,
        f"workflow.{t.action}",
        target_type=case.kind,
        target_id=case.subject_id,
        detail={
            "case_id": case.id,
            "step": t.step["key"] if t.step else None,
            "entered": t.entered_step["key"] if t.entered_step else None,
            "on_behalf_of": t.on_behalf_of,
            "new_assignees": t.new_assignees,
            "state": case.state.value,
            "opinion": opinion[:200],
        },
    )
    notify_transition(session, t)
    return t
