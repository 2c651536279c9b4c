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


def _extract(source: Path, into: Path) -> None:
    try:
        with tarfile.open(source, mode="r:*") as tar:
            names = tar.getnames()
            if DB_NAME not in names:
                raise BackupError("不是有效的通办备份：缺少 office.db")
            # The "data" filter refuses absolute paths, "..", links out of the folder and devices.
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"不是有效的通办备份：{exc}") from None
