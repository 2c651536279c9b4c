"""How SQLite runs 待我审批: through the person's tasks and ``ix_bs_request_case``, never by walking
every running request or every running case (at 10^6 requests that took seconds a page;
``bench/banshi_load_bench.py`` measures the lists at that size)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlmodel import col, select

from banshi import visibility
from banshi.listing import BOXES, box_cond, counts
from banshi.models import ApprovalRequest
from banshi.submission import last_serial_query
from office.db import Database
from tests.factories import Org


def _plan(db: Database, stmt: object) -> str:
    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    with db.read() as s:
        rows = s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return "\n".join(str(r[-1]) for r in rows)


def test_todo_box_starts_from_the_persons_tasks(db: Database, org: Org) -> None:
    if db.engine.dialect.name != "sqlite":
        return  # the plan is SQLite's; PostgreSQL plans by its statistics
    stmt = (
        select(ApprovalRequest.id)
        .where(box_cond(org.actor("polonius"), "todo"))
        .order_by(col(ApprovalRequest.id).desc())
    )
    plan = _plan(db, stmt)
    first = plan.splitlines()[0]
    assert first.startswith("SEARCH bs_request ") and "rowid=?" in first, plan  # each id found, one by one
    assert plan.count("ix_wf_task_assignee_state (assignee_id=? AND state=?)") == 2, plan  # both lists
    assert "ix_bs_request_case" in plan, plan
    assert "ix_wf_case_state" not in plan and "SCAN" not in plan, plan


def test_no_box_starts_from_every_request_of_the_agency(db: Database, org: Org) -> None:
    """The agency test of ``readable_cond`` filters rows already found by the
    person's own index: started from an agency index it read every request of the agency (10^6)."""
    if db.engine.dialect.name != "sqlite":
        return
    actor = org.actor("polonius")
    with db.read() as s:
        stmts = {
            box: select(ApprovalRequest)
            .where(box_cond(actor, box), visibility.readable_cond(s, actor))
            .order_by(col(ApprovalRequest.id).desc())
            .limit(21)
            for box in BOXES
        }
    for name, stmt in stmts.items():
        plan = _plan(db, stmt)
        assert "ix_bs_request_agency" not in plan and "SCAN bs_request" not in plan, (name, plan)


def test_the_badge_counts_from_the_persons_tasks(db: Database, org: Org) -> None:
    """``counts`` as it runs: each statement it sends, planned with its own parameters."""
    if db.engine.dialect.name != "sqlite":
        return
    sent: list[tuple[str, Any]] = []

    def keep(_conn: object, _cursor: object, statement: str, params: Any, *_rest: object) -> None:
        sent.append((statement, params))

    with db.read() as s:
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", keep)
        try:
            counts(s, org.actor("polonius"))
        finally:
            event.remove(conn, "before_cursor_execute", keep)
        plans = [
            "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {q}", p).all()) for q, p in sent
        ]
    todo = next(p for p in plans if "wf_task" in p)
    assert "ix_wf_task_assignee_state (assignee_id=? AND state=?)" in todo, todo
    assert "ix_bs_request_agency" not in todo and "SCAN bs_request" not in todo, todo


def test_next_serial_reads_only_the_days_serials(db: Database) -> None:
    """Every submission reads the day's last 审批编号 under the write lock: by (agency_id, serial), a
    range, not every request of the agency."""
    if db.engine.dialect.name != "sqlite":
        return
    plan = _plan(db, last_serial_query(1, "20261207"))
    assert "ix_bs_request_agency_serial (agency_id=? AND serial>? AND serial<?)" in plan, plan
