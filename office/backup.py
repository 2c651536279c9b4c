"""Online backup and restore of an embedded (SQLite) deployment: the database and the data folder.

A backup is one tar file holding ``office.db`` (a consistent snapshot taken with SQLite's online
backup API while writers continue) and every other file of the data folder: stored attachments,
sealed documents, meeting materials, and the key files without which the restored database is
useless (the session secret and the e-seal master key). The snapshot is taken first and the files
copied after it, so every file the snapshot refers to is in the backup: stored files are
content-addressed and written before the commit that names them.

Because the backup holds keys, it is written with mode 0600 and must be kept like them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "office.db"
SQLITE_MAGIC = b"SQLite format 3\x00"
_SKIP = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal"}


class BackupError(Exception):
    """A backup or restore that cannot proceed; the message is for the operator (Chinese)."""


@dataclass
class Summary:
    files: int
    bytes: int


def _data_files(data_dir: Path, exclude: Path | None) -> list[Path]:
    found = []
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if rel.parts[0].startswith(".tongban-"):  # another backup's or restore's staging folder
            continue
        if not path.is_file() or path.is_symlink() or str(rel) in _SKIP or rel.name.endswith(".tmp"):
            continue
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        found.append(path)
    return found


def create(db_path: Path, data_dir: Path, dest: Path) -> Summary:
    if not db_path.exists():
        raise BackupError(f"数据库不存在：{db_path}")
    if dest.exists():
        raise BackupError(f"目标已存在：{dest}（不会覆盖）")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".tongban-backup-") as tmp:
        snapshot = Path(tmp) / DB_NAME
        src = sqlite3.connect(db_path)
        out = sqlite3.connect(snapshot)
        try:
            with out:
                src.backup(out)  # one step: a consistent snapshot while writers continue
        finally:
            src.close()
            out.close()
        partial = Path(tmp) / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        files = _data_files(data_dir, dest)
        size = snapshot.stat().st_size
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            tar.add(snapshot, arcname=DB_NAME)
            for path in files:
                tar.add(path, arcname=str(path.relative_to(data_dir)))
                size += path.stat().st_size
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(partial, dest)  # appears whole or not at all, and never replaces an existing file
        except FileExistsError:
            raise BackupError(f"目标已存在：{dest}（不会覆盖）") from None
        except OSError as exc:
            raise BackupError(f"无法写入备份 {dest}：{exc.strerror}") from None
    return Summary(files=len(files) + 1, bytes=size)


def check_database(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("SELECT count(*) FROM audit_entry").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"不是有效的通办备份：{exc}") from None
    finally:
        conn.close()
    if not ok:
        raise BackupError("备份文件校验失败（integrity_check）")


def restore(source: Path, db_path: Path, data_dir: Path) -> Summary:
    """Restore ``source`` (a backup tar, or a bare database file from older versions) into the data
    folder. The service must be stopped. Everything is checked before anything is replaced."""
    if not source.is_file():
        raise BackupError(f"备份文件不存在：{source}")
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".tongban-restore-") as tmp:
        staged = Path(tmp)
        with source.open("rb") as fh:
            bare_db = fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
        if bare_db:
            shutil.copyfile(source, staged / DB_NAME)
        else:
            _extract(source, staged)
        check_database(staged / DB_NAME)
        src = sqlite3.connect(staged / DB_NAME)
        dst = sqlite3.connect(db_path)
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
        size = 0
        files = [p for p in staged.rglob("*") if p.is_file() and str(p.relative_to(staged)) not in _SKIP]
        for path in files:
            target = data_dir / path.relative_to(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            size += path.stat().st_size
            os.replace(path, target)
    return Summary(files=len(files) + 1, bytes=size)


def _extract(source: Path, into: Path, required: str | None = DB_NAME) -> None:
    try:
        with tarfile.open(source, mode="r:*") as tar:
            names = tar.getnames()
            if required is not None and required not in names:
                raise BackupError(f"不是有效的通办备份：缺少 {required}")
            # The "data" filter refuses absolute paths, "..", links out of the folder and devices.
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"不是有效的通办备份：{exc}") from None


# PostgreSQL ---------------------------------------------------------------------------------
# The same single tar, with ``office.pgdump`` (pg_dump's custom format: one consistent snapshot,
# taken in one repeatable-read transaction while writers continue) in place of ``office.db``, and
# a ``manifest.json`` naming the schema revision and the SHA-256 of every other member, so that a
# restore checks the whole archive before it replaces anything.

PG_DUMP = "office.pgdump"
MANIFEST = "manifest.json"
FORMAT = "tongban-backup/1"


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which goes into the tools' environment, not their
    command line where ``ps`` shows it) and that environment."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def pg_tool(name: str, server_major: int) -> str:
    """``pg_dump`` / ``pg_restore`` of the server's major version (a dump needs a client at least as
    new as the server), else the newest installed, else the one on PATH."""
    dirs = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    same = [d for d in dirs if d.parent.name == str(server_major)]
    for d in same + dirs[::-1]:
        if (d / name).is_file() and (not d.parent.name.isdigit() or int(d.parent.name) >= server_major):
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"找不到 {name}（PostgreSQL {server_major} 的客户端工具）：请安装 postgresql-client-{server_major}"
        )
    return found


def _pg_state(database_url: str) -> tuple[int, str | None, list[str]]:
    """The server's major version, the database's schema revision, and the tables holding rows."""
    import sqlalchemy as sa

    url = sa.make_url(database_url)
    if url.drivername == "postgresql":  # psycopg (3), as office.config chooses, not SQLAlchemy's default
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            major = int(conn.exec_driver_sql("SHOW server_version_num").scalar() or 0) // 10000
            tables = sa.inspect(conn).get_table_names()
            rev = (
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                if "alembic_version" in tables
                else None
            )
            full = [
                t
                for t in sorted(tables)
                if t != "alembic_version" and conn.exec_driver_sql(f'SELECT 1 FROM "{t}" LIMIT 1').first()
            ]
    except sa.exc.OperationalError as exc:
        raise BackupError(f"无法连接数据库：{exc.orig}") from None
    finally:
        engine.dispose()
    return major, rev, full


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    import subprocess

    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what}失败：{done.stderr.strip()[-500:]}")


def create_pg(database_url: str, data_dir: Path, dest: Path) -> Summary:
    import json

    if dest.exists():
        raise BackupError(f"目标已存在：{dest}（不会覆盖）")
    major, rev, _ = _pg_state(database_url)
    if rev is None:
        raise BackupError("数据库尚未建立通办的结构（没有 alembic_version）：没有可备份的内容")
    url, env = _libpq(database_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".tongban-backup-") as tmp:
        dump = Path(tmp) / PG_DUMP
        _run(
            [pg_tool("pg_dump", major), "-Fc", "--no-owner", "--no-privileges", "-f", str(dump), "-d", url],
            env,
            "pg_dump ",
        )
        files = _data_files(data_dir, dest)
        members = {PG_DUMP: dump, **{str(p.relative_to(data_dir)): p for p in files}}
        hashes = {name: _sha256(path) for name, path in members.items()}
        manifest = Path(tmp) / MANIFEST
        manifest.write_text(
            json.dumps({"format": FORMAT, "database": "postgresql", "revision": rev, "files": hashes}, indent=1),
            encoding="utf-8",
        )
        partial = Path(tmp) / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        size = 0
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            tar.add(manifest, arcname=MANIFEST)
            for name, path in members.items():
                tar.add(path, arcname=name)
                size += path.stat().st_size
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(partial, dest)
        except FileExistsError:
            raise BackupError(f"目标已存在：{dest}（不会覆盖）") from None
        except OSError as exc:
            raise BackupError(f"无法写入备份 {dest}：{exc.strerror}") from None
    return Summary(files=len(files) + 1, bytes=size)


def _check_manifest(staged: Path) -> str:
    """The archive as its manifest describes it: every member present with its hash, nothing more,
    and a schema revision this version's migrations know. Returns the revision."""
    import json

    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from office.migrate import MIGRATIONS

    if (staged / DB_NAME).exists() and not (staged / MANIFEST).exists():
        raise BackupError("这是内置 SQLite 的备份：请恢复到 SQLite 数据目录，再用 office migrate-to-postgres 迁移")
    try:
        manifest = json.loads((staged / MANIFEST).read_text(encoding="utf-8"))
        hashes: dict[str, str] = manifest["files"]
        rev = str(manifest["revision"])
        ok = manifest.get("format") == FORMAT and manifest.get("database") == "postgresql" and PG_DUMP in hashes
    except (OSError, ValueError, KeyError, TypeError):
        raise BackupError("不是有效的通办备份：缺少或无法读取 manifest.json") from None
    if not ok:
        raise BackupError("不是有效的通办 PostgreSQL 备份（manifest.json 格式不符）")
    present = {str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()} - {MANIFEST}
    if present != set(hashes):
        extra, missing = sorted(present - set(hashes)), sorted(set(hashes) - present)
        raise BackupError(f"备份内容与清单不符（多出 {extra[:3]}，缺少 {missing[:3]}）")
    for name, digest in hashes.items():
        if _sha256(staged / name) != digest:
            raise BackupError(f"备份已损坏：{name} 的哈希与清单不符")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        known = ScriptDirectory.from_config(cfg).get_revision(rev) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"备份的数据库结构版本 {rev} 不为本版本所知（来自更新的通办？）：请用相同或更新的版本恢复")
    return rev


def restore_pg(source: Path, database_url: str, data_dir: Path, *, replace: bool = False) -> Summary:
    """Restore a PostgreSQL backup into ``database_url`` and the data folder. The archive is checked
    (manifest, hashes, revision, the dump readable by pg_restore) and the target examined before
    anything is replaced; a database holding rows is replaced only when ``replace`` says so. The
    restore runs in one transaction: it lands whole or not at all."""
    if not source.is_file():
        raise BackupError(f"备份文件不存在：{source}")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".tongban-restore-") as tmp:
        staged = Path(tmp)
        _extract(source, staged, required=None)  # the manifest check below names what is missing
        _check_manifest(staged)
        major, _rev, full = _pg_state(database_url)
        url, env = _libpq(database_url)
        restore_tool = pg_tool("pg_restore", major)
        _run([restore_tool, "--list", str(staged / PG_DUMP)], env, "读取数据库转储")
        if full and not replace:
            raise BackupError(
                f"目标数据库不是空库（{', '.join(full[:5])} 等表中已有数据）：确认要整体替换时加 --replace"
            )
        args = [restore_tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
        if full or _rev is not None:
            args += ["--clean", "--if-exists"]
        _run([*args, "-d", url, str(staged / PG_DUMP)], env, "pg_restore ")
        size = 0
        files = [p for p in staged.rglob("*") if p.is_file() and p.name not in (MANIFEST, PG_DUMP)]
        for path in files:
            target = data_dir / path.relative_to(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            size += path.stat().st_size
            os.replace(path, target)
    return Summary(files=len(files) + 1, bytes=size)
