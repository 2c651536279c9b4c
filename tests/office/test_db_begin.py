"""What a SQLite transaction sends before its first statement (``office.db._configure_sqlite``).

A read transaction makes its connection read-only (``PRAGMA query_only``) and a write one makes it
writable again. The flag belongs to the connection and outlives the transaction, so it is sent only
when the mode changes: every statement costs a request thread a wait for the interpreter lock, and
under load that wait was most of a short read's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from office.config import Settings
from office.db import Database
from office.models import Department


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    if not db.is_sqlite:
        db.dispose()
        pytest.skip("query_only is SQLite's; PostgreSQL sets its read-only transactions itself")
    db.create_all()
    try:
        yield db
    finally:
        db.dispose()


def _sent(db: Database, body: Any) -> list[str]:
    seen: list[str] = []

    def keep(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        body()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return seen


def _read(db: Database) -> None:
    with db.read() as s:
        s.execute(text("SELECT 1"))


def _write(db: Database) -> None:
    with db.write() as s:
        s.add(Department(name="办公室"))


def test_query_only_is_sent_when_the_mode_changes_and_only_then(db: Database) -> None:
    assert _sent(db, lambda: _read(db)) == ["PRAGMA query_only=1", "BEGIN", "SELECT 1"]  # a new connection
    assert _sent(db, lambda: _read(db)) == ["BEGIN", "SELECT 1"]
    # A write on the same pooled connection makes it writable first, and writes; the next one just begins.
    assert _sent(db, lambda: _write(db))[:2] == ["PRAGMA query_only=0", "BEGIN IMMEDIATE"]
    assert _sent(db, lambda: _write(db))[:1] == ["BEGIN IMMEDIATE"]
    # The next read makes it read-only again: a read still cannot write.
    assert _sent(db, lambda: _read(db)) == ["PRAGMA query_only=1", "BEGIN", "SELECT 1"]
    with pytest.raises(OperationalError, match="readonly"), db.read() as s:
        s.execute(text("UPDATE department SET name = '改名'"))
    with db.read() as s:
        assert [d.name for d in s.exec(select(Department))] == ["办公室", "办公室"]
