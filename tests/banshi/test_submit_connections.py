"""Under a burst of submissions the request threads reuse pooled SQLite connections.

Each create reads on a session of its own in a threadpool thread (40 of them). With 16 connections
kept, every burst past 16 opened overflow connections and closed them again when they came back, each
opening paying SQLite's connect and the PRAGMAs (``office.db._configure_sqlite``): a fifth of a
request thread's time under ``bench/banshi_load_bench.py``'s 100 applicants.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from office.config import Settings
from office.db import Database

THREADS = 40  # anyio's default threadpool


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    try:
        yield db
    finally:
        db.dispose()


def _burst(db: Database) -> None:
    """``THREADS`` read sessions open at once, then all closed."""
    opened = threading.Barrier(THREADS)

    def read() -> None:
        with db.read() as s:
            s.execute(text("SELECT 1"))
            opened.wait(10)

    threads = [threading.Thread(target=read) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


def test_a_second_burst_of_request_threads_opens_no_connection(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's pool is sized for its server's connection limit")
    _burst(db)
    connects: list[object] = []

    def count(*_args: object) -> None:
        connects.append(True)

    event.listen(db.engine, "connect", count)
    try:
        _burst(db)
    finally:
        event.remove(db.engine, "connect", count)
    assert connects == []
