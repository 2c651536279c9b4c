"""WAL checkpoints run on their own thread (office.checkpointer), not inside some writer's commit."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from sqlmodel import select

from office.checkpointer import BACKSTOP_PAGES
from office.db import Database
from office.models import SystemSetting


def test_writes_reach_the_database_file_through_the_background_checkpoint(db: Database, tmp_path: Path) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's WAL")
    assert db.checkpointer is not None
    with db.write() as s:
        writer = s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert writer == BACKSTOP_PAGES  # no writer checkpoints in its own commit until the WAL is this large
    for i in range(40):
        with db.write() as s:
            s.add(SystemSetting(key=f"checkpoint-test-{i}", value={"i": i}))
    # Soon the main file alone (without its WAL) holds every row: a checkpoint copied them there,
    # and no writer ran one (their threshold is far above these few pages).
    path = Path(db.engine.url.database)  # type: ignore[arg-type]
    copy = tmp_path / "main-only.db"
    deadline = time.monotonic() + 10
    while True:
        shutil.copyfile(path, copy)
        c = sqlite3.connect(copy)
        try:
            found = c.execute("SELECT count(*) FROM system_setting WHERE key LIKE 'checkpoint-test-%'").fetchone()[0]
        except sqlite3.OperationalError:  # not even the schema has been copied yet
            found = 0
        finally:
            c.close()
        if found == 40:
            break
        assert time.monotonic() < deadline, f"only {found} of 40 rows reached the database file"
        time.sleep(0.1)
    # The thread counts a run once the checkpoint call has returned, a moment after the pages it
    # copied are visible in the file (CI once looked in between).
    while db.checkpointer.runs < 1:
        assert time.monotonic() < deadline, "the rows reached the file, but not through the checkpoint thread"
        time.sleep(0.01)
    with db.read() as s:
        assert len(s.exec(select(SystemSetting).where(SystemSetting.key.startswith("checkpoint-test-"))).all()) == 40  # type: ignore[attr-defined]


def test_stopping_the_database_stops_the_thread(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's WAL")
    with db.write() as s:
        s.add(SystemSetting(key="poke", value={}))
    cp = db.checkpointer
    assert cp is not None and cp._thread is not None
    cp.stop()
    assert not cp._thread.is_alive()


def test_a_stop_between_the_linger_and_its_clear_ends_the_thread_at_once(tmp_path: Path) -> None:
    """A stop whose wake-up was set after the linger timed out and before the thread cleared its
    wake-up left the thread asleep until stop's join gave up: 10 s at an app's shutdown."""
    import threading

    from office.checkpointer import Checkpointer

    sqlite3.connect(tmp_path / "c.db").close()
    cp = Checkpointer(str(tmp_path / "c.db"), interval=0.01)

    class StopBeforeClear(threading.Event):
        # That interleaving, every time: the stop's two sets land just before the thread's clear.
        def clear(self) -> None:
            cp._stop.set()
            threading.Event.set(self)
            super().clear()

    cp._wake = StopBeforeClear()
    cp.poke()
    assert cp._thread is not None
    cp._thread.join(timeout=2)
    assert not cp._thread.is_alive()
