"""The GB/T 38540 §7.3 checks every signed format shares (Word, PDF, OFD, a text signature).

Each format finds its signature and checks that it covers the file (``esign.docx_sig``,
``esign.ofd_sig``, ``esign.pdf_sig``); what a signature *is* is checked here once: the signature
value over ``TBS_Sign`` (steps 1-2), the time-stamp over the signature value, the signer's and the
seal maker's certificate paths and revocation at the trusted time (step 3), and the seal itself and
that the signer is on its list (steps 4-5). Failures go into a :class:`SignatureReport`, never
raised: a report says every reason a signature fails, not only the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from urllib.parse import unquote

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from esign import ca, crypto, tsa
from esign import seal as seal_mod
from office.errors import OfficeError

#: ``TBS_Sign.extDatas`` OID carrying the signer's intermediate certificates (:class:`CertChain`).
OID_CHAIN = "1.3.6.1.4.1.61234.1.3.2"


class CertChain(core.SequenceOf):
    """DER certificates from the signer's issuer up to (not including) the root."""

    _child_spec = core.OctetString


def signer_chain(sig: seal_mod.SignatureData) -> list[bytes]:
    """The intermediate certificates a signature carries (``OID_CHAIN``), or none."""
    if OID_CHAIN not in sig.ext_datas:
        return []
    return [bytes(c) for c in CertChain.load(sig.ext_datas[OID_CHAIN]).native]


@dataclass(frozen=True)
class Reason:
    """Why a signature is invalid (``severity="error"``) or weaker than it could be (``"warning"``)."""

    code: str
    message: str
    severity: str = "error"


@dataclass
class SignatureReport:
    """Verification result of one signature part."""

    sequence: int
    part_name: str
    valid: bool = False
    reasons: list[Reason] = field(default_factory=list)
    alg: str | None = None
    signer_subject: str | None = None
    signer_organization: str | None = None
    seal_name: str | None = None
    signing_time: datetime | None = None  # the signer's claim (TBS_Sign.timeInfo)
    timestamp_time: datetime | None = None  # from a verified time-stamp token
    changed_parts: list[str] = field(default_factory=list)
    revocation: ca.RevocationStatus | None = None

    @property
    def trusted_time(self) -> datetime | None:
        return self.timestamp_time or self.signing_time

    def fail(self, code: str, message: str) -> None:
        self.reasons.append(Reason(code, message))

    def warn(self, code: str, message: str) -> None:
        self.reasons.append(Reason(code, message, "warning"))


@dataclass
class VerificationReport:
    """All signatures of a document, in sequence order."""

    signatures: list[SignatureReport]

    @property
    def valid(self) -> bool:
        return bool(self.signatures) and all(s.valid for s in self.signatures)


CrlLookup = Callable[[x509.Certificate], bytes | None]


def check_signature_value(
    raw: bytes, report: SignatureReport
) -> tuple[seal_mod.SignatureData, x509.Certificate] | None:
    """GB/T 38540 §7.3 steps 1-2 for any format: parse the SES_Signature, name its signer, and check
    the signature value over DER(TBS_Sign) with the algorithm of the signer's certificate."""
    sig = seal_mod.parse_signature(raw)
    report.alg, report.signing_time = sig.alg, sig.time_info
    cert = ca.load_cert(sig.cert)
    report.signer_subject = ca.subject_text(cert)
    report.signer_organization = ca.subject_text(cert, NameOID.ORGANIZATION_NAME)
    cert_alg, public = ca.public_key_from_cert(cert)
    if cert_alg != sig.alg or not crypto.verify(sig.alg, public, sig.tbs, sig.signature):
        report.fail("bad_signature", "签名值验证失败（签章数据被篡改或伪造）")
        return None
    return sig, cert


def signed_reference(sig: seal_mod.SignatureData) -> str:
    """The reference (发文字号 or title) a signature says it was made for, if it carries one."""
    for field_ in sig.property_info.split(";"):
        if field_.startswith("reference="):
            return unquote(field_[len("reference=") :])
    return ""


def check_timestamp(sig: seal_mod.SignatureData, tsa_cert: bytes | None, report: SignatureReport) -> datetime:
    if sig.timestamp is None:
        report.warn("no_timestamp", "签章没有可信时间戳，签章时间为签章人自报时间")
        return sig.time_info
    if tsa_cert is None:
        report.warn("timestamp_unchecked", "未配置时间戳服务证书，无法验证时间戳")
        return sig.time_info
    try:
        report.timestamp_time = tsa.verify_token(sig.timestamp, tsa_cert, expected_digest=crypto.sha256(sig.signature))
    except OfficeError as exc:
        report.fail(exc.code, exc.message)
        return sig.time_info
    return report.timestamp_time


def check_cert(
    cert: x509.Certificate,
    chain: list[bytes],
    at_time: datetime,
    trust_roots: Sequence[bytes],
    crl_lookup: CrlLookup,
    report: SignatureReport,
    who: str,
) -> list[x509.Certificate]:
    try:
        path = ca.verify_chain(cert, chain, at_time, trust_roots=trust_roots)
    except ca.CertificateInvalid as exc:
        report.fail(exc.code, f"{who}证书：{exc.message}")
        return []
    for subject, issuer in pairwise(path):
        crl = crl_lookup(issuer)
        if crl is None:
            report.warn("revocation_unknown", f"无法获取“{ca.subject_text(issuer)}”的吊销列表")
            continue
        try:
            status = ca.is_revoked(subject, crl, at_time, issuer=issuer)
        except ca.CertificateInvalid as exc:
            report.fail(exc.code, exc.message)
            continue
        if subject is cert and who == "签章人":
            report.revocation = status
        if status.revoked:
            report.fail("cert_revoked", f"{who}证书“{ca.subject_text(subject)}”在签章时已被吊销（{status.reason}）")
    return path


def check_seal(
    seal_der: bytes,
    signer: x509.Certificate,
    chain: list[bytes],
    at_time: datetime,
    trust_roots: Sequence[bytes],
    crl_lookup: CrlLookup,
    report: SignatureReport,
) -> None:
    """GB/T 38540 §7.3 steps 4-5 for any format: the seal's maker signature, validity and certificate,
    and that ``signer`` is on its list (failures go into ``report``)."""
    try:
        info = seal_mod.verify_seal(seal_der, at_time=at_time)
    except seal_mod.SealInvalid as exc:
        report.fail(exc.code, f"电子印章：{exc.message}")
        return
    report.seal_name = info.name
    check_cert(ca.load_cert(info.maker_cert), chain, at_time, trust_roots, crl_lookup, report, "制章者")
    if not info.lists_cert(signer.public_bytes(Encoding.DER)):
        report.fail("signer_not_in_seal", "签章人不是该印章的授权使用人")
