"""The engine's building blocks: entering a step, closing and cancelling tasks, the route history, and
the end of every transition (version bump, audit, events). ``workflow.engine`` composes them into the
actions people take; nothing outside the engine calls these.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import ValidationError
from office.models import User
from workflow import versioning
from workflow.case_kinds import Transition, initiator_label, notify_transition, own_review, own_work, reviews_draft
from workflow.models import CaseState, TaskState, WfCase, WfHistory, WfTask
from workflow.steps import agencies_of, next_index, resolve_actors

STALE = "文件已被他人处理，请刷新后重试"  # the Conflict a caller quoting a stale version gets
_NEW_CASES = "workflow.new_cases"  # ``session.info``: (the transaction, ids of the cases it inserted)


def mark_new(session: Session, case: WfCase) -> None:
    """``case`` was inserted by the session's current transaction (``engine.create_case``)."""
    root = session.get_transaction()
    held: tuple[Any, set[int | None]] | None = session.info.get(_NEW_CASES)
    if held is None or held[0] is not root:
        held = session.info[_NEW_CASES] = (root, set())
    held[1].add(case.id)


def is_new(session: Session, case: WfCase) -> bool:
    """Inserted by this very transaction, so nobody else can have read its version. (The id of one rolled
    back to a savepoint can only be taken again by another insert of the same transaction.)"""
    held = session.info.get(_NEW_CASES)
    return held is not None and held[0] is session.get_transaction() and case.id in held[1]


def enter(session: Session, case: WfCase, index: int, t: Transition) -> None:
    """Make ``index`` the current step (skipping steps with nobody to act); past the end, finish.

    A step paused by 加签 before it (``resume`` in the step: the tasks it had pending) gets those tasks
    back rather than its actors resolved anew, so whoever had already approved there is not asked again."""
    while index < len(case.route):
        step = case.route[index]
        if step.get("resume"):
            if step.get("resume_round") == case.round:
                _resume(session, case, index, t)
                return
            _drop_resume(case, index)  # paused in an earlier round (the case was returned since): ask anew
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
        history(session, case, None, "skip", index, detail={"reason": reason})
        index = next_index(case, index)
    else:
        case.state = CaseState.finished
        case.current_step = None
        case.finished_at = utcnow()
        t.finished = True
        t.entered_step = None
        history(session, case, None, "finish", None)
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


def _drop_resume(case: WfCase, index: int) -> list[dict[str, Any]]:
    route = [dict(s) for s in case.route]
    paused: list[dict[str, Any]] = route[index].pop("resume", [])
    route[index].pop("resume_round", None)
    case.route = route  # a new list: the JSON column sees the change
    return paused


def _resume(session: Session, case: WfCase, index: int, t: Transition) -> None:
    paused = _drop_resume(case, index)
    step = case.route[index]
    case.current_step = index
    due = utcnow() + timedelta(hours=step["deadline_hours"]) if step.get("deadline_hours") else None
    for p in paused:
        session.add(
            WfTask(
                case_id=case.id or 0,
                step_index=index,
                step_key=step["key"],
                round=case.round,
                assignee_id=p["assignee_id"],
                is_added=p["is_added"],
                added_by_id=p["added_by_id"],
                transferred_from_id=p["transferred_from_id"],
                due_at=due,
            )
        )
    t.entered_step = step
    t.new_assignees = sorted(set(t.new_assignees) | {p["assignee_id"] for p in paused})


def close_task(
    task: WfTask, actor: Actor | None, state: TaskState, opinion: str, detail: dict[str, Any] | None
) -> None:
    task.state = state
    task.opinion = opinion
    task.acted_at = utcnow()
    if actor is not None:
        task.acted_by_id = actor.user_id
    if detail:
        task.detail = dict(detail)


def cancel_pending(session: Session, case: WfCase) -> list[int]:
    removed = []
    for t in session.exec(select(WfTask).where(WfTask.case_id == case.id, WfTask.state == TaskState.pending)).all():
        close_task(t, None, TaskState.cancelled, "", None)
        session.add(t)
        removed.append(t.assignee_id)
    return removed


def active_colleague(session: Session, case: WfCase, step: dict[str, Any], user_id: int) -> int:
    """Someone a task at ``step`` may be handed to (转办, 加签): active, of the case's agency, and not the
    drafter at a step that reviews the draft."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationError("指定的人员不存在或已停用", code="bad_user")
    if case.agency_id is not None and case.agency_id not in agencies_of(session, user_id):
        raise ValidationError("只能转给本机关的人员", code="other_agency")
    if own_review(case, step, user_id):
        raise ValidationError(f"不能交给{initiator_label(case)}审核{own_work(case)}", code="own_draft")
    return user_id


def history(
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


def finish_transition(session: Session, t: Transition, opinion: str) -> Transition:
    case = t.case
    case.updated_at = utcnow()
    session.add(case)
    if is_new(session, case):
        # Made by this transaction (a case created and submitted at once): its version moves on in the
        # same UPDATE as the rest, one statement less than the compare-and-set.
        case.version += 1
        session.flush()
    else:
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
