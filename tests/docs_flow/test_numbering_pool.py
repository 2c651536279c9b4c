"""A 预留 request waiting for the group-commit ``Numberer`` holds no database connection.

``POST /api/docs/numbers`` used to wait for its number inside the handler's read session. More
waiting clerks than the pool has connections (30 per process on PostgreSQL) then held them all, the
``Numberer``'s writer could not get the connection it writes with, and every request failed after
the pool's 30 s timeout. The handler now hands its future to the framework (``deferred_write``),
which waits for it after the read session is closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import cast

from sqlalchemy.pool import QueuePool
from starlette.testclient import TestClient

from office.db import Database
from tests.docs_flow.test_numbering import seqs
from tests.factories import Org, login


@contextmanager
def write_lock_held(db: Database) -> Iterator[None]:
    """Another thread holds the write lock until the block ends (a long writer)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write():
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(30)
    try:
        yield
    finally:
        release.set()
        holder.join(30)


def test_more_waiting_reservations_than_pooled_connections_all_get_their_number(client: TestClient, org: Org) -> None:
    login(client, "gertrude")
    pool = cast(QueuePool, org.db.engine.pool)
    limit = pool.size() + pool._max_overflow  # the most connections the pool hands out
    n = min(limit + 5, 38)  # the server's threadpool runs 40 handlers at once
    with ThreadPoolExecutor(n) as senders:
        with write_lock_held(org.db):  # the writer is busy: every request has to wait for it
            answers = [
                senders.submit(
                    client.post, "/api/docs/numbers", json={"code": "粤府办", "year": 2026, "reason": f"预留{i}"}
                )
                for i in range(n)
            ]
            # Give the requests time to arrive (bounded; without the fix they fill the pool, and we stop
            # waiting as soon as they have).
            deadline = time.monotonic() + 2.0
            while pool.checkedout() < limit and time.monotonic() < deadline:
                time.sleep(0.02)
        got = [a.result(timeout=25) for a in answers]
    assert [r.status_code for r in got] == [201] * n, got[0].text
    assert seqs(org) == list(range(1, n + 1))
