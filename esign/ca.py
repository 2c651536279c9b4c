"""Internal PKI with ``cryptography``: root CA, one issuing CA per agency, person/seal/TSA certificates, CRLs.

All CA certificates are ECDSA P-256 / SHA-256, because ``cryptography`` cannot create SM2
signatures (spec §4.1). Signer (leaf) keys may be ECDSA P-256 **or SM2**:

SM2 leaf certificates. ``cryptography`` can neither hold an SM2 public key nor put one into a
``CertificateBuilder``, but an X.509 certificate whose *issuer* signature is ECDSA while the
*subject* key is SM2 is perfectly standard (RFC 5280 separates the two). So for an SM2 subject we
let ``cryptography`` build and sign a certificate with a throw-away P-256 key (to get its
name/extension encoding), then with ``asn1crypto`` replace ``subjectPublicKeyInfo`` by
``id-ecPublicKey`` + ``namedCurve 1.2.156.10197.1.301`` (SM2) with the real point, recompute the
Subject Key Identifier, and re-sign the new TBSCertificate with the CA's ECDSA key. The result
parses with ``cryptography`` (``public_key()`` raises UnsupportedAlgorithm, as the spec records for
SM2 certificates), chains and verifies with ordinary ECDSA, and :func:`public_key_from_cert` reads
the SM2 point with ``asn1crypto``. No side channel (extension with a key hash) is needed.

Times: every function takes an explicit UTC ``now``/``at_time`` so callers (and tests) control
the clock. Revocation follows the "signature time" rule: a certificate revoked at T still
validates signatures whose *trusted* time (time-stamp) is before T.

Error hierarchy::

    office.errors.ValidationError
    └── CertificateInvalid (422 cert_invalid; codes: untrusted_chain, bad_cert_signature,
        cert_expired, cert_not_yet_valid, not_a_ca, bad_key_usage, unsupported_key, bad_crl)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from asn1crypto import keys as a_keys
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esign import crypto
from office.errors import ValidationError

_Ext = TypeVar("_Ext", bound=x509.ExtensionType)

OID_SM2_CURVE = "1.2.156.10197.1.301"
#: RFC 9336 id-kp-documentSigning.
OID_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
MAX_CHAIN_DEPTH = 6


class CertificateInvalid(ValidationError):
    code = "cert_invalid"
    default_message = "证书无效"


@dataclass(frozen=True)
class KeyAndCert:
    """A private key (32-byte scalar) with its DER certificate; what a CA needs to issue."""

    private_key: bytes
    certificate: bytes

    @property
    def cert(self) -> x509.Certificate:
        return load_cert(self.certificate)


CertLike = bytes | x509.Certificate


def load_cert(cert: CertLike) -> x509.Certificate:
    """Accept DER, PEM or an already-loaded certificate; raises CertificateInvalid on garbage."""
    if isinstance(cert, x509.Certificate):
        return cert
    try:
        if cert.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(cert)
        return x509.load_der_x509_certificate(cert)
    except (ValueError, TypeError) as exc:
        raise CertificateInvalid("证书无法解析", code="bad_certificate") from exc


def _utc(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime; use UTC-aware datetimes")
    return now.astimezone(UTC)


def _name(common_name: str, organization: str | None, unit: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey, now: datetime, days: int):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def create_root_ca(common_name: str, organization: str, *, now: datetime | None = None, days: int = 7300) -> KeyAndCert:
    """Self-signed root CA (pathLen 1: root -> agency CA -> leaf)."""
    now = _utc(now)
    private, _ = crypto.generate_keypair(crypto.ALG_ECDSA)
    key = crypto.ecdsa_private_key(private)
    name = _name(common_name, organization)
    cert = (
        _builder(name, name, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeyAndCert(private, cert.public_bytes(serialization.Encoding.DER))


def create_issuing_ca(
    parent: KeyAndCert, common_name: str, organization: str, *, now: datetime | None = None, days: int = 3650
) -> KeyAndCert:
    """Agency issuing CA signed by ``parent`` (pathLen 0: issues only end-entity certificates)."""
    now = _utc(now)
    private, _ = crypto.generate_keypair(crypto.ALG_ECDSA)
    key = crypto.ecdsa_private_key(private)
    issuer_cert = parent.cert
    issuer_key = crypto.ecdsa_private_key(parent.private_key)
    cert = (
        _builder(_name(common_name, organization), issuer_cert.subject, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(_aki(issuer_cert), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return KeyAndCert(private, cert.public_bytes(serialization.Encoding.DER))


def _aki(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def issue_certificate(
    issuer: KeyAndCert,
    *,
    subject_public_key: bytes,
    alg: str,
    common_name: str,
    organization: str | None = None,
    unit: str | None = None,
    purpose: str = "person",
    now: datetime | None = None,
    days: int = 730,
) -> bytes:
    """Issue an end-entity certificate (DER) for a 65-byte public point of ``alg``.

    ``purpose``: ``"person"`` or ``"seal"`` (digitalSignature + nonRepudiation, EKU documentSigning
    and emailProtection) or ``"tsa"`` (critical EKU timeStamping, per RFC 3161 practice).
    """
    if purpose not in ("person", "seal", "tsa"):
        raise ValidationError(f"未知证书用途：{purpose}", code="bad_purpose")
    crypto._check_alg(alg)
    now = _utc(now)
    issuer_cert = issuer.cert
    issuer_key = crypto.ecdsa_private_key(issuer.private_key)
    if alg == crypto.ALG_ECDSA:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), subject_public_key)
    else:
        crypto._parse_point(alg, subject_public_key)
        if not crypto._sm2_on_curve(
            int.from_bytes(subject_public_key[1:33], "big"), int.from_bytes(subject_public_key[33:], "big")
        ):
            raise ValidationError("SM2 公钥不在曲线上", code="bad_public_key")
        public = ec.generate_private_key(ec.SECP256R1()).public_key()  # placeholder, replaced below
    if purpose == "tsa":
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
    else:
        eku = x509.ExtendedKeyUsage([OID_DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION])
    cert = (
        _builder(_name(common_name, organization, unit), issuer_cert.subject, public, now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(eku, critical=purpose == "tsa")
        .add_extension(_aki(issuer_cert), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    if alg == crypto.ALG_SM2:
        der = _rebind_sm2(der, subject_public_key, issuer_key)
    return der


def _rebind_sm2(der: bytes, point: bytes, issuer_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Swap in the SM2 SubjectPublicKeyInfo and SKI, then re-sign the TBS with the CA's ECDSA key."""
    parsed = a_x509.Certificate.load(der)
    tbs = parsed["tbs_certificate"]
    tbs["subject_public_key_info"] = a_keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": a_keys.ECDomainParameters(name="named", value=OID_SM2_CURVE),
            },
            "public_key": point,
        }
    )
    for ext in tbs["extensions"]:
        if ext["extn_id"].native == "key_identifier":
            ext["extn_value"] = a_x509.ParsableOctetString(
                a_x509.OctetString(hashlib.sha1(point).digest()).dump()  # RFC 5280 §4.2.1.2 method 1
            )
    tbs_der = tbs.dump(force=True)
    signature = issuer_key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    new = {
        "tbs_certificate": a_x509.TbsCertificate.load(tbs_der),
        "signature_algorithm": parsed["signature_algorithm"],
        "signature_value": signature,
    }
    return a_x509.Certificate(new).dump()


def public_key_from_cert(cert: CertLike) -> tuple[str, bytes]:
    """Return ``(alg, 65-byte point)`` of a certificate's subject key (P-256 or SM2)."""
    cert = load_cert(cert)
    try:
        key = cert.public_key()
    except UnsupportedAlgorithm:
        spki = a_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)).public_key
        params = spki["algorithm"]["parameters"]
        if (
            spki["algorithm"]["algorithm"].native == "ec"
            and params.name == "named"
            and params.chosen.dotted == OID_SM2_CURVE
        ):
            return crypto.ALG_SM2, bytes(spki["public_key"])
        raise CertificateInvalid("证书公钥算法不受支持", code="unsupported_key") from None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return crypto.ALG_ECDSA, point
    raise CertificateInvalid("证书公钥算法不受支持", code="unsupported_key")


def subject_text(cert: CertLike, oid: x509.ObjectIdentifier = NameOID.COMMON_NAME) -> str:
    """First value of a subject attribute (default CN), or ``""``."""
    attrs = load_cert(cert).subject.get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else ""


def chain_pem(certs: Iterable[CertLike]) -> bytes:
    """Concatenated PEM, leaf first, for download or for a TLS-style chain file."""
    return b"".join(load_cert(c).public_bytes(serialization.Encoding.PEM) for c in certs)


def load_pem_chain(pem: bytes) -> list[x509.Certificate]:
    """Inverse of :func:`chain_pem`."""
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateInvalid("证书链无法解析", code="bad_certificate") from exc


# --- validation ------------------------------------------------------------------------------


def _check_time(cert: x509.Certificate, at_time: datetime) -> None:
    if at_time < cert.not_valid_before_utc:
        raise CertificateInvalid(f"证书尚未生效：{subject_text(cert)}", code="cert_not_yet_valid")
    if at_time > cert.not_valid_after_utc:
        raise CertificateInvalid(f"证书已过期：{subject_text(cert)}", code="cert_expired")


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False


def _check_is_ca(cert: x509.Certificate, below: int) -> None:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CertificateInvalid("签发者不是 CA 证书", code="not_a_ca") from exc
    if not bc.ca or not ku.key_cert_sign or (bc.path_length is not None and below > bc.path_length):
        raise CertificateInvalid("签发者不是 CA 证书或超出路径长度", code="not_a_ca")


def verify_chain(
    cert: CertLike, chain: Sequence[CertLike], at_time: datetime, *, trust_roots: Sequence[CertLike]
) -> list[x509.Certificate]:
    """Build and check a path from ``cert`` through ``chain`` to one of ``trust_roots`` at ``at_time``.

    Checks each issuer signature, validity periods at ``at_time``, CA basic constraints/path length
    and key usage, and that a leaf allows digitalSignature or nonRepudiation. Returns the path,
    leaf first, root last; raises CertificateInvalid with a specific code otherwise.
    Revocation is separate (:func:`is_revoked`) because CRLs come from the storage layer.
    """
    at_time = _utc(at_time)
    leaf = load_cert(cert)
    roots = [load_cert(c) for c in trust_roots]
    root_ders = {r.public_bytes(serialization.Encoding.DER) for r in roots}
    pool = [load_cert(c) for c in chain] + roots
    _check_time(leaf, at_time)
    ku = _get_ext(leaf, x509.KeyUsage)
    if ku is not None and not (ku.digital_signature or ku.content_commitment):
        raise CertificateInvalid("证书密钥用途不允许签名", code="bad_key_usage")
    path = [leaf]
    while path[-1].public_bytes(serialization.Encoding.DER) not in root_ders:
        if len(path) > MAX_CHAIN_DEPTH:
            raise CertificateInvalid("证书链过长", code="untrusted_chain")
        current = path[-1]
        issuer = next((c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None)
        if issuer is None:
            names = [c.subject == current.issuer for c in pool]
            code = "bad_cert_signature" if any(names) else "untrusted_chain"
            raise CertificateInvalid(f"无法验证到受信任的根证书：{subject_text(current)}", code=code)
        _check_is_ca(issuer, below=len(path) - 1)
        _check_time(issuer, at_time)
        path.append(issuer)
    return path


def _get_ext(cert: x509.Certificate, cls: type[_Ext]) -> _Ext | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def has_eku(cert: CertLike, oid: x509.ObjectIdentifier) -> bool:
    """True if the certificate's ExtendedKeyUsage lists ``oid``."""
    eku = _get_ext(load_cert(cert), x509.ExtendedKeyUsage)
    return eku is not None and oid in list(eku)


# --- CRLs ------------------------------------------------------------------------------------

_REASONS = {r.name: r for r in x509.ReasonFlags}


def build_crl(
    issuer: KeyAndCert,
    revoked: Iterable[tuple[int, datetime, str | x509.ReasonFlags | None]],
    *,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
) -> bytes:
    """DER CRL signed by ``issuer`` listing ``(serial, revocation_time, reason)`` entries.

    ``reason`` is a ``ReasonFlags`` or its name (``"key_compromise"``, ``"superseded"``...).
    """
    this_update = _utc(this_update)
    next_update = next_update or this_update + timedelta(days=7)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
    )
    for serial, when, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_utc(when))
        if reason is not None:
            flag = _REASONS[reason] if isinstance(reason, str) else reason
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(crypto.ecdsa_private_key(issuer.private_key), hashes.SHA256()).public_bytes(
        serialization.Encoding.DER
    )


@dataclass(frozen=True)
class RevocationStatus:
    """Result of :func:`is_revoked`; ``revoked`` is what matters for a signature at ``at_time``."""

    revoked: bool
    revoked_at: datetime | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.revoked


def is_revoked(cert: CertLike, crl: bytes, at_time: datetime, *, issuer: CertLike) -> RevocationStatus:
    """Was ``cert`` revoked at ``at_time`` (the signature's trusted time) according to ``crl``?

    The CRL must be issued and signed by ``issuer``. An entry whose revocation time is after
    ``at_time`` does not count: the signature was made while the certificate was good; the
    returned status still carries ``revoked_at`` so callers can show it.
    """
    cert = load_cert(cert)
    issuer_cert = load_cert(issuer)
    try:
        crl_obj = x509.load_der_x509_crl(crl)
    except ValueError as exc:
        raise CertificateInvalid("吊销列表无法解析", code="bad_crl") from exc
    issuer_key = issuer_cert.public_key()
    if isinstance(issuer_key, x25519.X25519PublicKey | x448.X448PublicKey):  # key-agreement keys sign nothing
        raise CertificateInvalid("吊销列表签名无效或签发者不符", code="bad_crl")
    if crl_obj.issuer != issuer_cert.subject or not crl_obj.is_signature_valid(issuer_key):
        raise CertificateInvalid("吊销列表签名无效或签发者不符", code="bad_crl")
    entry = crl_obj.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return RevocationStatus(False)
    reason_ext = _get_entry_reason(entry)
    when = entry.revocation_date_utc
    return RevocationStatus(when <= _utc(at_time), when, reason_ext)


def _get_entry_reason(entry: x509.RevokedCertificate) -> str | None:
    try:
        return str(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name)
    except x509.ExtensionNotFound:
        return None
