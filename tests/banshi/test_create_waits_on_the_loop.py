"""A create waiting for the shared writer holds no thread and no database connection.

``POST /api/banshi/requests`` checks and resolves the request on a read session, queues it on the
writer (``app.state.banshi_commit``) and returns the writer's future, which ``office.web`` awaits on
the event loop; the answer is what the writer built from what it wrote. It held its read session (a
pooled connection and a threadpool thread) until the commit, then opened another to read the request
back: under 100 concurrent applicants, 100 threads and connections waiting on one writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event
from starlette.testclient import TestClient

from banshi.models import ApprovalRequest
from office.db import Database
from tests.banshi.svc_helpers import make_template
from tests.factories import Org, login, new_client

WAIT = 10.0


def _wait_for(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_create_waiting_for_the_writer_holds_no_connection_and_reads_nothing_back(
    client: TestClient, db: Database, org: Org
) -> None:
    tid = make_template(db, org)
    ham = new_client(client.app)
    login(ham, "hamlet")
    writer = client.app.state.banshi_commit  # type: ignore[attr-defined]
    after_commit: list[str] = []
    committed: list[bool] = []

    def keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if committed:
            after_commit.append(statement)

    writer.running.clear()  # held: the create waits in its queue
    try:
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(
                ham.post,
                "/api/banshi/requests",
                json={"template_id": tid, "values": {"reason": "买纸"}, "submit": True},
            )
            _wait_for(lambda: writer.depth == 1)
            assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool's count
            event.listen(db.engine, "before_cursor_execute", keep)
            event.listen(db.engine, "commit", lambda _c: committed.append(True), once=True)
            writer.running.set()
            r = answer.result(WAIT)
    finally:
        writer.running.set()
        event.remove(db.engine, "before_cursor_execute", keep)
    assert r.status_code == 201, r.text
    body = r.json()
    with db.read() as s:
        req = s.get(ApprovalRequest, body["id"])
        assert req is not None and body["serial"] == req.serial and body["version"] == req.version
    assert body["status"] == "running" and body["current_step"] == "部门负责人审批"
    assert [q for q in after_commit if "bs_request" in q] == []  # the answer was not read back
