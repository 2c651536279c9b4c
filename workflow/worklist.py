"""Who a case concerns, across cases: 待办 and 已办 per person, the reading condition "on the route"
that every visibility rule uses, and the people told about a case's changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from workflow.delegation import deputies_for, standing_in
from workflow.models import CaseState, TaskState, WfCase, WfTask


def participants(session: Session, case: WfCase) -> set[int]:
    """Everyone who is or was on this case's route (initiator, assignees), and deputies who acted for an
    assignee while that 委托 still runs: a former deputy is no longer told about the case."""
    ids = {case.initiator_id}
    acted_for: set[tuple[int, int]] = set()
    for assignee, acted_by in session.exec(
        select(WfTask.assignee_id, WfTask.acted_by_id).where(WfTask.case_id == case.id)
    ).all():
        ids.add(assignee)
        if acted_by and acted_by != assignee:
            acted_for.add((assignee, acted_by))
    running = deputies_for(session, {a for a, _ in acted_for})
    return ids | {d for a, d in acted_for if d in running.get(a, [])}


def on_route_cond(case_id: Any, user_id: int) -> Any:
    """The condition that ``user_id`` is on the route of the case ``case_id`` (a column) names, beyond
    having started it: a task was assigned to them (by the route, 转办 or 加签), or a 委托 to them runs
    now and the case, of their agency, has a pending task of the principal's or one they acted on for
    the principal. When the delegation ends (revoked or expired), so does the access it gave.
    Every reading rule (documents, 收文, search, archive) uses this one."""
    own = select(WfTask.case_id).where(WfTask.assignee_id == user_id)
    deputy = (
        select(WfTask.case_id)
        .join(WfCase, col(WfCase.id) == WfTask.case_id)
        .where(standing_in(user_id), or_(col(WfTask.state) == TaskState.pending, col(WfTask.acted_by_id) == user_id))
    )
    return or_(col(case_id).in_(own), col(case_id).in_(deputy))


def on_route(session: Session, case: WfCase, user_id: int) -> bool:
    """``on_route_cond`` for one case, or the initiator."""
    if user_id == case.initiator_id:
        return True
    return (
        session.exec(select(WfCase.id).where(WfCase.id == case.id, on_route_cond(WfCase.id, user_id))).first()
        is not None
    )


def pending_case_ids(session: Session, user_id: int, *, kind: str) -> list[int]:
    """待办: cases with a pending task for the user or for someone who delegated to them."""
    return list(
        session.exec(
            select(WfTask.case_id)
            .join(WfCase, col(WfCase.id) == WfTask.case_id)
            .where(
                or_(col(WfTask.assignee_id) == user_id, standing_in(user_id)),
                WfTask.state == TaskState.pending,
                WfCase.kind == kind,
                WfCase.state == CaseState.running,
            )
            .distinct()
        ).all()
    )


def done_case_ids(session: Session, user_id: int, *, kind: str) -> list[int]:
    """已办: cases where the user acted on their own task, or as a deputy while that 委托 runs."""
    as_deputy = and_(col(WfTask.acted_by_id) == user_id, standing_in(user_id))
    return list(
        session.exec(
            select(WfTask.case_id)
            .join(WfCase, col(WfCase.id) == WfTask.case_id)
            .where(
                or_(col(WfTask.assignee_id) == user_id, as_deputy),
                col(WfTask.state).in_([TaskState.approved, TaskState.returned, TaskState.transferred]),
                WfCase.kind == kind,
            )
            .distinct()
        ).all()
    )
