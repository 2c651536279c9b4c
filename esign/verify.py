"""Verification reports: one JSON-able dict for the HTTP endpoint, the CLI and docs_flow, and its Chinese text.

Two modes:

- **server** (``session`` given): trust the root CA in the database, its stored CRLs and TSA
  certificate, and look every signature up in the transparency log (inclusion proof against
  the latest signed tree head);
- **offline** (``session=None``): trust what the caller passes, typically the PEM exported from
  ``GET /api/esign/ca/chain.pem`` (:func:`offline_trust`), and optional CRL files; the log
  cannot be consulted and the report says so.

PDF official copies (``esign.pdf_sig``) get the same report shape from :func:`verify_pdf`, OFD
copies (``esign.ofd_sig``) from :func:`verify_ofd`; :func:`verify_file` picks the format from the content.

A file that is not a usable Word package (or PDF) raises (UnsupportedMedia 415, PayloadTooLarge 413);
everything wrong *inside* the signatures is reported, never raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlmodel import Session

from esign import authority, ca, crypto, docx_sig, ofd_sig, pdf_sig, sig_checks, tlog
from esign import seal as seal_mod
from esign.models import AuthorityKind
from office.db import utcnow
from office.errors import OfficeError, UnsupportedMedia
from office.timefmt import iso

PART_LABELS = {
    "word/document.xml": "正文",
    "word/styles.xml": "样式",
    "word/settings.xml": "文档设置",
    "word/numbering.xml": "编号",
    "word/fontTable.xml": "字体表",
    "word/footnotes.xml": "脚注",
    "word/endnotes.xml": "尾注",
    "word/comments.xml": "批注",
    "[Content_Types].xml": "文件类型清单",
    "docProps/core.xml": "文档属性",
    "docProps/app.xml": "文档属性",
    "word/theme/theme1.xml": "主题",
    "word/webSettings.xml": "网页设置",
}


def part_label(name: str) -> str:
    if name in PART_LABELS:
        return PART_LABELS[name]
    if name.startswith("word/header"):
        return "页眉"
    if name.startswith("word/footer"):
        return "页脚"
    if name.startswith("word/media/"):
        return "图片"
    if name.endswith(".rels"):
        return "关联关系"
    if name.startswith("word/embeddings/"):
        return "嵌入对象"
    return "其他部件"


def _iso(value: datetime | None) -> str | None:
    """A time read from the file being verified, in the API's format; a time the file gives without a
    zone (against the standards) is taken as UTC rather than failing the report."""
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return iso(value)


class Trust:
    """What a verification trusts: roots, a CRL lookup, the TSA certificate, optionally the log."""

    def __init__(
        self,
        roots: Sequence[bytes],
        crl_lookup: Callable[[x509.Certificate], bytes | None],
        tsa_cert: bytes | None,
        session: Session | None = None,
        crls: Sequence[bytes] = (),
    ) -> None:
        self.roots, self.crl_lookup, self.tsa_cert, self.session = list(roots), crl_lookup, tsa_cert, session
        self.crls = list(crls)  # every CRL known (PDF validation takes them as a set)

    @classmethod
    def from_db(cls, session: Session) -> Trust:
        root = authority.find(session, AuthorityKind.root)
        tsa_row = authority.find(session, AuthorityKind.tsa)
        crls = [der for row in authority.ca_authorities(session) if (der := authority.crl_der(session, row))]
        return cls(
            [root.certificate] if root and root.certificate else [],
            authority.crl_lookup(session),
            tsa_row.certificate if tsa_row else None,
            session,
            crls,
        )


def offline_trust(chain_pem: bytes, crls: Sequence[bytes] = ()) -> Trust:
    """Trust from an exported chain: self-signed certificates are roots, the timeStamping one is the TSA."""
    certs = ca.load_pem_chain(chain_pem)
    roots = [c.public_bytes(Encoding.DER) for c in certs if c.subject == c.issuer]
    tsa_cert = None
    for c in certs:
        if c.subject != c.issuer and ca.has_eku(c, ExtendedKeyUsageOID.TIME_STAMPING):
            try:
                ca.verify_chain(c, certs, utcnow(), trust_roots=roots)
                tsa_cert = c.public_bytes(Encoding.DER)
            except ca.CertificateInvalid:
                continue
    by_issuer: dict[x509.Name, bytes] = {}
    for der in crls:
        try:
            by_issuer[x509.load_der_x509_crl(der).issuer] = der
        except ValueError:
            try:
                crl = x509.load_pem_x509_crl(der)
            except ValueError as exc:
                raise OfficeError("吊销列表文件无法解析", code="bad_crl") from exc
            by_issuer[crl.issuer] = crl.public_bytes(Encoding.DER)
    return Trust(roots, lambda issuer: by_issuer.get(issuer.subject), tsa_cert, crls=list(by_issuer.values()))


def verify_docx(session: Session | None, data: bytes, *, trust: Trust | None = None) -> dict[str, Any]:
    """Verify every signature in a Word file and return the report dict (see :func:`report_dict`).

    ``session``: server mode (database trust + log). Otherwise pass ``trust`` (offline).
    """
    if trust is None:
        if session is None:
            raise ValueError("offline verification needs trust roots")
        trust = Trust.from_db(session)
    parts = docx_sig.read_package(data)
    log_verifier = None
    if trust.session is not None:
        s = trust.session
        log_verifier = lambda raw: tlog.find_leaf(s, raw) is not None  # noqa: E731
    report = docx_sig.verify_docx(
        data, trust_roots=trust.roots, crl_lookup=trust.crl_lookup, tsa_cert=trust.tsa_cert, log_verifier=log_verifier
    )
    items = [_signature_dict(r, parts.get(r.part_name, b""), trust) for r in report.signatures]
    out = report_dict(items, file_sha256=hashlib.sha256(data).hexdigest(), no_signatures=not items)
    if not items and docx_sig.seal_pictures(parts):
        # A seal picture with no signature behind it is what stripping a signature (or a forger) leaves.
        out["errors"].append(
            {
                "code": "orphan_seal_picture",
                "message": "文件中有电子印章图片，却没有对应的电子签章数据：签章可能被剥离，或印章图片是伪造的",
            }
        )
    return out


def verify_file(session: Session | None, data: bytes, *, trust: Trust | None = None) -> dict[str, Any]:
    """Verify a sealed Word file or official copy (PDF, OFD), told apart by content, not by name."""
    if data.startswith(b"%PDF-"):
        return verify_pdf(session, data, trust=trust)
    if ofd_sig.is_ofd(data):
        return verify_ofd(session, data, trust=trust)
    if data.startswith(b"PK"):
        return verify_docx(session, data, trust=trust)
    raise UnsupportedMedia("只能验证 Word（.docx）、PDF 或 OFD 版式文件", code="unsupported_file")


def verify_ofd(session: Session | None, data: bytes, *, trust: Trust | None = None) -> dict[str, Any]:
    """Verify every seal of an OFD (see ``esign.ofd_sig``): the report shape of :func:`verify_pdf`, with
    ``format`` "ofd", ``reference`` and ``page`` (1-based) / ``boundary`` (mm) of each seal picture."""
    if trust is None:
        if session is None:
            raise ValueError("offline verification needs trust roots")
        trust = Trust.from_db(session)
    log_verifier = None
    if trust.session is not None:
        s = trust.session
        log_verifier = lambda raw: tlog.find_leaf(s, raw) is not None  # noqa: E731
    results = ofd_sig.verify_ofd(
        data, trust_roots=trust.roots, crl_lookup=trust.crl_lookup, tsa_cert=trust.tsa_cert, log_verifier=log_verifier
    )
    items = []
    for result in results:
        item = _signature_dict(result.report, result.raw, trust)
        item.update(format="ofd", reference=result.reference, page=result.page, boundary=result.boundary)
        items.append(item)
    out = report_dict(items, file_sha256=hashlib.sha256(data).hexdigest(), no_signatures=not items)
    out["format"] = "ofd"
    return out


def verify_pdf(session: Session | None, data: bytes, *, trust: Trust | None = None) -> dict[str, Any]:
    """Verify every seal/signature of a PDF (see ``esign.pdf_sig``) and return the same report shape
    as :func:`verify_docx`, plus ``format``, ``reference`` (the 发文字号 signed with the seal) and
    ``signed_sha256`` per signature. Validation happens at the time-stamped signing time with the
    CRLs embedded in the file plus, in server mode, the stored ones."""
    if trust is None:
        if session is None:
            raise ValueError("offline verification needs trust roots")
        trust = Trust.from_db(session)
    reports = pdf_sig.verify_pdf(data, trust_roots=trust.roots, extra_crls=trust.crls)
    items = [_pdf_signature_dict(r, trust) for r in reports]
    out = report_dict(items, file_sha256=hashlib.sha256(data).hexdigest(), no_signatures=not items)
    out["format"] = "pdf"
    return out


def _with_embedded_crls(trust: Trust, crls: Sequence[bytes]) -> Trust:
    """The caller's CRLs first (the newest), then those the file carries (of its signing time)."""
    embedded: dict[x509.Name, bytes] = {}
    for der in crls:
        try:
            embedded[x509.load_der_x509_crl(der).issuer] = der
        except ValueError:
            continue
    lookup = trust.crl_lookup
    return Trust(
        trust.roots,
        lambda issuer: lookup(issuer) or embedded.get(issuer.subject),
        trust.tsa_cert,
        trust.session,
        trust.crls,
    )


def _pdf_signature_dict(pdf_rep: pdf_sig.PdfSignatureReport, trust: Trust) -> dict[str, Any]:
    rep = sig_checks.SignatureReport(
        pdf_rep.sequence,
        pdf_rep.field_name,
        alg=crypto.ALG_ECDSA,
        signing_time=pdf_rep.signing_time,
        timestamp_time=pdf_rep.timestamp_time,
    )
    for code, message in pdf_rep.errors:
        rep.fail(code, message)
    cert = ca.load_cert(pdf_rep.signer_cert) if pdf_rep.signer_cert else None
    if cert is not None:
        rep.signer_subject = ca.subject_text(cert)
        rep.signer_organization = ca.subject_text(cert, x509.NameOID.ORGANIZATION_NAME)
    trust = _with_embedded_crls(trust, pdf_rep.embedded_crls)
    at = rep.trusted_time or utcnow()
    maker = None
    if pdf_rep.seal_der is not None and cert is not None:
        sig_checks.check_seal(pdf_rep.seal_der, cert, pdf_rep.chain, at, trust.roots, trust.crl_lookup, rep)
        try:
            maker = seal_mod.parse_seal(pdf_rep.seal_der).maker_cert
        except OfficeError:
            maker = None
    log: dict[str, Any] = {"checked": trust.session is not None, "included": False}
    if trust.session is not None and pdf_rep.cms_der:
        log = _log_proof(trust.session, pdf_rep.cms_der)
        if not log["included"]:
            rep.fail("not_in_log", "签章未记入公开日志")
    rep.valid = not any(r.severity == "error" for r in rep.reasons)
    out = _signature_dict(rep, b"", trust)
    pool = pdf_rep.chain + trust.roots
    if cert is not None:
        out["signer_revocation"] = _revocation(pdf_rep.signer_cert, pool, trust, rep.trusted_time)  # type: ignore[arg-type]
    if maker is not None:
        out["seal_revocation"] = _revocation(maker, pool, trust, rep.trusted_time)
    out.update(
        log=log,
        format="pdf",
        reference=pdf_rep.reference,
        signed_sha256=pdf_rep.signed_sha256,
        changed_parts=[{"part": "incremental_update", "label": "盖章后追加的修改"}] if pdf_rep.modified_after else [],
    )
    return out


def verify_text(
    session: Session | None, *, signature_der: bytes, data: bytes, trust: Trust | None = None
) -> dict[str, Any]:
    """Verify a :func:`esign.service.sign_text` signature against the exact bytes that should have been signed."""
    trust = trust or Trust.from_db(session)  # type: ignore[arg-type]
    rep = sig_checks.SignatureReport(0, "text")
    try:
        sig = seal_mod.parse_signature(signature_der)
        rep.alg, rep.signing_time = sig.alg, sig.time_info
        cert = ca.load_cert(sig.cert)
        rep.signer_subject = ca.subject_text(cert)
        rep.signer_organization = ca.subject_text(cert, x509.NameOID.ORGANIZATION_NAME)
        cert_alg, public = ca.public_key_from_cert(cert)
        if cert_alg != sig.alg or not crypto.verify(sig.alg, public, sig.tbs, sig.signature):
            rep.fail("bad_signature", "签名值验证失败（签名数据被篡改或伪造）")
        else:
            if crypto.digest(crypto.DIGEST_OF[sig.alg], data) != sig.data_hash:
                rep.fail("text_modified", "签名后内容被修改（与签名时的文字不一致）")
            at = sig_checks.check_timestamp(sig, trust.tsa_cert, rep)
            chain = sig_checks.signer_chain(sig)
            sig_checks.check_cert(cert, chain, at, trust.roots, trust.crl_lookup, rep, "签章人")
            if trust.session is not None and tlog.find_leaf(trust.session, signature_der) is None:
                rep.fail("not_in_log", "签名未登记在公开日志中")
    except (OfficeError, ValueError, TypeError, KeyError) as exc:
        rep.fail(getattr(exc, "code", "malformed"), f"签名数据无法验证：{getattr(exc, 'message', exc)}")
    rep.valid = not any(r.severity == "error" for r in rep.reasons)
    return report_dict([_signature_dict(rep, signature_der, trust)], file_sha256=None, no_signatures=False)


def _revocation(cert_der: bytes, pool: Sequence[bytes], trust: Trust, at: datetime | None) -> dict[str, Any]:
    cert = ca.load_cert(cert_der)
    issuer = next((ca.load_cert(c) for c in pool if ca.load_cert(c).subject == cert.issuer), None)
    crl = trust.crl_lookup(issuer) if issuer is not None else None
    if issuer is None or crl is None or at is None:
        return {"checked": False, "revoked": False, "revoked_at": None, "reason": None}
    try:
        status = ca.is_revoked(cert, crl, at, issuer=issuer)
    except ca.CertificateInvalid:
        return {"checked": False, "revoked": False, "revoked_at": None, "reason": None}
    return {"checked": True, "revoked": status.revoked, "revoked_at": _iso(status.revoked_at), "reason": status.reason}


def _signature_dict(rep: sig_checks.SignatureReport, raw: bytes, trust: Trust) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sequence": rep.sequence,
        "valid": rep.valid,
        "signer": rep.signer_subject,
        "organization": rep.signer_organization,
        "seal_name": rep.seal_name,
        "alg": rep.alg,
        "signing_time": _iso(rep.signing_time),
        "timestamp_time": _iso(rep.timestamp_time),
        "trusted_time": _iso(rep.trusted_time),
        "time_trusted": rep.timestamp_time is not None,
        "changed_parts": [{"part": p, "label": part_label(p)} for p in rep.changed_parts],
        "errors": [{"code": r.code, "message": r.message} for r in rep.reasons if r.severity == "error"],
        "warnings": [{"code": r.code, "message": r.message} for r in rep.reasons if r.severity == "warning"],
        "signer_revocation": {"checked": False, "revoked": False, "revoked_at": None, "reason": None},
        "seal_revocation": None,
        "log": {"checked": trust.session is not None, "included": False},
    }
    try:
        sig = seal_mod.parse_signature(raw)
    except OfficeError:
        return out
    pool = sig_checks.signer_chain(sig) + trust.roots
    out["signer_revocation"] = _revocation(sig.cert, pool, trust, rep.trusted_time)
    if sig.seal_der is not None:
        try:
            maker = seal_mod.parse_seal(sig.seal_der).maker_cert
            out["seal_revocation"] = _revocation(maker, pool, trust, rep.trusted_time)
        except OfficeError:
            pass
    if trust.session is not None:
        out["log"] = _log_proof(trust.session, raw)
    return out


def _log_proof(session: Session, raw: bytes) -> dict[str, Any]:
    index = tlog.find_leaf(session, raw)
    if index is None:
        return {"checked": True, "included": False}
    sth = tlog.signed_head(session)
    if index >= sth["tree_size"]:
        return {"checked": True, "included": False, "leaf_index": index}
    proof = tlog.inclusion(session, index)
    return {
        "checked": True,
        "included": True,
        "leaf_index": index,
        "tree_size": proof["tree_size"],
        "leaf_hash": proof["leaf_hash"],
        "proof": proof["proof"],
        "sth": sth,
    }


def report_dict(items: list[dict[str, Any]], *, file_sha256: str | None, no_signatures: bool) -> dict[str, Any]:
    """``{"valid", "file_sha256", "signatures": [...], "errors": [...]}``; valid needs >= 1 signature, all valid."""
    errors = [{"code": "no_signatures", "message": "文件中没有电子签章或签名"}] if no_signatures else []
    return {
        "valid": bool(items) and all(i["valid"] for i in items),
        "file_sha256": file_sha256,
        "signatures": items,
        "errors": errors,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as Chinese text for the terminal."""
    lines = [f"验证结论：{'有效' if report['valid'] else '无效'}"]
    if report.get("file_sha256"):
        lines.append(f"文件 SHA-256：{report['file_sha256']}")
    lines += [f"  ✗ {e['message']}" for e in report["errors"]]
    for s in report["signatures"]:
        kind = f"印章“{s['seal_name']}”" if s["seal_name"] else "个人签名"
        lines.append(f"\n第 {s['sequence']} 个签章：{'有效' if s['valid'] else '无效'}（{kind}）")
        lines.append(
            f"  签章人：{s['signer'] or '未知'}　单位：{s['organization'] or '未知'}　算法：{s['alg'] or '未知'}"
        )
        if s.get("reference"):
            lines.append(f"  文件标识（随签章签署）：{s['reference']}")
        if s.get("signed_sha256"):
            lines.append(f"  签章覆盖内容 SHA-256：{s['signed_sha256']}")
        when = s["timestamp_time"] or s["signing_time"]
        lines.append(
            f"  签章时间：{when or '未知'}（{'可信时间戳' if s['time_trusted'] else '签章人自报，未经时间戳证实'}）"
        )
        if s["changed_parts"]:
            lines.append(
                "  签章后被修改的部分：" + "、".join(f"{c['label']}（{c['part']}）" for c in s["changed_parts"])
            )
        else:
            lines.append("  内容完整性：签章后内容未被修改" if s["valid"] else "  内容完整性：见下方原因")
        lines.append("  " + _revocation_text("签章人证书", s["signer_revocation"]))
        if s["seal_revocation"] is not None:
            lines.append("  " + _revocation_text("印章证书", s["seal_revocation"]))
        log = s["log"]
        if not log["checked"]:
            lines.append("  公开日志：离线验证，未查询")
        elif log["included"]:
            lines.append(
                # Counted from 1, as the web pages say it ("已记入公开日志第 6 条"); the proof's details after.
                f"  公开日志：已记入第 {log['leaf_index'] + 1} 条（日志共 {log['tree_size']} 条，"
                f"包含证明 {len(log['proof'])} 个节点，根哈希 {log['sth']['root_hash'][:16]}…）"
            )
        else:
            lines.append("  公开日志：未找到登记")
        lines += [f"  ✗ {e['message']}" for e in s["errors"]]
        lines += [f"  ! {w['message']}" for w in s["warnings"]]
    return "\n".join(lines)


def _revocation_text(what: str, rev: dict[str, Any]) -> str:
    if not rev["checked"]:
        return f"{what}：未能检查吊销状态"
    if rev["revoked"]:
        return f"{what}：签章时已被吊销（{rev['revoked_at']}，{rev['reason']}）"
    if rev["revoked_at"]:
        return f"{what}：签章时有效（其后于 {rev['revoked_at']} 被吊销，不影响本签章）"
    return f"{what}：未被吊销"
