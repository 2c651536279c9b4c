"""Benchmarks for the pure esign layer; ``run(quick)`` returns rows for the shared bench runner."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over roughly ``seconds``."""
    fn()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed


def _ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def run(quick: bool) -> list[dict[str, Any]]:
    from esign import ca, crypto, docx_sig, merkle, seal, seal_image, tsa
    from tests.esign.test_docx_sig import build_docx

    window = 0.3 if quick else 1.5
    rows: list[dict[str, Any]] = []
    data = b"x" * 256

    private, public = crypto.generate_keypair(crypto.ALG_ECDSA)
    raw_key = ec.generate_private_key(ec.SECP256R1())
    raw_pub = raw_key.public_key()
    raw_sig = raw_key.sign(data, ec.ECDSA(hashes.SHA256()))
    signer = crypto.load_signer(crypto.ALG_ECDSA, private)
    baseline_sign = _rate(lambda: raw_key.sign(data, ec.ECDSA(hashes.SHA256())), window)
    baseline_verify = _rate(lambda: raw_pub.verify(raw_sig, data, ec.ECDSA(hashes.SHA256())), window)
    sig = crypto.sign(crypto.ALG_ECDSA, private, data)
    for name, value, base in (
        (
            "esign.sign ECDSA-P256 (crypto.sign, key bytes per call)",
            _rate(lambda: crypto.sign(crypto.ALG_ECDSA, private, data), window),
            baseline_sign,
        ),
        ("esign.sign ECDSA-P256 (loaded Signer)", _rate(lambda: signer.sign(data), window), baseline_sign),
        (
            "esign.verify ECDSA-P256",
            _rate(lambda: crypto.verify(crypto.ALG_ECDSA, public, data, sig), window),
            baseline_verify,
        ),
    ):
        rows.append(
            {
                "name": name,
                "value": round(value, 1),
                "unit": "ops/s",
                "baseline_value": round(base, 1),
                "ratio": round(value / base, 3),
            }
        )

    sm2_private, sm2_public = crypto.generate_keypair(crypto.ALG_SM2)
    sm2_signer = crypto.load_signer(crypto.ALG_SM2, sm2_private)
    sm2_sig = sm2_signer.sign(data)
    rows.append(
        {
            "name": f"esign.sign SM2-SM3 ({crypto.SM2_BACKEND})",
            "unit": "ops/s",
            "value": round(_rate(lambda: sm2_signer.sign(data), window), 1),
        }
    )
    rows.append(
        {
            "name": f"esign.verify SM2-SM3 ({crypto.SM2_BACKEND})",
            "unit": "ops/s",
            "value": round(_rate(lambda: crypto.verify(crypto.ALG_SM2, sm2_public, data, sm2_sig), window), 1),
        }
    )

    blob = crypto.seal_private_key(private, "123456")
    rows.append(
        {
            "name": "PIN unlock (argon2id t=3 m=64MiB p=4 + AES-GCM)",
            "unit": "ms",
            "value": round(_ms(lambda: crypto.unseal_private_key(blob, "123456"), 3 if quick else 10), 1),
        }
    )

    now = datetime.now(UTC)
    root = ca.create_root_ca("通办根证书", "通办", now=now - timedelta(days=1))
    agency = ca.create_issuing_ca(root, "签发CA", "某市人民政府办公室", now=now - timedelta(days=1))
    cert = ca.issue_certificate(
        agency, subject_public_key=public, alg=crypto.ALG_ECDSA, common_name="张三", now=now - timedelta(days=1)
    )
    tsa_private, tsa_public = crypto.generate_keypair(crypto.ALG_ECDSA)
    tsa_cert = ca.issue_certificate(
        agency,
        subject_public_key=tsa_public,
        alg=crypto.ALG_ECDSA,
        common_name="TSA",
        purpose="tsa",
        now=now - timedelta(days=1),
    )
    seal_der = seal.make_seal(
        es_id="1",
        name="某市人民政府办公室",
        signer_certs=[cert],
        picture=seal_image.round_seal_png("某市人民政府办公室", "公章"),
        width_mm=42,
        height_mm=42,
        valid_start=now - timedelta(days=1),
        valid_end=now + timedelta(days=30),
        maker_cert=cert,
        alg=crypto.ALG_ECDSA,
        maker_sign=signer.sign,
    )
    doc = docx_sig.apply_signature(
        build_docx(pages=10),
        signer=cert,
        alg=crypto.ALG_ECDSA,
        sign_fn=signer.sign,
        seal=seal_der,
        chain=[agency.certificate],
        timestamp_fn=lambda d: tsa.issue_token(tsa_private, tsa_cert, d, now),
        now=now,
    )
    crls = {c.subject: ca.build_crl(k, []) for k, c in ((agency, agency.cert), (root, root.cert))}

    def verify_doc() -> None:
        report = docx_sig.verify_docx(
            doc, trust_roots=[root.certificate], crl_lookup=lambda i: crls.get(i.subject), tsa_cert=tsa_cert
        )
        assert report.valid, report.signatures[0].reasons

    rows.append(
        {
            "name": "verify sealed ~10-page .docx (ECDSA, TSA, CRL)",
            "unit": "ms",
            "value": round(_ms(verify_doc, 3 if quick else 10), 2),
        }
    )

    leaves = 100_000 if quick else 1_000_000
    log = merkle.MerkleLog()
    for i in range(leaves):
        log.append_leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
    step = max(1, leaves // 2000)
    indexes = range(0, leaves, step)
    start = time.perf_counter()
    for i in indexes:
        log.inclusion_proof(i)
    per_proof = (time.perf_counter() - start) / len(indexes) * 1000
    rows.append({"name": f"merkle inclusion proof at {leaves:,} leaves", "unit": "ms", "value": round(per_proof, 4)})
    start = time.perf_counter()
    for old in range(1, leaves, max(1, leaves // 500)):
        log.consistency_proof(old)
    per_cons = (time.perf_counter() - start) / len(range(1, leaves, max(1, leaves // 500))) * 1000
    rows.append({"name": f"merkle consistency proof at {leaves:,} leaves", "unit": "ms", "value": round(per_cons, 4)})
    rows += run_service(quick, baseline_sign)
    return rows


def run_service(quick: bool, baseline_sign: float) -> list[dict[str, Any]]:
    """Through the service on a real (temporary) SQLite database: sign_text and the DB-backed log."""
    import tempfile

    from esign import credentials, service
    from esign.authority import keys_for
    from office.config import load_settings
    from office.db import Database
    from office.migrate import upgrade
    from tests.factories import make_org

    window = 0.5 if quick else 2.0
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(load_settings({}, data_dir=tmp))  # production PIN KDF (argon2id 64 MiB)
        upgrade(db)
        org = make_org(db)
        actor = org.actor("claudius")
        with db.write() as s:
            credentials.enrol(s, actor, pin="246810")
        with db.write() as s:
            start = time.perf_counter()
            key = credentials.unlock_key(s, actor, pin="246810")
            unlock_ms = (time.perf_counter() - start) * 1000
        rows.append(
            {
                "name": "service PIN unlock (unlock_key: argon2id + AES-GCM + key load)",
                "unit": "ms",
                "value": round(unlock_ms, 1),
            }
        )
        data = "同意印发。".encode() * 20
        core = _rate(lambda: key.signer.sign(data), window)
        rows.append(
            {
                "name": "service signing core (unlocked key's Signer) vs raw cryptography",
                "unit": "ops/s",
                "value": round(core, 1),
                "baseline_value": round(baseline_sign, 1),
                "ratio": round(core / baseline_sign, 3),
            }
        )

        def one_transaction_each() -> None:
            with db.write() as s:
                service.sign_text_with_key(s, actor, key=key, data=data, purpose="签发")

        full = _rate(one_transaction_each, window)
        rows.append(
            {
                "name": "service sign_text excl. PIN unlock (signature + TSA token + log append + signed "
                "tree head + audit, one durable commit each)",
                "unit": "ops/s",
                "value": round(full, 1),
                "baseline_value": round(baseline_sign, 1),
                "ratio": round(full / baseline_sign, 3),
            }
        )
        with db.write() as s:
            batch_rate = _rate(lambda: service.sign_text_with_key(s, actor, key=key, data=data, purpose="签发"), window)
        rows.append(
            {
                "name": "service sign_text excl. PIN unlock, many in one transaction (批量签发)",
                "unit": "ops/s",
                "value": round(batch_rate, 1),
                "baseline_value": round(baseline_sign, 1),
                "ratio": round(batch_rate / baseline_sign, 3),
            }
        )
        rows += _db_log(db, 100_000 if quick else 1_000_000, keys_for)
        db.dispose()
    return rows


def _db_log(db: Any, leaves: int, keys_for: Any) -> list[dict[str, Any]]:
    import random

    from esign import merkle, tlog

    with db.read() as s:
        existing = tlog.size(s)
    start = time.perf_counter()
    batch = 20_000
    for first in range(existing, leaves, batch):
        with db.write() as s:
            entries = [("bench", i.to_bytes(8, "big")) for i in range(first, min(first + batch, leaves))]
            tlog.append_many(s, keys_for(s), entries, sign_head=False)
    fill = time.perf_counter() - start
    with db.write() as s:
        tlog.sign_head(s, keys_for(s))
    rows: list[dict[str, Any]] = [
        {
            "name": f"DB log bulk append to {leaves:,} entries",
            "unit": "entries/s",
            "value": round((leaves - existing) / fill, 1),
        }
    ]

    def single_append() -> None:
        with db.write() as s:
            tlog.append(s, keys_for(s), "bench", random.randbytes(64))

    rows.append(
        {
            "name": f"DB log append at {leaves:,} entries (one entry + signed tree head + commit)",
            "unit": "ms",
            "value": round(_ms(single_append, 50), 3),
        }
    )
    with db.read() as s:
        size = tlog.size(s)
        picks = [random.randrange(size) for _ in range(500)]
        start = time.perf_counter()
        for i in picks:
            proof = tlog.inclusion(s, i)
        per = (time.perf_counter() - start) / len(picks) * 1000
        head = tlog.signed_head(s)
        assert merkle.verify_inclusion(
            picks[-1],
            head["tree_size"],
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(p) for p in proof["proof"]],
            bytes.fromhex(head["root_hash"]),
        )
        rows.append(
            {
                "name": f"DB log inclusion proof at {size:,} entries (target < 5 ms)",
                "unit": "ms",
                "value": round(per, 3),
            }
        )
        olds = [random.randrange(1, size) for _ in range(200)]
        start = time.perf_counter()
        for old in olds:
            tlog.consistency(s, old)
        rows.append(
            {
                "name": f"DB log consistency proof at {size:,} entries (target < 5 ms)",
                "unit": "ms",
                "value": round((time.perf_counter() - start) / len(olds) * 1000, 3),
            }
        )
    return rows
