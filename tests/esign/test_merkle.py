from __future__ import annotations

import hashlib
import random
import time

import pytest

from esign import crypto, merkle
from office.errors import ValidationError

SIZES = sorted(
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257}
)


# --- naive reference implementation straight from RFC 6962 §2.1 ----------------------------------


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def entries(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(0, 40)) for _ in range(n)]


@pytest.fixture(scope="module")
def big_log() -> tuple[merkle.MerkleLog, list[bytes]]:
    data = entries(max(SIZES), seed=7)
    log = merkle.MerkleLog()
    log.extend(data)
    return log, data


def test_rfc6962_known_answers() -> None:
    assert merkle.MerkleLog().root() == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    log = merkle.MerkleLog()
    log.append(b"")
    assert log.root().hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


@pytest.mark.parametrize("size", SIZES)
def test_root_and_every_inclusion_proof_match_reference(big_log, size: int) -> None:
    log, data = big_log
    prefix = data[:size]
    assert log.root(size) == ref_mth(prefix)
    for index in range(size):
        proof = log.inclusion_proof(index, size)
        assert proof == ref_path(index, prefix)
        leaf = merkle.leaf_hash(prefix[index])
        assert merkle.verify_inclusion(index, size, leaf, proof, log.root(size))


def test_consistency_between_all_pairs_small(big_log) -> None:
    log, data = big_log
    for new in range(0, 40):
        new_root = log.root(new)
        for old in range(0, new + 1):
            proof = log.consistency_proof(old, new)
            if 0 < old < new:
                assert proof == ref_subproof(old, data[:new], True)
            assert merkle.verify_consistency(old, new, log.root(old), new_root, proof), (old, new)


@pytest.mark.parametrize("old,new", [(1, 257), (64, 65), (63, 256), (128, 257), (100, 129), (255, 256)])
def test_consistency_larger_pairs(big_log, old: int, new: int) -> None:
    log, _ = big_log
    proof = log.consistency_proof(old, new)
    assert merkle.verify_consistency(old, new, log.root(old), log.root(new), proof)


def test_tampered_inclusion_proofs_rejected(big_log) -> None:
    log, data = big_log
    for size in (2, 3, 7, 9, 65, 257):
        root = log.root(size)
        for index in {0, size // 2, size - 1}:
            leaf = merkle.leaf_hash(data[index])
            proof = log.inclusion_proof(index, size)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
                assert not merkle.verify_inclusion(index, size, leaf, bad, root)
            assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"other"), proof, root)
            assert not merkle.verify_inclusion(index, size, leaf, proof + [root], root)
            if proof:
                assert not merkle.verify_inclusion(index, size, leaf, proof[:-1], root)
            assert not merkle.verify_inclusion((index + 1) % size, size, leaf, proof, root) or size == 1
            # (index, size + 1) may share the path shape; the signed tree head binds size to root.
            assert not merkle.verify_inclusion(index, size * 4 + 3, leaf, proof, root)
            assert not merkle.verify_inclusion(size, size, leaf, proof, root)
    # a leaf hash is not a node: data that equals an interior node's preimage is not "included"
    two = log.root(2)
    assert not merkle.verify_inclusion(0, 1, merkle.leaf_hash(b"\x01" + log.root(1)), [], two)


def test_tampered_consistency_proofs_rejected(big_log) -> None:
    log, _ = big_log
    for old, new in [(1, 2), (3, 7), (4, 8), (7, 9), (8, 17), (33, 100), (64, 257)]:
        old_root, new_root = log.root(old), log.root(new)
        proof = log.consistency_proof(old, new)
        assert merkle.verify_consistency(old, new, old_root, new_root, proof)
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = hashlib.sha256(bad[i]).digest()
            assert not merkle.verify_consistency(old, new, old_root, new_root, bad)
        assert not merkle.verify_consistency(old, new, new_root, new_root, proof)
        assert not merkle.verify_consistency(old, new, old_root, old_root, proof)
        assert not merkle.verify_consistency(old, new, old_root, new_root, [])
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof + [old_root])
        assert not merkle.verify_consistency(new, old, old_root, new_root, proof)
    assert not merkle.verify_consistency(3, 3, log.root(3), log.root(4), [])


def test_forked_log_is_not_consistent() -> None:
    a, b = merkle.MerkleLog(), merkle.MerkleLog()
    a.extend([b"1", b"2", b"3"])
    b.extend([b"1", b"X", b"3", b"4", b"5"])
    proof = b.consistency_proof(3, 5)
    assert not merkle.verify_consistency(3, 5, a.root(), b.root(), proof)


def test_range_errors(big_log) -> None:
    log, _ = big_log
    for call in (
        lambda: log.root(log.size + 1),
        lambda: log.inclusion_proof(5, 5),
        lambda: log.inclusion_proof(-1),
        lambda: log.consistency_proof(10, 5),
        lambda: log.consistency_proof(1, log.size + 1),
    ):
        with pytest.raises(ValidationError):
            call()
    with pytest.raises(ValueError):
        merkle.MemoryNodeStore().put(0, 3, b"x" * 32)


def test_store_holds_only_complete_subtrees() -> None:
    store = merkle.MemoryNodeStore()
    log = merkle.MerkleLog(store)
    log.extend(entries(11))
    assert [len(row) for row in store.levels] == [11, 5, 2, 1]


def test_proof_speed_at_scale() -> None:
    """Proof generation reads O(log^2 n) stored hashes: far below 5 ms even at 2^17+1 leaves."""
    log = merkle.MerkleLog()
    for i in range(2**17 + 1):
        log.append_leaf_hash(hashlib.sha256(i.to_bytes(4, "big")).digest())
    root = log.root()
    start = time.perf_counter()
    for index in range(0, log.size, 997):
        proof = log.inclusion_proof(index)
    elapsed = (time.perf_counter() - start) / len(range(0, log.size, 997))
    assert merkle.verify_inclusion(index, log.size, log.store.get(0, index), proof, root)
    assert elapsed < 0.005


@pytest.mark.parametrize("alg", crypto.ALGORITHMS)
def test_signed_tree_head(alg: str) -> None:
    private, public = crypto.generate_keypair(alg)
    log = merkle.MerkleLog()
    log.extend([b"a", b"b", b"c"])
    sth = merkle.sign_tree_head(log.size, log.root(), 1_790_000_000_000, alg=alg, private_key=private)
    assert merkle.verify_tree_head(sth, public)
    again = merkle.SignedTreeHead.from_dict(sth.to_dict())
    assert again == sth and merkle.verify_tree_head(again, public)
    for forged in (
        merkle.SignedTreeHead(4, sth.root_hash, sth.timestamp_ms, alg, sth.signature),
        merkle.SignedTreeHead(3, log.root(2), sth.timestamp_ms, alg, sth.signature),
        merkle.SignedTreeHead(3, sth.root_hash, sth.timestamp_ms + 1, alg, sth.signature),
        merkle.SignedTreeHead(3, b"short", sth.timestamp_ms, alg, sth.signature),
    ):
        assert not merkle.verify_tree_head(forged, public)
    assert not merkle.verify_tree_head(sth, crypto.generate_keypair(alg)[1])
    with pytest.raises(ValidationError):
        merkle.SignedTreeHead.from_dict({"tree_size": 1})
