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

from sqlalchemy import text

from office.config import Settings
from office.db import Database


def test_a_burst_of_writers_larger_than_the_pool_does_not_starve_the_writer_whose_turn_it_is(
    settings: Settings,
) -> None:
    db = Database(settings)
    pool = db.engine.pool
    limit = pool.size() + db.engine.pool._max_overflow  # type: ignore[attr-defined]  (QueuePool's overflow bound)
    first_inside = threading.Event()
    done: list[int] = []
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with db.write() as s:
                s.exec(text("SELECT 1"))  # type: ignore[call-overload]  (a plain statement)
                if k == 0:
                    first_inside.set()
                    # Let the others queue up behind us (bounded: with the fix they hold no connection,
                    # so the pool never fills and this waits the whole second).
                    deadline = time.monotonic() + 1.0
                    while pool.checkedout() < limit and time.monotonic() < deadline:
                        time.sleep(0.01)
                with db.read() as r:  # a read inside the write, as actor_cache.sync does
                    r.exec(text("SELECT 1"))  # type: ignore[call-overload]
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
