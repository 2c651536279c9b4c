"""The persistent transparency log: ``esign.merkle`` over two append-only tables.

- ``esign_log_leaf(idx, leaf_hash, kind, data)``: every signature (data = the DER
  ``SES_Signature``) and every seal/credential event (data = canonical JSON);
- ``esign_log_node(level, idx, hash)``: perfect-subtree hashes for levels >= 1 (level 0 is the
  leaf table), so an inclusion or consistency proof is O(log^2 n) primary-key reads even at
  10^6 entries;
- ``esign_log_head``: the latest tree head, signed by the log key on every append.

Appends run inside ``Database.write`` transactions, which are serialised, so indexes are dense
and the tree never forks. Triggers refuse UPDATE/DELETE on the two tree tables.
``verify_log`` recomputes everything from the leaf data and names the first bad index.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from esign import authority, merkle
from office.db import utcnow
from office.errors import NotFound, ValidationError


class DbNodeStore:
    """:class:`esign.merkle.NodeStore` over the log tables.

    Speed matters here (a proof at 10^6 entries is ~40 lookups; a bulk append touches every
    node), so it talks to the DB-API cursor of the session's connection directly, caches what it
    read or wrote, and buffers inserts until :meth:`flush` (one ``executemany`` per table).
    """

    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.cursor = self.conn.connection.cursor()
        self._size: int | None = None
        self._cache: dict[tuple[int, int], bytes] = {}
        self._leaves: list[tuple[Any, ...]] = []
        self._nodes: list[tuple[int, int, bytes]] = []
        self._pending: tuple[str, bytes, Any] | None = None

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("?", "%s")

    def size(self) -> int:
        if self._size is None:
            self.cursor.execute("SELECT max(idx) FROM esign_log_leaf")
            row = self.cursor.fetchone()
            value = row[0] if row else None
            self._size = 0 if value is None else int(value) + 1
        return self._size

    def get(self, level: int, index: int) -> bytes:
        cached = self._cache.get((level, index))
        if cached is not None:
            return cached
        if level == 0:
            self.cursor.execute(self._sql("SELECT leaf_hash FROM esign_log_leaf WHERE idx = ?"), (index,))
        else:
            self.cursor.execute(
                self._sql("SELECT hash FROM esign_log_node WHERE level = ? AND idx = ?"), (level, index)
            )
        row = self.cursor.fetchone()
        if row is None:
            raise NotFound(f"日志节点缺失（层 {level}，序号 {index}）", code="log_node_missing")
        value = bytes(row[0])
        if len(self._cache) < 100_000:
            self._cache[(level, index)] = value
        return value

    def put(self, level: int, index: int, value: bytes) -> None:
        self._cache[(level, index)] = value
        if level == 0:
            assert self._pending is not None, "leaf data must be staged before appending"
            if index != self.size():
                raise ValueError("log leaves must be appended in order")
            kind, data, at = self._pending
            self._leaves.append((index, value, kind, data, at))
            self._size = index + 1
        else:
            self._nodes.append((level, index, value))

    def stage(self, kind: str, data: bytes) -> None:
        at = utcnow()
        # Stored like office.db.UTCDateTime: naive UTC text on SQLite, aware timestamp elsewhere.
        self._pending = (kind, data, at.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else at)

    def flush(self) -> None:
        if self._leaves:
            self.cursor.executemany(
                self._sql("INSERT INTO esign_log_leaf (idx, leaf_hash, kind, data, created_at) VALUES (?, ?, ?, ?, ?)"),
                self._leaves,
            )
        if self._nodes:
            self.cursor.executemany(
                self._sql("INSERT INTO esign_log_node (level, idx, hash) VALUES (?, ?, ?)"), self._nodes
            )
        self._leaves, self._nodes = [], []
        if len(self._cache) > 100_000:
            self._cache.clear()


def event_bytes(kind: str, payload: dict[str, Any]) -> bytes:
    """Canonical JSON for a non-signature log entry."""
    return json.dumps(
        {"type": kind, **payload}, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode()


def append(session: Session, keys: authority.Keys, kind: str, data: bytes, *, sign_head: bool = True) -> int:
    """Append one entry; returns its index. Signs the new tree head (``sign_head=False`` for bulk loads)."""
    return append_many(session, keys, [(kind, data)], sign_head=sign_head)[0]


def append_many(
    session: Session, keys: authority.Keys, entries: Iterable[tuple[str, bytes]], *, sign_head: bool = True
) -> list[int]:
    store = DbNodeStore(session)
    log = merkle.MerkleLog(store)
    indexes = []
    for kind, data in entries:
        store.stage(kind, data)
        indexes.append(log.append(data))
    store.flush()
    if sign_head:
        _sign_head(session, keys, log)
    return indexes


def _sign_head(session: Session, keys: authority.Keys, log: merkle.MerkleLog) -> merkle.SignedTreeHead:
    key_row = authority.log_key(session, keys)
    sth = merkle.sign_tree_head(
        log.size,
        log.root(),
        int(time.time() * 1000),
        alg=key_row.alg,
        private_key=authority.unwrap(key_row, keys.master),
    )
    # Plain SQL, like the rest of the log: the head changes on every append and the ORM's
    # identity map would only add a flush and a stale copy.
    store = log.store if isinstance(log.store, DbNodeStore) else DbNodeStore(session)
    values = (sth.tree_size, sth.root_hash, sth.timestamp_ms, sth.alg, sth.signature)
    store.cursor.execute(
        store._sql(
            "UPDATE esign_log_head SET tree_size = ?, root_hash = ?, timestamp_ms = ?, alg = ?, "
            "signature = ? WHERE id = 1"
        ),
        values,
    )
    if store.cursor.rowcount == 0:
        store.cursor.execute(
            store._sql(
                "INSERT INTO esign_log_head (id, tree_size, root_hash, timestamp_ms, alg, "
                "signature) VALUES (1, ?, ?, ?, ?, ?)"
            ),
            values,
        )
    return sth


def sign_head(session: Session, keys: authority.Keys) -> merkle.SignedTreeHead:
    """Sign the current tree head now (after a bulk load, or to refresh the timestamp)."""
    return _sign_head(session, keys, merkle.MerkleLog(DbNodeStore(session)))


def _head(session: Session) -> merkle.SignedTreeHead | None:
    store = DbNodeStore(session)
    store.cursor.execute("SELECT tree_size, root_hash, timestamp_ms, alg, signature FROM esign_log_head WHERE id = 1")
    row = store.cursor.fetchone()
    return (
        None if row is None else merkle.SignedTreeHead(int(row[0]), bytes(row[1]), int(row[2]), row[3], bytes(row[4]))
    )


def signed_head(session: Session) -> dict[str, Any]:
    """The latest signed tree head as JSON, with the log public key to check it."""
    sth = _head(session)
    key_row = authority.find(session, authority.AuthorityKind.log)
    if sth is None or key_row is None:
        return {
            "tree_size": 0,
            "root_hash": merkle.EMPTY_ROOT.hex(),
            "timestamp_ms": 0,
            "alg": None,
            "signature": None,
            "public_key": key_row.public_key.hex() if key_row else None,
        }
    return sth.to_dict() | {"public_key": key_row.public_key.hex()}


def size(session: Session) -> int:
    return DbNodeStore(session).size()


def find_leaf(session: Session, data: bytes) -> int | None:
    """Index of the entry whose data is exactly ``data`` (by leaf hash), or None."""
    store = DbNodeStore(session)
    store.cursor.execute(
        store._sql("SELECT idx, data FROM esign_log_leaf WHERE leaf_hash = ? ORDER BY idx"), (merkle.leaf_hash(data),)
    )
    row = store.cursor.fetchone()
    return int(row[0]) if row is not None and bytes(row[1]) == data else None


def _tree_size(session: Session, tree_size: int | None) -> int:
    head = _head(session)
    signed = head.tree_size if head else 0
    if tree_size is None:
        return signed
    if not 1 <= tree_size <= signed:
        raise ValidationError(f"树大小须在 1 到 {signed} 之间", code="bad_tree_size")
    return tree_size


def inclusion(session: Session, leaf_index: int, tree_size: int | None = None) -> dict[str, Any]:
    """Audit path of ``leaf_index`` in the tree of ``tree_size`` (default: the latest signed head)."""
    size_ = _tree_size(session, tree_size)
    log = merkle.MerkleLog(DbNodeStore(session))
    proof = log.inclusion_proof(leaf_index, size_)
    return {
        "leaf_index": leaf_index,
        "tree_size": size_,
        "leaf_hash": log.store.get(0, leaf_index).hex(),
        "root_hash": log.root(size_).hex(),
        "proof": [p.hex() for p in proof],
    }


def consistency(session: Session, first: int, second: int | None = None) -> dict[str, Any]:
    """RFC 6962 consistency proof between two tree sizes (``second`` default: the signed head)."""
    second_ = _tree_size(session, second)
    if not 0 <= first <= second_:
        raise ValidationError("first 须不大于 second", code="bad_tree_size")
    log = merkle.MerkleLog(DbNodeStore(session))
    return {
        "first": first,
        "second": second_,
        "first_root": log.root(first).hex(),
        "second_root": log.root(second_).hex(),
        "proof": [p.hex() for p in log.consistency_proof(first, second_)],
    }


@dataclass
class LogReport:
    ok: bool
    checked: int
    first_bad_index: int | None = None
    reason: str = ""


def verify_log(session: Session, *, batch: int = 10_000) -> LogReport:
    """Recompute every leaf hash, every stored subtree hash and the signed head; name the first bad index."""
    conn = session.connection()
    mem = merkle.MerkleLog()
    expected = 0
    while True:
        rows = conn.execute(
            text("SELECT idx, leaf_hash, data FROM esign_log_leaf WHERE idx >= :i ORDER BY idx LIMIT :n"),
            {"i": expected, "n": batch},
        ).all()
        if not rows:
            break
        for idx, stored, data in rows:
            if idx != expected:
                return LogReport(False, expected, expected, f"第 {expected} 条日志缺失")
            if merkle.leaf_hash(bytes(data)) != bytes(stored):
                return LogReport(False, expected, idx, f"第 {idx} 条日志内容被篡改（叶子哈希不符）")
            mem.append_leaf_hash(bytes(stored))
            expected += 1
    bad = _check_nodes(conn, mem, batch)
    if bad is not None:
        return bad
    return _check_head(session, mem)


def _check_nodes(conn: Any, mem: merkle.MerkleLog, batch: int) -> LogReport | None:
    levels = mem.store.levels  # type: ignore[attr-defined]
    first_bad: tuple[int, int, int] | None = None  # (first leaf covered, level, idx)
    stored_count = 0
    last = (0, -1)
    while True:
        rows = conn.execute(
            text(
                "SELECT level, idx, hash FROM esign_log_node WHERE (level > :l) OR (level = :l AND idx > :i) "
                "ORDER BY level, idx LIMIT :n"
            ),
            {"l": last[0], "i": last[1], "n": batch},
        ).all()
        if not rows:
            break
        for level, idx, value in rows:
            stored_count += 1
            ok = level < len(levels) and idx < len(levels[level]) and levels[level][idx] == bytes(value)
            if not ok and (first_bad is None or idx << level < first_bad[0]):
                first_bad = (idx << level, level, idx)
            last = (level, idx)
    expected_count = sum(len(row) for row in levels[1:])
    if first_bad is not None:
        return LogReport(
            False,
            mem.size,
            first_bad[0],
            f"第 {first_bad[0]} 条起的子树哈希被篡改（层 {first_bad[1]}，序号 {first_bad[2]}）",
        )
    if stored_count != expected_count:
        return LogReport(False, mem.size, None, f"子树哈希数量不符（应为 {expected_count}，实为 {stored_count}）")
    return None


def _check_head(session: Session, mem: merkle.MerkleLog) -> LogReport:
    head = _head(session)
    if head is None:
        return LogReport(mem.size == 0, mem.size, None if mem.size == 0 else 0, "" if mem.size == 0 else "缺少签名树头")
    key_row = authority.find(session, authority.AuthorityKind.log)
    sth = head
    if key_row is None or not merkle.verify_tree_head(sth, key_row.public_key):
        return LogReport(False, mem.size, head.tree_size - 1, "签名树头的签名无效")
    if head.tree_size > mem.size or mem.root(head.tree_size) != head.root_hash:
        return LogReport(False, mem.size, min(head.tree_size, mem.size) - 1, "签名树头与重新计算的根哈希不符")
    return LogReport(True, mem.size)


def verify_receipt(receipt: dict[str, Any], data: bytes, public_key: bytes) -> bool:
    """Offline check of a receipt from :func:`esign.service.receipt`: signed head + inclusion of ``data``."""
    try:
        sth = merkle.SignedTreeHead.from_dict(receipt["sth"])
        proof = [bytes.fromhex(p) for p in receipt["proof"]]
        index = int(receipt["leaf_index"])
    except (KeyError, ValueError, TypeError):
        return False
    return merkle.verify_tree_head(sth, public_key) and merkle.verify_inclusion(
        index, sth.tree_size, merkle.leaf_hash(data), proof, sth.root_hash
    )
