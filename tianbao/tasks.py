"""Collection tasks (填报任务): drafted by a collecting department, edited while a draft, issued to
units (one ``tb_return`` per unit, in one transaction), withdrawn with a reason (every open return
stops) or closed (late units can no longer submit).

Who the collector is and what it may do is ``tianbao.rules`` (``tianbao.task.*``); whom a collector may collect from
is ``tianbao.scopes.check_units`` (the one rule that lets a collection cross agencies); who fills and
reviews each unit's return is ``tianbao.assignees``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from office import audit, events, policy
from office.actor import Actor
from office.db import insert_plain_rows, reserve_ids, sql_json, sql_time, utcnow
from office.errors import Conflict, InvalidTransition, NotFound, ValidationError
from office.models import Department, Post
from office.timefmt import iso
from tianbao import assignees, items, periods, scopes
from tianbao.models import CollectTask, ReturnStatus, TaskStatus, UnitReturn

CHINA = ZoneInfo("Asia/Shanghai")
MAX_ITEMS = 500
PAGE = 20
STATUS_LABELS = {
    TaskStatus.draft: "草稿",
    TaskStatus.issued: "已下发",
    TaskStatus.withdrawn: "已撤回",
    TaskStatus.closed: "已结束",
}
# Returns the unit still works on: a withdrawn task stops them (submitted and accepted ones stay).
OPEN_RETURNS = (ReturnStatus.not_started, ReturnStatus.filling, ReturnStatus.in_review, ReturnStatus.returned)
_KEPT = "tianbao.tasks"  # session.info: the tasks this session has read
_UNITS = cast("QueryableAttribute[Any]", CollectTask.units)  # the mapped attribute (SQLModel types it as the list)


def load(session: Session, task_id: int) -> CollectTask | None:
    """The task, read once per session. ``units`` (a draft's receivers, kept after issue: 2,000 of them
    are 150 KB of JSON, 5 ms to parse) is read only when something asks for it: the form, the board
    and the summary never do. The session keeps the task: its identity map holds objects weakly, so
    a task no longer referenced was read again (three times in one opening of a form)."""
    kept: dict[int, CollectTask] = session.info.setdefault(_KEPT, {})
    task = kept.get(task_id)
    if task is None:
        task = session.get(CollectTask, task_id, options=[defer(_UNITS)])
        if task is not None:
            kept[task_id] = task
    return task


@dataclass(frozen=True)
class Collector:
    """The department a new task is drafted for (what ``tianbao.task.manage`` reads)."""

    collector_dept_id: int
    collector_agency_id: int


def members(session: Session, dept_id: int) -> list[int]:
    """The collecting department's members: they watch its tasks' boards."""
    return list(session.exec(select(Post.user_id).where(Post.department_id == dept_id)).all())


def get_task_for_collector(session: Session, actor: Actor, task_id: int) -> CollectTask:
    """A task its collecting department may see; anyone else gets 404, as for a missing id."""
    task = load(session, task_id)
    if task is None or not policy.can(actor, "tianbao.task.read", task):
        raise NotFound("填报任务不存在或无权查看")
    return task


def managed_task(session: Session, actor: Actor, task_id: int, version: int | None = None) -> CollectTask:
    """A task the actor may manage (403 for a member of the department without the role), at ``version``."""
    task = get_task_for_collector(session, actor, task_id)
    policy.require(actor, "tianbao.task.manage", task)
    if version is not None and task.version != version:
        raise Conflict()
    return task


def _bump(task: CollectTask) -> None:
    task.version += 1
    task.updated_at = utcnow()


# Drafting ------------------------------------------------------------------------------------------


def _collector(session: Session, actor: Actor, dept_id: int | None) -> Collector:
    dept = session.get(Department, dept_id or actor.department_id or 0)
    if dept is None or dept.agency_id is None:
        raise ValidationError("请选择发起采集的部门", code="bad_collector", field="collector_dept_id")
    who = Collector(dept.id or 0, dept.agency_id)
    policy.require(actor, "tianbao.task.manage", who)
    return who


def _deadline(value: Any) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError("截止时间须带时区", code="bad_deadline", field="deadline")
    if value <= utcnow():
        raise ValidationError("截止时间须晚于现在", code="bad_deadline", field="deadline")
    return value


def _form_items(session: Session, actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form: only active items the collector may read (``items.usable_items``), each once."""
    if len(rows) > MAX_ITEMS:
        raise ValidationError(f"一个任务最多 {MAX_ITEMS} 个数据项", code="too_many_items", field="items")
    ids = [int(r["item_id"]) for r in rows]
    if len(set(ids)) != len(ids):
        raise ValidationError("数据项重复", code="duplicate_item", field="items")
    items.usable_items(session, actor, ids)
    return [
        {"item_id": int(r["item_id"]), "section": str(r.get("section") or "")[:40], "required": bool(r.get("required"))}
        for r in rows
    ]


def _units(session: Session, agency_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [int(r["unit_id"]) for r in rows]
    if len(set(ids)) != len(ids):
        raise ValidationError("填报单位重复", code="duplicate_unit", field="units")
    depts = scopes.check_units(session, agency_id, ids) if ids else {}
    return assignees.resolve(session, depts, rows)


def _apply(session: Session, actor: Actor, task: CollectTask, data: dict[str, Any]) -> None:
    if data.get("title") is not None:
        title = str(data["title"]).strip()
        if not title:
            raise ValidationError("请填写任务名称", code="bad_title", field="title")
        task.title = title[:100]
    if data.get("description") is not None:
        task.description = str(data["description"])[:5000]
    if data.get("period") is not None:
        task.period = periods.parse(str(data["period"])).key
    if data.get("deadline") is not None:
        task.deadline = _deadline(data["deadline"])
    if data.get("remind_hours") is not None:
        task.remind_hours = int(data["remind_hours"])
    if data.get("items") is not None:
        task.items = _form_items(session, actor, list(data["items"]))
    if data.get("units") is not None:
        task.units = _units(session, task.collector_agency_id, list(data["units"]))


def create_task(session: Session, actor: Actor, data: dict[str, Any]) -> CollectTask:
    who = _collector(session, actor, data.get("collector_dept_id"))
    for key, label in (("title", "任务名称"), ("period", "填报期"), ("deadline", "截止时间")):
        if data.get(key) in (None, ""):
            raise ValidationError(f"请填写{label}", code=f"bad_{key}", field=key)
    task = CollectTask(
        collector_agency_id=who.collector_agency_id,
        collector_dept_id=who.collector_dept_id,
        title="",
        period="",
        deadline=utcnow(),
        created_by=actor.user_id,
    )
    _apply(session, actor, task, data)
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor,
        "tianbao.task.create",
        target_type="tb_task",
        target_id=task.id,
        detail={"title": task.title, "period": task.period, "items": len(task.items), "units": len(task.units)},
    )
    return task


def update_task(session: Session, actor: Actor, task_id: int, data: dict[str, Any], version: int) -> CollectTask:
    task = managed_task(session, actor, task_id, version)
    if task.status != TaskStatus.draft:
        raise InvalidTransition("任务已下发，不能再修改")
    _apply(session, actor, task, data)
    _bump(task)
    session.add(task)
    audit.record(
        session,
        actor,
        "tianbao.task.update",
        target_type="tb_task",
        target_id=task.id,
        detail={"fields": sorted(k for k, v in data.items() if v is not None and k != "version")},
    )
    return task


# Issue, withdraw, close ----------------------------------------------------------------------------

_RETURN = UnitReturn.__table__  # type: ignore[attr-defined]
_COLUMNS = (
    "id",
    "task_id",
    "unit_id",
    "unit_agency_id",
    "filler_id",
    "reviewer_id",
    "status",
    "draft",
    "prefill",
    "reasons",
    "items_total",
    "prefilled_count",
    "typed_count",
    "returned_count",
    "urged_count",
    "version",
    "updated_at",
)


def issue(session: Session, actor: Actor, task_id: int, version: int) -> CollectTask:
    """One return per unit, in this transaction: ids reserved, one multi-row insert (2,000 units in
    well under a second); the units and their people are checked again as they are now."""
    task = managed_task(session, actor, task_id, version)
    if task.status != TaskStatus.draft:
        raise InvalidTransition("任务已下发")
    if not task.items:
        raise ValidationError("请至少选择一个数据项", code="no_items", field="items")
    if not task.units:
        raise ValidationError("请至少选择一个填报单位", code="no_units", field="units")
    _deadline(task.deadline)
    _form_items(session, actor, task.items)
    task.units = _units(session, task.collector_agency_id, task.units)
    now = utcnow()
    conn = session.connection()
    ids = reserve_ids(conn, _RETURN, len(task.units))
    stamp, empty = sql_time(conn, now), sql_json({})
    rows = [
        (rid, task.id, u["unit_id"], u["agency_id"], u["filler_id"], u["reviewer_id"], "not_started", empty, empty)
        + (empty, len(task.items), 0, 0, 0, 0, 1, stamp)
        for rid, u in zip(ids, task.units, strict=True)
    ]
    insert_plain_rows(conn, _RETURN, _COLUMNS, rows)
    task.status, task.issued_by, task.issued_at = TaskStatus.issued, actor.user_id, now
    _bump(task)
    session.add(task)
    audit.record(
        session, actor, "tianbao.task.issue", target_type="tb_task", target_id=task.id, detail={"units": len(rows)}
    )
    _task_event(session, task, "issue")
    out: list[tuple[str, dict[str, Any], list[int]]] = [
        ("tianbao.return", _payload(task, rid, u["unit_id"], "not_started", False), [u["filler_id"], u["reviewer_id"]])
        for rid, u in zip(ids, task.units, strict=True)
    ]
    fillers = sorted({u["filler_id"] for u in task.units})
    for i in range(0, len(fillers), 5000):
        chunk = fillers[i : i + 5000]
        out.append(("notify.tianbao", notice(task, chunk, f"新的填报任务：{task.title}", _due_text(task)), chunk))
    events.publish_many_on_commit(session, out)
    return task


def withdraw(session: Session, actor: Actor, task_id: int, version: int, reason: str) -> CollectTask:
    task = managed_task(session, actor, task_id, version)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("撤回须说明原因", code="reason_required", field="reason")
    if task.status != TaskStatus.issued:
        raise InvalidTransition("只有已下发的任务可以撤回")
    stopped = list(
        session.exec(
            select(UnitReturn).where(UnitReturn.task_id == task.id, col(UnitReturn.status).in_(OPEN_RETURNS))
        ).all()
    )
    for ret in stopped:
        ret.status = ReturnStatus.withdrawn
        ret.version += 1
        ret.updated_at = utcnow()
        session.add(ret)
    task.status, task.withdraw_reason = TaskStatus.withdrawn, reason[:200]
    _bump(task)
    session.add(task)
    audit.record(
        session,
        actor,
        "tianbao.task.withdraw",
        target_type="tb_task",
        target_id=task.id,
        detail={"reason": task.withdraw_reason, "returns": len(stopped)},
    )
    _task_event(session, task, "withdraw")
    people = sorted({u for r in stopped for u in (r.filler_id, r.reviewer_id)})
    out: list[tuple[str, dict[str, Any], list[int]]] = [
        ("tianbao.return", _payload(task, r.id or 0, r.unit_id, "withdrawn", False), [r.filler_id, r.reviewer_id])
        for r in stopped
    ]
    for i in range(0, len(people), 5000):
        chunk = people[i : i + 5000]
        out.append(("notify.tianbao", notice(task, chunk, f"填报任务已撤回：{task.title}", f"原因：{reason}"), chunk))
    events.publish_many_on_commit(session, out)
    return task


def close(session: Session, actor: Actor, task_id: int, version: int) -> CollectTask:
    task = managed_task(session, actor, task_id, version)
    if task.status != TaskStatus.issued:
        raise InvalidTransition("只有已下发的任务可以结束")
    task.status = TaskStatus.closed
    _bump(task)
    session.add(task)
    audit.record(session, actor, "tianbao.task.close", target_type="tb_task", target_id=task.id)
    _task_event(session, task, "close")
    return task


# Events --------------------------------------------------------------------------------------------


def is_late(task: CollectTask, status: ReturnStatus | str, now: datetime) -> bool:
    """Late: the deadline passed and the unit has not submitted (a withdrawn return is not late)."""
    return ReturnStatus(status) in OPEN_RETURNS and task.deadline < now


def _payload(task: CollectTask, return_id: int, unit_id: int, status: str, late: bool) -> dict[str, Any]:
    return {"task_id": task.id or 0, "return_id": return_id, "unit_id": unit_id, "status": status, "late": late}


def return_changed(session: Session, task: CollectTask, ret: UnitReturn) -> None:
    """``tianbao.return``, to the collecting department (the live board), the filler and the reviewer."""
    late = is_late(task, ret.status, utcnow())
    events.publish_on_commit(
        session,
        "tianbao.return",
        _payload(task, ret.id or 0, ret.unit_id, ret.status.value, late),
        user_ids=[*members(session, task.collector_dept_id), ret.filler_id, ret.reviewer_id],
    )


def _task_event(session: Session, task: CollectTask, op: str) -> None:
    events.publish_on_commit(
        session,
        "tianbao.task",
        {"op": op, "task_id": task.id or 0, "status": task.status.value},
        user_ids=members(session, task.collector_dept_id),
    )


def notice(
    task: CollectTask, user_ids: list[int], title: str, body: str, return_id: int | None = None
) -> dict[str, Any]:
    link = f"/tianbao/returns/{return_id}" if return_id else "/tianbao"
    return {"user_ids": sorted(set(user_ids)), "title": title[:200], "body": body, "link": link, "source": "tianbao"}


def _due_text(task: CollectTask) -> str:
    due = task.deadline.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return f"{periods.parse(task.period).label}，请于 {due} 前报送"


# Reading -------------------------------------------------------------------------------------------


def task_dict(
    session: Session, task: CollectTask, depts: Mapping[int, Department] | None = None, *, units: bool = True
) -> dict[str, Any]:
    """``depts``: departments the caller has read already (the collector's are read if not there);
    ``units=False``: without the draft's units (not read at all)."""
    known = depts or {}
    dept = known.get(task.collector_dept_id) or session.get(Department, task.collector_dept_id)
    agency = known.get(task.collector_agency_id) or session.get(Department, task.collector_agency_id)
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "period": task.period,
        "period_label": periods.parse(task.period).label if task.period else "",
        "deadline": iso(task.deadline),
        "remind_hours": task.remind_hours,
        "status": task.status.value,
        "status_label": STATUS_LABELS[task.status],
        "withdraw_reason": task.withdraw_reason,
        "collector_dept_id": task.collector_dept_id,
        "collector_dept_name": dept.name if dept else "",
        "collector_agency_name": agency.name if agency else "",
        "items": task.items,
        **({"units": task.units} if units else {}),
        "issued_at": iso(task.issued_at),
        "created_at": iso(task.created_at),
        "version": task.version,
    }


def list_tasks(session: Session, actor: Actor, *, box: str = "collecting", page: int = 1) -> dict[str, Any]:
    """The tasks of the actor's departments (``collecting``: drafts and issued ones; ``all``: every one)."""
    if box not in ("collecting", "all"):
        raise ValidationError("未知的列表", code="bad_box", field="box")
    cond: Any = col(CollectTask.collector_dept_id).in_(sorted(actor.department_ids) or [0])
    if actor.is_admin and actor.agency_id is not None:
        cond = cond | (CollectTask.collector_agency_id == actor.agency_id)
    if box == "collecting":
        cond = cond & col(CollectTask.status).in_((TaskStatus.draft, TaskStatus.issued))
    total = int(session.exec(select(func.count()).select_from(CollectTask).where(cond)).one())
    rows = session.exec(
        select(CollectTask)
        .where(cond)
        .order_by(col(CollectTask.updated_at).desc(), col(CollectTask.id).desc())
        .offset((max(page, 1) - 1) * PAGE)
        .limit(PAGE)
    ).all()
    counts = _return_counts(session, [t.id or 0 for t in rows])
    out = []
    for t in rows:
        d = task_dict(session, t)
        d.pop("units")
        d.pop("items")
        d["item_count"], d["unit_count"] = len(t.items), len(t.units)
        d["counts"] = counts.get(t.id or 0, {})
        out.append(d)
    return {"items": out, "total": total, "page": max(page, 1)}


def _return_counts(session: Session, task_ids: list[int]) -> dict[int, dict[str, int]]:
    if not task_ids:
        return {}
    out: dict[int, dict[str, int]] = {}
    stmt = (
        select(UnitReturn.task_id, UnitReturn.status, func.count())
        .where(col(UnitReturn.task_id).in_(task_ids))
        .group_by(col(UnitReturn.task_id), col(UnitReturn.status))
    )
    for task_id, status, n in session.exec(stmt).all():
        out.setdefault(task_id, {})[ReturnStatus(status).value] = int(n)
    return out
