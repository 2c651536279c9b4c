"""Prefill: a form opens with each item's latest registry value for a period still valid for the
task's period (the item's own cycle period containing the task's end), and with what a computed
source knows, each marked with its source, period, time and a label; a person's value beats a
source's earlier answer, a source's fresh answer beats its own earlier one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from office.actor import SYSTEM
from office.db import Database
from office.directory import service
from office.directory.service import PostSpec
from office.models import DeptKind
from tests.factories import Org, make_user
from tests.tianbao.registry_helpers import define, put, statements
from tianbao import prefill, sources
from tianbao.models import CollectTask, CurrentValue, DataItem, ValueOrigin


def task(period: str, *its: DataItem) -> CollectTask:
    return CollectTask(
        collector_agency_id=1,
        collector_dept_id=1,
        title="经济运行数据",
        period=period,
        deadline=dt.datetime(2027, 1, 15, tzinfo=dt.UTC),
        items=[{"item_id": i.id, "section": "", "required": False} for i in its],
        created_by=1,
    )


def fill(db: Database, t: CollectTask, unit: int) -> dict[str, Any]:
    with db.read() as s:
        return prefill.prefill(s, t, unit)


def test_the_latest_value_valid_for_the_period(db: Database, org: Org) -> None:
    unit = org.agencies["B"]
    people = define(db, org, "POP", name="常住人口", cycle="year")
    gdp = define(db, org, "GDP", name="地区生产总值", cycle="quarter")
    monthly = define(db, org, "M", cycle="month")
    founded = define(db, org, "F", cycle="once")
    put(db, people, unit, "2026", 120, author_id=org.users["othello"], task_id=1)  # asked in 2026Q3
    put(
        db,
        people,
        unit,
        "2026",
        121,
        author_id=org.users["iago"],
        task_id=2,
        origin=ValueOrigin.corrected,
        reason="更正",
    )
    put(db, people, unit, "2025", 99)
    put(db, gdp, unit, "2026Q3", 50)  # last quarter's figure is not this quarter's
    put(db, monthly, unit, "2026-12", 7)
    put(db, monthly, unit, "2026-11", 6)
    put(db, founded, unit, "once", 1983)
    out = fill(db, task("2026Q4", people, gdp, monthly, founded), unit)
    assert set(out) == {str(people.id), str(monthly.id), str(founded.id)}
    p = out[str(people.id)]
    assert (p["value"], p["source"], p["origin"], p["period"]) == (121, "registry", "corrected", "2026")
    assert p["label"] == "2026年 办公室更正"  # the period and the department of who stored it
    assert dt.datetime.fromisoformat(p["at"]).year == dt.datetime.now(dt.UTC).year
    assert out[str(monthly.id)]["value"] == 7 and out[str(monthly.id)]["period"] == "2026-12"
    assert out[str(founded.id)]["value"] == 1983 and out[str(founded.id)]["label"].startswith("长期有效")
    # The next quarter asks for the yearly figure again: still 2026's; a 2027 task is not prefilled.
    assert fill(db, task("2026-11", people), unit)[str(people.id)]["value"] == 121
    assert fill(db, task("2027Q1", people), unit) == {}


def test_only_the_units_own_values(db: Database, org: Org) -> None:
    item = define(db, org, "POP", cycle="year")
    put(db, item, org.agencies["A"], "2026", 5)
    assert fill(db, task("2026Q4", item), org.agencies["B"]) == {}


def test_computed_sources_and_their_marks(db: Database, org: Org) -> None:
    """B's 办公室 has othello, iago and desdemona; a department under it with one more person counts too."""
    unit = org.agencies["B"]
    with db.write() as s:
        sub = service.create_department(s, SYSTEM, name="统计科", parent_id=org.depts["B1"], kind=DeptKind.department)
    make_user(db, "cassio", "马超", dept_id=sub.id)
    staff = define(db, org, "STAFF", name="在编人数", cycle="year", source="directory.staff_count")
    depts = define(db, org, "DEPTS", name="内设机构数", cycle="once", source="directory.department_count")
    out = fill(db, task("2026Q4", staff, depts), unit)
    s_ = out[str(staff.id)]
    assert (s_["value"], s_["source"], s_["origin"], s_["period"]) == (4, "computed", "computed", "2026")
    assert s_["label"] == sources.label("directory.staff_count") == "通讯录（在岗人数）"
    assert out[str(depts.id)]["value"] == 2 and out[str(depts.id)]["period"] == "once"  # 办公室 and 统计科
    assert fill(db, task("2026Q4", staff), org.depts["B1"])[str(staff.id)]["value"] == 4  # a department unit
    with db.write() as s:  # a left colleague no longer counts; one with two posts in the unit counts once
        service.set_active(s, SYSTEM, org.users["othello"], False)
        posts = [PostSpec(department_id=org.depts["B1"]), PostSpec(department_id=sub.id or 0, is_primary=False)]
        service.set_posts(s, SYSTEM, org.users["iago"], posts)
    assert fill(db, task("2026Q4", staff), unit)[str(staff.id)]["value"] == 3


def test_a_persons_value_beats_the_source_and_a_fresh_answer_beats_an_old_one(db: Database, org: Org) -> None:
    unit = org.agencies["B"]
    staff = define(db, org, "STAFF", cycle="year", source="directory.staff_count")
    put(db, staff, unit, "2026", 2, origin=ValueOrigin.computed)  # the directory's count when last submitted
    assert fill(db, task("2026Q4", staff), unit)[str(staff.id)] | {"at": ""} == {
        "value": 3,  # counted afresh
        "source": "computed",
        "origin": "computed",
        "period": "2026",
        "at": "",
        "label": "通讯录（在岗人数）",
    }
    put(db, staff, unit, "2026", 5, origin=ValueOrigin.corrected, reason="含借调人员", author_id=org.users["iago"])
    mark = fill(db, task("2026Q4", staff), unit)[str(staff.id)]
    assert (mark["value"], mark["source"], mark["origin"]) == (5, "registry", "corrected")


def test_a_failing_or_silent_source_leaves_the_cell_to_type(db: Database, org: Org) -> None:
    calls: list[int] = []

    def broken(_s: Any, unit_id: int, _p: str) -> Any:
        calls.append(unit_id)
        raise RuntimeError("down")

    sources.register("test.broken", "测试", broken)
    sources.register("test.silent", "测试2", lambda _s, _u, _p: None)
    a = define(db, org, "A", source="test.broken")
    b = define(db, org, "B", source="test.silent")
    assert fill(db, task("2026Q4", a, b), org.agencies["B"]) == {}
    assert calls == [org.agencies["B"]]


def test_a_200_item_form_reads_a_few_queries(db: Database, org: Org) -> None:
    """Items, current values and who stored them: three statements, whatever the number of items."""
    unit = org.agencies["B"]
    with db.write() as s:
        s.add_all(
            DataItem(
                code=f"X{n:03d}",
                name=f"项{n}",
                spec={"type": "number"},
                owner_dept_id=org.depts["A1"],
                owner_agency_id=org.agencies["A"],
                cycle="year" if n % 2 else "quarter",
            )
            for n in range(200)
        )
    with db.read() as s:
        its = list(s.exec(select(DataItem).order_by(col(DataItem.id))).all())
    for item in its[:50]:
        put(db, item, unit, "2026" if item.cycle.value == "year" else "2026Q4", 1, author_id=org.users["othello"])
    t = task("2026Q4", *its)
    loaded: list[object] = []  # ORM objects built for the current values: plain rows are enough to read

    def built(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(CurrentValue, "load", built)
    try:
        with db.read() as s, statements(db) as seen:
            out = prefill.prefill(s, t, unit)
    finally:
        event.remove(CurrentValue, "load", built)
    assert len(out) == 50 and len(seen) == 3
    assert loaded == []
