"""Electronic seals on PDF files: a PAdES signature (pyHanko) with the seal picture as its appearance.

What a sealed PDF holds (PAdES baseline B-LT, ETSI EN 319 142-1):

- an incremental update with a signature field ``TongbanSeal{n}`` on the measured page and
  rectangle, whose appearance is the seal picture (the PNG inside the GB/T 38540 ``SESeal``);
- a CMS signature (``ETSI.CAdES.detached``, SHA-256, ECDSA P-256) by the **person** applying the
  seal with their own key, carrying the signer's certificate chain, the RFC 3161 time-stamp of the
  internal TSA (``esign.rfc3161``) and a signed attribute ``OID_SEAL_INFO``: the reference (the
  发文字号) and the SHA-256 of the ``SESeal``;
- the ``SESeal`` itself (GB/T 38540, signed by the seal maker, listing who may use the seal) as a
  stream in the same signed revision, listed in the catalog under ``/TongbanSESeals``, so a
  verifier can check the maker's signature and that this signer is on the seal's list (§7.3 step
  5). It is not inside the CMS because it holds the seal picture (~70 KB), and a CMS that size
  makes every PDF reader parse ~150 KB of hex for ``/Contents`` (0.3 s in pyHanko);
- a Document Security Store with every certificate and the current CRL of the root and agency CA,
  so the file verifies offline, years later, at its time-stamped signing time. It is written in the
  signature's own revision, so the signature covers the whole file.

Why pyHanko: MIT licensed, maintained, PAdES B-B..B-LTA, DSS, and a validator we can run on the
server; ``endesive`` (LGPL) signs but validates only the CMS (no DSS/LTV, no diff analysis of
later revisions). Why not SM2: PDF signature validators (pyHanko, poppler/NSS, Acrobat) know no
SM2, so a PDF signed with SM2 would verify nowhere; :func:`check_alg` refuses it with a clear error
(the .docx and OFD copies carry SM2 signatures).

Verification (:func:`verify_pdf`) trusts the caller's roots and validates at the signature's
time-stamp with the CRLs embedded in the file plus any the caller adds. A change after the seal is
reported even when the signed revision is intact: only our own DSS/time-stamp updates may follow.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, core, crl, tsp, x509
from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from esign import crypto, rfc3161
from office.errors import UnsupportedMedia, ValidationError


class _NoFetchingNote(logging.Filter):
    """pyHanko warns on every signature that revocation data is embedded without online fetching;
    that is the design here (our CRLs are local), so the warning would only bury real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NoFetchingNote())

#: Signed CMS attribute: ``TongbanSealInfo`` (below).
OID_SEAL_INFO = "1.3.6.1.4.1.61234.1.3.4"
FIELD_PREFIX = "TongbanSeal"
SEALS_KEY = "/TongbanSESeals"
MAX_PDF = 50 * 1024 * 1024


class TongbanSealInfo(core.Sequence):
    """``SEQUENCE { reference UTF8String, sealSha256 [0] EXPLICIT OCTET STRING OPTIONAL }``."""

    _fields = [
        ("reference", core.UTF8String),  # noqa: RUF012 - asn1crypto's way of declaring fields
        ("seal_sha256", core.OctetString, {"explicit": 0, "optional": True}),
    ]


def check_alg(alg: str) -> None:
    """PDF signatures need ECDSA P-256: refuse SM2 keys with the reason."""
    if alg != crypto.ALG_ECDSA:
        raise ValidationError(
            "PDF 版式文件的签章须使用 ECDSA P-256 证书；SM2 证书签署的 PDF 无法被通用 PDF 验证工具识别，"
            "请使用 Word 或 OFD 版式加盖 SM2 电子印章",
            code="pdf_alg_unsupported",
        )


# --- signing -----------------------------------------------------------------------------------


class _SealInfoProvider(CMSAttributeProvider):
    attribute_type = OID_SEAL_INFO

    def __init__(self, value: TongbanSealInfo) -> None:
        self.value = value

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        return self.value


class _WithSealInfo(SignedAttributeProviderSpec):
    def __init__(self, base: SignedAttributeProviderSpec, extra: CMSAttributeProvider) -> None:
        self.base, self.extra = base, extra

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Any:
        yield from self.base.signed_attr_providers(data_digest, digest_algorithm)
        yield self.extra


class _KeySigner(signers.Signer):
    """pyHanko signer over our unlocked key: ``sign_fn(data) -> DER ECDSA-SHA256 signature``."""

    def __init__(
        self, cert: bytes, chain: Sequence[bytes], sign_fn: Callable[[bytes], bytes], seal_info: TongbanSealInfo
    ) -> None:
        registry = SimpleCertificateStore.from_certs([x509.Certificate.load(c) for c in chain])
        super().__init__(signing_cert=x509.Certificate.load(cert), cert_registry=registry, embed_roots=False)
        self._sign_fn = sign_fn
        self._seal_info = seal_info

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError(f"unexpected digest {digest_algorithm}")
        return bytes(72) if dry_run else self._sign_fn(data)  # 72 = longest DER P-256 signature

    # pyHanko builds its PAdES attributes in this (private) hook; we add one attribute to them and
    # tests/esign/test_pdf_sig.py fails if a pyHanko upgrade stops calling it.
    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> Any:
        base = super()._signed_attr_provider_spec(*args, **kwargs)
        return _WithSealInfo(base, _SealInfoProvider(self._seal_info))


class InProcessTimestamper(TimeStamper):
    """RFC 3161 time-stamps from our own TSA key, in process (no HTTP)."""

    def __init__(self, tsa_key: bytes, tsa_cert: bytes, now: Callable[[], datetime]) -> None:
        super().__init__(include_nonce=True)
        self._key, self._cert, self._now = tsa_key, tsa_cert, now

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        imprint = req["message_imprint"]
        token = rfc3161.issue_token(
            self._key,
            self._cert,
            message_digest=imprint["hashed_message"].native,
            hash_alg=imprint["hash_algorithm"]["algorithm"].native,
            now=self._now(),
            nonce=req["nonce"].native,
        )
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token)})


def _reader(pdf: bytes) -> PdfFileReader:
    if not pdf.startswith(b"%PDF-") or len(pdf) > MAX_PDF:
        raise UnsupportedMedia("不是有效的 PDF 文件（或超过 50 MB）", code="not_pdf")
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise UnsupportedMedia("PDF 文件已损坏，无法读取", code="corrupt_file") from exc


def _appearance(png: bytes) -> StaticStampStyle:
    image = Image.open(io.BytesIO(png))
    image.load()
    return StaticStampStyle(
        background=PdfImage(image.convert("RGBA")),
        border_width=0,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
        ),
    )


def cms_der(sig: Any) -> bytes:
    """The DER CMS of an embedded signature without the zero padding of ``/Contents``."""
    return cms.ContentInfo.load(bytes(sig.pkcs7_content)).dump()


def _add_seal_stream(writer: IncrementalPdfFileWriter, seal_der: bytes) -> None:
    """The SESeal as a stream in the revision the signature covers (catalog ``/TongbanSESeals``).

    A later seal on a sealed file (联合行文: each issuer seals in turn) leaves the catalog alone: a
    changed catalog is a modification no validator accepts after the earlier signatures (pyHanko
    reports it as suspicious, and so would we). Its SESeal is then a stream nothing refers to, in the
    revision its own signature covers, which validators ignore (pyHanko's orphaned objects) and
    :func:`_find_seal` finds by the digest the signature carries."""
    stream = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/TongbanSESeal")}, stream_data=seal_der
    )
    seals = writer.root.get(SEALS_KEY)
    if isinstance(seals, generic.ArrayObject) and len(seals):
        writer.add_object(stream)
        return
    writer.root[generic.NameObject(SEALS_KEY)] = generic.ArrayObject([writer.add_object(stream)])
    writer.update_root()


def _find_seal(reader: PdfFileReader, digest: bytes, revision: int | None = None) -> bytes | None:
    """The SESeal whose SHA-256 the signature carries: listed in the catalog, or (a later seal) a stream
    of the signature's own ``revision``."""
    seals = reader.root.get(SEALS_KEY)
    for ref in seals if isinstance(seals, generic.ArrayObject) else []:
        stream = ref.get_object()
        if isinstance(stream, generic.StreamObject) and crypto.sha256(stream.data) == digest:
            return stream.data
    for ref in reader.xrefs.explicit_refs_in_revision(revision) if revision is not None else ():
        stream = reader.get_object(ref)
        if isinstance(stream, generic.StreamObject) and stream.get("/Type") == "/TongbanSESeal":
            if crypto.sha256(stream.data) == digest:
                return stream.data
    return None


def next_field_name(pdf: bytes) -> str:
    names = {name for name, _, _ in fields.enumerate_sig_fields(_reader(pdf))}
    n = 1
    while f"{FIELD_PREFIX}{n}" in names:
        n += 1
    return f"{FIELD_PREFIX}{n}"


def _check_rect(reader: PdfFileReader, page: int, rect: Sequence[float]) -> tuple[float, float, float, float]:
    if not 0 <= page < int(reader.root["/Pages"]["/Count"]):
        raise ValidationError("盖章页码超出范围", code="bad_seal_page")
    if len(rect) != 4 or not all(isinstance(v, int | float) for v in rect):
        raise ValidationError("盖章位置格式不正确", code="bad_seal_rect")
    x0, y0, x1, y1 = (float(v) for v in rect)
    box = reader.root["/Pages"]  # MediaBox may be inherited; A4 is what our converter writes
    width, height = 595.3, 841.9
    if "/MediaBox" in box:
        width, height = float(box["/MediaBox"][2]), float(box["/MediaBox"][3])
    if not (0 <= x0 < x1 <= width + 1 and 0 <= y0 < y1 <= height + 1):
        raise ValidationError("盖章位置超出页面", code="bad_seal_rect")
    return x0, y0, x1, y1


def sign_pdf(
    pdf: bytes,
    *,
    cert: bytes,
    chain: Sequence[bytes],
    alg: str,
    sign_fn: Callable[[bytes], bytes],
    tsa_key: bytes,
    tsa_cert: bytes,
    trust_roots: Sequence[bytes],
    crls: Sequence[bytes],
    page: int,
    rect: Sequence[float],
    seal_png: bytes | None,
    seal_der: bytes | None,
    reference: str,
    signer_name: str,
    now: datetime,
) -> tuple[bytes, bytes]:
    """Return ``pdf`` with one more PAdES B-LT signature (see the module docstring), and that
    signature's CMS (DER ``ContentInfo``, what the transparency log records).

    ``chain``: the signer's intermediate certificates; ``trust_roots`` and ``crls``: what the
    signer's and the TSA's paths are validated against before signing (and then embedded).
    Raises ValidationError (bad page/rect, SM2, a path that does not validate) or UnsupportedMedia.
    """
    check_alg(alg)
    reader = _reader(pdf)
    x0, y0, x1, y1 = _check_rect(reader, page, rect)
    field_name = next_field_name(pdf)
    info = TongbanSealInfo({"reference": reference, **({"seal_sha256": crypto.sha256(seal_der)} if seal_der else {})})
    context = ValidationContext(
        trust_roots=[x509.Certificate.load(r) for r in trust_roots],
        other_certs=[x509.Certificate.load(c) for c in chain],
        crls=list(crls),
        allow_fetching=False,
        revocation_mode="require",
        moment=now,
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=context,
        reason=f"用印：{reference}",
        name=signer_name,
        # The DSS goes into the signature's own revision: one revision, "total document signed" in
        # every reader, and nothing after the signature for a validator to diff (half its time otherwise).
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False),
    )
    pdf_signer = signers.PdfSigner(
        meta,
        _KeySigner(cert, chain, sign_fn, info),
        timestamper=InProcessTimestamper(tsa_key, tsa_cert, lambda: now),
        stamp_style=_appearance(seal_png) if seal_png else None,
        # pyHanko hints the box as ints; a PDF rectangle is reals and it writes them as given (the
        # measured seal place, not rounded to whole points).
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=page, box=(x0, y0, x1, y1)),  # type: ignore[arg-type]
    )
    out = io.BytesIO()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        if seal_der:
            _add_seal_stream(writer, seal_der)
        pdf_signer.sign_pdf(writer, output=out)
    except SigningError as exc:
        raise ValidationError(f"PDF 签章失败：{exc}", code="pdf_sign_failed") from exc
    except PdfError as exc:
        raise UnsupportedMedia("PDF 文件结构无法处理", code="corrupt_file") from exc
    sealed = out.getvalue()
    added = next(
        s
        for s in PdfFileReader(io.BytesIO(sealed), strict=False).embedded_regular_signatures
        if s.field_name == field_name
    )
    return sealed, cms_der(added)


# --- verification ------------------------------------------------------------------------------


@dataclass
class PdfSignatureReport:
    """What :func:`verify_pdf` found about one signature (errors make it invalid)."""

    sequence: int
    field_name: str
    valid: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    signer_cert: bytes | None = None
    chain: list[bytes] = field(default_factory=list)
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    reference: str | None = None
    seal_der: bytes | None = None
    cms_der: bytes = b""
    signed_sha256: str | None = None  # SHA-256 of the bytes this signature covers
    modified_after: bool = False
    later_level: str = ""  # pyHanko's judgement of what follows the signed revision (when something does)
    embedded_crls: list[bytes] = field(default_factory=list)

    def fail(self, code: str, message: str) -> None:
        self.errors.append((code, message))


def _seal_info(signed_data: cms.SignedData) -> TongbanSealInfo | None:
    for attr in signed_data["signer_infos"][0]["signed_attrs"]:
        if attr["type"].dotted == OID_SEAL_INFO:
            value = attr["values"][0]
            info: TongbanSealInfo = TongbanSealInfo.load(value.dump() if hasattr(value, "dump") else bytes(value))
            return info
    return None


def _dss(reader: PdfFileReader) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(handler=reader)
    except NoDSSFoundError:
        return None


def _dss_crls(dss: DocumentSecurityStore | None) -> list[bytes]:
    return [ref.get_object().read_data(DecodePurpose.CRL) for ref in dss.crls] if dss is not None else []


def _timestamp_time(signer_info: cms.SignerInfo) -> datetime | None:
    """genTime of the RFC 3161 token in the unsigned attributes (not yet verified: pyHanko does that)."""
    attrs = signer_info["unsigned_attrs"]
    for attr in [] if isinstance(attrs, core.Void) else attrs:
        if attr["type"].native == "signature_time_stamp_token":
            tst = attr["values"][0]["content"]["encap_content_info"]["content"].parsed
            return tst["gen_time"].native.astimezone(UTC)
    return None


def verify_pdf(
    pdf: bytes, *, trust_roots: Sequence[bytes], extra_crls: Sequence[bytes] = ()
) -> list[PdfSignatureReport]:
    """Check every signature of a PDF; problems are reported per signature, never raised.

    Raises UnsupportedMedia only when the file is not a readable PDF.
    """
    reader = _reader(pdf)
    try:
        embedded = reader.embedded_regular_signatures
        dss = _dss(reader)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedMedia("PDF 文件中的签名结构已损坏", code="corrupt_file") from exc
    reports = []
    for i, sig in enumerate(embedded, start=1):
        report = PdfSignatureReport(i, str(sig.field_name))
        try:
            _verify_one(pdf, sig, report, trust_roots, dss, extra_crls)
        except Exception as exc:  # noqa: BLE001 - hostile input must become a report, not a 500
            report.fail("malformed", f"签章数据无法验证：{type(exc).__name__}")
        report.valid = not report.errors
        reports.append(report)
    _later_seals(reports)
    return reports


def _later_seals(reports: list[PdfSignatureReport]) -> None:
    """联合行文: each issuer seals in turn, so every seal but the last is followed by revisions. Those are
    no modification of it when all they do is add and sign signature fields (pyHanko: FORM_FILLING, and
    nothing the diff analysis finds suspicious) and the file's last signature, which covers the whole
    file, is valid itself; anything else after a seal still fails it (``modified_after_seal``)."""
    if len(reports) < 2 or not reports[-1].valid:
        return
    for report in reports[:-1]:
        if report.later_level == "FORM_FILLING" and [code for code, _ in report.errors] == ["modified_after_seal"]:
            report.errors, report.modified_after, report.valid = [], False, True


def _verify_one(
    pdf: bytes,
    sig: Any,
    report: PdfSignatureReport,
    trust_roots: Sequence[bytes],
    dss: DocumentSecurityStore | None,
    extra_crls: Sequence[bytes],
) -> None:
    signed_data = sig.signed_data
    report.cms_der = cms_der(sig)
    report.signer_cert = sig.signer_cert.dump()
    report.chain = [c.dump() for c in sig.other_embedded_certs]
    report.signing_time = sig.self_reported_timestamp
    start, skip_to, end = sig.byte_range[0], sig.byte_range[2], sig.byte_range[2] + sig.byte_range[3]
    report.signed_sha256 = hashlib.sha256(pdf[start : sig.byte_range[1]] + pdf[skip_to:end]).hexdigest()
    info = _seal_info(signed_data)
    if info is not None:
        report.reference = info["reference"].native
        digest = info["seal_sha256"].native
        if digest is not None:
            report.seal_der = _find_seal(sig.reader, digest, sig.signed_revision)
            if report.seal_der is None:
                report.fail("seal_missing", "签章所用的电子印章数据缺失或被替换")
    report.timestamp_time = _timestamp_time(sig.signer_info)
    if report.timestamp_time is None:
        report.fail("no_timestamp", "签章没有可信时间戳")
    # Validate at the trusted signing time with the revocation data of that time (embedded in the file).
    kwargs: dict[str, Any] = {
        "trust_roots": [x509.Certificate.load(r) for r in trust_roots],
        "allow_fetching": False,
        "revocation_mode": "require",
        "moment": report.timestamp_time or report.signing_time,
        "crls": [crl.CertificateList.load(c) for c in extra_crls],
    }
    context = dss.as_validation_context(kwargs) if dss is not None else ValidationContext(**kwargs)
    report.embedded_crls = _dss_crls(dss)
    status = asyncio_safe(
        lambda: validate_pdf_signature(sig, signer_validation_context=context, ts_validation_context=context)
    )
    if not status.intact:
        report.fail("document_modified", "签章后文件内容被修改（摘要不符）")
    elif not status.valid:
        report.fail("bad_signature", "签名值验证失败（签章数据被篡改或伪造）")
    elif not status.trusted:
        report.fail("untrusted_chain", "签章人证书无法验证到受信任的根证书、缺少吊销信息，或签章时已被吊销")
    ts = status.timestamp_validity
    if report.timestamp_time is not None and (ts is None or not (ts.intact and ts.valid and ts.trusted)):
        report.fail("timestamp_invalid", "时间戳无效或不是受信任的时间戳服务签发")
    coverage = status.coverage.name if status.coverage is not None else ""
    level = status.modification_level.name if status.modification_level is not None else ""
    if coverage != "ENTIRE_FILE" and level not in ("LTA_UPDATES", "NONE"):
        report.modified_after, report.later_level = True, level
        report.fail("modified_after_seal", "盖章后文件又被追加修改（签章只覆盖较早的版本）")


def asyncio_safe(fn: Callable[[], Any]) -> Any:
    """pyHanko's sync wrappers call ``asyncio.run``, which fails inside a running loop; run in a thread then."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()
