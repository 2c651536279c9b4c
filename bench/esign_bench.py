"""Benchmarks for the pure esign layer; ``run(quick)`` returns rows for the shared bench runner."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
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
        ("esign.sign ECDSA-P256 (crypto.sign, key bytes per call)",
         _rate(lambda: crypto.sign(crypto.ALG_ECDSA, private, data), window), baseline_sign),
        ("esign.sign ECDSA-P256 (loaded Signer)", _rate(lambda: signer.sign(data), window), baseline_sign),
        ("esign.verify ECDSA-P256", _rate(lambda: crypto.verify(crypto.ALG_ECDSA, public, data, sig), window),
         baseline_verify),
    ):
        rows.append({"name": name, "value": round(value, 1), "unit": "ops/s", "baseline_value": round(base, 1),
                     "ratio": round(value / base, 3)})

    sm2_private, sm2_public = crypto.generate_keypair(crypto.ALG_SM2)
    sm2_signer = crypto.load_signer(crypto.ALG_SM2, sm2_private)
    sm2_sig = sm2_signer.sign(data)
    rows.append({"name": f"esign.sign SM2-SM3 ({crypto.SM2_BACKEND})", "unit": "ops/s",
                 "value": round(_rate(lambda: sm2_signer.sign(data), window), 1)})
    rows.append({"name": f"esign.verify SM2-SM3 ({crypto.SM2_BACKEND})", "unit": "ops/s",
                 "value": round(_rate(lambda: crypto.verify(crypto.ALG_SM2, sm2_public, data, sm2_sig), window), 1)})

    blob = crypto.seal_private_key(private, "123456")
    rows.append({"name": "PIN unlock (argon2id t=3 m=64MiB p=4 + AES-GCM)", "unit": "ms",
                 "value": round(_ms(lambda: crypto.unseal_private_key(blob, "123456"), 3 if quick else 10), 1)})

    now = datetime.now(timezone.utc)
    root = ca.create_root_ca("通办根证书", "通办", now=now - timedelta(days=1))
    agency = ca.create_issuing_ca(root, "签发CA", "某市人民政府办公室", now=now - timedelta(days=1))
    cert = ca.issue_certificate(agency, subject_public_key=public, alg=crypto.ALG_ECDSA, common_name="张三",
                                now=now - timedelta(days=1))
    tsa_private, tsa_public = crypto.generate_keypair(crypto.ALG_ECDSA)
    tsa_cert = ca.issue_certificate(agency, subject_public_key=tsa_public, alg=crypto.ALG_ECDSA, common_name="TSA",
                                    purpose="tsa", now=now - timedelta(days=1))
    seal_der = seal.make_seal(es_id="1", name="某市人民政府办公室", signer_certs=[cert],
                              picture=seal_image.round_seal_png("某市人民政府办公室", "公章"), width_mm=42, height_mm=42,
                              valid_start=now - timedelta(days=1), valid_end=now + timedelta(days=30),
                              maker_cert=cert, alg=crypto.ALG_ECDSA, maker_sign=signer.sign)
    doc = docx_sig.apply_signature(
        build_docx(pages=10), signer=cert, alg=crypto.ALG_ECDSA, sign_fn=signer.sign, seal=seal_der,
        chain=[agency.certificate], timestamp_fn=lambda d: tsa.issue_token(tsa_private, tsa_cert, d, now), now=now)
    crls = {c.subject: ca.build_crl(k, []) for k, c in ((agency, agency.cert), (root, root.cert))}

    def verify_doc() -> None:
        report = docx_sig.verify_docx(doc, trust_roots=[root.certificate], crl_lookup=lambda i: crls.get(i.subject),
                                      tsa_cert=tsa_cert)
        assert report.valid, report.signatures[0].reasons

    rows.append({"name": "verify sealed ~10-page .docx (ECDSA, TSA, CRL)", "unit": "ms",
                 "value": round(_ms(verify_doc, 3 if quick else 10), 2)})

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
    return rows
