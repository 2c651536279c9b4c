"""Append-only transparency log math (RFC 6962 / RFC 9162 §2.1): tree hash, inclusion and consistency proofs.

Hashing: ``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``, empty tree =
``SHA-256("")``.

Storage model. :class:`MerkleLog` never walks all leaves. On every append it stores each *perfect
subtree* hash that the new leaf completes, keyed by ``(level, index)``: level 0 holds leaf hashes,
level ``k`` index ``i`` covers leaves ``[i*2^k, (i+1)*2^k)``. Any ``MTH(D[a:b])`` needed by a proof
is then a handful of lookups (a range splits into O(log n) aligned perfect subtrees), so a proof at
10^6 entries costs O(log^2 n) dictionary/DB reads, not n hashes. A storage layer implements
:class:`NodeStore` (e.g. a ``merkle_node(level, idx, hash)`` table); :class:`MemoryNodeStore` is the
in-memory version used by tests and the benchmark.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from esign import crypto
from office.errors import ValidationError

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeStore(Protocol):
    """Persistence for perfect-subtree hashes; ``get`` must return every hash ``put`` stored."""

    def size(self) -> int:
        """Number of leaves appended so far."""

    def get(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree ``(level, index)``; it is always complete when asked for."""

    def put(self, level: int, index: int, value: bytes) -> None:
        """Store a hash; level 0 puts happen in leaf order and define ``size``."""


class MemoryNodeStore:
    """In-memory :class:`NodeStore`: one list per level."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    def size(self) -> int:
        return len(self.levels[0])

    def get(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def put(self, level: int, index: int, value: bytes) -> None:
        while len(self.levels) <= level:
            self.levels.append([])
        row = self.levels[level]
        if index != len(row):
            raise ValueError("subtree hashes must be appended in order")
        row.append(value)


def _largest_power_of_two_below(n: int) -> int:
    """k = largest power of two with k < n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleLog:
    """An append-only Merkle tree over a :class:`NodeStore`."""

    def __init__(self, store: NodeStore | None = None) -> None:
        self.store: NodeStore = store if store is not None else MemoryNodeStore()

    @property
    def size(self) -> int:
        return self.store.size()

    def append(self, data: bytes) -> int:
        """Append an entry (raw data, hashed as a leaf); returns its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, value: bytes) -> int:
        """Append an already computed leaf hash; stores every perfect subtree it completes."""
        index = self.store.size()
        self.store.put(0, index, value)
        level, i, h = 0, index, value
        while i & 1:  # right child: its parent is now complete
            h = node_hash(self.store.get(level, i - 1), h)
            level, i = level + 1, i >> 1
            self.store.put(level, i, h)
        return index

    def extend(self, datas: Iterable[bytes]) -> None:
        for data in datas:
            self.append(data)

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the ranges RFC 6962 recursion produces (start aligned)."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            return self.store.get(level, start >> level)
        k = _largest_power_of_two_below(n)
        return node_hash(self._subtree(start, start + k), self._subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """Merkle tree hash of the first ``size`` entries (default: all)."""
        size = self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def _check_size(self, size: int | None) -> int:
        current = self.size
        if size is None:
            return current
        if not 0 <= size <= current:
            raise ValidationError("树大小超出日志范围", code="bad_tree_size")
        return size

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 §2.1.1 audit path for leaf ``index`` in the tree of ``size`` entries."""
        size = self._check_size(size)
        if not 0 <= index < size:
            raise ValidationError("叶子序号超出范围", code="bad_leaf_index")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:  # iterative PATH(m, D[start:end]); siblings collected top-down
            k = _largest_power_of_two_below(end - start)
            if index < start + k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start = start + k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 §2.1.2 PROOF(m, D[n]) between tree sizes ``old_size <= new_size``."""
        new_size = self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValidationError("树大小超出日志范围", code="bad_tree_size")
        if old_size in (0, new_size):
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._subtree(start, end)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return self._subproof(m, start, start + k, complete) + [self._subtree(start + k, end)]
        return self._subproof(m - k, start + k, end, False) + [self._subtree(start, start + k)]


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------------


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """Recompute the root from an audit path; None if the proof has the wrong shape."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True if ``leaf`` (a leaf *hash*) is entry ``index`` of the tree of ``size`` with ``root``."""
    return root_from_inclusion_proof(index, size, leaf, proof) == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """True if the tree ``(old_size, old_root)`` is a prefix of ``(new_size, new_root)``."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # the empty tree is a prefix of everything
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# --- signed tree heads -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedTreeHead:
    """``(tree_size, root_hash, timestamp_ms)`` signed by the log key."""

    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    alg: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        return tree_head_bytes(self.tree_size, self.root_hash, self.timestamp_ms)

    def to_dict(self) -> dict[str, object]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp_ms": self.timestamp_ms,
            "alg": self.alg,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> SignedTreeHead:
        try:
            return cls(
                _int(d["tree_size"]),
                bytes.fromhex(str(d["root_hash"])),
                _int(d["timestamp_ms"]),
                str(d["alg"]),
                bytes.fromhex(str(d["signature"])),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationError("树头数据格式错误", code="bad_tree_head") from exc


def _int(value: object) -> int:
    """A JSON number of a tree head (bool is not one); TypeError otherwise, as ``int()`` would raise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("not an integer")
    return int(value)


def tree_head_bytes(tree_size: int, root_hash: bytes, timestamp_ms: int) -> bytes:
    """The exact bytes signed: ``b"TBSTH1" || u64 size || u64 timestamp_ms || 32-byte root``."""
    if len(root_hash) != 32:
        raise ValidationError("根哈希长度错误", code="bad_tree_head")
    return b"TBSTH1" + struct.pack(">QQ", tree_size, timestamp_ms) + root_hash


def sign_tree_head(
    tree_size: int, root_hash: bytes, timestamp_ms: int, *, alg: str, private_key: bytes
) -> SignedTreeHead:
    """Sign a tree head with the log key via :mod:`esign.crypto`."""
    signature = crypto.sign(alg, private_key, tree_head_bytes(tree_size, root_hash, timestamp_ms))
    return SignedTreeHead(tree_size, root_hash, timestamp_ms, alg, signature)


def verify_tree_head(sth: SignedTreeHead, public_key: bytes) -> bool:
    """True if ``sth`` carries a valid signature by ``public_key``."""
    try:
        data = sth.signed_bytes()
    except ValidationError:
        return False
    return crypto.verify(sth.alg, public_key, data, sth.signature)
