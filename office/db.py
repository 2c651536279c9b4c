"""Engine and session scopes.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged commit survives a power cut),
foreign keys on and a busy timeout. Write transactions start with ``BEGIN IMMEDIATE`` so two
writers never both read a snapshot and then fail to upgrade; readers never block. The same code
runs on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from office.checkpointer import BACKSTOP_PAGES, Checkpointer
from office.config import Settings

WRITE_LOCK_KEY = 7_221_209


class Database:
    """Owns the engine; hands out read and write sessions and runs after-commit hooks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self.checkpointer: Checkpointer | None = None
        if self.is_sqlite:
            # Kept open: as many connections as the threadpool has threads (anyio's 40) plus the writers
            # and websocket handshakes. With 16 kept, a burst of requests (100 applicants submitting)
            # opened and closed overflow connections all the time, each with its PRAGMAs: a fifth of a
            # request thread's time under the 办事 load benchmark. An idle SQLite connection costs little.
            self.engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=48,
                max_overflow=16,
            )
            _configure_sqlite(self.engine)
            path = self.engine.url.database
            if path and path != ":memory:" and not path.startswith("file:"):
                self.checkpointer = Checkpointer(path)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._write_engine = self.engine.execution_options(office_write=True)
        # Read sessions are read-only at the database level, so a write that slips into a GET
        # handler fails loudly instead of being silently rolled back.
        self._read_engine = self.engine.execution_options(office_read=True)
        if not self.is_sqlite:
            _configure_postgres(self.engine)
        self.event_sinks: list[Callable[[list[Any]], None]] = []
        self.on_dispose: list[Callable[[], None]] = []  # e.g. office.hotpath's own connections
        self._lock = threading.Lock()

    def create_all(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            session.info["db"] = self
            session.info["read_only"] = True
            yield session

    @contextmanager
    def write(self, *, lock_now: bool = False, subscribers: list[Any] | None = None) -> Iterator[Session]:
        """One serialised write transaction: commit on success, roll back on error.

        Writers are serialised (a process lock on SQLite, whose writes are serial anyway; a
        session-level advisory lock on PostgreSQL, across processes), and the events a transaction
        published are handed to the sinks before the lock is released, so every sink sees events
        in commit order. Subscribers (other domains' reactions) run after the lock is released.

        ``lock_now``: the transaction begins before the session is handed over, so the database's
        write lock is held from then on (on SQLite ``BEGIN IMMEDIATE`` is otherwise sent with the
        first statement; PostgreSQL's advisory lock is always taken first). The group-commit writer
        takes the lock this way and only then collects its batch (``office.groupcommit``).

        ``subscribers``: the committed events are added to this list instead of being handed to the
        subscribers here, for a caller that answers its own callers first and then runs them
        (``events.notify_subscribers``): the group-commit writer acknowledges at the commit, not after
        every 工作通知 a batch caused was written.
        """
        from office import events

        with self._serialised() as conn:
            session = Session(bind=conn, expire_on_commit=False)
            session.info["db"] = self
            try:
                if lock_now:
                    session.connection()  # begins the transaction: the "begin" hook's BEGIN IMMEDIATE
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                session.close()
                raise
            committed = session.info.pop("pending_events", [])
            session.close()
            if committed:
                events.deliver(self, committed)
        if self.checkpointer is not None:
            self.checkpointer.poke()
        if committed and subscribers is not None:
            subscribers.extend(committed)
        elif committed:
            events.notify_subscribers(self, committed)

    @contextmanager
    def _serialised(self) -> Iterator[Any]:
        # A process's writers queue on the process lock BEFORE they take a pooled connection, on both
        # databases: a writer waiting for its turn then holds none. If they queued on the advisory
        # lock with a connection each, a burst of writers (every client reconnecting after a restart:
        # the websocket handshake writes) would hold the whole pool while the writer whose turn it is
        # waits for a second connection for a read (``actor_cache.sync``), and the process would
        # stand still until the pool's timeout. Across processes the advisory lock orders them.
        with self._lock:
            if self.is_sqlite:
                with self._write_engine.connect() as conn:
                    yield conn
                return
            with self._advisory() as conn:
                yield conn

    @contextmanager
    def _advisory(self) -> Iterator[Any]:
        """The advisory lock, taken by the first statement of the transaction the body goes on with,
        and released by one statement in autocommit: two statements besides the body's. Taking it
        in a transaction of its own and releasing it in another cost six, three of them while every
        other process's writers waited (scale_bench's statement profile)."""
        with self.engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection  # psycopg's connection (cursors are context managers)
            # psycopg opens the transaction implicitly and SQLAlchemy's begin sends nothing, so the
            # session's statements and its COMMIT belong to this transaction. It runs at READ
            # COMMITTED: each statement after the lock sees every commit made before it was granted.
            with raw.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK_KEY,))
            try:
                yield conn
            finally:
                conn.rollback()
                raw.rollback()  # a body that sent nothing leaves the lock's transaction open
                raw.autocommit = True
                try:
                    with raw.cursor() as cur:
                        cur.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK_KEY,))
                finally:
                    raw.autocommit = False

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        while self.on_dispose:
            self.on_dispose.pop()()
        self.engine.dispose()


def settings_of(session: Session) -> Settings:
    """The settings of the app whose ``Database`` opened ``session`` (read or write): how a domain reads
    its ``OFFICE_*`` values (``office.config``) inside a service call."""
    db: Database = session.info["db"]
    return db.settings


def _sqlite_from_hint(_compiler: Any, _table: Any, text: str | None) -> str | None:
    return text


# SQLAlchemy renders table hints (``select().with_hint(Model, "INDEXED BY ix_name", "sqlite")``) only for
# dialects that define where they go; SQLite's place is right after the table name, which is what the
# generic ``format_from_hint_text`` does once this returns the hint. Used where the planner would pick the
# wide row over a narrow covering index (search's visibility probes).
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own transaction start (pysqlite's implicit BEGIN is off).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")  # office.checkpointer does it in the background
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        # query_only is the connection's own flag and outlives its transactions: sent only when this
        # transaction wants the other mode (kept in the pooled connection's info, which lives and dies
        # with the SQLite connection). Every statement gives up the interpreter lock and waits to take
        # it back; under the capacity benchmark's load that wait, not the statement, was the request
        # threads' time, and this PRAGMA was half of the begin's.
        mode = 1 if options.get("office_read") else 0
        info = conn.connection.info
        if info.get("query_only") != mode:
            conn.exec_driver_sql(f"PRAGMA query_only={mode}")
            info["query_only"] = mode
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("office_write") else "BEGIN")


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("office_read"):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def insert_plain_rows(conn: Any, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Multi-row INSERT of values already in the driver's form, straight through its executemany.

    For the group-commit write paths (messages, events and their recipients, search bigrams, audit
    entries: hundreds to thousands of rows per batch) SQLAlchemy's per-row parameter processing
    costs more than the insert. Callers convert what needs converting: ``sql_time`` for
    timestamps, ``sql_json`` for JSON columns; enums are stored by name.
    """
    raw_many(conn, f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})", rows)


def raw_rows(conn: Any, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``?`` placeholders) on the connection's DBAPI cursor, inside its transaction.

    For the group-commit write paths only, where each statement is tiny and SQLAlchemy's execution
    machinery (events, result metadata, row objects) costs more than the statement: values and
    rows are the driver's own.
    """
    cur = conn.connection.cursor()
    try:
        cur.execute(driver_sql(conn, sql), params)
        return cur.fetchall() if cur.description else []
    finally:
        cur.close()


def raw_many(conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """``executemany`` of ``sql`` on the DBAPI cursor (see ``raw_rows``)."""
    if not rows:
        return
    cur = conn.connection.cursor()
    try:
        cur.executemany(driver_sql(conn, sql), rows)
    finally:
        cur.close()


def escape_like(text: str) -> str:
    """``text`` taken literally inside a LIKE pattern written with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def driver_sql(conn: Any, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the driver's own paramstyle."""
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def reserve_ids(conn: Any, table: Any, n: int) -> list[int]:
    """``n`` fresh, increasing primary keys of ``table`` for rows the caller inserts with
    ``insert_plain_rows`` (RETURNING is row-at-a-time on SQLite, where order is not promised).

    Only under ``Database.write()``: on SQLite the write lock makes ``max(id) + 1 ...`` exactly the
    ids SQLite would hand out; on PostgreSQL the ids come from the column's own sequence.
    """
    if n <= 0:
        return []
    if conn.dialect.name == "sqlite":
        top = raw_rows(conn, f"SELECT max(id) FROM {table.name}")[0][0] or 0
        return list(range(top + 1, top + n + 1))
    rows = conn.exec_driver_sql(
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, %s)", (n,)
    )
    return sorted(int(r[0]) for r in rows)


def sql_time(conn: Any, value: datetime | None) -> Any:
    """An aware datetime as ``UTCDateTime`` stores it (naive-UTC text on SQLite), for raw inserts."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DATETIME format
    return value


def sql_json(value: Any) -> str:
    """A JSON column's value for raw inserts (what SQLAlchemy's JSON type would bind)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns aware UTC datetimes, on SQLite (which drops zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class as_stored(ColumnElement[Any]):  # (lower case: used like a SQL function)
    """A column compared row by row as stored, skipping SQLite's type affinity.

    A ``DATETIME`` column has NUMERIC affinity, so SQLite tries to read every text operand it is
    compared with as a number, on every row; our timestamps are text of one fixed width, where that
    attempt always fails and text order is time order, so it is pure cost (about half of testing a
    timestamp). SQLite spells "this value without affinity" ``+column``, which also keeps the term off
    the index: use it for tests on each row, never for bounds that should be index ranges. Other
    databases get the column itself."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012  (SQLAlchemy's form)

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(as_stored)
def _as_stored(element: as_stored, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(as_stored, "sqlite")
def _as_stored_sqlite(element: as_stored, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.column, **kw)}"


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A SQLModel ``sa_column`` for an aware UTC timestamp."""
    return Column(UTCDateTime(), nullable=nullable, index=index)


__all__ = [
    "Database",
    "UTCDateTime",
    "as_stored",
    "driver_sql",
    "insert_plain_rows",
    "reserve_ids",
    "sql_json",
    "sql_time",
    "utc_column",
    "utcnow",
]
