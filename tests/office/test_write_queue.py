"""Writers of one process wait for the write lock without holding a pooled connection (``Database._serialised``).

On PostgreSQL the writers used to take a connection and then wait on the advisory lock with it. A
burst of writers larger than the pool (clients reconnecting after a restart: each websocket
handshake is a write transaction) then held every connection, and the writer whose turn it was
could not get the second connection its read needs (``actor_cache.sync`` opens one inside the
write): the process stood still until the pool's 30 s timeout and the handshakes failed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from office.config import Settings
from office.db import Database


def test_a_burst_of_writers_larger_than_the_pool_does_not_starve_the_writer_whose_turn_it_is(
    settings: Settings,
) -> None:
    db = Database(settings)
    pool = cast(QueuePool, db.engine.pool)
    limit = pool.size() + pool._max_overflow  # the most connections the pool hands out
    first_inside = threading.Event()
    done: list[int] = []
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with db.write() as s:
                s.connection().exec_driver_sql("SELECT 1")
                if k == 0:
                    first_inside.set()
                    # Let the others queue up behind us (bounded: with the fix they hold no connection,
                    # so the pool never fills and this waits the whole second).
                    deadline = time.monotonic() + 1.0
                    while pool.checkedout() < limit and time.monotonic() < deadline:
                        time.sleep(0.01)
                with db.read() as r:  # a read inside the write, as actor_cache.sync does
                    r.connection().exec_driver_sql("SELECT 1")
            done.append(k)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(0,), daemon=True)]
    threads[0].start()
    assert first_inside.wait(10)
    threads += [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(1, limit + 5)]
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 20
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    try:
        assert stuck == 0 and not errors, f"{stuck} writers still waiting, errors: {errors[:1]}"
        assert sorted(done) == list(range(limit + 5))
    finally:
        if not stuck:
            db.dispose()


def test_on_postgresql_the_write_lock_costs_two_round_trips_besides_the_body(
    settings: Settings, tmp_path: Path
) -> None:
    """Every other process's writers wait while a write holds the lock, so each round trip it holds
    the lock through counts: the lock is the first statement of the body's transaction and is
    released by one statement in autocommit (BEGIN, lock, body, COMMIT, unlock), where a transaction
    of its own for each took nine. Counted in libpq's trace of the connection: a round trip is a
    simple Query or an extended-protocol Sync."""
    if settings.sqlite:
        pytest.skip("the advisory lock is PostgreSQL's")
    db = Database(settings)
    with db.read() as r:  # a connection in the pool, opened before the trace starts
        r.connection().exec_driver_sql("SELECT 1")
    trace = (tmp_path / "libpq.trace").open("w")

    def start(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.pgconn.trace(trace.fileno())

    def stop(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.pgconn.untrace()

    event.listen(db.engine, "checkout", start)
    event.listen(db.engine, "checkin", stop)
    try:
        with db.write() as s:
            s.connection().exec_driver_sql("SELECT 2")
        with db.write():
            pass  # a body that sends nothing still releases the lock and leaves no transaction open
    finally:
        event.remove(db.engine, "checkout", start)
        event.remove(db.engine, "checkin", stop)
        db.dispose()
        trace.close()
    sent = [line.split("\t")[3] for line in (tmp_path / "libpq.trace").read_text().splitlines() if "\tF\t" in line]
    trips = [m for m in sent if m in ("Query", "Sync")]
    assert len(trips) == 5 + 4, sent  # BEGIN lock SELECT-2 COMMIT unlock; BEGIN lock ROLLBACK unlock
