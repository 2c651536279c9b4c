"""Append-only, hash-chained audit log.

Each entry's hash is SHA-256 over the previous hash and a canonical JSON of the entry, so an
altered, removed or reordered entry breaks the chain at that point. The chain tip lives in
``audit_head``; every append locks it (row lock on PostgreSQL, the write lock on SQLite), so
concurrent writers never fork the chain. Database triggers refuse UPDATE, and DELETE of entries
younger than 180 days.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, bindparam, event, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, col, select

from office.actor import Actor
from office.db import insert_plain_rows, sql_json, sql_time, utcnow
from office.models import AuditEntry, AuditHead, Department, User

GENESIS = "0" * 64
RETENTION_DAYS = 180


def _canonical(entry: AuditEntry) -> bytes:
    return _canonical_row({c: getattr(entry, c) for c in _HASHED})


def _canonical_row(row: dict[str, Any]) -> bytes:
    doc = {c: row[c] for c in _HASHED}
    doc["at"] = row["at"].isoformat(timespec="microseconds")
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


_HASHED = ("seq", "at", "actor_id", "actor_name", "action", "target_type", "target_id", "ip", "detail")


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(entry)).hexdigest()


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    target_type: str = "",
    target_id: object = "",
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits or rolls back with the change).

    Core statements rather than the ORM unit of work: this runs in every write, so it is kept
    to one insert and one update, after one locked read of the tip per transaction (``_locked_tip``).
    """
    prev_seq, prev_hash = _locked_tip(session)
    entry = AuditEntry(
        seq=prev_seq + 1,
        at=utcnow(),
        actor_id=actor.user_id if actor else None,
        actor_name=(actor.name if actor else "匿名")[:100],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:80],
        ip=(ip if ip is not None else (actor.ip if actor else ""))[:64],
        detail=_jsonable(detail or {}),
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = entry_hash(prev_hash, entry)
    _keep_tip(session, entry.seq, entry.hash)
    kept = session.info.get(_KEPT)
    if kept is not None:  # inside ``collected``: written with the others when it ends
        row = _driver_row(session.connection(), {c: getattr(entry, c) for c in _COLUMNS})
        kept.append((row, entry.seq, entry.hash, session.get_nested_transaction()))
        return entry
    session.execute(_INSERT, {c: getattr(entry, c) for c in _COLUMNS})
    session.execute(_ADVANCE, {"new_seq": entry.seq, "new_hash": entry.hash})
    return entry


# The tip as this transaction last wrote it. The first append of a transaction reads ``audit_head``
# FOR UPDATE; that row lock (PostgreSQL) or the write lock (SQLite) is held until the transaction
# ends, so no other writer can move the head meanwhile and later appends in the same transaction
# need not read it again. The head row is still updated by every append, so it always matches the
# last entry. Kept per root transaction (a new transaction reads afresh) and dropped on any
# rollback, a savepoint's included: rolling back to a savepoint undoes the appends made in it
# (and on PostgreSQL releases a lock taken in it), so the next append must read the head again.
_TIP_KEY = "office.audit.tip"


def _locked_tip(session: Session) -> tuple[int, str]:
    kept = session.info.get(_TIP_KEY)
    if kept is not None and kept[0] is session.get_transaction():
        return kept[1], kept[2]
    tip = session.execute(_TIP).first()
    if tip is None:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(tip[0]), str(tip[1])


def _keep_tip(session: OrmSession, seq: int, hash: str) -> None:
    session.info[_TIP_KEY] = (session.get_transaction(), seq, hash)


@event.listens_for(OrmSession, "after_commit")
def _forget_tip(session: OrmSession, *_args: Any) -> None:
    session.info.pop(_TIP_KEY, None)


@event.listens_for(OrmSession, "after_soft_rollback")
def _rolled_back(session: OrmSession, previous: Any) -> None:
    """Forget the tip; inside ``collected``, drop the entries the rolled-back savepoint made, and
    chain on from the last one kept if any is left (the head row does not have it yet)."""
    session.info.pop(_TIP_KEY, None)
    kept: list[_KeptEntry] | None = session.info.get(_KEPT)
    if kept:
        kept[:] = [k for k in kept if not _inside(k[3], previous)]
        if kept:
            _keep_tip(session, kept[-1][1], kept[-1][2])


# Collected: entries written together ---------------------------------------------------------------

_KEPT = "office.audit.kept"
_KeptEntry = tuple[tuple[Any, ...], int, str, Any]  # (row, seq, hash, savepoint it was made in)


@contextmanager
def collected(session: Session) -> Iterator[None]:
    """Inside the block, ``record`` chains its entries as always (each hash over the one before, the
    tip kept in the transaction) but keeps them; they are written when the block ends with one
    multi-row insert and one update of the head, the rows ``record`` would have written one by one.
    For a group-commit writer running many requests' service code in one transaction. Nothing reads
    the log inside a write transaction; a savepoint rolled back inside the block drops its entries.
    If the block raises, its entries are dropped with it (the caller rolls the transaction back)."""
    if _KEPT in session.info:
        yield
        return
    session.info[_KEPT] = []
    try:
        yield
        kept: list[_KeptEntry] = session.info[_KEPT]
        if kept:
            conn = session.connection()
            insert_plain_rows(conn, AuditEntry.__table__, _COLUMNS, [k[0] for k in kept])  # type: ignore[attr-defined]
            conn.execute(_ADVANCE, {"new_seq": kept[-1][1], "new_hash": kept[-1][2]})
    finally:
        session.info.pop(_KEPT, None)


def _driver_row(conn: Any, row: dict[str, Any]) -> tuple[Any, ...]:
    """An entry's values as ``insert_plain_rows`` takes them."""
    return tuple(
        sql_time(conn, row[c]) if c == "at" else sql_json(row[c]) if c == "detail" else row[c] for c in _COLUMNS
    )


def _inside(tx: Any, outer: Any) -> bool:
    """Whether savepoint ``tx`` (None: none) is ``outer`` or began inside it (a rolled-back root: all)."""
    if not outer.nested:
        return True
    while tx is not None:
        if tx is outer:
            return True
        tx = tx.parent
    return False


@dataclass(frozen=True)
class Pending:
    """One audit entry to append with ``record_many`` (same fields as ``record``'s arguments)."""

    actor: Actor | None
    action: str
    target_type: str = ""
    target_id: object = ""
    detail: dict[str, Any] | None = None
    ip: str | None = None
    jsonable: bool = False  # ``detail`` already holds only JSON scalars/containers: skip normalising


def record_many(session: Session, items: list[Pending]) -> None:
    """Append several entries, in order, with one locked read of the tip, one multi-row insert (values
    in driver form) and one update of the head: the same chain ``record`` would build entry by entry."""
    if not items:
        return
    conn = session.connection()
    seq, prev_hash = _locked_tip(session)
    rows: list[tuple[Any, ...]] = []
    seqs: list[int] = []
    hashes: list[str] = []
    for it in items:
        actor = it.actor
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": utcnow(),
            "actor_id": actor.user_id if actor else None,
            "actor_name": (actor.name if actor else "匿名")[:100],
            "action": it.action,
            "target_type": it.target_type,
            "target_id": str(it.target_id)[:80],
            "ip": (it.ip if it.ip is not None else (actor.ip if actor else ""))[:64],
            "detail": (it.detail or {}) if it.jsonable else _jsonable(it.detail or {}),
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = hashlib.sha256(prev_hash.encode() + b"\n" + _canonical_row(row)).hexdigest()
        row["at"], row["detail"] = sql_time(conn, row["at"]), sql_json(row["detail"])
        rows.append(tuple(row[c] for c in _COLUMNS))
        seqs.append(seq)
        hashes.append(prev_hash)
    _keep_tip(session, seq, prev_hash)
    kept = session.info.get(_KEPT)
    if kept is not None:  # inside ``collected``: after the entries kept before these
        tx = session.get_nested_transaction()
        kept.extend((row, s, h, tx) for row, s, h in zip(rows, seqs, hashes, strict=True))
        return
    insert_plain_rows(conn, AuditEntry.__table__, _COLUMNS, rows)  # type: ignore[attr-defined]
    conn.execute(_ADVANCE, {"new_seq": seq, "new_hash": prev_hash})


_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "ip",
    "detail",
    "prev_hash",
    "hash",
)
# Built once: statement construction costs more than executing these.
_INSERT = insert(AuditEntry)
_TIP = sa_select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == 1).with_for_update()
_ADVANCE = (
    update(AuditHead)
    .where(AuditHead.id == 1)  # type: ignore[arg-type]
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, ensure_ascii=False, default=str))


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; name the first entry altered, removed or reordered."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)  # type: ignore[arg-type,operator]
        ).all()
        if not rows:
            break
        for e in rows:
            last_id = e.id or last_id
            if e.seq != expected_seq:
                why = "缺失" if e.seq > expected_seq else "顺序错乱"
                return ChainReport(False, checked, expected_seq, f"第 {expected_seq} 条日志{why}（遇到第 {e.seq} 条）")
            if e.prev_hash != prev:
                return ChainReport(False, checked, e.seq, f"第 {e.seq} 条日志的前序哈希不符（被删除或重排）")
            if entry_hash(prev, e) != e.hash:
                return ChainReport(False, checked, e.seq, f"第 {e.seq} 条日志内容被篡改")
            prev = e.hash
            expected_seq += 1
            checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return ChainReport(False, checked, checked + 1, f"链尾缺失：记录到第 {head.seq} 条，实际只有 {checked} 条")
    return ChainReport(True, checked)


def query(
    session: Session,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    stmt = select(AuditEntry)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    if before_seq:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    stmt = stmt.order_by(AuditEntry.seq.desc()).limit(min(max(limit, 1), 200))  # type: ignore[attr-defined]
    return list(session.exec(stmt).all())


# Detail keys whose numbers are people, and departments (agencies are departments too).
PEOPLE_KEYS = frozenset(
    {"user_id", "user_ids", "to", "substitute_id", "on_behalf_of", "new_assignees", "readers", "users", "added"}
)
DEPARTMENT_KEYS = frozenset({"department_id", "parent_id", "agency_id"})


def named(session: Session, entries: list[AuditEntry]) -> list[dict[str, Any]]:
    """For each entry, the names of the people and departments it points at: ``{"target": name or
    None, "detail": {key: name or [names]}}`` for its target and the ids in its detail under
    ``PEOPLE_KEYS`` / ``DEPARTMENT_KEYS``, so the log can say 张伟 where it stores 12. Names as they are
    now; the entries keep the ids, which the chain covers."""

    def ids_in(value: Any) -> list[int]:
        return [v for v in (value if isinstance(value, list) else [value]) if type(v) is int]

    people: set[int] = set()
    depts: set[int] = set()
    for e in entries:
        if e.target_id.isdigit():
            {"user": people, "department": depts}.get(e.target_type, set()).add(int(e.target_id))
        for key, value in (e.detail or {}).items():
            (people if key in PEOPLE_KEYS else depts if key in DEPARTMENT_KEYS else set()).update(ids_in(value))
    who = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(sorted(people)))).all()) if people else {}
    where = (
        dict(session.exec(select(Department.id, Department.name).where(col(Department.id).in_(sorted(depts)))).all())
        if depts
        else {}
    )

    def one(e: AuditEntry) -> dict[str, Any]:
        target = {"user": who, "department": where}.get(e.target_type, {})
        detail: dict[str, Any] = {}
        for key, value in (e.detail or {}).items():
            table = who if key in PEOPLE_KEYS else where if key in DEPARTMENT_KEYS else None
            if table is not None and ids_in(value):
                names = [table.get(i, f"（编号 {i}）") for i in ids_in(value)]
                detail[key] = names if isinstance(value, list) else names[0]
        return {"target": target.get(int(e.target_id)) if e.target_id.isdigit() else None, "detail": detail}

    return [one(e) for e in entries]


# Append-only at the database level ---------------------------------------------------------

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_early_delete BEFORE DELETE ON audit_entry "
    "WHEN OLD.at > datetime('now', '-180 days') "
    "BEGIN SELECT RAISE(ABORT, 'audit entries younger than 180 days cannot be deleted'); END",
]
_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_entry_guard() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'UPDATE' THEN RAISE EXCEPTION 'audit log is append-only'; END IF;
      IF OLD.at > now() - interval '180 days' THEN
        RAISE EXCEPTION 'audit entries younger than 180 days cannot be deleted';
      END IF;
      RETURN OLD;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_entry_guard ON audit_entry",
    "CREATE TRIGGER audit_entry_guard BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_guard()",
]


def install_guards(connection: Any) -> None:
    """Create the append-only triggers (called after create_all and by the migration)."""
    stmts = _SQLITE_TRIGGERS if connection.dialect.name == "sqlite" else _PG_TRIGGERS
    for stmt in stmts:
        connection.execute(DDL(stmt))


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(_target: Any, connection: Any, **_kw: Any) -> None:
    install_guards(connection)
