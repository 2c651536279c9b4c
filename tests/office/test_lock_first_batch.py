"""The group-commit writer takes the write lock first and only then its batch (issue #19 part 1).

With several workers on PostgreSQL every write waits for one advisory lock. A writer that collected
its batch and then waited for the lock committed only what it had collected, and the items queued
while it waited went into a later commit: with more workers the batches got smaller and each paid
the commit's fixed cost. Now everything queued while the writer waited joins the batch it commits
once it has the lock. Proven here with the lock held by a writer of this process (the process lock)
and by another ``Database`` (another worker: BEGIN IMMEDIATE on SQLite, the advisory lock on
PostgreSQL) while items queue.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session

from office.config import Settings
from office.db import Database
from office.groupcommit import GroupCommit

N = 20
WAIT = 10.0  # seconds: far more than anything here takes when nothing blocks it


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    with db.write() as s:
        s.execute(text("CREATE TABLE lock_first_probe (n INTEGER NOT NULL)"))
    try:
        yield db
    finally:
        db.dispose()


def _insert(n: int) -> Callable[[Session], None]:
    def fn(s: Session) -> None:
        s.execute(text("INSERT INTO lock_first_probe (n) VALUES (:n)"), {"n": n})

    return fn


def _waiting_in_db(thread: threading.Thread) -> bool:
    """The writer thread is inside ``office/db.py`` (waiting there for the write lock)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith("office/db.py"):
            return True
        frame = frame.f_back
    return False


def _wait_for(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, "the writer never reached the write lock"
        time.sleep(0.002)


@pytest.mark.parametrize("holder", ["this process", "another worker"])
def test_what_queues_while_the_writer_waits_for_the_lock_joins_its_next_commit(
    db: Database, settings: Settings, holder: str
) -> None:
    other = Database(settings) if holder == "another worker" else None
    writer = GroupCommit(db, name="lock-first-test")
    try:
        with (other or db).write(lock_now=True) as held:
            held.execute(text("SELECT 1"))
            first = writer.submit(_insert(0))
            # The writer has taken the first item and waits for the lock; the rest queue behind it.
            _wait_for(lambda: _waiting_in_db(writer._thread))
            rest = [writer.submit(_insert(n)) for n in range(1, N)]
            assert not first.done()  # nothing is answered while the lock is held
        for fut in [first, *rest]:
            fut.result(WAIT)
        assert (writer.batches, writer.items) == (1, N), "all N items in the one commit after the lock"
        with db.read() as s:
            assert sorted(n for (n,) in s.execute(text("SELECT n FROM lock_first_probe"))) == list(range(N))
    finally:
        writer.stop()
        if other is not None:
            other.dispose()
