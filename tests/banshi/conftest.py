"""Fixtures for the 办事 tests. Until the migration ``0017_banshi`` exists, the app's migrations do not
make the ``bs_*`` tables: ``db`` makes the missing ones from the models (``create_all`` skips those
that exist, so this stays correct, and becomes a no-op, once the migration lands)."""

from __future__ import annotations

import pytest
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from office.db import Database


def make_tables(database: Database) -> None:
    with database.write() as session:  # under the app's write lock: its background writers may be busy
        SQLModel.metadata.create_all(session.connection())


@pytest.fixture
def db(client: TestClient) -> Database:
    database: Database = client.app.state.db  # type: ignore[attr-defined]
    make_tables(database)
    return database
