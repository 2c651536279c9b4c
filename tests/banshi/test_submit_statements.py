"""What one submission costs the database. Submissions share one writer thread
(``app.state.banshi_commit``), so every statement of ``create_request(submit=True)`` is paid by all
applicants in turn; ``bench/banshi_load_bench.py`` measures the throughput."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from banshi import submission
from office.db import Database
from tests.banshi.svc_helpers import make_template
from tests.factories import Org


def _submit_sql(db: Database, org: Org, tid: int) -> list[str]:
    sent: list[str] = []

    def keep(_conn: object, _cursor: object, statement: str, *_rest: Any) -> None:
        sent.append(" ".join(statement.split()))

    with db.write() as s:
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", keep)
        try:
            submission.create_request(
                s, org.actor("hamlet"), template_id=tid, values={"reason": "购买打印纸"}, submit=True
            )
        finally:
            event.remove(conn, "before_cursor_execute", keep)
    return sent


def test_a_submission_writes_the_requests_row_once_for_its_case_and_serial(db: Database, org: Org) -> None:
    """The 审批编号 is read before the case is made, so serial, case, status and times go in one UPDATE
    (it was one for the case and another for the rest); then ``updated_at`` of the transition with the
    version. A request (and its case) inserted by this very transaction is not compare-and-set: nobody
    else can have read its version, so it moves on in the UPDATE that writes the rest."""
    tid = make_template(db, org)
    _submit_sql(db, org, tid)  # the first of the day; the second reads an earlier serial
    sent = _submit_sql(db, org, tid)
    updates = [q for q in sent if q.startswith("UPDATE bs_request ")]
    assert len(updates) == 2, updates
    assert "serial=" in updates[0] and "case_id=" in updates[0] and "status=" in updates[0], updates
    assert "version=" in updates[1] and "updated_at=" in updates[1], updates
    compare_and_set = [q for q in sent if "SET version=?" in q and ".version = ?" in q]
    assert not compare_and_set, compare_and_set
    # 35 on SQLite with audit and events, once the new request and case were no longer compare-and-set
    # (37 with the two compare-and-sets).
    assert len(sent) <= 36, "\n".join(sent)


def test_the_writer_reads_narrow_columns_of_users_and_delegations(db: Database, org: Org) -> None:
    """The approvers are checked active and their 委托 looked up under the write lock at every
    submission: the ids (and principal, deputy pairs) only, not the wide rows."""
    tid = make_template(db, org)
    sent = _submit_sql(db, org, tid)
    users = [q for q in sent if " FROM user_account " in q and "user_account.id IN" in q]
    assert users and all(q.startswith("SELECT user_account.id FROM") for q in users), users
    deputies = [q for q in sent if "FROM wf_delegation" in q]
    assert deputies == [
        q for q in deputies if q.startswith("SELECT wf_delegation.principal_id, wf_delegation.deputy_id FROM")
    ]
    assert deputies, sent


def test_a_submission_reads_the_routes_people_once(db: Database, org: Org) -> None:
    """The engine's ``banshi.case`` event and 办事's ``banshi.request`` event go to the people on the
    route: the engine reads them (``worklist.participants``) and its ``Transition`` carries them, so
    ``banshi.notices.concerned`` does not read them again."""
    tid = make_template(db, org)
    sent = _submit_sql(db, org, tid)
    reads = [q for q in sent if q.startswith("SELECT wf_task.assignee_id, wf_task.acted_by_id FROM wf_task")]
    assert len(reads) == 1, reads
