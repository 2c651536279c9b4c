"""``office migrate-to-postgres``: a demo data folder that has been used (chat, 公文 at several steps
and one sealed, a meeting booked, 办事 requests) moves into an empty PostgreSQL database, and the
API answers the same GETs the same way for several people from the moved copy as from the original.
A target that is not empty, or a source not at the newest migration, is refused and nothing written."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import select
from starlette.testclient import TestClient

from office.app import create_app
from office.cli import main
from office.config import load_settings
from office.models import User
from tests.conftest import PG_URL, _drop_database, _pg_admin, _pg_database_url
from tests.factories import login

pytestmark = pytest.mark.skipif(not PG_URL, reason="moves into PostgreSQL (OFFICE_TEST_DATABASE_URL)")
PASSWORD = "demo-password-2026"
PIN = "135246"
NOTICE = "关于做好岁末年初安全防范工作的通知"
READERS = ("zhangwei", "zhaoxia", "hanhaoran", "tianqiang")


def _ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


class Users:
    """Clients logged in as demo people; ``secrets``: the authenticator secrets ``office demo`` printed
    (印章管理员 must use two-step verification)."""

    def __init__(self, app: Any, secrets: dict[str, str] | None = None) -> None:
        self.app = app
        self.secrets = secrets or {}
        self.clients: dict[str, TestClient] = {}

    def __call__(self, username: str) -> TestClient:
        if username not in self.clients:
            self.clients[username] = TestClient(self.app, base_url="http://testserver")
            login(self.clients[username], username, PASSWORD, totp_secret=self.secrets.get(username, ""))
        return self.clients[username]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def _use(app: Any, secrets: dict[str, str]) -> None:
    """A working day on the demo: the 通知 signed, numbered and sealed; chat; a meeting booked."""
    as_user = Users(app, secrets)
    leader = as_user("zhangwei")
    doc = next(d for d in _ok(leader.get("/api/docs?box=todo"))["items"] if d["title"] == NOTICE)
    doc = _ok(leader.get(f"/api/docs/{doc['id']}"))
    with app.state.db.read() as s:
        names = {u.name: u.username for u in s.exec(select(User)).all()}
    for _ in range(8):
        step = doc["route"]["steps"][doc["route"]["current_step"]]
        who = next(t["assignee"] for t in step["tasks"] if t["state"] == "pending")
        c = as_user(names[who])
        doc = _ok(c.get(f"/api/docs/{doc['id']}"))
        if step["name"] == "编号":
            doc = _ok(c.post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]}))
        extra = {"pin": PIN} if step["name"] in ("机关领导签发", "用印") else {}
        doc = _ok(
            c.post(
                f"/api/docs/{doc['id']}/actions",
                json={"action": "approve", "version": doc["version"], "opinion": "同意", **extra},
            )
        )
        if doc["status"] == "sealed":
            break
    assert doc["status"] == "sealed", doc
    clerk = as_user("zhaoxia")
    head = as_user("hanhaoran")
    direct = _ok(clerk.post("/api/messages/direct", json={"user_id": _ok(head.get("/api/me"))["id"]}))
    for text in ("请示稿已改好，请核稿", "安全防范通知已用印", "明天上午开会"):
        _ok(clerk.post(f"/api/messages/conversations/{direct['id']}/messages", json={"text": text}))
    _ok(head.post(f"/api/messages/conversations/{direct['id']}/messages", json={"text": "收到，马上看"}))
    rooms = _ok(leader.get("/api/meetings/rooms"))["items"]
    _ok(
        leader.post(
            "/api/meetings",
            json={
                "title": "安全防范工作部署会",
                "start": "2027-01-12T09:00:00+08:00",
                "end": "2027-01-12T10:00:00+08:00",
                "room_id": rooms[0]["id"],
                "attendees": [{"user_id": _ok(u.get("/api/me"))["id"]} for u in (clerk, head)],
            },
        )
    )
    as_user.close()


def _reads(app: Any) -> dict[str, Any]:
    """What several people see through the API (the answers compared before and after the move)."""
    as_user = Users(app)
    seen: dict[str, Any] = {}
    for who in READERS:
        c = as_user(who)
        paths = [
            "/api/docs?box=todo",
            "/api/docs?box=done",
            "/api/docs?box=all",
            "/api/docs?box=all&q=安全防范",
            "/api/messages/conversations",
            "/api/messages/search?q=用印",
            "/api/meetings?start=2027-01-01T00:00:00Z&end=2027-02-01T00:00:00Z",
            "/api/banshi/requests",
        ]
        for path in paths:
            seen[f"{who} {path}"] = _ok(c.get(path))
        for d in seen[f"{who} /api/docs?box=all"]["items"]:
            seen[f"{who} doc {d['id']}"] = _ok(c.get(f"/api/docs/{d['id']}"))
        for conv in seen[f"{who} /api/messages/conversations"]["items"]:
            seen[f"{who} chat {conv['id']}"] = _ok(c.get(f"/api/messages/conversations/{conv['id']}/messages"))
    as_user.close()
    return seen


@pytest.fixture
def target() -> Any:
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield _pg_database_url(name)
    _drop_database(name)


def _run(app: Any, fn: Any) -> Any:
    with TestClient(app, base_url="http://testserver"):  # the lifespan (migrations, authorities)
        return fn(app)


def test_a_used_demo_moves_and_answers_the_same(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "demo"
    assert main(["demo", "--data", str(data), "--password", PASSWORD]) == 0
    secrets = dict(re.findall(r"^\s+(\S+)\s+验证器密钥 ([A-Z2-7]+)", capsys.readouterr().out, re.M))
    original = create_app(load_settings({}, data_dir=data, testing=True))
    _run(original, lambda app: _use(app, secrets))
    before = _run(original, _reads)
    assert any(i["status"] == "sealed" for i in before["zhangwei /api/docs?box=all"]["items"])
    assert before["zhaoxia /api/messages/search?q=用印"]["items"], "the chat search finds the message"
    assert before["zhangwei /api/docs?box=all&q=安全防范"]["items"], "the document search finds the 通知"
    capsys.readouterr()

    assert main(["migrate-to-postgres", "--data", str(data), "--to", target, "--batch", "7"]) == 0
    out = capsys.readouterr().out
    assert "行数逐表核对一致" in out and "哈希链校验通过" in out, out

    _same_rows(data / "office.db", target)
    moved = create_app(load_settings({}, data_dir=data, database_url=target, testing=True))
    after = _run(moved, _reads)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key

    # The sequences continue after the copied ids: new rows write without a key collision.
    def write(app: Any) -> None:
        as_user = Users(app)
        c = as_user("zhaoxia")
        conv = before["zhaoxia /api/messages/conversations"]["items"][0]
        _ok(c.post(f"/api/messages/conversations/{conv['id']}/messages", json={"text": "迁移后的第一条"}))
        assert _ok(c.get("/api/messages/search?q=迁移后"))["items"]
        as_user.close()

    _run(moved, write)
    # A second move into the now non-empty database is refused, with the reason.
    assert main(["migrate-to-postgres", "--data", str(data), "--to", target]) == 2
    assert "不是空库" in capsys.readouterr().err


def _same_rows(sqlite_file: Path, target: str) -> None:
    """Every copied table holds the same values on both sides, read through the models' column types
    (JSON, binary key blobs and seal pictures, UTC datetimes)."""
    from sqlmodel import SQLModel

    from office.pgmove import REBUILT

    src = sa.create_engine(f"sqlite:///{sqlite_file}")
    dst = sa.create_engine(make_url(target).set(drivername="postgresql+psycopg"))
    try:
        with src.connect() as a, dst.connect() as b:
            for table in SQLModel.metadata.sorted_tables:
                if table.name in REBUILT:
                    continue
                keys = [c.name for c in table.primary_key.columns]

                def rows(conn: sa.Connection, table: sa.Table = table, keys: list[str] = keys) -> list[Any]:
                    # Ordered by the key's text: an enum sorts by name in SQLite, by declaration in PostgreSQL.
                    got = conn.execute(sa.select(table)).mappings().all()
                    return sorted((dict(r) for r in got), key=lambda r: [str(r[k]) for k in keys])

                assert rows(a) == rows(b), table.name
    finally:
        src.dispose()
        dst.dispose()


def test_a_source_behind_the_newest_migration_is_refused(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "old"
    assert main(["migrate", "--data", str(data)]) == 0
    with sqlite3.connect(data / "office.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0021'")
    capsys.readouterr()
    assert main(["migrate-to-postgres", "--data", str(data), "--to", target]) == 2
    err = capsys.readouterr().err
    assert "不是最新的" in err and "office migrate" in err, err
    import psycopg

    url = make_url(target).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
    assert tables == (0,), "nothing was written"
