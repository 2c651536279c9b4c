"""Internal time-stamping authority: a signed statement "this digest existed at this time".

Not RFC 3161 (no CMS); a small DER structure in the same spirit, encoded with ``asn1crypto``::

    TongbanTimeStampToken ::= SEQUENCE {
      tstInfo         TSTInfo,
      signatureAlgID  OBJECT IDENTIFIER,   -- ecdsa-with-SHA256 or SM2-with-SM3 (esign.crypto)
      signature       OCTET STRING         -- DER signature over DER(tstInfo) by the TSA key
    }
    TSTInfo ::= SEQUENCE {
      version         INTEGER (1),
      policy          OBJECT IDENTIFIER,   -- TONGBAN_TSA_POLICY
      hashAlgorithm   OBJECT IDENTIFIER,   -- SHA-256 or SM3 (of the stamped digest)
      hashedMessage   OCTET STRING,        -- the digest being stamped
      serialNumber    INTEGER,             -- 128-bit random
      genTime         GeneralizedTime,     -- UTC, microsecond precision
      tsaCertHash     OCTET STRING         -- SHA-256 of the TSA certificate (DER)
    }

DER is canonical, so the signed bytes are exactly ``tstInfo.dump()``. The TSA certificate must
carry a critical ExtendedKeyUsage timeStamping (``esign.ca.issue_certificate(purpose="tsa")``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import core
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from esign import ca, crypto
from office.errors import ValidationError

TONGBAN_TSA_POLICY = "1.3.6.1.4.1.61234.1.2.1"  # private arc used by Tongban (documented, not registered)
_HASH_BY_OID = {v: k for k, v in crypto.DIGEST_OIDS.items()}
_DIGEST_LEN = {"SHA-256": 32, "SM3": 32}


class TimestampInvalid(ValidationError):
    code = "timestamp_invalid"
    default_message = "时间戳无效"


class TSTInfo(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("policy", core.ObjectIdentifier),
        ("hash_algorithm", core.ObjectIdentifier),
        ("hashed_message", core.OctetString),
        ("serial_number", core.Integer),
        ("gen_time", core.GeneralizedTime),
        ("tsa_cert_hash", core.OctetString),
    ]


class TimeStampToken(core.Sequence):
    _fields = [
        ("tst_info", TSTInfo),
        ("signature_alg", core.ObjectIdentifier),
        ("signature", core.OctetString),
    ]


@dataclass(frozen=True)
class TimestampInfo:
    """Decoded, verified token contents."""

    time: datetime
    digest: bytes
    hash_alg: str
    serial: int


def issue_token(
    tsa_key: bytes, tsa_cert: ca.CertLike, digest: bytes, now: datetime, *, hash_alg: str = "SHA-256"
) -> bytes:
    """Stamp ``digest`` (of ``hash_alg``) at ``now`` with the TSA's private key; returns DER token."""
    if _DIGEST_LEN.get(hash_alg) != len(digest):
        raise ValidationError("摘要算法或长度不正确", code="bad_digest")
    if now.tzinfo is None:
        raise ValueError("naive datetime; use UTC-aware datetimes")
    cert = ca.load_cert(tsa_cert)
    alg, _ = ca.public_key_from_cert(cert)
    info = TSTInfo(
        {
            "version": 1,
            "policy": TONGBAN_TSA_POLICY,
            "hash_algorithm": crypto.DIGEST_OIDS[hash_alg],
            "hashed_message": digest,
            "serial_number": secrets.randbits(127) | 1,
            "gen_time": now.astimezone(UTC),
            "tsa_cert_hash": crypto.sha256(cert.public_bytes(Encoding.DER)),
        }
    )
    signature = crypto.sign(alg, tsa_key, info.dump())
    return TimeStampToken(
        {"tst_info": info, "signature_alg": crypto.SIGNATURE_OIDS[alg], "signature": signature}
    ).dump()


def decode_token(token: bytes) -> TimeStampToken:
    """Parse a token strictly (DER only, no trailing bytes); raises TimestampInvalid."""
    try:
        parsed = TimeStampToken.load(token, strict=True)
        parsed.native  # force full parse of every field  # noqa: B018
    except (ValueError, TypeError) as exc:
        raise TimestampInvalid("时间戳格式错误", code="timestamp_malformed") from exc
    if parsed.dump(force=True) != token:
        raise TimestampInvalid("时间戳不是规范 DER 编码", code="timestamp_malformed")
    return parsed


def verify_token_info(token: bytes, tsa_cert: ca.CertLike, *, expected_digest: bytes) -> TimestampInfo:
    """Verify a token against the TSA certificate and the digest it should cover; return its contents."""
    parsed = decode_token(token)
    info = parsed["tst_info"]
    cert = ca.load_cert(tsa_cert)
    if not ca.has_eku(cert, ExtendedKeyUsageOID.TIME_STAMPING):
        raise TimestampInvalid("时间戳证书用途不正确", code="tsa_cert_invalid")
    alg, public = ca.public_key_from_cert(cert)
    if info["version"].native != 1 or info["policy"].dotted != TONGBAN_TSA_POLICY:
        raise TimestampInvalid("时间戳版本或策略不受支持", code="timestamp_malformed")
    if crypto.OID_TO_ALG.get(parsed["signature_alg"].dotted) != alg:
        raise TimestampInvalid("时间戳签名算法与证书不符", code="timestamp_bad_signature")
    if info["tsa_cert_hash"].native != crypto.sha256(cert.public_bytes(Encoding.DER)):
        raise TimestampInvalid("时间戳不是由该时间戳服务签发", code="timestamp_wrong_tsa")
    if not crypto.verify(alg, public, info.dump(), parsed["signature"].native):
        raise TimestampInvalid("时间戳签名无效", code="timestamp_bad_signature")
    hash_alg = _HASH_BY_OID.get(info["hash_algorithm"].dotted)
    if hash_alg is None:
        raise TimestampInvalid("时间戳摘要算法不受支持", code="timestamp_malformed")
    if info["hashed_message"].native != expected_digest:
        raise TimestampInvalid("时间戳与被签数据不符", code="timestamp_mismatch")
    when = info["gen_time"].native.astimezone(UTC)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise TimestampInvalid("时间戳时间不在时间戳证书有效期内", code="tsa_cert_invalid")
    return TimestampInfo(when, info["hashed_message"].native, hash_alg, info["serial_number"].native)


def verify_token(token: bytes, tsa_cert: ca.CertLike, *, expected_digest: bytes) -> datetime:
    """Verify a token and return its trusted UTC time; raises TimestampInvalid (with a code) otherwise."""
    return verify_token_info(token, tsa_cert, expected_digest=expected_digest).time
