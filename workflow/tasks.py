"""Who may act on a case now: the pending tasks of the current step, whose task an actor takes up
(their own, or a principal's under a running 委托), and the actions the UI offers them. Reads only;
the engine (``workflow.engine``) changes the tasks."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from office.actor import Actor
from office.errors import InvalidTransition, PermissionDenied
from office.models import Role
from workflow.case_kinds import initiator_label, own_review, own_work
from workflow.delegation import deputy_problem, principals_of, step_roles
from workflow.models import CaseState, TaskState, WfCase, WfTask


def allowed_actions(session: Session, case: WfCase, actor: Actor) -> list[str]:
    """The engine actions ``actor`` may take now (the UI shows exactly these buttons)."""
    out: list[str] = []
    if case.state in (CaseState.draft, CaseState.withdrawn) and actor.user_id == case.initiator_id:
        out.append("submit")
    if case.state != CaseState.running:
        return out
    if actor.user_id == case.initiator_id and not acted_since_submit(session, case):
        out.append("withdraw")
    try:
        task, _ = acting_task(session, case, actor)
    except (InvalidTransition, PermissionDenied):
        return out
    out += ["approve", "return", "transfer"]
    if may_add_signer(case.route[task.step_index], actor):
        out.append("add_signer")
    return out


def my_task(session: Session, case: WfCase, actor: Actor) -> WfTask | None:
    """The pending task ``actor`` may act on now (their own, or a principal's while deputising)."""
    try:
        return acting_task(session, case, actor)[0]
    except (InvalidTransition, PermissionDenied):
        return None


def return_targets(session: Session, case: WfCase) -> list[tuple[str, str]]:
    """(key, name) of places the current step may return to: the drafter and earlier steps that ran."""
    if case.current_step is None:
        return []
    ran = set(
        session.exec(
            select(WfTask.step_index).where(
                WfTask.case_id == case.id,
                WfTask.step_index < case.current_step,
                col(WfTask.state).in_([TaskState.approved, TaskState.returned]),
            )
        ).all()
    )
    return [("draft", initiator_label(case))] + [(case.route[i]["key"], case.route[i]["name"]) for i in sorted(ran)]


def current_assignees(session: Session, case: WfCase) -> list[int]:
    return sorted(pending_assignees(session, case))


def may_add_signer(step: dict[str, Any], actor: Actor) -> bool:
    """加签 is for a leader acting at the step, or anyone where the step allows it."""
    return bool(step.get("allow_add_signer")) or actor.has(Role.leader)


def step_tasks(session: Session, case: WfCase, *, pending: bool) -> list[WfTask]:
    stmt = select(WfTask).where(
        WfTask.case_id == case.id, WfTask.step_index == case.current_step, WfTask.round == case.round
    )
    if pending:
        stmt = stmt.where(WfTask.state == TaskState.pending)
    return list(session.exec(stmt).all())


def pending_assignees(session: Session, case: WfCase) -> set[int]:
    return {t.assignee_id for t in step_tasks(session, case, pending=True)}


def acting_task(session: Session, case: WfCase, actor: Actor) -> tuple[WfTask, int | None]:
    """The actor's own pending task at the current step, else one of a principal who delegated to them.
    Nobody acts on a review of their own draft, whoever's task it is."""
    if case.state != CaseState.running or case.current_step is None:
        raise InvalidTransition(_state_message(case), code=f"case_{case.state.value}")
    task, behalf = _find_task(session, case, actor, step_tasks(session, case, pending=True))
    if own_review(case, case.route[task.step_index], actor.user_id):
        raise PermissionDenied(f"{initiator_label(case)}不能审核{own_work(case)}", code="own_draft")
    return task, behalf


def _find_task(session: Session, case: WfCase, actor: Actor, pending: list[WfTask]) -> tuple[WfTask, int | None]:
    for task in pending:
        if task.assignee_id == actor.user_id:
            return task, None
    principals = set(principals_of(session, actor.user_id))
    problem = None
    for task in pending:
        if task.assignee_id in principals:
            # Asked again at each action, not only when the 委托 was set: a delegation stored before the
            # rule, or a deputy who has since left the agency or lost the role, must not act.
            problem = deputy_problem(
                session, actor.user_id, agency_id=case.agency_id, roles=step_roles(case.route[task.step_index])
            )
            if problem is None:
                return task, task.assignee_id
    if problem is not None:
        raise PermissionDenied(problem[1], code="deputy_not_allowed")
    raise PermissionDenied("您不是当前步骤的办理人", code="not_current_actor")


def _state_message(case: WfCase) -> str:
    return {CaseState.draft: "文件尚未送审", CaseState.withdrawn: "文件已撤回", CaseState.finished: "文件已办结"}.get(
        case.state, "当前状态下不能执行此操作"
    )


def acted_since_submit(session: Session, case: WfCase) -> bool:
    return (
        session.exec(
            select(WfTask.id).where(
                WfTask.case_id == case.id,
                WfTask.round == case.round,
                col(WfTask.state).in_([TaskState.approved, TaskState.returned, TaskState.transferred]),
            )
        ).first()
        is not None
    )
