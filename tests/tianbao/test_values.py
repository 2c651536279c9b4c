"""Stored values: every change appends a history row (who, when, which task, the value it replaced)
and moves the current row; an unchanged value is not stored again; the current values of a 200-item
form are read in one query; a value's history is read by the unit's own agency and, beyond it, by
the item's level."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import func, select
from starlette.testclient import TestClient

from office.db import Database
from tests.factories import Org, login
from tests.tianbao.registry_helpers import define, put, statements
from tianbao import values
from tianbao.models import CurrentValue, DataItem, DataValue, ValueOrigin


def test_history_names_who_when_which_task_and_the_previous_value(db: Database, org: Org) -> None:
    item = define(db, org, "A01.001")
    unit = org.agencies["A"]
    put(db, item, unit, "2026", 10, author_id=org.users["hamlet"], task_id=7)
    put(
        db,
        item,
        unit,
        "2026",
        12,
        author_id=org.users["ophelia"],
        task_id=9,
        origin=ValueOrigin.corrected,
        reason="口径调整",
    )
    with db.read() as s:
        rows = values.history(s, item.id or 0, unit, "2026")
        assert [(r.value, r.author_id, r.task_id, r.origin) for r in rows] == [
            (12, org.users["ophelia"], 9, ValueOrigin.corrected),
            (10, org.users["hamlet"], 7, ValueOrigin.typed),
        ]
        assert rows[0].previous_id == rows[1].id and rows[1].previous_id is None
        assert rows[0].reason == "口径调整" and rows[0].created_at >= rows[1].created_at
        cur = s.get(CurrentValue, (unit, item.id, "2026"))
        assert cur is not None and (cur.value, cur.value_id, cur.origin) == (12, rows[0].id, "corrected")
        shown = values.history_dicts(s, rows)
    assert shown[0]["previous_value"] == 10 and shown[0]["author_name"] == "李娜" and shown[0]["task_id"] == 9
    assert shown[1]["previous_value"] is None and shown[1]["author_name"] == "张伟"


def test_an_unchanged_value_is_not_stored_again(db: Database, org: Org) -> None:
    item = define(
        db, org, "A01.001", spec={"type": "table", "columns": [{"key": "n", "label": "名称", "type": "text"}]}
    )
    unit = org.agencies["A"]
    table = {"rows": [{"n": "甲"}], "totals": {}}
    put(db, item, unit, "2026", table)
    with db.write() as s:
        again = values.store(
            s,
            unit_id=unit,
            rows=[(item, "2026", dict(table), ValueOrigin.typed, "")],
            task_id=2,
            return_id=3,
            author_id=1,
        )
    assert again == []
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(DataValue)).one() == 1


def test_values_are_kept_per_unit_and_period(db: Database, org: Org) -> None:
    item = define(db, org, "A01.001", cycle="quarter")
    a, b = org.agencies["A"], org.agencies["B"]
    put(db, item, a, "2026Q3", 1)
    put(db, item, a, "2026Q4", 2)
    put(db, item, b, "2026Q4", 3)
    with db.read() as s:
        assert {
            k: v.value for k, v in values.current(s, a, [(item.id or 0, "2026Q3"), (item.id or 0, "2026Q4")]).items()
        } == {
            (item.id, "2026Q3"): 1,
            (item.id, "2026Q4"): 2,
        }
        assert [r.value for r in values.history(s, item.id or 0, b, "2026Q4")] == [3]


def test_current_reads_200_items_in_one_query(db: Database, org: Org) -> None:
    """The bench's form: 200 items of several cycles, other periods and units stored beside them."""
    unit, other = org.agencies["A"], org.agencies["B"]
    with db.write() as s:
        s.add_all(
            DataItem(
                code=f"X{n:03d}",
                name=f"项{n}",
                spec={"type": "number"},
                owner_dept_id=org.depts["A1"],
                owner_agency_id=unit,
            )
            for n in range(200)
        )
        s.flush()
        ids = list(s.exec(select(DataItem.id).order_by(DataItem.id)).all())
        keys = [(i or 0, "2026" if n % 2 else "2026Q4") for n, i in enumerate(ids)]
        # Other periods of the same items, the form's other period among them (the query's IN lists reach those).
        noise = [(i, p) for i, k in keys for p in ("2025", "2026Q3", "2026Q4" if k == "2026" else "2026")]
        s.add_all(
            CurrentValue(unit_id=u, item_id=i, period=p, value_id=0, value=n)
            for n, (i, p) in enumerate(keys)
            for u in (unit, other)
        )
        s.add_all(CurrentValue(unit_id=unit, item_id=i, period=p, value_id=0, value=-1) for i, p in noise)
    with db.read() as s, statements(db) as seen:
        got = values.current(s, unit, keys)
    assert len(seen) == 1
    assert "tb_value_current" in seen[0] and "unit_id" in seen[0]
    assert len(got) == 200 and all(got[k].value == n and got[k].unit_id == unit for n, k in enumerate(keys))


def test_current_probes_the_primary_key_per_key(db: Database, org: Org) -> None:
    """Each (unit, item, period) is an exact probe of tb_value_current's primary key (SQLite's plan),
    not a read of every stored period of the items."""
    if not db.is_sqlite:
        pytest.skip("the plan checked is SQLite's")
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        if sql.lstrip().startswith("SELECT") and "tb_value_current" in sql:
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            plans.extend(str(r[-1]) for r in rows)

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        with db.read() as s:
            values.current(s, org.agencies["A"], [(n, "2026" if n % 2 else "2026Q4") for n in range(1, 201)])
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)
    searches = [p for p in plans if p.startswith("SEARCH")]
    assert searches and all("unit_id=? AND item_id=? AND period=?" in p for p in searches), plans


def test_current_of_nothing_asks_nothing(db: Database, org: Org) -> None:
    with db.read() as s, statements(db) as seen:
        assert values.current(s, org.agencies["A"], []) == {}
    assert seen == []


# Reading a history over HTTP -------------------------------------------------------------------------


def history(client: TestClient, item: DataItem, unit: int, period: str = "2026") -> Any:
    return client.get(f"/api/tianbao/items/{item.id}/history", params={"unit_id": unit, "period": period})


def test_history_is_read_by_the_units_agency_and_by_level(client: TestClient, db: Database, org: Org) -> None:
    internal = define(db, org, "INT", level="internal")
    public = define(db, org, "PUB", level="public")
    b_unit = org.agencies["B"]
    put(db, internal, b_unit, "2026", 5, author_id=org.users["othello"], task_id=1)
    put(db, public, org.agencies["A"], "2026", 6, author_id=org.users["hamlet"])
    login(client, "othello")  # agency B: reported the internal value itself
    r = history(client, internal, b_unit)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["current"]["value"] == 5 and body["current"]["author_name"] == "郑军" and body["current"]["task_id"] == 1
    )
    assert history(client, public, org.agencies["A"]).json()["current"]["value"] == 6  # 公开: every agency
    hidden = history(client, internal, org.agencies["A"])  # another agency's value of an internal item
    missing = client.get("/api/tianbao/items/999999/history", params={"unit_id": b_unit, "period": "2026"})
    same = {k: v for k, v in hidden.json().items() if k != "request_id"}  # each answer has its own request id
    assert hidden.status_code == missing.status_code == 404
    assert same == {k: v for k, v in missing.json().items() if k != "request_id"}
    assert history(client, internal, b_unit, period="2026Q9").status_code == 422
