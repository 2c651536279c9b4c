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
