"""Period keys: what each names, the one mapping from a task's period to an item's cycle period (the
item's period containing the END of the task's), and the period before."""

from __future__ import annotations

import datetime as dt

import pytest

from office.errors import ValidationError
from tianbao import periods
from tianbao.models import ItemCycle


@pytest.mark.parametrize(
    ("key", "kind", "start", "end", "label"),
    [
        ("2026", "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "2026年"),
        ("2026H1", "half", dt.date(2026, 1, 1), dt.date(2026, 6, 30), "2026年上半年"),
        ("2026H2", "half", dt.date(2026, 7, 1), dt.date(2026, 12, 31), "2026年下半年"),
        ("2026Q1", "quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 31), "2026年第1季度"),
        ("2026Q4", "quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026年第4季度"),
        ("2028-02", "month", dt.date(2028, 2, 1), dt.date(2028, 2, 29), "2028年2月"),  # a leap year
        ("2026-11", "month", dt.date(2026, 11, 1), dt.date(2026, 11, 30), "2026年11月"),
    ],
)
def test_parse(key: str, kind: str, start: dt.date, end: dt.date, label: str) -> None:
    p = periods.parse(key)
    assert (p.kind, p.key, p.start, p.end, p.label) == (kind, key, start, end, label)


def test_once_is_a_standing_fact() -> None:
    p = periods.parse("once")
    assert p.kind == "once" and p.label == "长期有效"


@pytest.mark.parametrize(
    "key",
    ["", "26", "2026Q5", "2026Q0", "2026H3", "2026-13", "2026-00", "2026-1", "２０２６", "1800", "2026q4", "2026 "],
)
def test_bad_keys_are_422(key: str) -> None:
    with pytest.raises(ValidationError) as e:
        periods.parse(key)
    assert e.value.code == "bad_period" and e.value.status_code == 422


@pytest.mark.parametrize(
    ("cycle", "task", "stored"),
    [
        (ItemCycle.year, "2026Q4", "2026"),  # the design's examples
        (ItemCycle.month, "2026Q4", "2026-12"),
        (ItemCycle.quarter, "2026-11", "2026Q4"),
        (ItemCycle.once, "2026Q4", "once"),
        (ItemCycle.half, "2026Q3", "2026H2"),
        (ItemCycle.half, "2026Q2", "2026H1"),
        (ItemCycle.quarter, "2026", "2026Q4"),  # a coarser task period: the same rule, its end
        (ItemCycle.month, "2026H1", "2026-06"),
        (ItemCycle.year, "2026-01", "2026"),
        (ItemCycle.once, "once", "once"),
    ],
)
def test_item_period_is_the_items_period_containing_the_end_of_the_tasks(
    cycle: ItemCycle, task: str, stored: str
) -> None:
    assert periods.item_period(cycle, task) == stored


def test_a_once_task_asks_only_for_standing_facts() -> None:
    with pytest.raises(ValidationError) as e:
        periods.item_period(ItemCycle.year, "once")
    assert e.value.code == "bad_period"


def test_item_period_refuses_a_bad_task_period() -> None:
    with pytest.raises(ValidationError):
        periods.item_period(ItemCycle.year, "2026Q9")


@pytest.mark.parametrize(
    ("key", "before"),
    [
        ("2026Q1", "2025Q4"),
        ("2026Q3", "2026Q2"),
        ("2026-01", "2025-12"),
        ("2026-03", "2026-02"),
        ("2026H1", "2025H2"),
        ("2026H2", "2026H1"),
        ("2026", "2025"),
    ],
)
def test_previous_is_the_same_kind(key: str, before: str) -> None:
    assert periods.previous(key) == before


def test_once_has_no_previous() -> None:
    with pytest.raises(ValidationError):
        periods.previous("once")
