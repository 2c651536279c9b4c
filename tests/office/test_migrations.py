"""Migrations stand on their own: they import no live model code, and what they create (the
append-only triggers included) is what the models' ``create_all`` creates."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from office.config import Settings
from office.db import Database
from office.migrate import MIGRATIONS, upgrade
from tests.conftest import PG_URL

# What a migration may import: Alembic, SQLAlchemy, SQLModel's column types, the standard library,
# and ``office.db`` for the ``UTCDateTime`` column type every table names (a type, not a model).
ALLOWED = ("alembic", "sqlalchemy", "sqlmodel.sql.sqltypes", "office.db", "__future__", "re", "collections")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def test_migrations_import_no_live_model_code() -> None:
    scripts = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert len(scripts) > 10
    wrong = {
        f"{p.name}: {name}"
        for p in scripts
        for name in _imports(p)
        if not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED)
    }
    assert wrong == set()


def _triggers(conn: object) -> dict[str, str]:
    if conn.dialect.name == "sqlite":  # type: ignore[attr-defined]
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))  # type: ignore[attr-defined]
    else:
        rows = conn.execute(  # type: ignore[attr-defined]
            text(
                "SELECT trigger_name || ':' || event_manipulation, action_statement FROM information_schema.triggers "
                "WHERE trigger_schema = current_schema()"
            )
        )
    return dict(rows.all())


def test_migrations_install_the_append_only_guards(settings: Settings, tmp_path: Path) -> None:
    db = Database(settings)
    upgrade(db)
    with db.engine.connect() as conn:
        migrated = _triggers(conn)
        conn.execute(text("INSERT INTO esign_log_node (level, idx, hash) VALUES (1, 0, :h)"), {"h": b"x" * 32})
        conn.commit()
        for stmt in ("UPDATE esign_log_node SET idx = 1", "DELETE FROM esign_log_node"):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(text(stmt))
            conn.rollback()
    db.dispose()
    names = {n.split(":")[0] for n in migrated}
    for table in ("esign_log_leaf", "esign_log_node", "esign_seal_use"):
        assert {f"{table}_no_update", f"{table}_no_delete"} <= names or f"{table}_append_only" in names
    assert {"audit_entry_no_update", "audit_entry_no_early_delete"} <= names or "audit_entry_guard" in names
    if PG_URL:
        return
    # The models' create_all (the tests' and ``office init``'s path) makes the very same triggers.
    engine = create_engine(f"sqlite:///{tmp_path / 'models.db'}")
    SQLModel.metadata.create_all(engine)
    with engine.connect() as conn:
        assert _triggers(conn) == migrated
    engine.dispose()
