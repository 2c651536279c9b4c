"""待我审批 without filters finds the box's requests once (``listing.todo_ids``): the badge counts them and
the page is cut from them, where the page and the badge each found them from the person's tasks. The
list must stay what it was: the same rows, pages and counts as the filtered path and ``counts``. At
10^6 requests SQLite goes from the tasks to the requests through covering indexes only (migration 0024)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import Session, select

from banshi import listing
from office.db import Database
from tests.banshi.svc_helpers import make_template
from tests.banshi.test_visibility import create
from tests.factories import Org


def _sent(s: Session, fn: Any) -> tuple[Any, list[tuple[str, Any]]]:
    sent: list[tuple[str, Any]] = []

    def keep(_c: object, _cur: object, statement: str, params: Any, *_rest: object) -> None:
        sent.append((statement, params))

    conn = s.connection()
    event.listen(conn, "before_cursor_execute", keep)
    try:
        return fn(), sent
    finally:
        event.remove(conn, "before_cursor_execute", keep)


def test_a_todo_page_finds_the_boxs_requests_once(db: Database, org: Org) -> None:
    tid = make_template(db, org)  # polonius approves first
    made = [create(db, org, tid, who=w) for w in ("hamlet", "ophelia", "horatio", "hamlet", "ophelia")]
    actor = org.actor("polonius")
    with db.read() as s:
        first, sent = _sent(s, lambda: listing.list_requests(s, actor, box="todo", limit=2))
        assert len([q for q, _ in sent if "UNION" in q.upper()]) == 1, [q for q, _ in sent]
        assert first["counts"]["todo"] == 5 == listing.counts(s, actor)["todo"]
        pages = [[i["id"] for i in first["items"]]]
        cursor = first["next_cursor"]
        while cursor:
            nxt = listing.list_requests(s, actor, box="todo", limit=2, cursor=cursor)
            assert nxt["counts"]["todo"] == 5
            pages.append([i["id"] for i in nxt["items"]])
            cursor = nxt["next_cursor"]
        # The filtered path (``page_cond``) gives the same rows.
        filtered = listing.list_requests(s, actor, box="todo", template_id=tid, limit=100)
        assert [i["id"] for i in filtered["items"]] == sorted(made, reverse=True)
    assert pages == [sorted(made, reverse=True)[k : k + 2] for k in range(0, 5, 2)]
    with db.read() as s:  # someone with nothing waiting
        empty = listing.list_requests(s, org.actor("yorick"), box="todo")
    assert empty["items"] == [] and empty["counts"]["todo"] == 0 and empty["next_cursor"] is None


def test_the_todo_ids_read_neither_task_nor_request_rows(db: Database, org: Org) -> None:
    if db.engine.dialect.name != "sqlite":
        return  # the plan is SQLite's
    tid = make_template(db, org)
    create(db, org, tid)
    found = listing.todo_ids(org.actor("polonius")).subquery()
    stmt = select(found.c.id).order_by(found.c.id.desc())
    with db.read() as s:
        _, sent = _sent(s, lambda: s.exec(stmt).all())
        (q, p) = sent[0]
        plan = "\n".join(str(r[-1]) for r in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {q}", p).all())
    assert plan.count("COVERING INDEX ix_wf_task_assignee_state (assignee_id=? AND state=?)") == 2, plan
    assert plan.count("COVERING INDEX ix_bs_request_case (case_id=?)") == 2, plan
    assert "ix_bs_request_status" not in plan and "SCAN" not in plan.replace("SCAN anon_1", ""), plan
