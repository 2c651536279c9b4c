"""待我审批's page asks the reading rule only for the agency: its rows (a pending task of the person's, or
of a principal whose 委托 to them runs now) are already among ``visibility.readable_cond``'s grounds.
The rows must be exactly those of the box under the whole rule, for the people on the route, a deputy
while the 委托 runs and after it is revoked, and someone of another agency; and the page must not build
the rule's list of every task the person ever had (three quarters of a 分管领导's page at 10^6)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.dialects import sqlite
from sqlmodel import col, select

from banshi import listing, visibility
from banshi.models import ApprovalRequest
from office.db import Database, utcnow
from tests.banshi.svc_helpers import make_template, step, two_steps
from tests.banshi.test_visibility import EVERYONE, create
from tests.factories import Org
from workflow import delegation


def _rows(db: Database, org: Org, name: str) -> tuple[list[int], list[int]]:
    """(the page's rows, the box's rows under the whole reading rule) for ``name``."""
    actor = org.actor(name)
    with db.read() as s:
        page = s.exec(select(ApprovalRequest.id).where(listing.page_cond(s, actor, "todo"))).all()
        whole = s.exec(
            select(ApprovalRequest.id).where(listing.box_cond(actor, "todo"), visibility.readable_cond(s, actor))
        ).all()
    return sorted(page), sorted(whole)


def test_the_todo_page_shows_exactly_the_box_under_the_reading_rule(db: Database, org: Org) -> None:
    tid = make_template(db, org, route=two_steps(org, submit=[org.users["gertrude"]]))
    solo = make_template(
        db, org, route={"branches": [], "default": {"steps": [step("s1", "审批", org.users["laertes"])]}}
    )
    made = [create(db, org, tid), create(db, org, tid, who="ophelia"), create(db, org, solo)]
    now = utcnow()
    with db.write() as s:
        d = delegation.set_delegation(
            s,
            org.actor("polonius"),
            deputy_id=org.users["laertes"],
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(days=1),
        )
    seen = {}
    for name in EVERYONE:
        page, whole = _rows(db, org, name)
        assert page == whole, name
        seen[name] = page
    assert seen["polonius"] == made[:2] and seen["laertes"] == made  # his own and, as deputy, polonius's
    assert seen["othello"] == []  # another agency
    with db.write() as s:
        delegation.revoke_delegation(s, org.actor("polonius"), d.id or 0)
    page, whole = _rows(db, org, "laertes")
    assert page == whole == made[2:]


def test_the_todo_page_does_not_list_every_task_the_person_had(db: Database, org: Org) -> None:
    if db.engine.dialect.name != "sqlite":
        return  # the plan is SQLite's
    actor = org.actor("polonius")
    with db.read() as s:
        stmt = (
            select(ApprovalRequest).where(listing.page_cond(s, actor, "todo")).order_by(col(ApprovalRequest.id).desc())
        )
        compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(str(r[-1]) for r in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all())
    # Only the box's own lists: the person's and their principals' pending tasks (state given).
    assert "(assignee_id=?)" not in plan and "bs_request_cc" not in plan, plan
    assert plan.count("ix_wf_task_assignee_state (assignee_id=? AND state=?)") == 2, plan
