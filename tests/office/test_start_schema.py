"""Starting on a database whose schema is not the code's: upgraded by default, refused with a clear
message when OFFICE_MIGRATE_ON_START=false (the deployment in docs/deploy.md runs ``office migrate``
itself, before the new workers start), and always refused when the database is newer than the code."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from office.app import create_app
from office.config import Settings
from office.db import Database
from office.migrate import SchemaNotCurrent, alembic_config, revisions, upgrade


def _start(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").status_code == 200


def test_a_worker_refuses_an_unmigrated_database_and_touches_nothing(settings: Settings) -> None:
    explicit = dataclasses.replace(settings, migrate_on_start=False)
    with pytest.raises(SchemaNotCurrent) as refused:
        _start(explicit)
    assert "空库" in refused.value.message and "office migrate" in refused.value.message
    db = Database(settings)
    try:
        assert inspect(db.engine).get_table_names() == []  # nothing created
        upgrade(db)  # what `office migrate` does
    finally:
        db.dispose()
    _start(explicit)  # now at the newest schema: it starts


def test_a_worker_refuses_a_database_one_migration_behind(app: Any, settings: Settings) -> None:
    db = Database(settings)
    try:
        cfg = alembic_config(db)
        scripts = ScriptDirectory.from_config(cfg)
        head = scripts.get_current_head()
        assert head is not None
        newest = scripts.get_revision(head)
        assert newest is not None
        previous = newest.down_revision
        command.stamp(cfg, str(previous), purge=True)  # as if the newest migration had not run
        with pytest.raises(SchemaNotCurrent) as refused:
            _start(dataclasses.replace(settings, migrate_on_start=False))
        assert f"数据库：{previous}" in refused.value.message and f"程序需要：{head}" in refused.value.message
        assert revisions(db)[0] == {previous}  # refused, not upgraded
    finally:
        db.dispose()


def test_a_database_newer_than_the_code_is_refused_even_when_migrating_on_start(app: Any, settings: Settings) -> None:
    db = Database(settings)
    try:
        with db.engine.begin() as conn:  # a later release's migration ran, then the code was rolled back
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    finally:
        db.dispose()
    with pytest.raises(SchemaNotCurrent) as refused:
        _start(settings)  # migrate_on_start is true by default
    assert "f00dfeedbeef" in refused.value.message and "比本程序新" in refused.value.message


def test_office_serve_refuses_before_any_worker_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
    env |= {"OFFICE_MIGRATE_ON_START": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "office", "serve", "--data", str(tmp_path / "d"), "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "数据库结构不是最新" in done.stderr and "office migrate" in done.stderr
    assert "通办正在启动" not in done.stdout


def test_other_commands_refuse_too_and_only_office_migrate_migrates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With OFFICE_MIGRATE_ON_START=false the schema changes only when the operator runs office migrate:
    a `user create` run between installing a release and migrating does not migrate behind the workers."""
    from office.cli import main

    for name in [k for k in os.environ if k.startswith("OFFICE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OFFICE_MIGRATE_ON_START", "false")
    data = str(tmp_path / "d")
    create = ["user", "create", "hamlet", "--name", "张伟", "--password", "serving-test-password-26", "--data", data]
    assert main(create) == 2
    assert "请先运行 office migrate" in capsys.readouterr().err
    assert main(["migrate", "--data", data]) == 0
    assert main(create) == 0
