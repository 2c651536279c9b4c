"""催办 and 督办: every item with an owner and a deadline, reminding, escalating and completing it.

Items come from 收文 (at 批办 with a deadline), from meetings (the ``meeting.task_created`` event)
and from leaders' instructions entered by the supervision office. Reminders follow a configurable
schedule (``SystemSetting`` "supervision_schedule", :func:`get_schedule`): before the deadline at each
of ``before_hours``, then every ``overdue_every_hours`` once overdue, escalating one level (to the
agency's leaders) every ``escalate_after_hours`` overdue; ``supervision_reminders`` decides what is
due and sends it. The dashboard, the item list and the export are ``supervision_dashboard``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from docs_flow.incoming_models import IncomingDocument, SupervisionItem
from docs_flow.rules import SupervisionOffice
from office import audit, events, policy
from office.actor import SYSTEM, Actor
from office.db import Database, utcnow
from office.directory.service import users_with_role
from office.errors import InvalidTransition, NotFound, ValidationError
from office.models import Department, DeptKind, Post, Role, SystemSetting
from office.timefmt import iso
from workflow import engine, tasks

log = logging.getLogger("docs_flow.supervision")
CHINA = ZoneInfo("Asia/Shanghai")
SETTING_KEY = "supervision_schedule"
DEFAULT_SCHEDULE = {
    "before_hours": [72, 24],
    "overdue_every_hours": 24,
    "escalate_after_hours": 48,
    "due_soon_hours": 72,
}
SOURCES = {"incoming": "收文", "meeting_task": "会议任务", "instruction": "领导批示"}


# Schedule --------------------------------------------------------------------------------------------


def get_schedule(session: Session) -> dict[str, Any]:
    row = session.get(SystemSetting, SETTING_KEY)
    return {**DEFAULT_SCHEDULE, **(row.value if row else {})}


def check_set_schedule(session: Session, actor: Actor, value: dict[str, Any]) -> dict[str, Any]:
    policy.require(actor, "settings.manage")
    hours = value.get("before_hours", DEFAULT_SCHEDULE["before_hours"])
    clean = {
        "before_hours": sorted({_hours(h, "before_hours") for h in hours}, reverse=True)[:10]
        if isinstance(hours, list)
        else _bad("before_hours"),
        "overdue_every_hours": _hours(value.get("overdue_every_hours", 24), "overdue_every_hours"),
        "escalate_after_hours": _hours(value.get("escalate_after_hours", 48), "escalate_after_hours", zero=True),
        "due_soon_hours": _hours(value.get("due_soon_hours", 72), "due_soon_hours"),
    }
    row = session.get(SystemSetting, SETTING_KEY) or SystemSetting(key=SETTING_KEY)
    row.value = clean
    session.add(row)
    audit.record(session, actor, "supervision.schedule", target_type="setting", target_id=SETTING_KEY, detail=clean)
    return clean


def _hours(v: Any, name: str, *, zero: bool = False) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not (0 if zero else 1) <= v <= 24 * 365:
        _bad(name)
    return int(v)


def _bad(name: str) -> Any:
    raise ValidationError(f"{name} 必须是 1–8760 之间的整数（小时）", code="bad_schedule", field=name)


# Reminding and escalating one item -------------------------------------------------------------------------


def owners(session: Session, item: SupervisionItem) -> list[int]:
    """Who is reminded: the owner, the owning department's head(s), and whoever holds the 收文 now."""
    ids: set[int] = set()
    if item.owner_user_id:
        ids.add(item.owner_user_id)
    if item.owner_department_id:
        ids |= set(users_with_role(session, Role.dept_head, department_id=item.owner_department_id))
    if item.source_kind == "incoming" and item.source_id.isdigit():
        doc = session.get(IncomingDocument, int(item.source_id))
        if doc is not None and doc.case_id:
            ids |= set(tasks.current_assignees(session, engine.get_case(session, doc.case_id)))
    return sorted(ids)


def remind(session: Session, actor: Actor, item: SupervisionItem, *, message: str, now: datetime) -> list[int]:
    people = owners(session, item)
    item.last_reminded_at = now
    item.history = [
        *item.history,
        {"at": iso(now), "action": "remind", "by": actor.name, "message": message[:500], "to": people},
    ]
    session.add(item)
    _notify(session, people, f"催办：{item.title}", message, item)
    return people


def escalate(session: Session, actor: Actor, item: SupervisionItem, *, reason: str, now: datetime) -> None:
    item.escalation_level += 1
    leaders = users_with_role(session, Role.leader, agency_id=item.agency_id)
    item.history = [
        *item.history,
        {
            "at": iso(now),
            "action": "escalate",
            "by": actor.name,
            "level": item.escalation_level,
            "message": reason[:500],
            "to": leaders,
        },
    ]
    session.add(item)
    _notify(
        session,
        sorted(set(leaders) | set(owners(session, item))),
        f"督办升级（{item.escalation_level} 级）：{item.title}",
        reason,
        item,
    )
    events.publish_on_commit(
        session,
        "supervision.item",
        {"op": "escalate", "item_id": item.id, "level": item.escalation_level},
        user_ids=leaders,
    )


def _notify(session: Session, user_ids: list[int], title: str, body: str, item: SupervisionItem) -> None:
    ids = sorted({u for u in user_ids if u})
    if ids:
        events.publish_on_commit(
            session,
            "notify.supervision",
            {
                "user_ids": ids,
                "title": title,
                "body": body,
                "link": item.link or "/incoming/supervision",
                "source": "docs_flow",
            },
            user_ids=ids,
        )


# Items -------------------------------------------------------------------------------------------------------


def _check_owner(session: Session, agency_id: int, dept_id: int | None, user_id: int | None) -> None:
    if dept_id is None and user_id is None:
        raise ValidationError("请指定责任部门或责任人", code="owner_required", field="owner_department_id")
    if dept_id is not None:
        dept = session.get(Department, dept_id)
        if dept is None or dept.agency_id != agency_id or dept.kind != DeptKind.department:
            raise ValidationError(
                f"部门（编号 {dept_id}）不存在或不属于本机关", code="bad_department", field="owner_department_id"
            )
    if user_id is not None:
        inside = session.exec(
            select(Post.id)
            .join(Department, Department.id == Post.department_id)  # type: ignore[arg-type]
            .where(Post.user_id == user_id, Department.agency_id == agency_id)
        ).first()
        if inside is None:
            raise ValidationError("责任人不存在或不属于本机关", code="bad_user", field="owner_user_id")


def track(
    session: Session,
    actor: Actor,
    *,
    agency_id: int,
    source_kind: str,
    source_id: str,
    title: str,
    deadline: datetime,
    owner_department_id: int | None = None,
    owner_user_id: int | None = None,
    link: str = "",
) -> SupervisionItem:
    """Create or update the item for a source (a 收文 re-instructed gets its new owner and deadline)."""
    if deadline.tzinfo is None:
        raise ValidationError("办理时限必须带时区", code="naive_datetime", field="deadline")
    row = session.exec(
        select(SupervisionItem).where(
            SupervisionItem.source_kind == source_kind, SupervisionItem.source_id == source_id
        )
    ).first()
    now = utcnow()
    if row is None:
        row = SupervisionItem(
            agency_id=agency_id,
            source_kind=source_kind,
            source_id=source_id,
            title=title[:200],
            deadline=deadline,
            created_by=actor.user_id,
            link=link,
            history=[{"at": iso(now), "action": "create", "by": actor.name}],
        )
    else:
        row.history = [
            *row.history,
            {"at": iso(now), "action": "update", "by": actor.name, "deadline": iso(deadline)},
        ]
        row.deadline, row.status, row.reminders, row.completed_at = deadline, "open", [], None
    row.owner_department_id, row.owner_user_id = owner_department_id, owner_user_id
    session.add(row)
    session.flush()
    return row


def check_create(
    session: Session,
    actor: Actor,
    *,
    title: str,
    deadline: datetime,
    source_kind: str = "instruction",
    owner_department_id: int | None = None,
    owner_user_id: int | None = None,
    note: str = "",
) -> SupervisionItem:
    """A leader's instruction (领导批示) or other item entered by the supervision office."""
    require_manage(session, actor)
    title = (title or "").strip()
    if not title:
        raise ValidationError("事项名称不能为空", code="title_required", field="title")
    if source_kind not in ("instruction",):
        raise ValidationError("手工立项只能是领导批示（instruction）", code="bad_source")
    if deadline.tzinfo is None or deadline <= utcnow():
        raise ValidationError("办理时限不能早于当前时间", code="deadline_past", field="deadline")
    agency_id = actor.agency_id or 0
    _check_owner(session, agency_id, owner_department_id, owner_user_id)
    n = session.exec(
        select(func.count())
        .select_from(SupervisionItem)
        .where(SupervisionItem.agency_id == agency_id, SupervisionItem.source_kind == source_kind)
    ).one()
    row = track(
        session,
        actor,
        agency_id=agency_id,
        source_kind=source_kind,
        source_id=f"{agency_id}-{n + 1}",
        title=title,
        deadline=deadline,
        owner_department_id=owner_department_id,
        owner_user_id=owner_user_id,
    )
    if note.strip():
        row.history = [
            *row.history,
            {"at": iso(utcnow()), "action": "note", "by": actor.name, "message": note.strip()[:500]},
        ]
    audit.record(
        session,
        actor,
        "supervision.create",
        target_type="supervision",
        target_id=row.id,
        detail={"title": title, "deadline": iso(deadline)},
    )
    _notify(
        session,
        owners(session, row),
        f"督办事项：{title}",
        f"办理时限 {deadline.astimezone(CHINA):%Y-%m-%d %H:%M}",
        row,
    )
    return row


def _access(session: Session, actor: Actor, item_id: int) -> SupervisionItem:
    row = session.get(SupervisionItem, item_id)
    if row is None or row.agency_id != actor.agency_id:
        raise NotFound()
    if not may_manage(session, actor) and not _owns(actor, row):
        raise NotFound()
    return row


# The supervision office (督查室) follows every item of its agency up, as its leaders and clerks do; it
# is found by name, as docs_flow.templates finds the 办公室.
SUPERVISION_OFFICE_NAMES = ("督查室", "督查处", "督办室", "督查督办处", "督查科")


def supervision_office(session: Session, agency_id: int | None) -> SupervisionOffice:
    ids = session.exec(
        select(Department.id).where(
            Department.agency_id == agency_id,
            Department.kind == DeptKind.department,
            col(Department.name).in_(SUPERVISION_OFFICE_NAMES),
        )
    ).all()
    return SupervisionOffice(frozenset(i for i in ids if i is not None))


def may_manage(session: Session, actor: Actor) -> bool:
    """Whether ``actor`` sees and manages the agency's whole 督办 list (``supervision.manage``)."""
    return policy.can(actor, "supervision.manage", supervision_office(session, actor.agency_id))


def require_manage(session: Session, actor: Actor) -> None:
    policy.require(actor, "supervision.manage", supervision_office(session, actor.agency_id))


def _owns(actor: Actor, row: SupervisionItem) -> bool:
    return row.owner_user_id == actor.user_id or (row.owner_department_id in actor.headed_department_ids)


def check_remind(session: Session, actor: Actor, item_id: int, *, message: str = "") -> SupervisionItem:
    """手工催办 by the supervision office."""
    require_manage(session, actor)
    row = _access(session, actor, item_id)
    if row.status != "open":
        raise InvalidTransition("事项已办结，无需催办", code="item_done")
    people = remind(session, actor, row, message=message.strip() or "请抓紧办理并及时反馈", now=utcnow())
    audit.record(
        session, actor, "supervision.remind", target_type="supervision", target_id=item_id, detail={"to": people}
    )
    return row


def check_escalate(session: Session, actor: Actor, item_id: int, *, reason: str) -> SupervisionItem:
    require_manage(session, actor)
    row = _access(session, actor, item_id)
    if row.status != "open":
        raise InvalidTransition("事项已办结", code="item_done")
    if not reason.strip():
        raise ValidationError("升级督办必须说明理由", code="reason_required", field="reason")
    escalate(session, actor, row, reason=reason.strip(), now=utcnow())
    audit.record(
        session,
        actor,
        "supervision.escalate",
        target_type="supervision",
        target_id=item_id,
        detail={"level": row.escalation_level},
    )
    return row


def check_complete(session: Session, actor: Actor, item_id: int, *, note: str = "") -> SupervisionItem:
    """Mark an instruction or meeting task done (a 收文's item completes when the 收文 is 办结)."""
    row = _access(session, actor, item_id)
    if row.source_kind == "incoming":
        raise InvalidTransition("收文督办事项在收文办结时自动完成", code="completes_with_document")
    if row.status != "open":
        raise InvalidTransition("事项已办结", code="item_done")
    _complete(row, actor, note)
    session.add(row)
    audit.record(session, actor, "supervision.complete", target_type="supervision", target_id=item_id)
    # The owners' 工作台 drops the item now, not at their next reload (a 收文's item goes with its
    # ``incoming.case`` event).
    events.publish_on_commit(
        session,
        "supervision.item",
        {"op": "complete", "item_id": row.id, "level": row.escalation_level},
        user_ids=owners(session, row),
    )
    return row


def _complete(row: SupervisionItem, actor: Actor, note: str = "") -> None:
    now = utcnow()
    row.status, row.completed_at = "done", now
    row.handling_hours = round((now - row.created_at).total_seconds() / 3600, 2)
    row.history = [
        *row.history,
        {
            "at": iso(now),
            "action": "complete",
            "by": actor.name,
            "on_time": now <= row.deadline,
            "message": note[:500],
        },
    ]


def complete_source(session: Session, actor: Actor, source_kind: str, source_id: str) -> None:
    row = session.exec(
        select(SupervisionItem).where(
            SupervisionItem.source_kind == source_kind, SupervisionItem.source_id == source_id
        )
    ).first()
    if row is not None and row.status == "open":
        _complete(row, actor)
        session.add(row)


# Meeting tasks -------------------------------------------------------------------------------------------------


def parse_due(value: Any) -> datetime:
    """An ISO date (end of that day, China time) or an aware ISO datetime."""
    if not isinstance(value, str) or not value:
        raise ValueError("due missing")
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(23, 59, 59), CHINA).astimezone(CHINA)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return parsed


def on_meeting_task(db: Database, event: events.Event) -> None:
    """``meeting.task_created`` -> a 督办 item owned by the task's department or person."""
    p = event.payload  # as meetings.event_types.TaskCreated declares it
    try:
        due = parse_due(p.get("due_date"))
        task_id = str(p["task_id"])
        title = str(p.get("title") or "会议任务").strip()[:200]
        user_id, unit, meeting_agency = p.get("owner_id"), str(p.get("owner_unit") or "").strip(), p.get("agency_id")
    except (KeyError, ValueError, TypeError):
        log.warning("ignored malformed meeting.task_created event: %r", p)
        return
    with db.write() as s:
        dept_id = _department_named(s, meeting_agency, unit)
        agency_id = _agency_of(s, dept_id, user_id)
        if agency_id is None:
            log.warning("meeting task %s has no known owner; not tracked", task_id)
            return
        track(
            s,
            SYSTEM,
            agency_id=agency_id,
            source_kind="meeting_task",
            source_id=task_id,
            title=title,
            deadline=due,
            owner_department_id=dept_id if isinstance(dept_id, int) else None,
            owner_user_id=user_id if isinstance(user_id, int) else None,
            link=f"/meetings/{p.get('meeting_id')}" if p.get("meeting_id") else "",
        )


def on_meeting_task_done(db: Database, event: events.Event) -> None:
    task_id = event.payload.get("task_id")
    if task_id is None:
        return
    with db.write() as s:
        complete_source(s, SYSTEM, "meeting_task", str(task_id))


def _department_named(session: Session, agency_id: Any, name: str) -> int | None:
    """The 责任单位 of a meeting task is typed as a name: the department of that name in the
    meeting's agency, if there is exactly one."""
    if not name or not isinstance(agency_id, int) or isinstance(agency_id, bool):
        return None
    found = session.exec(
        select(Department.id).where(Department.agency_id == agency_id, Department.name == name).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def _agency_of(session: Session, dept_id: Any, user_id: Any) -> int | None:
    if isinstance(dept_id, int) and not isinstance(dept_id, bool):
        dept = session.get(Department, dept_id)
        return dept.agency_id if dept else None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return session.exec(
            select(Department.agency_id)
            .join(Post, Post.department_id == Department.id)  # type: ignore[arg-type]
            .where(Post.user_id == user_id)
            .order_by(col(Post.is_primary).desc())
        ).first()
    return None


# Ownership as SQL (the dashboard, the 工作台) ---------------------------------------------------------------------


def owned_by(actor: Actor) -> Any:
    """The condition that ``actor`` owns an item: named as its owner, or heading its department (the
    SQL form of ``_owns``; the 工作台's 督办 source asks the same)."""
    return or_(
        col(SupervisionItem.owner_department_id).in_(sorted(actor.headed_department_ids) or [-1]),
        col(SupervisionItem.owner_user_id) == actor.user_id,
    )
