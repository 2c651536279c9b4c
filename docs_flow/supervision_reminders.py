"""催办 on a schedule: which reminders and escalations are due, decided as a pure function of the items
and ``now`` (:func:`due_reminders`), and sent through the event hub (:func:`run_reminders`), each stage
recorded so it is never sent twice. The background loop in ``docs_flow.startup`` calls
:func:`remind_all` every minute; the schedule itself is ``supervision.get_schedule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from docs_flow import supervision
from docs_flow.incoming_models import SupervisionItem
from office.actor import SYSTEM
from office.db import Database, utcnow


@dataclass(frozen=True)
class ItemState:
    id: int
    deadline: datetime
    reminders: tuple[str, ...] = ()
    escalation_level: int = 0
    status: str = "open"


@dataclass(frozen=True)
class Reminder:
    item_id: int
    stage: str  # "before:24", "overdue:0", "escalate:1"
    kind: str  # before | overdue | escalate


def due_reminders(items: list[ItemState], now: datetime, schedule: dict[str, Any]) -> list[Reminder]:
    """What to send at ``now``: at most one "before" stage per item (the nearest threshold crossed), one
    "overdue" stage per ``overdue_every_hours`` period, and an escalation per ``escalate_after_hours``."""
    out: list[Reminder] = []
    before = sorted(schedule.get("before_hours", []))
    every = timedelta(hours=max(int(schedule.get("overdue_every_hours", 24)), 1))
    escalate = int(schedule.get("escalate_after_hours", 0))
    for it in items:
        if it.status != "open":
            continue
        left = it.deadline - now
        if left > timedelta(0):
            crossed = [h for h in before if left <= timedelta(hours=h)]
            if crossed and f"before:{crossed[0]}" not in it.reminders:
                out.append(Reminder(it.id, f"before:{crossed[0]}", "before"))
            continue
        overdue = now - it.deadline
        stage = f"overdue:{int(overdue / every)}"
        if stage not in it.reminders:
            out.append(Reminder(it.id, stage, "overdue"))
        if escalate and overdue >= timedelta(hours=escalate * (it.escalation_level + 1)):
            out.append(Reminder(it.id, f"escalate:{it.escalation_level + 1}", "escalate"))
    return out


def run_reminders(session: Session, *, now: datetime | None = None) -> list[Reminder]:
    """Send every reminder due at ``now`` and record it on the item (idempotent for the same ``now``)."""
    now = now or utcnow()
    schedule = supervision.get_schedule(session)
    horizon = now + timedelta(hours=max(schedule.get("before_hours") or [0]))
    rows = {
        r.id: r
        for r in session.exec(
            select(SupervisionItem).where(SupervisionItem.status == "open", SupervisionItem.deadline <= horizon)
        ).all()
    }
    states = [ItemState(r.id or 0, r.deadline, tuple(r.reminders), r.escalation_level) for r in rows.values()]
    due = due_reminders(states, now, schedule)
    for rem in due:
        item = rows[rem.item_id]
        if rem.kind == "escalate":
            supervision.escalate(session, SYSTEM, item, reason="逾期未办结，自动升级督办", now=now)
        else:
            supervision.remind(session, SYSTEM, item, message=_auto_message(item, rem, now), now=now)
        item.reminders = [*item.reminders, rem.stage]
        session.add(item)
    return due


def _auto_message(item: SupervisionItem, rem: Reminder, now: datetime) -> str:
    due = item.deadline.astimezone(supervision.CHINA).strftime("%Y-%m-%d %H:%M")
    if rem.kind == "before":
        return f"办理时限 {due}，还剩约 {max(int((item.deadline - now).total_seconds() // 3600), 1)} 小时，请抓紧办理"
    return f"已超过办理时限（{due}），请尽快办结并反馈"


def remind_all(db: Database, *, now: datetime | None = None) -> int:
    """One pass of the background loop, in its own write transaction."""
    with db.write() as s:
        return len(run_reminders(s, now=now))
