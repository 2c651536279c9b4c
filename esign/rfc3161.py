"""RFC 3161 time-stamp tokens from the internal TSA, for PDF (PAdES) signatures.

``esign.tsa`` issues Tongban's compact token, which the GB/T 38540 signatures carry. PDF
validators (pyHanko, poppler, Acrobat) read only RFC 3161 ``TimeStampToken``s: a CMS SignedData
whose content is a ``TSTInfo``. This module issues those with the *same* TSA key, certificate
(critical EKU timeStamping, issued by the root CA) and clock. Pure: bytes and values in, DER out.

ECDSA P-256 only: PDF validators have no SM2 (the PDF sealing path refuses SM2 keys first).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp, x509

from esign import ca, crypto
from esign.tsa import TONGBAN_TSA_POLICY
from office.errors import ValidationError

_DIGEST_LEN = {"sha256": 32, "sha384": 48, "sha512": 64}


def issue_token(
    tsa_key: bytes, tsa_cert: bytes, *, message_digest: bytes, hash_alg: str, now: datetime, nonce: int | None = None
) -> bytes:
    """DER ``ContentInfo`` (RFC 3161 TimeStampToken) stamping ``message_digest`` (of ``hash_alg``,
    asn1crypto name such as ``"sha256"``) at ``now``, signed by the TSA key (32-byte P-256 scalar)."""
    if _DIGEST_LEN.get(hash_alg) != len(message_digest):
        raise ValidationError("摘要算法或长度不正确", code="bad_digest")
    if now.tzinfo is None:
        raise ValueError("naive datetime; use UTC-aware datetimes")
    if ca.public_key_from_cert(tsa_cert)[0] != crypto.ALG_ECDSA:
        raise ValidationError("时间戳服务密钥不是 ECDSA P-256，无法签发 RFC 3161 时间戳", code="tsa_alg_unsupported")
    cert = x509.Certificate.load(tsa_cert)
    info = {
        "version": "v1",
        "policy": TONGBAN_TSA_POLICY,
        "message_imprint": {"hash_algorithm": {"algorithm": hash_alg}, "hashed_message": message_digest},
        "serial_number": secrets.randbits(127) | 1,
        "gen_time": now.astimezone(UTC),
        "accuracy": {"seconds": 1},
        "tsa": x509.GeneralName(name="directory_name", value=cert.subject),
    }
    if nonce is not None:
        info["nonce"] = nonce
    content = tsp.TSTInfo(info).dump()
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": core.UTCTime(now)})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [crypto.sha256(content)]}),
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        tsp.SigningCertificateV2(
                            {
                                "certs": [
                                    {
                                        "hash_algorithm": {"algorithm": "sha256"},
                                        "cert_hash": crypto.sha256(tsa_cert),
                                        "issuer_serial": {
                                            "issuer": [x509.GeneralName(name="directory_name", value=cert.issuer)],
                                            "serial_number": cert.serial_number,
                                        },
                                    }
                                ]
                            }
                        )
                    ],
                }
            ),
        ]
    )
    signature = crypto.sign(crypto.ALG_ECDSA, tsa_key, signed_attrs.dump())
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(content)},
            "certificates": [cert],
            "signer_infos": [signer_info],
        }
    )
    token: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return token
