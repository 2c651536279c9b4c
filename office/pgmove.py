"""``office migrate-to-postgres``: move an embedded (SQLite) deployment's database into PostgreSQL.

The target is migrated to the newest revision by the same Alembic scripts as any PostgreSQL
deployment, must hold no rows, and is filled in one transaction (a failure leaves it empty): every
table the models declare, parents before children (foreign keys), read and written in batches so
memory stays bounded whatever the size. Values pass through the models' column types, so JSON,
binary and UTC datetime columns arrive as the same Python values they left as.

Search indexes differ by database (``docs_flow/search_index.py``, ``messaging/search_index.py``,
migrations 0008 and 0012): SQLite keeps contentless FTS5 tables (``doc_search_fts``,
``chat_message_fts``) and leaves the bigram tables empty; PostgreSQL keeps the bigram rows
(``doc_search_term``, ``chat_message_gram``). The FTS5 tables are not copied; the bigram rows are
built here from the copied text with the same keys (``office.bigrams``) and the same rules of what
is indexed, as those modules write them (``office`` may not import them: tests/test_architecture.py).

The audit log's append-only guard (a trigger refusing UPDATE and DELETE, ``office.audit``) stays on:
the copy only INSERTs, which the guard allows, so nothing is disabled. Afterwards the row count of
every table is compared and the audit chain verified on the target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel

from office.bigrams import bigrams
from office.config import load_settings
from office.db import Database
from office.migrate import MIGRATIONS

BATCH = 1000
# Rebuilt below in PostgreSQL's form, not copied (empty on SQLite since migrations 0008 and 0012).
REBUILT = {"doc_search_term", "chat_message_gram"}


class MoveError(Exception):
    """A move that cannot proceed; the message is for the operator (Chinese)."""


@dataclass
class MoveSummary:
    rows: dict[str, int] = field(default_factory=dict)
    index_rows: dict[str, int] = field(default_factory=dict)
    audit_entries: int = 0


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def _revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _tables() -> list[sa.Table]:
    from office.app import load_all_models

    load_all_models()
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in REBUILT]


def _nonempty(conn: sa.Connection, tables: list[sa.Table]) -> list[str]:
    present = set(sa.inspect(conn).get_table_names())
    return [
        t.name
        for t in tables + [sa.table(n) for n in REBUILT]
        if t.name in present and conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()
    ]


def _batches(conn: sa.Connection, table: sa.Table, size: int) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order, ``size`` at a time (keyset pages: bounded memory)."""
    pk = list(table.primary_key.columns)
    query = sa.select(table).order_by(*pk)
    result = conn.execution_options(yield_per=size).execute(query)
    for part in result.partitions(size):
        yield [dict(r._mapping) for r in part]


def _copy_table(src: sa.Connection, dst: sa.Connection, table: sa.Table, size: int) -> int:
    n = 0
    for rows in _batches(src, table, size):
        dst.execute(table.insert(), rows)
        n += len(rows)
    return n


def _set_sequences(dst: sa.Connection, tables: list[sa.Table]) -> None:
    """Each serial key's sequence continues after the largest copied id."""
    for table in tables:
        for column in table.primary_key.columns:
            seq = dst.exec_driver_sql("SELECT pg_get_serial_sequence(%s, %s)", (table.name, column.name)).scalar()
            if seq is None:
                continue
            top = dst.execute(sa.select(sa.func.max(column))).scalar()
            # is_called=false: the next nextval() returns this value itself.
            dst.exec_driver_sql("SELECT setval(%s, %s, false)", (seq, (top or 0) + 1))


def _insert_many(dst: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ", ".join(["%s"] * len(columns))
        dst.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _rebuild_search(src: sa.Connection, dst: sa.Connection, size: int) -> dict[str, int]:
    """PostgreSQL's bigram rows, from the copied text: a document's are the bigrams of its title,
    number, agencies and body (``docs_flow.search_index.search_text``); a chat message's those of its
    text when it is neither recalled nor a system message (``messaging.search_index.indexed``)."""
    counts = {"doc_search_term": 0, "chat_message_gram": 0}
    docs = src.exec_driver_sql("SELECT doc_kind, doc_id, title, number, agencies, body FROM doc_search ORDER BY id")
    for part in docs.partitions(size):
        rows = [(g, kind, doc_id) for kind, doc_id, *text in part for g in bigrams(" ".join(text))]
        _insert_many(dst, "doc_search_term", ("term", "doc_kind", "doc_id"), rows)
        counts["doc_search_term"] += len(rows)
    msgs = src.exec_driver_sql(
        "SELECT id, conversation_id, body FROM chat_message WHERE recalled_at IS NULL AND kind != 'system' ORDER BY id"
    )
    for part in msgs.partitions(size):
        rows = [(g, mid, cid) for mid, cid, body in part for g in bigrams(body)]
        _insert_many(dst, "chat_message_gram", ("gram", "message_id", "conversation_id"), rows)
        counts["chat_message_gram"] += len(rows)
    return counts


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def move(data_dir: Path, target_url: str, *, batch: int = BATCH, say: Callable[[str], None] = print) -> MoveSummary:
    from office import audit
    from office.migrate import upgrade

    source_settings = load_settings({}, data_dir=str(data_dir))  # its own SQLite file, whatever the environment says
    db_file = Path(sa.make_url(source_settings.database_url).database or "")
    if not db_file.is_file():
        raise MoveError(f"数据目录中没有 SQLite 数据库：{db_file}")
    if not target_url.startswith("postgresql"):
        raise MoveError("目标必须是 PostgreSQL 数据库地址（postgresql://...）")
    source = Database(source_settings)
    target = Database(load_settings({}, data_dir=str(data_dir), database_url=target_url))
    try:
        head = head_revision()
        with source.engine.connect() as src:
            rev = _revision(src)
        if rev != head:
            raise MoveError(
                f"源数据库的结构版本是 {rev or '（无）'}，不是最新的 {head}：请先对源数据目录执行 office migrate"
            )
        tables = _tables()
        with target.engine.connect() as dst:
            full = _nonempty(dst, tables)
        if full:
            raise MoveError(f"目标数据库不是空库（{', '.join(full[:5])} 等表中已有数据），不会写入")
        say(f"目标数据库升级到结构版本 {head} ...")
        upgrade(target)
        summary = MoveSummary()
        with source.engine.connect() as src, target.engine.begin() as dst:
            full = _nonempty(dst, tables)  # the migrations themselves seed no rows; anything here is foreign
            if full:
                raise MoveError(f"目标数据库不是空库（{', '.join(full[:5])} 等表中已有数据），不会写入")
            for table in tables:
                summary.rows[table.name] = _copy_table(src, dst, table, batch)
                say(f"  {table.name}: {summary.rows[table.name]} 行")
            _set_sequences(dst, tables)
            summary.index_rows = _rebuild_search(src, dst, batch)
            _verify_counts(src, dst, tables)
        with Session(target.engine) as session:
            report = audit.verify_chain(session)
        if not report.ok:
            raise MoveError(f"目标数据库的审计日志校验失败：{report.reason}")
        summary.audit_entries = report.checked
        return summary
    finally:
        source.dispose()
        target.dispose()


def _verify_counts(src: sa.Connection, dst: sa.Connection, tables: list[sa.Table]) -> None:
    wrong = [f"{t.name}（源 {a}，目标 {b}）" for t in tables if (a := _count(src, t)) != (b := _count(dst, t))]
    if wrong:
        raise MoveError("复制后行数不一致：" + "；".join(wrong))
