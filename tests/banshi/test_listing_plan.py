"""How SQLite runs 待我审批: through the person's tasks and ``ix_bs_request_case``, never by walking
every running request or every running case (at 10^6 requests that took seconds a page;
``bench/banshi_load_bench.py`` measures the lists at that size)."""

from __future__ import annotations

from sqlalchemy.dialects import sqlite
from sqlmodel import col, select

from banshi.listing import box_cond
from banshi.models import ApprovalRequest
from banshi.service import last_serial_query
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


def test_next_serial_reads_only_the_days_serials(db: Database) -> None:
    """Every submission reads the day's last 审批编号 under the write lock: by (agency_id, serial), a
    range, not every request of the agency."""
    if db.engine.dialect.name != "sqlite":
        return
    plan = _plan(db, last_serial_query(1, "20261207"))
    assert "ix_bs_request_agency_serial (agency_id=? AND serial>? AND serial<?)" in plan, plan
