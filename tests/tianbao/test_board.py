"""The collector's board: every unit's status, late flags and counts, read in one query for all units;
only the collecting department sees it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.models import Role
from tests.factories import Org, make_user
from tests.tianbao.task_world import P, as_user, build, fill, issued, refused, set_deadline
from tianbao import board


def test_the_board_shows_each_unit_and_the_counts(client: TestClient, org: Org) -> None:
    w = build(org)
    tid = issued(w)
    fill(w, tid, "U2", {"POP": 1})
    set_deadline(w, tid, utcnow() - dt.timedelta(hours=1))
    pol = as_user(client, "polonius")
    b = pol.get(f"{P}/tasks/{tid}/board").json()
    assert b["task"]["id"] == tid and b["task"]["status"] == "issued"
    rows = {u["unit_name"]: u for u in b["units"]}
    assert (rows["基层一所"]["status"], rows["基层一所"]["late"]) == ("not_started", True)
    assert (rows["基层二所"]["status"], rows["基层二所"]["late"]) == ("submitted", False)
    assert rows["基层一所"]["filler"]["name"] == "填报员1" and rows["基层一所"]["reviewer"]["name"] == "审核人1"
    assert rows["基层一所"]["agency_name"] == "省政府办公厅" and rows["基层二所"]["submitted_at"]
    assert b["counts"]["not_started"] == 1 and b["counts"]["submitted"] == 1 and b["counts"]["late"] == 1
    for name in ("horatio", "othello", "filler1"):
        refused(as_user(client, name).get(f"{P}/tasks/{tid}/board"), 404)


def test_the_board_is_one_query_for_all_units(org: Org) -> None:
    w = build(org)
    extra = []
    with org.db.write() as s:
        for n in range(20):
            extra.append(directory.create_department(s, SYSTEM, name=f"乡镇{n}", parent_id=org.agencies["A"]).id or 0)
    for n, unit in enumerate(extra):
        make_user(org.db, f"c{n}", f"填报{n}", dept_id=unit, roles={Role.staff, Role.clerk})
        make_user(org.db, f"h{n}", f"审核{n}", dept_id=unit, roles={Role.staff, Role.dept_head})
    for n, unit in enumerate(extra):
        w.units[f"X{n}"] = unit
    tid = issued(w, units=("U1", "U2", *(f"X{n}" for n in range(20))))

    def statements(task_id: int) -> tuple[list[str], dict[str, Any]]:
        sent: list[str] = []

        def keep(_conn: object, _cursor: object, statement: str, *_rest: Any) -> None:
            sent.append(statement)

        with org.db.read() as s:
            conn = s.connection()
            event.listen(conn, "before_cursor_execute", keep)
            try:
                out = board.board(s, w.actor("polonius"), task_id)
            finally:
                event.remove(conn, "before_cursor_execute", keep)
        return sent, out

    sent, out = statements(tid)
    assert len(out["units"]) == 22
    assert sum("FROM tb_return" in q for q in sent) == 1  # every unit, its agency and its people in one query
    assert len(sent) <= 5  # the task, its department and agency, the returns
    # The task's draft units (2,000 of them are 150 KB of JSON) are not read: the board never shows them.
    task_reads = [q for q in sent if "FROM tb_task" in q]
    assert len(task_reads) == 1 and "tb_task.units" not in task_reads[0], task_reads
