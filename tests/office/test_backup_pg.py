"""``office backup`` / ``office restore`` on PostgreSQL: a used database (people, chat, audit) is
backed up as pg_dump's custom format plus the data folder's files and keys in one 0600 archive with
a manifest, restored into a fresh database, and every table compared row for row. A restore checks
the archive (hashes, revision) and the target before it replaces anything."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from office.cli import main
from office.config import Settings
from tests.conftest import PG_URL, _drop_database, _pg_admin, _pg_database_url
from tests.factories import Org, login

pytestmark = pytest.mark.skipif(not PG_URL, reason="pg_dump / pg_restore of a PostgreSQL database")


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in a stable order (the comparison of the original and the restored copy)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for name in sorted(sa.inspect(conn).get_table_names()):
                rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').all()
                out[name] = sorted((tuple(r) for r in rows), key=repr)
            return out
    finally:
        engine.dispose()


@pytest.fixture
def fresh() -> Any:
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield _pg_database_url(name)
    _drop_database(name)


def _use(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    conv = client.post("/api/messages/direct", json={"user_id": org.users["ophelia"]}).json()
    for text in ("备份前的消息", "第二条：附件见后"):
        assert client.post(f"/api/messages/conversations/{conv['id']}/messages", json={"text": text}).status_code == 201


def test_a_used_database_backs_up_and_restores_into_a_fresh_one(
    client: TestClient, org: Org, settings: Settings, fresh: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(client, org)
    data = Path(settings.data_dir)
    (data / "files").mkdir(exist_ok=True)
    (data / "files" / "stored.bin").write_bytes(b"\x00stored file\xff")
    archive = tmp_path / "backup.tar"
    assert main(["backup", "--data", str(data), "--database-url", settings.database_url, str(archive)]) == 0
    assert "密钥" in capsys.readouterr().out and archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert {"manifest.json", "office.pgdump", "secret_key", "files/stored.bin"} <= names
    assert manifest["database"] == "postgresql" and manifest["revision"] and "files/stored.bin" in manifest["files"]
    original = _tables(settings.database_url)

    into = tmp_path / "restored"
    assert main(["restore", "--data", str(into), "--database-url", fresh, str(archive), "--yes"]) == 0
    assert _tables(fresh) == original
    assert (into / "files" / "stored.bin").read_bytes() == b"\x00stored file\xff"
    assert (into / "secret_key").read_bytes() == (data / "secret_key").read_bytes()
    assert main(["audit", "verify", "--data", str(into), "--database-url", fresh]) == 0

    # Now the target holds rows: refused unless told, and then replaced whole.
    capsys.readouterr()
    assert main(["restore", "--data", str(into), "--database-url", fresh, str(archive), "--yes"]) == 2
    assert "不是空库" in capsys.readouterr().err
    assert main(["restore", "--data", str(into), "--database-url", fresh, str(archive), "--yes", "--replace"]) == 0
    assert _tables(fresh) == original


def _rewritten(archive: Path, dest: Path, change: Any) -> Path:
    with tarfile.open(archive) as src, tarfile.open(dest, "w") as out:
        for member in src.getmembers():
            body = src.extractfile(member).read()  # type: ignore[union-attr]
            body = change(member.name, body)
            member.size = len(body)
            out.addfile(member, io.BytesIO(body))
    return dest


def test_a_damaged_or_newer_archive_is_refused_before_anything_is_replaced(
    client: TestClient, org: Org, settings: Settings, fresh: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(client, org)
    data = Path(settings.data_dir)
    archive = tmp_path / "backup.tar"
    assert main(["backup", "--data", str(data), "--database-url", settings.database_url, str(archive)]) == 0

    def flip(name: str, body: bytes) -> bytes:
        return body[:-1] + bytes([body[-1] ^ 1]) if name == "office.pgdump" else body

    def newer(name: str, body: bytes) -> bytes:
        if name != "manifest.json":
            return body
        m = json.loads(body)
        m["revision"] = "9999"
        return json.dumps(m).encode()

    into = tmp_path / "restored"
    into.mkdir()
    (into / "secret_key").write_bytes(b"the key of this folder, 32 characters or more")
    (into / "secret_key").chmod(0o600)
    for change, why in ((flip, "哈希与清单不符"), (newer, "不为本版本所知")):
        bad = _rewritten(archive, tmp_path / f"{change.__name__}.tar", change)
        capsys.readouterr()
        assert main(["restore", "--data", str(into), "--database-url", fresh, str(bad), "--yes"]) == 2
        assert why in capsys.readouterr().err
        assert _tables(fresh) == {}, "the database was not touched"
        assert (into / "secret_key").read_bytes() == b"the key of this folder, 32 characters or more", (
            "nor the data folder"
        )
