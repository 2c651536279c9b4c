"""Server-held keys: the master key, root and agency CAs, the TSA, the log key, CRLs.

Master key. 32 random bytes kept OUTSIDE the database: ``OFFICE_ESIGN_MASTER_KEY`` (base64 or
hex), else the file ``esign_master.key`` in the data directory, created on first use with mode
0600 (a wider mode is refused, like ``office.config`` does for ``secret_key``). Every CA, TSA and
log private key is stored AES-256-GCM wrapped under it (``crypto.wrap_with_key``) with the row's
identity as associated data, so a key blob copied to another row does not unwrap. A database
dump alone therefore yields no private key; back the master key up separately.

Authorities are created lazily: the root CA, TSA and log key on first start
(``esign.startup``) or first need, an agency's issuing CA the first time someone of that agency
enrols or a seal is made. CA keys are ECDSA P-256 (``esign.ca``); the TSA and log keys use the
deployment algorithm (``OFFICE_ESIGN_ALG``).
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlmodel import Session, col, select

from esign import ca, crypto
from esign.models import Authority, AuthorityKind, Crl, RevokedCert
from office.config import ConfigError
from office.db import utcnow
from office.errors import ValidationError
from office.models import Department

MASTER_KEY_FILE = "esign_master.key"
ROOT_NAME = "通办电子印章根证书"
ROOT_ORG = "通办电子政务"
#: argon2id parameters for PINs; tests (settings.testing) use the cheap ones.
TEST_KDF = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
CRL_REFRESH = timedelta(days=1)
CRL_VALIDITY = timedelta(days=7)

_master_cache: dict[str, bytes] = {}
_unwrapped: dict[tuple[bytes, bytes], bytes] = {}
CACHE_KEY = "esign_authorities"


def _decode_key(raw: str, source: str) -> bytes:
    raw = raw.strip()
    for decode in (bytes.fromhex, lambda s: base64.b64decode(s, validate=True), base64.urlsafe_b64decode):
        try:
            value = decode(raw)
        except (ValueError, binascii.Error):
            continue
        if len(value) == 32:
            return value
    raise ConfigError(f"{source} 必须是 32 字节密钥的 base64 或十六进制编码")


def master_key(data_dir: Path, configured: str = "") -> bytes:
    """The master key: ``configured`` (the ``OFFICE_ESIGN_MASTER_KEY`` setting), or the 0600 file in
    ``data_dir`` (created on first use)."""
    if configured:
        return _decode_key(configured, "OFFICE_ESIGN_MASTER_KEY")
    path = Path(data_dir) / MASTER_KEY_FILE
    cached = _master_cache.get(str(path))
    if cached is not None and path.exists():
        return cached
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"主密钥文件 {path} 权限过宽（{oct(mode)}），应为 0600") from None
        key = _decode_key(path.read_text(), str(path))
    else:
        key = os.urandom(32)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(key).decode() + "\n")
    _master_cache[str(path)] = key
    return key


def deployment_alg(configured: str) -> str:
    """The ``OFFICE_ESIGN_ALG`` setting (empty: ECDSA-P256-SHA256); applies to keys created from now on."""
    alg = configured or crypto.ALG_ECDSA
    if alg not in crypto.ALGORITHMS:
        raise ConfigError(f"OFFICE_ESIGN_ALG 只能是 {' 或 '.join(crypto.ALGORITHMS)}，当前为 {alg!r}")
    return alg


@dataclass(frozen=True)
class Keys:
    """What the service needs from the deployment: the master key, algorithm and PIN KDF cost."""

    master: bytes
    alg: str
    kdf: dict[str, int] | None


def keys_for(session: Session) -> Keys:
    """Deployment keys for a write session opened by ``office.db.Database.write``."""
    db = session.info.get("db")
    if db is None:
        raise RuntimeError("esign needs a write session from Database.write()")
    settings = db.settings
    return Keys(
        master_key(settings.data_dir, settings.esign_master_key),
        deployment_alg(settings.esign_alg),
        TEST_KDF if settings.testing else None,
    )


def _aad(kind: AuthorityKind, agency_id: int | None) -> bytes:
    return f"tongban-esign-authority:{kind.value}:{agency_id or 0}".encode()


def unwrap(authority: Authority, master: bytes) -> bytes:
    """The authority's private key (in memory only; cached per process like the master key itself)."""
    ident = (master, authority.wrapped_key)
    private = _unwrapped.get(ident)
    if private is None:
        private = crypto.unwrap_with_key(authority.wrapped_key, master, aad=_aad(authority.kind, authority.agency_id))
        _unwrapped[ident] = private
    return private


def key_and_cert(authority: Authority, master: bytes) -> ca.KeyAndCert:
    assert authority.certificate is not None
    return ca.KeyAndCert(unwrap(authority, master), authority.certificate)


def find(session: Session, kind: AuthorityKind, agency_id: int | None = None) -> Authority | None:
    """The authority row, cached for the session (rows are never updated; the cache is dropped on rollback)."""
    cache: dict[tuple[AuthorityKind, int | None], Authority] = session.info.setdefault(CACHE_KEY, {})
    row = cache.get((kind, agency_id or None))
    if row is not None:
        return row
    stmt = select(Authority).where(Authority.kind == kind)
    stmt = stmt.where(Authority.agency_id == agency_id) if agency_id else stmt.where(Authority.agency_id.is_(None))  # type: ignore[union-attr]
    with session.no_autoflush:
        row = session.exec(stmt).first()
    if row is not None:
        cache[(kind, agency_id or None)] = row
    return row


def _store(
    session: Session,
    kind: AuthorityKind,
    agency_id: int | None,
    alg: str,
    private: bytes,
    public: bytes,
    cert: bytes | None,
    master: bytes,
) -> Authority:
    row = Authority(
        kind=kind,
        agency_id=agency_id,
        alg=alg,
        certificate=cert,
        public_key=public,
        wrapped_key=crypto.wrap_with_key(private, master, aad=_aad(kind, agency_id)),
    )
    session.add(row)
    session.flush()
    return row


def root(session: Session, keys: Keys) -> Authority:
    """The root CA, created on first need."""
    row = find(session, AuthorityKind.root)
    if row is None:
        kc = ca.create_root_ca(ROOT_NAME, ROOT_ORG, now=utcnow())
        row = _store(
            session,
            AuthorityKind.root,
            None,
            crypto.ALG_ECDSA,
            kc.private_key,
            crypto.public_key_of(crypto.ALG_ECDSA, kc.private_key),
            kc.certificate,
            keys.master,
        )
        _write_crl(session, row, keys.master)
    return row


def agency_ca(session: Session, keys: Keys, agency_id: int) -> Authority:
    """The issuing CA of ``agency_id``, created the first time it is needed."""
    row = find(session, AuthorityKind.agency, agency_id)
    if row is not None:
        return row
    agency = session.get(Department, agency_id)
    if agency is None:
        raise ValidationError("所属机关不存在", code="no_agency")
    parent = key_and_cert(root(session, keys), keys.master)
    kc = ca.create_issuing_ca(parent, f"{agency.name}签发CA", agency.name, now=utcnow())
    row = _store(
        session,
        AuthorityKind.agency,
        agency_id,
        crypto.ALG_ECDSA,
        kc.private_key,
        crypto.public_key_of(crypto.ALG_ECDSA, kc.private_key),
        kc.certificate,
        keys.master,
    )
    _write_crl(session, row, keys.master)
    return row


def tsa(session: Session, keys: Keys) -> Authority:
    """The internal TSA; its certificate (critical EKU timeStamping) is issued by the root."""
    row = find(session, AuthorityKind.tsa)
    if row is None:
        private, public = crypto.generate_keypair(keys.alg)
        cert = ca.issue_certificate(
            key_and_cert(root(session, keys), keys.master),
            subject_public_key=public,
            alg=keys.alg,
            common_name="通办可信时间戳服务",
            organization=ROOT_ORG,
            purpose="tsa",
            now=utcnow(),
            days=3650,
        )
        row = _store(session, AuthorityKind.tsa, None, keys.alg, private, public, cert, keys.master)
    return row


def log_key(session: Session, keys: Keys) -> Authority:
    """The key that signs transparency-log tree heads (public key published with every STH)."""
    row = find(session, AuthorityKind.log)
    if row is None:
        private, public = crypto.generate_keypair(keys.alg)
        row = _store(session, AuthorityKind.log, None, keys.alg, private, public, None, keys.master)
    return row


def ensure_base(session: Session, keys: Keys) -> None:
    """Root CA, TSA and log key (run at start-up so the chain is downloadable before any use)."""
    root(session, keys)
    tsa(session, keys)
    log_key(session, keys)
    refresh_stale_crls(session, keys)


# --- certificates and CRLs --------------------------------------------------------------------


def serial_of(cert: bytes) -> str:
    return str(ca.load_cert(cert).serial_number)


def revoke(session: Session, keys: Keys, issuer: Authority, cert: bytes, *, reason: str) -> datetime:
    """Put ``cert`` on ``issuer``'s CRL and republish it; returns the recorded revocation time.

    The time is rounded UP to the next whole second because X.509 revocation dates carry whole
    seconds: rounding down would make a signature time-stamped in the same second look revoked.
    """
    now = utcnow()
    when = now.replace(microsecond=0) + timedelta(seconds=ceil(now.microsecond / 1e6))
    assert issuer.id is not None
    session.add(RevokedCert(authority_id=issuer.id, serial=serial_of(cert), revoked_at=when, reason=reason))
    session.flush()
    _write_crl(session, issuer, keys.master)
    return when


def _write_crl(session: Session, authority: Authority, master: bytes) -> Crl:
    rows = session.exec(select(RevokedCert).where(RevokedCert.authority_id == authority.id)).all()
    now = utcnow()
    der = ca.build_crl(
        key_and_cert(authority, master),
        [(int(r.serial), r.revoked_at, r.reason) for r in rows],
        this_update=now,
        next_update=now + CRL_VALIDITY,
    )
    crl = session.get(Crl, authority.id)
    if crl is None:
        crl = Crl(authority_id=authority.id, der=der, this_update=now, next_update=now + CRL_VALIDITY)  # type: ignore[arg-type]
    else:
        crl.der, crl.this_update, crl.next_update = der, now, now + CRL_VALIDITY
    session.add(crl)
    session.flush()
    return crl


def refresh_stale_crls(session: Session, keys: Keys) -> None:
    """Re-sign CRLs older than a day so a published CRL never passes its nextUpdate."""
    limit = utcnow() - CRL_REFRESH
    for authority in session.exec(
        select(Authority).where(col(Authority.kind).in_([AuthorityKind.root, AuthorityKind.agency]))
    ):
        crl = session.get(Crl, authority.id)
        if crl is None or crl.this_update < limit:
            _write_crl(session, authority, keys.master)


def crl_der(session: Session, authority: Authority) -> bytes | None:
    crl = session.get(Crl, authority.id)
    return crl.der if crl else None


def ca_authorities(session: Session) -> list[Authority]:
    return list(
        session.exec(
            select(Authority)
            .where(col(Authority.kind).in_([AuthorityKind.root, AuthorityKind.agency]))
            .order_by(col(Authority.id))
        ).all()
    )


def chain_certs(session: Session) -> list[bytes]:
    """Root first, then every agency CA, then the TSA: what an offline verifier needs."""
    rows = ca_authorities(session)
    tsa_row = find(session, AuthorityKind.tsa)
    certs = [r.certificate for r in rows if r.certificate]
    return certs + ([tsa_row.certificate] if tsa_row and tsa_row.certificate else [])


def crl_lookup(session: Session) -> Any:
    """``crl_lookup(issuer_cert) -> DER | None`` over the stored CRLs (for ``docx_sig.verify_docx``)."""
    by_subject: dict[x509.Name, bytes] = {}
    for row in ca_authorities(session):
        der = crl_der(session, row)
        if der is not None and row.certificate:
            by_subject[ca.load_cert(row.certificate).subject] = der
    return lambda issuer: by_subject.get(issuer.subject)
