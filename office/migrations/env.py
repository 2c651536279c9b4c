from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

from office.app import load_all_models

load_all_models()
config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from sqlalchemy import create_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic: no engine and no sqlalchemy.url")
        engine = create_engine(url)
    with engine.connect() as connection:
        from office.migrate import not_virtual

        locked = _lock(connection)
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,
                include_name=not_virtual(connection),
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if locked:
                _unlock(connection)


# Several workers (or an operator's ``office migrate`` beside a starting worker) may upgrade one
# PostgreSQL database at once: each would read the same old revision and run the same DDL, and the
# second CREATE TABLE fails (or worse, a data migration runs twice). A session-level advisory lock
# with a fixed key makes them take turns; the one that waited reads the revision the first one
# committed and has nothing to do. It is held across the migrations' own commits, released at the
# end (the pooled connection outlives this run) or when a killed process's connection closes.
# SQLite needs none: its database file has one writer at a time and the start holds it.
MIGRATION_LOCK_KEY = 0x546F6E67_4D696772  # "TongMigr", a fixed bigint no other lock of ours uses


def _lock(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()  # a session lock: Alembic then begins its own transaction as before
    return True


def _unlock(connection: Connection) -> None:
    connection.rollback()  # a failed migration's transaction is aborted; the unlock needs a live one
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()


run()
