"""Session-scoped PKI for the esign tests: keys are generated once, like httpx's trustme fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from esign import ca, crypto

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
FAST_KDF = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@dataclass(frozen=True)
class Identity:
    alg: str
    private_key: bytes
    public_key: bytes
    certificate: bytes


@dataclass(frozen=True)
class Pki:
    root: ca.KeyAndCert
    agency: ca.KeyAndCert
    other_root: ca.KeyAndCert
    other_agency: ca.KeyAndCert
    tsa: Identity
    people: dict[str, Identity]  # by algorithm
    seal_keeper: Identity
    stranger: Identity  # issued by other_agency (untrusted root)


def make_identity(
    issuer: ca.KeyAndCert, alg: str, name: str, *, purpose: str = "person", now: datetime = NOW, days: int = 730
) -> Identity:
    private, public = crypto.generate_keypair(alg)
    cert = ca.issue_certificate(
        issuer,
        subject_public_key=public,
        alg=alg,
        common_name=name,
        organization="某市人民政府办公室",
        purpose=purpose,
        now=now,
        days=days,
    )
    return Identity(alg, private, public, cert)


@pytest.fixture(scope="session")
def pki() -> Pki:
    start = NOW - timedelta(days=30)
    root = ca.create_root_ca("通办根证书", "通办电子政务", now=start)
    agency = ca.create_issuing_ca(root, "某市人民政府办公室签发CA", "某市人民政府办公室", now=start)
    other_root = ca.create_root_ca("外部根证书", "外部机构", now=start)
    other_agency = ca.create_issuing_ca(other_root, "外部签发CA", "外部机构", now=start)
    return Pki(
        root=root,
        agency=agency,
        other_root=other_root,
        other_agency=other_agency,
        tsa=make_identity(agency, crypto.ALG_ECDSA, "通办时间戳服务", purpose="tsa", now=start, days=3650),
        people={alg: make_identity(agency, alg, f"张三（{alg}）", now=start) for alg in crypto.ALGORITHMS},
        seal_keeper=make_identity(agency, crypto.ALG_ECDSA, "某市人民政府办公室印章管理员", purpose="seal", now=start),
        stranger=make_identity(other_agency, crypto.ALG_ECDSA, "李四", now=start),
    )
