"""督办 dashboard, lists and export: counts by status, department and deadline (``supervision_stats``),
the trend of the last ``TREND_DAYS`` days, the item list and its CSV / Excel export, all within what
the reader may see.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from docs_flow import supervision
from docs_flow import supervision_stats as stats
from docs_flow.incoming_models import SupervisionItem
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import ValidationError
from office.models import Department
from office.spreadsheet import safe_cell
from office.timefmt import iso

TREND_DAYS = 14
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class Filters:
    source_kind: str = ""
    department_id: int | None = None
    status: str = ""  # open | due_soon | overdue | done
    deadline_from: date | None = None
    deadline_to: date | None = None


def _scope(session: Session, actor: Actor, f: Filters, now: datetime, schedule: dict[str, Any]) -> list[Any]:
    policy.require(actor, "supervision.view")
    cond: list[Any] = [SupervisionItem.agency_id == actor.agency_id]
    if not supervision.may_manage(session, actor):  # leaders, clerks and the 督查室 see every item
        cond.append(supervision.owned_by(actor))
    if f.source_kind:
        if f.source_kind not in supervision.SOURCES:
            raise ValidationError("来源只能是 incoming / meeting_task / instruction", code="bad_query")
        cond.append(SupervisionItem.source_kind == f.source_kind)
    if f.department_id is not None:
        cond.append(SupervisionItem.owner_department_id == f.department_id)
    soon = now + timedelta(hours=int(schedule["due_soon_hours"]))
    status = {
        "open": SupervisionItem.status == "open",
        "overdue": and_(col(SupervisionItem.status) == "open", col(SupervisionItem.deadline) < now),
        "due_soon": and_(
            col(SupervisionItem.status) == "open",
            col(SupervisionItem.deadline) >= now,
            col(SupervisionItem.deadline) < soon,
        ),
        "done": SupervisionItem.status == "done",
    }
    if f.status:
        if f.status not in status:
            raise ValidationError("状态只能是 open / due_soon / overdue / done", code="bad_query")
        cond.append(status[f.status])
    if f.deadline_from:
        cond.append(SupervisionItem.deadline >= datetime.combine(f.deadline_from, time(0), supervision.CHINA))
    if f.deadline_to:
        cond.append(
            SupervisionItem.deadline < datetime.combine(f.deadline_to + timedelta(days=1), time(0), supervision.CHINA)
        )
    return cond


def dashboard(session: Session, actor: Actor, f: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    """Per department: open, due soon, overdue, completed (on time / late), average handling time;
    totals; and the overdue count at the end of each of the last 14 days.

    Counted in SQL from index ranges (``docs_flow.supervision_stats`` says which), so no query reads the
    wide rows (history, reminders) and few test anything item by item."""
    now = now or utcnow()
    schedule = supervision.get_schedule(session)
    cond = _scope(session, actor, f, now, schedule)
    soon = now + timedelta(hours=int(schedule["due_soon_hours"]))
    ends = _day_ends(now)
    by_dept: dict[int | None, dict[str, Any]] = {}

    def dept(dept_id: int | None) -> dict[str, Any]:
        return by_dept.setdefault(
            dept_id,
            {
                "department_id": dept_id,
                "open": 0,
                "due_soon": 0,
                "overdue": 0,
                "done": 0,
                "done_on_time": 0,
                "done_late": 0,
                "avg_hours": None,
                "max_escalation": 0,
            },
        )

    open_items = stats.open_items(
        session, cond, stats.departments_with_open_items(session, actor.agency_id or 0), ends, now, soon
    )
    for dept_id, counts in open_items.by_dept.items():
        dept(dept_id).update(counts)
    for dept_id, done, on_time, avg_h, esc in stats.done_by_department(session, cond):
        d = dept(dept_id)
        d.update(
            done=int(done),
            done_on_time=int(on_time or 0),
            done_late=int(done) - int(on_time or 0),
            avg_hours=round(float(avg_h), 1) if avg_h is not None else None,
        )
        d["max_escalation"] = max(d["max_escalation"], int(esc or 0))
    names = {
        d.id: d.name
        for d in session.exec(select(Department).where(col(Department.id).in_([k for k in by_dept if k]))).all()
    }
    depts = [{**d, "department": names.get(d["department_id"], "个人/未指定部门")} for d in by_dept.values()]
    depts.sort(key=lambda d: (-d["overdue"], -d["open"], d["department"]))
    totals = {k: sum(d[k] for d in depts) for k in ("open", "due_soon", "overdue", "done", "done_on_time", "done_late")}
    done_hours = [(d["avg_hours"], d["done"]) for d in depts if d["avg_hours"] is not None and d["done"]]
    totals["avg_hours"] = (
        round(sum(h * c for h, c in done_hours) / sum(c for _, c in done_hours), 1) if done_hours else None
    )
    trend = stats.overdue_trend(session, cond, ends, now, open_items)
    return {
        "now": iso(now),
        "schedule": schedule,
        "totals": totals,
        "departments": depts,
        "trend": [{"date": e.date().isoformat(), "overdue": n} for e, n in zip(ends, trend, strict=True)],
    }


def _day_ends(now: datetime) -> list[datetime]:
    """The trend's points: the end of each of the last 14 days (China time), today's cut at ``now``."""
    today = now.astimezone(supervision.CHINA).date()
    ends = [
        datetime.combine(today - timedelta(days=i), time(23, 59, 59), supervision.CHINA)
        for i in range(TREND_DAYS - 1, -1, -1)
    ]
    ends[-1] = min(ends[-1], now)
    return ends


def list_items(
    session: Session, actor: Actor, f: Filters, *, now: datetime | None = None, offset: int = 0, limit: int = 50
) -> dict[str, Any]:
    now = now or utcnow()
    cond = _scope(session, actor, f, now, supervision.get_schedule(session))
    total = session.exec(select(func.count()).select_from(SupervisionItem).where(*cond)).one()
    rows = session.exec(
        select(SupervisionItem)
        .where(*cond)
        .order_by(col(SupervisionItem.status).desc(), col(SupervisionItem.deadline))
        .offset(max(offset, 0))
        .limit(min(max(limit, 1), EXPORT_LIMIT))
    ).all()
    names = {
        d.id: d.name
        for d in session.exec(
            select(Department).where(
                col(Department.id).in_({r.owner_department_id for r in rows if r.owner_department_id})
            )
        ).all()
    }
    return {"total": total, "items": [item_public(r, names, now) for r in rows]}


def item_public(r: SupervisionItem, names: dict[int | None, str], now: datetime) -> dict[str, Any]:
    overdue = r.status == "open" and r.deadline < now
    late = r.completed_at is not None and r.completed_at > r.deadline
    return {
        "id": r.id,
        "source_kind": r.source_kind,
        "source_label": supervision.SOURCES.get(r.source_kind, r.source_kind),
        "source_id": r.source_id,
        "title": r.title,
        "owner_department_id": r.owner_department_id,
        "owner_department": names.get(r.owner_department_id, ""),
        "owner_user_id": r.owner_user_id,
        "deadline": iso(r.deadline),
        "status": r.status,
        "overdue": overdue,
        "late": late,
        "escalation_level": r.escalation_level,
        "link": r.link,
        "history": r.history,
        "created_at": iso(r.created_at),
        "completed_at": iso(r.completed_at),
        "last_reminded_at": iso(r.last_reminded_at),
    }


EXPORT_HEADER = ["编号", "来源", "事项", "责任部门", "办理时限", "状态", "是否逾期", "督办级别", "办结时间"]


def export_rows(session: Session, actor: Actor, f: Filters) -> list[list[Any]]:
    data = list_items(session, actor, f, limit=EXPORT_LIMIT)
    rows = []
    for it in data["items"]:
        status = "已办结" if it["status"] == "done" else ("已逾期" if it["overdue"] else "办理中")
        rows.append(
            [
                it["id"],
                it["source_label"],
                it["title"],
                it["owner_department"],
                _local(it["deadline"]),
                status,
                "是" if it["overdue"] or it["late"] else "否",
                it["escalation_level"],
                _local(it["completed_at"]) if it["completed_at"] else "",
            ]
        )
    return [[safe_cell(v) for v in r] for r in rows]


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(supervision.CHINA).strftime("%Y-%m-%d %H:%M")


def to_csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_HEADER)
    w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def to_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("督办事项")
    ws.append(EXPORT_HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def check_export(session: Session, actor: Actor, f: Filters, *, fmt: str) -> bytes:
    if fmt not in ("xlsx", "csv"):
        raise ValidationError("导出格式只能是 xlsx 或 csv", code="bad_format")
    rows = export_rows(session, actor, f)
    audit.record(
        session,
        actor,
        "supervision.export",
        target_type="supervision",
        target_id="",
        detail={"format": fmt, "rows": len(rows)},
    )
    return to_xlsx(rows) if fmt == "xlsx" else to_csv(rows)
