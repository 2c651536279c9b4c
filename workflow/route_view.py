"""The route as people see it: each step with its state and tasks, and the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from office.db import utcnow
from office.models import User
from office.timefmt import iso
from workflow.models import CaseState, TaskState, WfCase, WfHistory, WfTask


def route_picture(session: Session, case: WfCase) -> dict[str, Any]:
    """The route as people see it: each step with its state, who acted, when, what they wrote, and deadlines."""
    tasks = list(session.exec(select(WfTask).where(WfTask.case_id == case.id).order_by(col(WfTask.id))).all())
    history = list(
        session.exec(select(WfHistory).where(WfHistory.case_id == case.id).order_by(col(WfHistory.id))).all()
    )
    names = _names(
        session,
        {t.assignee_id for t in tasks}
        | {t.acted_by_id for t in tasks if t.acted_by_id}
        | {h.actor_id for h in history}
        | {h.on_behalf_of_id for h in history if h.on_behalf_of_id}
        | {u for s in case.route for u in _planned_ids(s)},
    )
    now = utcnow()
    latest: dict[int, int] = {}
    for t in tasks:
        latest[t.step_index] = max(latest.get(t.step_index, -1), t.round)
    steps = []
    for i, s in enumerate(case.route):
        state = _step_state(case, i, latest)
        shown = [t for t in tasks if t.step_index == i and t.round == latest.get(i) and state != "upcoming"]
        steps.append(
            {
                "index": i,
                "key": s["key"],
                "name": s["name"],
                "tag": s.get("tag", ""),
                "mode": s["mode"],
                "can_edit": s["can_edit"],
                "deadline_hours": s.get("deadline_hours"),
                "state": state,
                "tasks": [_task_view(t, names, now) for t in shown],
                # A step not yet reached has no tasks; when its people are fixed (resolved at submission, as
                # 办事's are) they are named so the route shows who will act, as the preview did.
                "planned": [names[u] for u in _planned_ids(s) if u in names] if state == "upcoming" else [],
            }
        )
    return {
        "state": case.state.value,
        "current_step": case.current_step,
        "version": case.version,
        "steps": steps,
        "history": [_history_view(h, names) for h in history],
    }


def _planned_ids(step: dict[str, Any]) -> list[int]:
    actor = step.get("actor") or {}
    return list(actor.get("user_ids") or []) if actor.get("kind") == "user" else []


def _step_state(case: WfCase, i: int, latest: dict[int, int]) -> str:
    if case.state == CaseState.finished:
        return "done" if i in latest else "skipped"
    if case.current_step is None or case.state != CaseState.running:
        return "upcoming"
    if i == case.current_step:
        return "current"
    if i < case.current_step:
        return "done" if i in latest else "skipped"
    return "upcoming"


def _task_view(t: WfTask, names: dict[int, str], now: datetime) -> dict[str, Any]:
    return {
        "id": t.id,
        "assignee_id": t.assignee_id,
        "assignee": names.get(t.assignee_id, ""),
        "state": t.state.value,
        "opinion": t.opinion,
        "is_added": t.is_added,
        "acted_by": names.get(t.acted_by_id, "") if t.acted_by_id and t.acted_by_id != t.assignee_id else "",
        "acted_at": iso(t.acted_at),
        "due_at": iso(t.due_at),
        "overdue": bool(t.due_at and t.state == TaskState.pending and t.due_at < now),
    }


def _history_view(h: WfHistory, names: dict[int, str]) -> dict[str, Any]:
    return {
        "at": iso(h.at),
        "actor_id": h.actor_id,
        "actor": h.actor_name,
        "action": h.action,
        "on_behalf_of": names.get(h.on_behalf_of_id, "") if h.on_behalf_of_id else "",
        "step_index": h.step_index,
        "step": h.step_name,
        "round": h.round,
        "opinion": h.opinion,
        "detail": h.detail,
    }


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    ids.discard(0)
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(ids))).all() if u.id}
