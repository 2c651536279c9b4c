"""The ``office`` command, run as a real subprocess where it matters (exit codes, output)."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="CLI data-folder commands exercise the embedded SQLite default")


def office(*args: str, data: Path, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "office", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One ``office demo --json`` run and its output, shared by the tests that need demo data (the
    command hashes 60-odd passwords and is this file's slowest); each works on its own copy."""
    data = tmp_path_factory.mktemp("demo") / "d"
    return data, office("demo", "--password", "demo-password-2026", "--json", data=data).stdout


def demo_copy(demo_folder: tuple[Path, str], tmp_path: Path) -> Path:
    data = tmp_path / "d"
    shutil.copytree(demo_folder[0], data)  # copy2: modes too (secret_key stays 0600)
    return data


def test_demo_json_then_audit_verify_export_import(tmp_path: Path, demo_folder: tuple[Path, str]) -> None:
    made, stdout = demo_folder
    accounts = json.loads(stdout)
    assert 50 <= len(accounts) <= 80
    assert {"username", "name", "role", "department"} <= set(accounts[0])
    roles = {a["role"] for a in accounts}
    assert roles == {"科员", "处室负责人", "机关领导", "文书/收发员", "印章管理员", "系统管理员"}
    assert any(a["username"] == "zhangwei" and a["name"] == "张伟" for a in accounts)
    # 数据填报's cities: each city's 填报员 and 审核人 are listed too
    assert {a["username"] for a in accounts} >= {"gz_filler", "gz_reviewer", "sz_filler", "zh_reviewer"}
    assert (made / "secret_key").stat().st_mode & 0o777 == 0o600
    data = demo_copy(demo_folder, tmp_path)
    conn = sqlite3.connect(data / "office.db")  # domains add their demo data: rooms in every agency
    assert conn.execute("SELECT count(DISTINCT agency_id), count(*) FROM meeting_room").fetchone() == (3, 9)
    assert conn.execute("SELECT status FROM bs_request ORDER BY id").fetchall() == [("running",), ("approved",), ("returned",)]  # fmt: skip
    conn.close()
    again = office("demo", "--password", "demo-password-2026", data=data, check=False)
    assert again.returncode != 0 and "空库" in again.stderr
    assert "校验通过" in office("audit", "verify", data=data).stdout
    csv_path = tmp_path / "org.csv"
    office("org", "export", "-o", str(csv_path), data=data)
    result = office("org", "import", str(csv_path), data=data).stdout
    assert "新增人员 0" in result and "新增部门 0" in result


def test_user_create_reset_and_errors(tmp_path: Path) -> None:
    data = tmp_path / "d"
    office("migrate", data=data)
    out = office(
        "user",
        "create",
        "macbeth",
        "--name",
        "马克",
        "--password",
        "a-long-enough-password",
        "--role",
        "admin",
        data=data,
    )
    assert "macbeth" in out.stdout
    bad = office("user", "create", "x", "--name", "某", "--password", "short", data=data, check=False)
    assert bad.returncode == 2 and "错误" in bad.stderr
    bad = office(
        "user",
        "create",
        "lady",
        "--name",
        "某",
        "--password",
        "a-long-enough-password",
        "--role",
        "wizard",
        data=data,
        check=False,
    )
    assert bad.returncode == 2 and "未知角色" in bad.stderr
    assert office("user", "reset-password", "macbeth", "--password", "another-long-password", data=data).returncode == 0
    missing = office("user", "reset-password", "nobody", "--password", "another-long-password", data=data, check=False)
    assert missing.returncode == 2 and "不存在" in missing.stderr
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("机关,姓名,用户名\n省厅,,x1\n", encoding="utf-8")
    res = office("org", "import", str(bad_csv), data=data, check=False)
    assert res.returncode == 2 and "第 2 行" in res.stderr


def test_audit_verify_fails_on_tampering(tmp_path: Path, demo_folder: tuple[Path, str]) -> None:
    data = demo_copy(demo_folder, tmp_path)
    conn = sqlite3.connect(data / "office.db")
    conn.execute("DROP TRIGGER audit_entry_no_update")
    conn.execute("UPDATE audit_entry SET action = 'forged' WHERE seq = 7")
    conn.commit()
    conn.close()
    res = office("audit", "verify", data=data, check=False)
    assert res.returncode == 1 and "第 7 条" in res.stderr


def test_backup_and_restore(tmp_path: Path, demo_folder: tuple[Path, str]) -> None:
    data = demo_copy(demo_folder, tmp_path)
    (data / "chat_files" / "ab").mkdir(parents=True)
    (data / "chat_files" / "ab" / "abcdef").write_bytes(b"stored attachment")
    backup = tmp_path / "backup.tar"
    out = office("backup", str(backup), data=data).stdout
    assert "密钥" in out and backup.stat().st_mode & 0o077 == 0  # it holds keys: owner only
    assert office("backup", str(backup), data=data, check=False).returncode == 2  # never overwrites
    conn = sqlite3.connect(data / "office.db")
    conn.execute("DELETE FROM directory_key")
    conn.commit()
    conn.close()
    (data / "chat_files" / "ab" / "abcdef").unlink()
    secret = (data / "secret_key").read_bytes()
    (data / "secret_key").write_bytes(b"x" * 64)
    refused = office("restore", str(backup), data=data, check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    office("restore", str(backup), "--yes", data=data)
    conn = sqlite3.connect(data / "office.db")
    assert conn.execute("SELECT count(*) FROM directory_key").fetchone()[0] > 100
    conn.close()
    assert (data / "chat_files" / "ab" / "abcdef").read_bytes() == b"stored attachment"
    assert (data / "secret_key").read_bytes() == secret  # the key that goes with the restored data
    assert office("audit", "verify", data=data).returncode == 0

    # Refused whole, nothing changed: junk, a tar without a database, a tar escaping the folder.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        tar.add(data / "office.db", arcname="office.db")
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    nodb = tmp_path / "nodb.tar"
    with tarfile.open(nodb, "w") as tar:
        tar.add(data / "secret_key", arcname="secret_key")
    before = (data / "office.db").read_bytes()
    for bad in (junk, evil, nodb):
        res = office("restore", str(bad), "--yes", data=data, check=False)
        assert res.returncode == 2 and "备份" in res.stderr, res.stderr
    assert not (tmp_path / "escaped.txt").exists() and not (data.parent / "escaped.txt").exists()
    assert (data / "office.db").read_bytes() == before


def test_help_and_unknown_command(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "office", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "serve" in proc.stdout and "demo" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "office", "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2
