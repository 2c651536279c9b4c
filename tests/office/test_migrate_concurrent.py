"""Two ``office migrate`` runs on one empty PostgreSQL database at once (several workers starting
with OFFICE_MIGRATE_ON_START, or an operator beside them): the migrations' advisory lock
(``office/migrations/env.py``) makes them take turns, so both succeed and the schema is built once.
Without it both read "no revision" and run the same DDL; the second CREATE TABLE fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from office.config import Settings
from office.db import Database
from office.migrate import pending_differences, revisions
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's advisory lock (SQLite has one writer)")


def test_two_concurrent_migrate_runs_on_an_empty_database_both_succeed(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "OFFICE_DATABASE_URL": settings.database_url or ""}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "office", "migrate", "--data", str(tmp_path / f"data{i}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    db = Database(settings)
    try:
        current, heads = revisions(db)
        assert current == heads and len(heads) == 1
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            # Nobody holds the lock once both are done (it is released, not left to the pool).
            assert conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one() == 0
        assert pending_differences(db) == []
    finally:
        db.dispose()
