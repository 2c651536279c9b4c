"""What opening a 200-item form costs the database. Only the filler's or reviewer's first opening
writes (it starts the return and keeps its prefill); every later GET is a pure read on a read
session, so it never waits for the single write lock, and it sends a bounded number of statements
whatever the number of items (``bench/tianbao_bench.py`` measures the time)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

from office.db import Database, utcnow
from tests.conftest import PG_URL
from tests.factories import Org
from tests.tianbao.task_world import P, as_user, build, ret_of
from tianbao import items, tasks
from tianbao.models import ReturnStatus

N_ITEMS = 200


@contextmanager
def _watch(db: Database) -> Iterator[dict[str, list[Any]]]:
    """The statements sent and the write transactions begun while the block runs (the background
    refresher of sessions' idle timers, ``office.session_touch``, is not the request's doing)."""
    seen: dict[str, list[Any]] = {"sql": [], "writes": []}

    def keep(_conn: object, _cursor: object, statement: str, *_rest: Any) -> None:
        if threading.current_thread().name != "session-touch":
            seen["sql"].append(" ".join(statement.split()))

    def begun(conn: Any) -> None:
        if conn.get_execution_options().get("office_write") and threading.current_thread().name != "session-touch":
            seen["writes"].append(threading.current_thread().name)

    event.listen(db.engine, "before_cursor_execute", keep)
    event.listen(db.engine, "begin", begun)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
        event.remove(db.engine, "begin", begun)


def _big_task(org: Org) -> tuple[Any, int]:
    w = build(org)
    actor = org.actor("polonius")
    with w.db.write() as s:
        ids = [
            items.create_item(
                s,
                actor,
                {
                    "code": f"Z{k:03d}",
                    "name": f"指标{k}",
                    "spec": {"type": "number", "min": 0},
                    "cycle": "quarter",
                    "owner_dept_id": org.depts["A1"],
                },
            ).id
            for k in range(N_ITEMS)
        ]
        s.flush()
        data = {
            "title": "二百项报表",
            "period": "2026Q4",
            "items": [{"item_id": i, "section": "基本情况"} for i in ids],
            "units": [{"unit_id": w.units["U1"]}],
            "deadline": utcnow() + dt.timedelta(days=7),
        }
        task = tasks.create_task(s, actor, data)
        tasks.issue(s, actor, task.id or 0, task.version)
        return w, task.id or 0


def test_a_second_opening_of_a_200_item_form_is_a_bounded_read(client: TestClient, org: Org) -> None:
    w, tid = _big_task(org)
    url = f"{P}/returns/{ret_of(w, tid, 'U1').id}"
    filler = as_user(client, "filler1")
    with _watch(w.db) as first:
        r = filler.get(url)
    assert r.status_code == 200, r.text
    assert r.json()["return"]["status"] == ReturnStatus.filling.value
    if PG_URL:  # the write transaction is marked by BEGIN IMMEDIATE on SQLite only: look at the statements
        assert any(q.split(" ", 1)[0] in ("INSERT", "UPDATE") for q in first["sql"]), first["sql"]
    else:
        assert len(first["writes"]) == 1, first["writes"]  # the first opening starts it, once
    with _watch(w.db) as again:
        r2 = filler.get(url)
    assert r2.status_code == 200, r2.text
    assert r2.json() == r.json()  # the same form, from a read
    assert again["writes"] == [], again["writes"]
    assert not [q for q in again["sql"] if q.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE")], again["sql"]
    # 10 on SQLite: the read transaction (2), the session and its user, the return, its task, the
    # task's items (one statement for all 200), the unit and the collector's department and agency
    # (one), the comments, the filler and reviewer. It was 12 with each department read on its own.
    assert len(again["sql"]) <= 10, "\n".join(again["sql"])
    assert sum(1 for q in again["sql"] if "FROM tb_item" in q) == 1, again["sql"]


def test_the_first_opening_reads_the_task_once_per_transaction_without_its_units(client: TestClient, org: Org) -> None:
    """The first opening is a read (is it the first?) and then the write transaction that starts and
    prefills the return: each reads the task once (the session keeps it; its identity map alone let
    go of it, and the write read it three times), never the draft units it keeps after issue (2,000
    of them are 150 KB of JSON), and the return's changes go out in one UPDATE."""
    w, tid = _big_task(org)
    url = f"{P}/returns/{ret_of(w, tid, 'U1').id}"
    filler = as_user(client, "filler1")
    with _watch(w.db) as first:
        r = filler.get(url)
    assert r.status_code == 200, r.text
    task_reads = [q for q in first["sql"] if "FROM tb_task" in q]
    assert len(task_reads) == 2, task_reads
    assert not [q for q in first["sql"] if "tb_task.units" in q], task_reads
    assert sum(1 for q in first["sql"] if q.startswith("UPDATE tb_return")) == 1, first["sql"]
