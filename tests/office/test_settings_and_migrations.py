"""Settings validation, SQLite durability pragmas, and migrations matching the models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from office.config import ConfigError, load_settings
from office.db import Database
from office.migrate import pending_differences, upgrade


def test_defaults_and_secret_file(tmp_path: Path) -> None:
    s = load_settings({}, data_dir=tmp_path / "x")
    assert s.database_url == f"sqlite:///{tmp_path / 'x' / 'office.db'}"
    assert (tmp_path / "x" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings({}, data_dir=tmp_path / "x").secret_key == s.secret_key
    assert "secret_key" not in repr(s) or s.secret_key not in repr(s)


@pytest.mark.parametrize(
    "env,message",
    [
        ({"OFFICE_DATABASE_URL": "mysql://x"}, "OFFICE_DATABASE_URL"),
        ({"OFFICE_HUB_URL": "amqp://x"}, "OFFICE_HUB_URL"),
        ({"OFFICE_SESSION_IDLE_MINUTES": "abc"}, "整数"),
        ({"OFFICE_SECRET_KEY": "short"}, "32"),
        ({"OFFICE_COOKIE_SECURE": "maybe"}, "true/false"),
    ],
)
def test_invalid_settings_are_explained(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"OFFICE_DATA_DIR": str(tmp_path), **env})
    assert message in info.value.message


def test_loose_secret_file_permissions_refused(tmp_path: Path) -> None:
    load_settings({}, data_dir=tmp_path)
    os.chmod(tmp_path / "secret_key", 0o644)
    with pytest.raises(ConfigError):
        load_settings({}, data_dir=tmp_path)


def test_sqlite_runs_wal_with_full_sync(tmp_path: Path) -> None:
    db = Database(load_settings({}, data_dir=tmp_path))
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    db.dispose()


def test_migrations_create_exactly_the_models(settings: object) -> None:
    db = Database(settings)  # type: ignore[arg-type]
    upgrade(db)
    upgrade(db)  # idempotent
    assert pending_differences(db) == []
    db.dispose()
