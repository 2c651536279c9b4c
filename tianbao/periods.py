"""Period keys of 数据填报 and the one mapping from a task's period to an item's own cycle period.

Keys: "2026" (year), "2026H1"/"2026H2" (half), "2026Q1".."2026Q4" (quarter), "2026-01".."2026-12"
(month) and "once" (a standing fact). A value is stored under the ITEM's cycle period that contains
the END of the task's period: a yearly item asked for in 2026Q4 is kept under "2026", a monthly
item under "2026-12", a quarterly item asked for in 2026-11 under "2026Q4". So the same figure
asked for by two collectors for overlapping periods lands on one key, and the second one is
prefilled from the first.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

from office.errors import ValidationError
from tianbao.models import ItemCycle

ONCE = "once"
YEAR_MIN, YEAR_MAX = 1949, 2199
_KEY = re.compile(r"([0-9]{4})(?:(H[12])|(Q[1-4])|-(0[1-9]|1[0-2]))?")
_HALF_LABEL = {1: "上半年", 2: "下半年"}


@dataclass(frozen=True)
class Period:
    kind: str  # "year" | "half" | "quarter" | "month" | "once": ItemCycle's values
    key: str
    start: dt.date
    end: dt.date
    label: str


def _bad(key: object) -> ValidationError:
    return ValidationError(
        f"期间“{str(key)[:20]}”格式不正确（应为 2026、2026H1、2026Q4、2026-11 或 once）",
        code="bad_period",
        field="period",
    )


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse(key: str) -> Period:
    """The period a key names, or a 422 ``bad_period``."""
    if not isinstance(key, str):
        raise _bad(key)
    return _parse(key)


@functools.lru_cache(maxsize=4096)  # a form of 200 items parses each of its few keys twice per item
def _parse(key: str) -> Period:
    if key == ONCE:
        return Period("once", ONCE, dt.date.min, dt.date.max, "长期有效")
    m = _KEY.fullmatch(key)
    if m is None:
        raise _bad(key)
    year = int(m.group(1))
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise _bad(key)
    half, quarter, month = m.group(2), m.group(3), m.group(4)
    if half:
        n = int(half[1])
        first = 1 + 6 * (n - 1)
        return Period("half", key, dt.date(year, first, 1), _month_end(year, first + 5), f"{year}年{_HALF_LABEL[n]}")
    if quarter:
        n = int(quarter[1])
        first = 1 + 3 * (n - 1)
        return Period("quarter", key, dt.date(year, first, 1), _month_end(year, first + 2), f"{year}年第{n}季度")
    if month:
        n = int(month)
        return Period("month", key, dt.date(year, n, 1), _month_end(year, n), f"{year}年{n}月")
    return Period("year", key, dt.date(year, 1, 1), dt.date(year, 12, 31), f"{year}年")


def key_of(cycle: ItemCycle, day: dt.date) -> str:
    """The ``cycle`` period that contains ``day``."""
    if cycle == ItemCycle.once:
        return ONCE
    if cycle == ItemCycle.year:
        return f"{day.year}"
    if cycle == ItemCycle.half:
        return f"{day.year}H{1 if day.month <= 6 else 2}"
    if cycle == ItemCycle.quarter:
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def item_period(cycle: ItemCycle, task_period: str) -> str:
    """Where a value of an item with ``cycle`` asked for in ``task_period`` is stored: the item's
    period containing the end of the task's. A standing fact ("once") is one key whatever the task;
    a task for "once" can only ask for standing facts."""
    task = parse(task_period)
    if cycle == ItemCycle.once:
        return ONCE
    if task.kind == "once":
        raise ValidationError("长期有效（once）的任务只能采集长期有效的数据项", code="bad_period", field="period")
    return key_of(cycle, task.end)


def previous(key: str) -> str:
    """The period just before ``key``, of the same kind ("2026Q1" -> "2025Q4"). A standing fact has none."""
    p = parse(key)
    if p.kind == "once":
        raise ValidationError("长期有效的数据没有上一期", code="bad_period", field="period")
    before = p.start - dt.timedelta(days=1)
    if before.year < YEAR_MIN:
        raise _bad(key)
    return key_of(ItemCycle(p.kind), before)


def label(key: str) -> str:
    """The Chinese name of a period ("2026年第3季度")."""
    return parse(key).label
