"""``/readyz``: 200 when the database takes a write, its schema is current, the hub is connected and
official copies can be made; otherwise 503 naming each failing part. Every failure here is real: a
database at an older migration, a writer holding the lock, a Redis hub stopped, no converters."""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from starlette.testclient import TestClient

from office.app import create_app
from office.config import Settings
from office.migrate import alembic_config
from tests.conftest import PG_URL, Migrated, require_tool


def ready(client: TestClient) -> tuple[int, dict[str, Any]]:
    r = client.get("/readyz")
    return r.status_code, r.json()


def test_ready_when_every_part_is(client: TestClient) -> None:
    status, body = ready(client)
    for part in ("database", "migrations", "hub"):
        assert body["parts"][part] == {"ok": True}, body
    converters = body["parts"]["official_copy"]["ok"]  # LibreOffice may be missing where tests run
    assert (status, body["status"]) == ((200, "ready") if converters else (503, "not_ready"))
    assert client.get("/healthz").status_code == 200  # alive, whatever readiness says


def test_an_older_schema_is_not_ready(client: TestClient) -> None:
    db = client.app.state.db  # type: ignore[attr-defined]
    command.downgrade(alembic_config(db), "-1")  # as after deploying code whose migration has not run
    status, body = ready(client)
    assert status == 503 and "migrations" in body["failing"], body
    assert "office migrate" in body["parts"]["migrations"]["reason"]
    command.upgrade(alembic_config(db), "head")
    assert "migrations" not in ready(client)[1]["failing"]


def test_an_empty_database_is_not_ready(settings: Settings) -> None:
    app = create_app(settings)  # not started: nothing migrated, the hub not connected
    status, body = ready(TestClient(app))
    assert status == 503 and {"migrations", "hub"} <= set(body["failing"]), body
    assert "no schema" in body["parts"]["migrations"]["reason"]


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")
def test_a_held_write_lock_is_not_ready(client: TestClient) -> None:
    path = client.app.state.db.engine.url.database  # type: ignore[attr-defined]
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process stuck inside a write
        status, body = ready(client)
        assert status == 503 and "database" in body["failing"], body
        assert "write lock" in body["parts"]["database"]["reason"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "database" not in ready(client)[1]["failing"]


@pytest.fixture
def no_converters(settings: Settings, migrated: Migrated) -> Iterator[Any]:
    off = dataclasses.replace(settings, official_copy_workers=0)  # as on a server without LibreOffice
    migrated.lay_down(off)
    with TestClient(create_app(off)) as c:
        yield c


def test_no_converters_is_not_ready(no_converters: TestClient) -> None:
    status, body = ready(no_converters)
    assert status == 503 and body["failing"] == ["official_copy"], body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    import redis

    port = _free_port()
    argv = [require_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = subprocess.Popen([*argv, "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if redis.Redis(port=port).ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def test_a_stopped_redis_hub_is_not_ready(
    settings: Settings, migrated: Migrated, redis_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, proc = redis_server
    hubbed = dataclasses.replace(settings, hub_url=url)
    migrated.lay_down(hubbed)
    with TestClient(create_app(hubbed)) as c:
        assert ready(c)[1]["parts"]["hub"] == {"ok": True}
        proc.terminate()
        proc.wait(timeout=10)
        status, body = ready(c)
        assert status == 503 and "hub" in body["failing"], body
        assert "Connection" in body["parts"]["hub"]["reason"]
