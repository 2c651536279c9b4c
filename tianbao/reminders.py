"""Reminders and 催报. The collector sends 催报 to chosen units (``urge``); a background loop
(``tianbao.startup``) calls :func:`remind_all` every minute, which sends each unsubmitted unit one
reminder ``remind_hours`` before the deadline and one automatic 催报 a day after it. What is due is a
pure function of the return and ``now`` (:func:`due`); ``reminded_at`` records the last one sent, so
none is sent twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from office import audit, events
from office.actor import SYSTEM, Actor
from office.db import Database, utcnow
from office.errors import ValidationError
from tianbao import tasks
from tianbao.models import CollectTask, TaskStatus, UnitReturn

DAY = timedelta(days=1)
MAX_REMIND_HOURS = 720  # the schema's limit on ``remind_hours``


def due(deadline: datetime, remind_hours: int, reminded_at: datetime | None, now: datetime) -> str | None:
    """``"before"``: the reminder ``remind_hours`` ahead of the deadline, once; ``"overdue"``: an
    automatic 催报 after the deadline, at most one a day; None: nothing now."""
    if now < deadline:
        start = deadline - timedelta(hours=remind_hours)
        if remind_hours > 0 and now >= start and (reminded_at is None or reminded_at < start):
            return "before"
        return None
    if reminded_at is None or reminded_at < deadline or now - reminded_at >= DAY:
        return "overdue"
    return None


def _urge(session: Session, actor: Actor, task: CollectTask, rets: list[UnitReturn], message: str) -> None:
    """Count the 催报, tell the fillers and reviewers (a 工作通知 each), and the board."""
    now = utcnow()
    out: list[tuple[str, dict[str, Any], list[int]]] = []
    due_at = task.deadline.astimezone(tasks.CHINA).strftime("%Y-%m-%d %H:%M")
    body = message or f"截止时间 {due_at}，请尽快填报并报送"
    for ret in rets:
        ret.urged_count += 1
        ret.version += 1
        ret.updated_at = now
        session.add(ret)
        people = [ret.filler_id, ret.reviewer_id]
        out.append(("notify.tianbao", tasks.notice(task, people, f"催报：{task.title}", body, ret.id), people))
    session.flush()
    for ret in rets:
        tasks.return_changed(session, task, ret)
    events.publish_many_on_commit(session, out)


def urge(session: Session, actor: Actor, task_id: int, return_ids: list[int], message: str = "") -> list[int]:
    """催报 by the collector, to chosen units that have not submitted (others are refused)."""
    task = tasks.managed_task(session, actor, task_id)
    if task.status != TaskStatus.issued:
        raise ValidationError("任务未在填报中，不能催报", code="not_issued")
    wanted = sorted(set(return_ids))
    rets = list(
        session.exec(select(UnitReturn).where(UnitReturn.task_id == task.id, col(UnitReturn.id).in_(wanted))).all()
    )
    if len(rets) != len(wanted):
        raise ValidationError("所选单位不在本任务中", code="unknown_return", field="return_ids")
    done = [r for r in rets if r.status not in tasks.OPEN_RETURNS]
    if done:
        raise ValidationError("已报送或已采纳的单位不需要催报", code="already_submitted", field="return_ids")
    _urge(session, actor, task, rets, message.strip())
    audit.record(
        session, actor, "tianbao.urge", target_type="tb_task", target_id=task.id, detail={"return_ids": wanted}
    )
    return wanted


def run_reminders(session: Session, *, now: datetime | None = None) -> list[tuple[int, str]]:
    """Send every reminder due at ``now`` ([(return id, "before" | "overdue")]); idempotent for the same ``now``."""
    now = now or utcnow()
    horizon = now + timedelta(hours=MAX_REMIND_HOURS)
    stmt = (
        select(UnitReturn, CollectTask)
        .join(CollectTask, col(CollectTask.id) == UnitReturn.task_id)
        .where(
            CollectTask.status == TaskStatus.issued,
            col(CollectTask.deadline) <= horizon,
            col(UnitReturn.status).in_(tasks.OPEN_RETURNS),
        )
        .order_by(col(UnitReturn.id))
    )
    sent: list[tuple[int, str]] = []
    batches: dict[tuple[int, str], tuple[CollectTask, list[UnitReturn]]] = {}
    for ret, task in session.exec(stmt).all():
        kind = due(task.deadline, task.remind_hours, ret.reminded_at, now)
        if kind is not None:
            batches.setdefault((task.id or 0, kind), (task, []))[1].append(ret)
    for (_, kind), (task, rets) in batches.items():
        for ret in rets:
            ret.reminded_at = now
        if kind == "overdue":
            _urge(session, SYSTEM, task, rets, "已超过截止时间，请尽快填报并报送")
            action_detail = {"return_ids": [r.id for r in rets], "kind": kind}
            audit.record(
                session, SYSTEM, "tianbao.urge", target_type="tb_task", target_id=task.id, detail=action_detail
            )
        else:
            _remind(session, task, rets, now)
        sent += [(r.id or 0, kind) for r in rets]
    return sent


def _remind(session: Session, task: CollectTask, rets: list[UnitReturn], now: datetime) -> None:
    hours = max(int((task.deadline - now).total_seconds() // 3600), 1)
    out: list[tuple[str, dict[str, Any], list[int]]] = []
    for ret in rets:
        session.add(ret)
        people = [ret.filler_id, ret.reviewer_id]
        body = f"距截止还有约 {hours} 小时，请按时报送"
        out.append(("notify.tianbao", tasks.notice(task, people, f"填报提醒：{task.title}", body, ret.id), people))
    events.publish_many_on_commit(session, out)


def remind_all(db: Database, *, now: datetime | None = None) -> int:
    """One pass of the background loop, in its own write transaction."""
    with db.write() as s:
        return len(run_reminders(s, now=now))
