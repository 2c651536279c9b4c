"""Schema migrations with Alembic (scripts in ``office/migrations``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from office.config import ConfigError
from office.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database) -> None:
    """Bring the database to the newest schema (idempotent; run by ``office migrate`` and ``serve``)."""
    from office.app import load_all_models

    load_all_models()
    command.upgrade(alembic_config(db), "head")


class SchemaNotCurrent(ConfigError):
    """The database's schema is not the one this code was written for; the app does not start on it."""

    code = "schema_not_current"


def revisions(db: Database) -> tuple[set[str], set[str]]:
    """The database's current revisions and the code's heads (equal when migrations are complete)."""
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(db)).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, heads


def prepare_schema(db: Database, migrate: bool) -> None:
    """At start (``office serve`` and each worker's startup): a database at the newest schema is
    used as it is; one behind is upgraded when ``migrate`` (``OFFICE_MIGRATE_ON_START``), else the
    start is refused. With several workers on one PostgreSQL, the schema changes when the operator
    runs ``office migrate`` (after a backup), not when whichever worker starts first. A database
    newer than this code (a rollback after an upgrade) is always refused: no migration can help."""
    from alembic.script import ScriptDirectory

    current, heads = revisions(db)
    if current == heads:
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config(db)).walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise SchemaNotCurrent(
            f"数据库结构（修订 {', '.join(unknown)}）比本程序新，本程序不认识：请运行与数据库匹配的版本，"
            "或从升级前的备份恢复（docs/deploy.md「升级」）"
        )
    if migrate:
        upgrade(db)
        return
    raise SchemaNotCurrent(
        f"数据库结构不是最新（数据库：{', '.join(sorted(current)) or '空库'}；程序需要：{', '.join(sorted(heads))}）。"
        "请先运行 office migrate，再启动服务（docs/deploy.md「升级」）"
    )


def pending_differences(db: Database) -> list[object]:
    """What the models declare that the database lacks (empty when migrations are complete)."""
    from office.app import load_all_models

    load_all_models()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": not_virtual(conn)})
        return list(compare_metadata(ctx, SQLModel.metadata))


def not_virtual(conn: Any) -> Callable[..., bool]:
    """An Alembic ``include_name`` that skips SQLite virtual tables (FTS5) and their shadow tables:
    migrations create them with raw DDL, the models do not declare them."""
    virtual: list[str] = []
    if conn.dialect.name == "sqlite":
        virtual = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
            )
        ]

    def include(name: str | None, type_: str, _parents: Any) -> bool:
        return not (type_ == "table" and name and any(name == v or name.startswith(v + "_") for v in virtual))

    return include
