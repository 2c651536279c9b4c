"""The working calendar: public holidays and adjusted working days (调休) per year, as data.

A day is a working day when it is marked ``workday`` (调休上班), or it is Monday–Friday and not
marked ``holiday``. The national schedule for 2026 ships in ``office/data/holidays_2026.json``
and is loaded at start-up when that year has no rows; an administrator loads later years (the
State Council publishes each schedule in the autumn before) through the API or the CLI.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from office import audit, policy
from office.actor import Actor
from office.errors import ValidationError
from office.models import CalendarDay, DayKind

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_YEARS = (2026,)


@dataclass(frozen=True)
class WorkCalendar:
    """An in-memory view of the marked days in a range, for fast per-day questions."""

    marks: dict[dt.date, DayKind]

    def is_workday(self, day: dt.date) -> bool:
        mark = self.marks.get(day)
        if mark is DayKind.workday:
            return True
        if mark is DayKind.holiday:
            return False
        return day.weekday() < 5

    def is_holiday(self, day: dt.date) -> bool:
        return self.marks.get(day) is DayKind.holiday


def load_calendar(session: Session, start: dt.date, end: dt.date) -> WorkCalendar:
    """Marked days in [start, end] (inclusive)."""
    rows = session.exec(select(CalendarDay).where(CalendarDay.day >= start, CalendarDay.day <= end)).all()
    return WorkCalendar({r.day: r.kind for r in rows})


def year_days(session: Session, year: int) -> list[CalendarDay]:
    return list(session.exec(select(CalendarDay).where(CalendarDay.year == year).order_by(col(CalendarDay.day))).all())


def parse_days(year: int, days: list[dict[str, Any]]) -> list[CalendarDay]:
    """Validate a year's list of ``{"date", "kind", "name"}``; raise ValidationError naming the bad entry."""
    if not 2000 <= year <= 2100:
        raise ValidationError("年份超出范围（2000–2100）", code="bad_year")
    out: dict[dt.date, CalendarDay] = {}
    for i, item in enumerate(days, 1):
        try:
            day = dt.date.fromisoformat(str(item.get("date", "")))
            kind = DayKind(item.get("kind"))
        except ValueError:
            raise ValidationError(
                f"第 {i} 项的日期或类型无效（类型只能是 holiday 或 workday）", code="bad_calendar_day"
            ) from None
        if day.year != year:
            raise ValidationError(f"第 {i} 项日期 {day} 不属于 {year} 年", code="bad_calendar_day")
        if kind is DayKind.workday and day.weekday() < 5:
            raise ValidationError(f"第 {i} 项：{day} 是工作日，无需标注为调休上班", code="bad_calendar_day")
        if day in out:
            raise ValidationError(f"第 {i} 项日期 {day} 重复", code="bad_calendar_day")
        out[day] = CalendarDay(day=day, kind=kind, name=str(item.get("name", ""))[:50], year=year)
    return [out[d] for d in sorted(out)]


def do_load_year(session: Session, actor: Actor, *, year: int, days: list[dict[str, Any]]) -> list[CalendarDay]:
    """Replace the marked days of ``year`` (an empty list clears it)."""
    policy.require(actor, "calendar.manage")
    rows = parse_days(year, days)
    session.execute(delete(CalendarDay).where(CalendarDay.year == year))  # type: ignore[arg-type]
    for row in rows:
        session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "calendar.load",
        target_type="calendar_year",
        target_id=year,
        detail={
            "holidays": sum(r.kind is DayKind.holiday for r in rows),
            "workdays": sum(r.kind is DayKind.workday for r in rows),
        },
    )
    return rows


def shipped_year(year: int) -> list[dict[str, Any]]:
    path = DATA_DIR / f"holidays_{year}.json"
    if not path.is_file():
        raise ValidationError(f"没有内置 {year} 年的节假日数据，请提供文件", code="no_shipped_calendar")
    return list(json.loads(path.read_text(encoding="utf-8"))["days"])


def seed_shipped(session: Session, actor: Actor) -> list[int]:
    """Load each shipped year that has no rows yet; returns the years loaded."""
    loaded = []
    for year in SHIPPED_YEARS:
        if not year_days(session, year):
            do_load_year(session, actor, year=year, days=shipped_year(year))
            loaded.append(year)
    return loaded
