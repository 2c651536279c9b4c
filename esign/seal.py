"""GB/T 38540-2020 (v4) electronic seal ``SESeal`` and signature ``SES_Signature`` structures.

Encoding: **DER via asn1crypto**, following the ASN.1 in spec §3.3-3.4 field by field, because
DER is canonical (one encoding per value, so the signed bytes are reproducible) and it is what
the standard and other implementations (ofdrw, the Go/C verifiers) exchange; canonical JSON would
be ours alone. Decoding is strict: the parsed value must re-encode to exactly the input bytes.

The maker's signature covers ``DER(SEQUENCE { eSealInfo, cert, signAlgID })`` (spec §3.3).
Signing algorithms are :mod:`esign.crypto`'s (ECDSA-P256-SHA256 or SM2-SM3, by OID).

Deviations, stated so a reviewer can judge them:

- ``TBS_Sign.eseal`` is OPTIONAL here so a person can sign without an organisation seal
  (GB/T 38540 requires it; a signature without one is a plain digital signature).
- ``TBS_Sign.extDatas`` uses ``[0] EXPLICIT``; the standard's tagging mode is unverified (spec).
- ``SES_Signature.timeStamp`` carries an :mod:`esign.tsa` token, not an RFC 3161 token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import core

from esign import ca, crypto
from office.errors import ValidationError

SEAL_VERSION = 4
DEFAULT_VID = "TONGBAN"
SEAL_TYPE_ORGANIZATION = 1
SEAL_TYPE_PERSONAL = 2
CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2


class SealInvalid(ValidationError):
    code = "seal_invalid"
    default_message = "电子印章无效"


# --- ASN.1 -------------------------------------------------------------------------------------


class SESHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class CertList(core.SequenceOf):
    _child_spec = core.OctetString


class SESESPropertyInfo(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),  # CertList (type 1) or CertDigestList (type 2)
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class SESESPictureInfo(core.Sequence):
    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class ExtData(core.Sequence):
    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SESSealInfo(core.Sequence):
    _fields = [
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", SESESPropertyInfo),
        ("picture", SESESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SealTBS(core.Sequence):
    """What the seal maker signs."""

    _fields = [("e_seal_info", SESSealInfo), ("cert", core.OctetString), ("sign_alg_id", core.ObjectIdentifier)]


class SESeal(core.Sequence):
    _fields = [
        ("e_seal_info", SESSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TBSSign(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SESeal, {"optional": True}),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SESSignature(core.Sequence):
    _fields = [
        ("to_sign", TBSSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


def _strict_load(cls: type[core.Asn1Value], der: bytes, what: str) -> Any:
    try:
        value = cls.load(der, strict=True)
        value.native  # parse every nested field now, not lazily later  # noqa: B018
        if value.dump(force=True) != der:
            raise ValueError("not canonical DER")
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise SealInvalid(f"{what}格式错误", code="malformed") from exc
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime; use UTC-aware datetimes")
    # GeneralizedTime here carries whole seconds: keep signed and parsed values identical.
    return value.astimezone(UTC).replace(microsecond=0)


# --- seals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealData:
    """A decoded seal. ``cert_list`` holds certificates (type 1) or ``(hash_name, digest)`` pairs (type 2)."""

    es_id: str
    seal_type: int
    name: str
    cert_list_type: int
    cert_list: tuple[Any, ...]
    created: datetime
    valid_start: datetime
    valid_end: datetime
    picture_type: str
    picture: bytes
    width_mm: int
    height_mm: int
    maker_cert: bytes
    alg: str
    signed_value: bytes
    vid: str
    version: int
    der: bytes

    def lists_cert(self, cert_der: bytes) -> bool:
        """GB/T 38540 §7.3 step 5: is this signer certificate (or its digest) in the seal's list?"""
        if self.cert_list_type == CERT_LIST_CERTS:
            return cert_der in self.cert_list
        return any(
            crypto.digest(name, cert_der) == value for name, value in self.cert_list if name in crypto.DIGEST_OIDS
        )


def make_seal(
    *,
    es_id: str,
    name: str,
    signer_certs: Sequence[bytes],
    picture: bytes,
    width_mm: int,
    height_mm: int,
    valid_start: datetime,
    valid_end: datetime,
    maker_cert: bytes,
    alg: str,
    maker_sign: Callable[[bytes], bytes],
    seal_type: int = SEAL_TYPE_ORGANIZATION,
    created: datetime | None = None,
    picture_type: str = "PNG",
    cert_list_type: int = CERT_LIST_DIGESTS,
    vid: str = DEFAULT_VID,
) -> bytes:
    """Build and sign a ``SESeal``; ``maker_sign(data) -> signature`` is the seal maker's key (§6.2)."""
    if cert_list_type not in (CERT_LIST_CERTS, CERT_LIST_DIGESTS) or not signer_certs:
        raise ValidationError("印章须列出至少一张签章人证书", code="bad_cert_list")
    if valid_end <= valid_start:
        raise ValidationError("印章有效期不正确", code="bad_validity")
    if ca.public_key_from_cert(maker_cert)[0] != alg:
        raise ValidationError("制章者证书与签名算法不符", code="alg_mismatch")
    if cert_list_type == CERT_LIST_CERTS:
        cert_list: core.Asn1Value = CertList(list(signer_certs))
    else:
        hash_name = crypto.DIGEST_OF[alg]
        cert_list = CertDigestList([{"type": hash_name, "value": crypto.digest(hash_name, c)} for c in signer_certs])
    info = SESSealInfo(
        {
            "header": {"id": "ES", "version": SEAL_VERSION, "vid": vid},
            "es_id": es_id,
            "property": {
                "type": seal_type,
                "name": name,
                "cert_list_type": cert_list_type,
                "cert_list": core.Any.load(cert_list.dump()),
                "create_date": _utc(created or datetime.now(UTC)),
                "valid_start": _utc(valid_start),
                "valid_end": _utc(valid_end),
            },
            "picture": {"type": picture_type, "data": picture, "width": width_mm, "height": height_mm},
        }
    )
    oid = crypto.SIGNATURE_OIDS[alg]
    tbs = SealTBS({"e_seal_info": info, "cert": maker_cert, "sign_alg_id": oid})
    signed = maker_sign(tbs.dump())
    return SESeal({"e_seal_info": info, "cert": maker_cert, "sign_alg_id": oid, "signed_value": signed}).dump()


def parse_seal(der: bytes) -> SealData:
    """Decode a ``SESeal`` (strict DER) without checking its signature."""
    seal = _strict_load(SESeal, der, "电子印章")
    return _seal_data(seal, der)


def _seal_data(seal: SESeal, der: bytes) -> SealData:
    info = seal["e_seal_info"]
    prop, pic, header = info["property"], info["picture"], info["header"]
    list_type = prop["cert_list_type"].native
    try:
        raw = prop["cert_list"].dump()
        if list_type == CERT_LIST_CERTS:
            certs: tuple[Any, ...] = tuple(CertList.load(raw, strict=True).native)
        elif list_type == CERT_LIST_DIGESTS:
            certs = tuple((d["type"], d["value"]) for d in CertDigestList.load(raw, strict=True).native)
        else:
            raise ValueError(list_type)
    except (ValueError, TypeError) as exc:
        raise SealInvalid("印章证书列表格式错误", code="malformed") from exc
    alg = crypto.OID_TO_ALG.get(seal["sign_alg_id"].dotted, seal["sign_alg_id"].dotted)
    return SealData(
        es_id=info["es_id"].native,
        seal_type=prop["type"].native,
        name=prop["name"].native,
        cert_list_type=list_type,
        cert_list=certs,
        created=prop["create_date"].native,
        valid_start=prop["valid_start"].native,
        valid_end=prop["valid_end"].native,
        picture_type=pic["type"].native,
        picture=pic["data"].native,
        width_mm=pic["width"].native,
        height_mm=pic["height"].native,
        maker_cert=seal["cert"].native,
        alg=alg,
        signed_value=seal["signed_value"].native,
        vid=header["vid"].native,
        version=header["version"].native,
        der=der,
    )


def verify_seal(der: bytes, *, at_time: datetime) -> SealData:
    """GB/T 38540 §6.3 steps 1, 2 and 4: format, maker signature, validity at ``at_time``.

    Step 3 (the maker certificate's chain and revocation) needs trust roots and CRLs; callers do
    it with :func:`esign.ca.verify_chain` on ``SealData.maker_cert`` (``esign.docx_sig`` does).
    Raises SealInvalid with codes ``malformed``, ``bad_header``, ``bad_maker_signature``,
    ``seal_expired``, ``seal_not_yet_valid``.
    """
    seal = _strict_load(SESeal, der, "电子印章")
    data = _seal_data(seal, der)
    if seal["e_seal_info"]["header"]["id"].native != "ES" or data.version != SEAL_VERSION:
        raise SealInvalid("印章头或版本不受支持", code="bad_header")
    try:
        cert_alg, public = ca.public_key_from_cert(data.maker_cert)
    except ValidationError as exc:
        raise SealInvalid("制章者证书无效", code="bad_maker_signature") from exc
    tbs = SealTBS({"e_seal_info": seal["e_seal_info"], "cert": seal["cert"], "sign_alg_id": seal["sign_alg_id"]})
    if cert_alg != data.alg or not crypto.verify(cert_alg, public, tbs.dump(force=True), data.signed_value):
        raise SealInvalid("印章制章者签名无效", code="bad_maker_signature")
    at_time = at_time.astimezone(UTC)
    if at_time < data.valid_start:
        raise SealInvalid("印章尚未生效", code="seal_not_yet_valid")
    if at_time > data.valid_end:
        raise SealInvalid("印章已过有效期", code="seal_expired")
    return data


# --- signatures (SES_Signature) ----------------------------------------------------------------


@dataclass(frozen=True)
class SignatureData:
    """A decoded ``SES_Signature``; ``tbs`` is the exact DER the signer signed."""

    version: int
    seal_der: bytes | None
    time_info: datetime
    data_hash: bytes
    property_info: str
    ext_datas: dict[str, bytes]
    cert: bytes
    alg: str
    signature: bytes
    timestamp: bytes | None
    tbs: bytes


def build_tbs_sign(
    *, seal_der: bytes | None, time_info: datetime, data_hash: bytes, property_info: str, ext_datas: Mapping[str, bytes]
) -> bytes:
    """DER ``TBS_Sign`` (§7.2 step 3); ``ext_datas`` maps OID -> value."""
    fields: dict[str, Any] = {
        "version": SEAL_VERSION,
        "time_info": _utc(time_info),
        "data_hash": data_hash,
        "property_info": property_info,
    }
    if seal_der is not None:
        fields["eseal"] = SESeal.load(seal_der)
    if ext_datas:
        fields["ext_datas"] = [{"extn_id": oid, "extn_value": v} for oid, v in sorted(ext_datas.items())]
    return TBSSign(fields).dump()


def encode_signature(*, tbs: bytes, cert: bytes, alg: str, signature: bytes, timestamp: bytes | None) -> bytes:
    """DER ``SES_Signature`` around an already signed ``TBS_Sign``."""
    fields: dict[str, Any] = {
        "to_sign": TBSSign.load(tbs),
        "cert": cert,
        "signature_alg_id": crypto.SIGNATURE_OIDS[alg],
        "signature": signature,
    }
    if timestamp is not None:
        fields["time_stamp"] = timestamp
    return SESSignature(fields).dump()


def parse_signature(der: bytes) -> SignatureData:
    """Decode a ``SES_Signature`` strictly; raises SealInvalid(code="malformed") on anything odd."""
    sig = _strict_load(SESSignature, der, "签章数据")
    tbs = sig["to_sign"]
    oid = sig["signature_alg_id"].dotted
    if oid not in crypto.OID_TO_ALG:
        raise SealInvalid("签名算法不受支持", code="unsupported_algorithm")
    eseal = tbs["eseal"]
    exts = tbs["ext_datas"]
    return SignatureData(
        version=tbs["version"].native,
        seal_der=None if isinstance(eseal, core.Void) else eseal.dump(),
        time_info=tbs["time_info"].native,
        data_hash=tbs["data_hash"].native,
        property_info=tbs["property_info"].native,
        ext_datas={} if isinstance(exts, core.Void) else {e["extn_id"].dotted: e["extn_value"].native for e in exts},
        cert=sig["cert"].native,
        alg=crypto.OID_TO_ALG[oid],
        signature=sig["signature"].native,
        timestamp=None if isinstance(sig["time_stamp"], core.Void) else sig["time_stamp"].native,
        tbs=tbs.dump(),
    )
