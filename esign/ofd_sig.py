"""Electronic seals in an OFD package (GB/T 33190-2016 §18, signature data per GB/T 38540).

Layout a sealed OFD gets (the usual one readers know)::

    OFD.xml                              DocBody/Signatures -> Doc_0/Signs/Signatures.xml
    Doc_0/Signs/Signatures.xml           MaxSignId + one <Signature Type="Seal" BaseLoc=...> per seal
    Doc_0/Signs/Sign_N/Seal.esl          the SESeal (DER) that was applied
    Doc_0/Signs/Sign_N/Signature.xml     SignedInfo: Provider, SignatureMethod (OID), SignatureDateTime,
                                         References (CheckMethod = digest OID) with a CheckValue for
                                         every file of the package except Signatures.xml and this
                                         signature's own Signature.xml/SignedValue.dat, StampAnnot
                                         (PageRef + Boundary: the seal picture's place, mm), Seal
    Doc_0/Signs/Sign_N/SignedValue.dat   DER SES_Signature; TBS_Sign.dataHash = digest(Signature.xml)

So the signature covers Signature.xml, and Signature.xml covers every other file by its digest:
a changed byte, a removed or an added file, or a seal moved to another page all break it. The same
``SES_Signature`` as in the Word file (``esign.seal``), with the certificate chain, the seal and an
RFC 3161 token from the internal TSA; SM2/SM3 for SM2 keys (CheckMethod SM3), ECDSA P-256 with
SHA-256 otherwise. Verification reuses the Word file's certificate, time-stamp and seal checks.
"""

from __future__ import annotations

import base64
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from cryptography.x509.oid import NameOID
from lxml import etree

from esign import ca, crypto, docx_sig, sig_checks
from esign import seal as seal_mod
from office.errors import OfficeError, UnsupportedMedia, ValidationError
from office.safezip import open_zip, read_member, write_zip

NS = "http://www.ofdspec.org/2016"
_Q = {"ofd": NS}
SIGNATURES = "Doc_0/Signs/Signatures.xml"
MAX_SIGNATURES = 50
_SIGN_DIR = re.compile(r"^Doc_0/Signs/Sign_([0-9]{1,3})/")


def is_ofd(data: bytes) -> bool:
    """A ZIP whose first member is OFD.xml, or that has one (how OFD is told from a Word file)."""
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "OFD.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def read_package(data: bytes) -> dict[str, bytes]:
    """All files of a bounded OFD package; raises UnsupportedMedia / PayloadTooLarge."""
    zf = open_zip(data)
    with zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if "OFD.xml" not in names:
            raise UnsupportedMedia("不是有效的 OFD 版式文件（缺少 OFD.xml）", code="not_ofd")
        try:
            return {name: read_member(zf, name) for name in names}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise UnsupportedMedia("文件已损坏，无法读取", code="corrupt_file") from exc


def write_package(parts: dict[str, bytes]) -> bytes:
    return write_zip(parts, first="OFD.xml")


def _xml(data: bytes) -> etree._Element:
    return docx_sig._parse_xml(data)  # no DOCTYPE, no entities: the Word file's rule


def _text(root: etree._Element, path: str) -> str:
    found = root.find(path, _Q)
    return (found.text or "").strip() if found is not None else ""


def _resolve(base_dir: str, loc: str) -> str:
    """An OFD location: absolute from the package root ("/Doc_0/..."), else relative to ``base_dir``."""
    loc = loc.strip()
    path = posixpath.normpath(loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc))
    if path.startswith("../") or path == "..":
        raise UnsupportedMedia("OFD 文件中的路径越界", code="corrupt_file")
    return path


def pages(parts: dict[str, bytes]) -> list[tuple[str, str, float]]:
    """The document's pages in order: (page ID, Content.xml path, page height in mm)."""
    ofd = _xml(parts["OFD.xml"])
    doc_root = _resolve("", _text(ofd, "ofd:DocBody/ofd:DocRoot") or "Doc_0/Document.xml")
    if doc_root not in parts:
        raise UnsupportedMedia("OFD 文件缺少文档根节点", code="corrupt_file")
    doc = _xml(parts[doc_root])
    base = posixpath.dirname(doc_root)
    default = _text(doc, "ofd:CommonData/ofd:PageArea/ofd:PhysicalBox")
    out = []
    for page in doc.findall("ofd:Pages/ofd:Page", _Q):
        content = _resolve(base, page.get("BaseLoc", ""))
        box = default
        if content in parts:
            box = _text(_xml(parts[content]), "ofd:Area/ofd:PhysicalBox") or default
        out.append((page.get("ID", ""), content, float(box.split()[3]) if box else 297.0))
    return out


def page_text(parts: dict[str, bytes]) -> str:
    """All text on the pages, spaces removed (to see whether a reference is this document's)."""
    text = []
    for _, content, _ in pages(parts):
        if content in parts:
            text += [t.text or "" for t in _xml(parts[content]).iter(f"{{{NS}}}TextCode")]
    return "".join("".join(text).split())


def _signature_entries(parts: dict[str, bytes]) -> list[tuple[str, str]]:
    """(ID, Signature.xml path) of every listed signature, in order."""
    ofd = _xml(parts["OFD.xml"])
    loc = _text(ofd, "ofd:DocBody/ofd:Signatures")
    if not loc:
        return []
    path = _resolve("", loc)
    if path not in parts:
        return [("?", "")]  # listed, but the list is gone: reported as a removed signature
    root = _xml(parts[path])
    base = posixpath.dirname(path)
    return [(s.get("ID", ""), _resolve(base, s.get("BaseLoc", ""))) for s in root.findall("ofd:Signature", _Q)]


def sign_ofd(
    ofd_bytes: bytes,
    *,
    cert: bytes,
    chain: Sequence[bytes],
    alg: str,
    sign_fn: Callable[[bytes], bytes],
    timestamp_fn: Callable[[bytes], bytes] | None,
    seal_der: bytes,
    page: int,
    boundary_mm: tuple[float, float, float, float],
    reference: str = "",
    now: datetime | None = None,
) -> tuple[bytes, bytes]:
    """Seal an OFD: return (sealed package, DER SES_Signature). ``page`` is 0-based; ``boundary_mm`` =
    (x, y, width, height) of the seal picture in mm, origin top-left, as OFD writes boundaries."""
    parts = read_package(ofd_bytes)
    if ca.public_key_from_cert(cert)[0] != alg:
        raise ValidationError("签名算法与签章人证书不符", code="alg_mismatch")
    seal_info = seal_mod.parse_seal(seal_der)
    if not seal_info.lists_cert(cert):
        raise ValidationError("签章人证书不在该印章的授权证书列表中", code="signer_not_in_seal")
    page_list = pages(parts)
    if not 0 <= page < len(page_list):
        raise ValidationError("盖章页码超出文件页数", code="bad_seal_page")
    x, y, w, h = (float(v) for v in boundary_mm)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or y + h > page_list[page][2] + 0.01:
        raise ValidationError("盖章位置不在页面内", code="bad_seal_rect")
    entries = [e for e in _signature_entries(parts) if e[1]]
    if len(entries) >= MAX_SIGNATURES:
        raise ValidationError("签章数量已达上限", code="too_many_signatures")
    used = {int(m.group(1)) for name in parts if (m := _SIGN_DIR.match(name))}
    n = max(used, default=-1) + 1
    sign_id = max((int(i) for i, _ in entries if i.isdigit()), default=0) + 1
    folder = f"Doc_0/Signs/Sign_{n}"
    now = now or datetime.now(UTC)

    _list_signatures(parts)
    parts[f"{folder}/Seal.esl"] = seal_der
    hash_name = crypto.DIGEST_OF[alg]
    own = {f"{folder}/Signature.xml", f"{folder}/SignedValue.dat", SIGNATURES}
    refs = "".join(
        f"<ofd:Reference FileRef={quoteattr('/' + name)}><ofd:CheckValue>"
        f"{base64.b64encode(crypto.digest(hash_name, parts[name])).decode()}</ofd:CheckValue></ofd:Reference>"
        for name in sorted(parts)
        if name not in own
    )
    signer = ca.subject_text(ca.load_cert(cert), NameOID.ORGANIZATION_NAME) or "Tongban"
    # Locations inside Signature.xml are relative to its folder (ST_Loc), the form readers resolve.
    signature_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo>'
        f'<ofd:Provider ProviderName="Tongban" Version="1" Company={quoteattr(signer)}/>'
        f"<ofd:SignatureMethod>{crypto.SIGNATURE_OIDS[alg]}</ofd:SignatureMethod>"
        f"<ofd:SignatureDateTime>{now.astimezone(UTC).strftime('%Y%m%d%H%M%SZ')}</ofd:SignatureDateTime>"
        f'<ofd:References CheckMethod="{crypto.DIGEST_OIDS[hash_name]}">{refs}</ofd:References>'
        f'<ofd:StampAnnot ID="{sign_id}" PageRef="{page_list[page][0]}" '
        f'Boundary="{_mm(x)} {_mm(y)} {_mm(w)} {_mm(h)}"/>'
        f"<ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo>"
        f"<ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>"
    ).encode()
    prop = f"tongban-ofd/1;sequence={len(entries) + 1}"
    if reference:  # the document it was made for, signed, so a moved signature names it
        prop += ";reference=" + quote(reference[:200], safe="")
    ext = {sig_checks.OID_CHAIN: sig_checks.CertChain(list(chain)).dump()} if chain else {}
    tbs = seal_mod.build_tbs_sign(
        seal_der=seal_der,
        time_info=now,
        data_hash=crypto.digest(hash_name, signature_xml),
        property_info=prop,
        ext_datas=ext,
    )
    signature = sign_fn(tbs)
    token = timestamp_fn(crypto.sha256(signature)) if timestamp_fn else None
    sig_der = seal_mod.encode_signature(tbs=tbs, cert=cert, alg=alg, signature=signature, timestamp=token)
    parts[f"{folder}/Signature.xml"] = signature_xml
    parts[f"{folder}/SignedValue.dat"] = sig_der
    items = "".join(
        f'<ofd:Signature ID={quoteattr(i)} Type="Seal" BaseLoc={quoteattr(_relative(p))}/>' for i, p in entries
    )
    items += f'<ofd:Signature ID="{sign_id}" Type="Seal" BaseLoc="Sign_{n}/Signature.xml"/>'
    parts[SIGNATURES] = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Signatures xmlns:ofd="{NS}">'
        f"<ofd:MaxSignId>{sign_id}</ofd:MaxSignId>{items}</ofd:Signatures>"
    ).encode()
    return write_package(parts), sig_der


def _mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _relative(path: str) -> str:
    return posixpath.relpath(path, posixpath.dirname(SIGNATURES))


def _list_signatures(parts: dict[str, bytes]) -> None:
    """OFD.xml names the signature list (once; later seals keep it, so earlier digests still hold)."""
    ofd = _xml(parts["OFD.xml"])
    body = ofd.find("ofd:DocBody", _Q)
    if body is None:
        raise UnsupportedMedia("OFD.xml 缺少 DocBody", code="corrupt_file")
    if body.find("ofd:Signatures", _Q) is not None:
        return
    element = etree.SubElement(body, f"{{{NS}}}Signatures")
    element.text = SIGNATURES
    parts["OFD.xml"] = etree.tostring(ofd, xml_declaration=True, encoding="UTF-8")


# --- verification ------------------------------------------------------------------------------


class OfdSignature:
    """One verified OFD seal: the shared report plus what the OFD adds."""

    def __init__(
        self, report: sig_checks.SignatureReport, raw: bytes, reference: str, page: int | None, boundary: str
    ) -> None:
        self.report, self.raw, self.reference, self.page, self.boundary = report, raw, reference, page, boundary


def verify_ofd(
    data: bytes,
    *,
    trust_roots: Sequence[bytes],
    crl_lookup: sig_checks.CrlLookup,
    tsa_cert: bytes | None,
    log_verifier: Callable[[bytes], bool] | None = None,
) -> list[OfdSignature]:
    """Every listed seal of an OFD, checked as GB/T 38540 §7.3 asks; raises only for an unusable file."""
    parts = read_package(data)
    out = []
    for seq, (_sign_id, path) in enumerate(_signature_entries(parts), start=1):
        report = sig_checks.SignatureReport(seq, path or SIGNATURES)
        result = OfdSignature(report, b"", "", None, "")
        try:
            _verify_one(parts, path, result, trust_roots, crl_lookup, tsa_cert, log_verifier)
        except (OfficeError, ValueError, TypeError, KeyError, IndexError) as exc:
            report.fail(getattr(exc, "code", "malformed"), f"签章数据无法验证：{getattr(exc, 'message', exc)}")
        report.valid = not any(r.severity == "error" for r in report.reasons)
        out.append(result)
    return out


def _verify_one(
    parts: dict[str, bytes],
    path: str,
    result: OfdSignature,
    trust_roots: Sequence[bytes],
    crl_lookup: sig_checks.CrlLookup,
    tsa_cert: bytes | None,
    log_verifier: Callable[[bytes], bool] | None,
) -> None:
    report = result.report
    if not path or path not in parts:
        report.fail("signature_removed", "签章列表中的签章文件已被删除")
        return
    signature_xml = parts[path]
    root = _xml(signature_xml)
    value_path = _resolve(posixpath.dirname(path), _text(root, "ofd:SignedValue"))
    if value_path not in parts:
        report.fail("signature_removed", "签章值文件（SignedValue.dat）已被删除")
        return
    result.raw = raw = parts[value_path]
    checked = sig_checks.check_signature_value(raw, report)
    if checked is None:
        return
    sig, cert = checked
    result.reference = sig_checks.signed_reference(sig)
    hash_name = crypto.DIGEST_OF[sig.alg]
    if crypto.digest(hash_name, signature_xml) != sig.data_hash:
        report.fail("bad_data_hash", "签章描述文件（Signature.xml）在签章后被修改")
        return
    _check_references(parts, path, value_path, root, hash_name, sig, result)
    _check_stamp(parts, root, result)
    at_time = sig_checks.check_timestamp(sig, tsa_cert, report)
    chain = sig_checks.signer_chain(sig)
    sig_checks.check_cert(cert, chain, at_time, trust_roots, crl_lookup, report, "签章人")
    if sig.seal_der is None:
        report.fail("no_seal", "签章数据中没有电子印章")
    else:
        sig_checks.check_seal(sig.seal_der, cert, chain, at_time, trust_roots, crl_lookup, report)
    if log_verifier is not None and not log_verifier(raw):
        report.fail("not_in_log", "签章未记入公开日志")


def _check_references(
    parts: dict[str, bytes],
    path: str,
    value_path: str,
    root: etree._Element,
    hash_name: str,
    sig: seal_mod.SignatureData,
    result: OfdSignature,
) -> None:
    report = result.report
    refs = root.find("ofd:SignedInfo/ofd:References", _Q)
    if refs is None or refs.get("CheckMethod") != crypto.DIGEST_OIDS[hash_name]:
        report.fail("malformed", "签章的摘要算法与签名算法不符")
        return
    recorded = {}
    for ref in refs.findall("ofd:Reference", _Q):
        recorded[_resolve("", ref.get("FileRef", ""))] = _text(ref, "ofd:CheckValue")
    changed = sorted(
        name
        for name, value in recorded.items()
        if name not in parts or base64.b64encode(crypto.digest(hash_name, parts[name])).decode() != value
    )
    sign_dir = posixpath.dirname(path)
    # Files after this seal: the list of seals and later seals' own folders are allowed to appear.
    later = {name for name in parts if name.startswith("Doc_0/Signs/") and not name.startswith(sign_dir + "/")}
    added = sorted(set(parts) - set(recorded) - {path, value_path, SIGNATURES} - later)
    removed = [name for name in changed if name not in parts]
    if not changed and not added:
        return
    report.changed_parts = sorted(set(changed) | set(added))
    made_for = result.reference
    content_changed = any(name.endswith("Content.xml") for name in changed)
    if content_changed and made_for and "".join(made_for.split()) not in page_text(parts):
        report.fail(
            "signature_from_other_document", f"此签章是为另一份文件加盖的（{made_for}），与本文件不符：签章被移用"
        )
        return
    detail = []
    if removed:
        detail.append("被删除：" + "、".join(removed))
    if added:
        detail.append("被加入：" + "、".join(added))
    if set(changed) - set(removed):
        detail.append("被修改：" + "、".join(sorted(set(changed) - set(removed))))
    report.fail(
        "document_modified",
        "签章后文件被改动（" + "；".join(detail) + "）" + (f"（签章为“{made_for}”加盖）" if made_for else ""),
    )


def _check_stamp(parts: dict[str, bytes], root: etree._Element, result: OfdSignature) -> None:
    stamp = root.find("ofd:SignedInfo/ofd:StampAnnot", _Q)
    if stamp is None:
        result.report.fail("no_stamp", "签章没有印章外观位置（StampAnnot）")
        return
    ids = [p[0] for p in pages(parts)]
    ref = stamp.get("PageRef", "")
    result.boundary = stamp.get("Boundary", "")
    if ref not in ids:
        result.report.fail("stamp_page_missing", "印章所在页面不在文件中")
        return
    result.page = ids.index(ref) + 1


__all__ = ["OfdSignature", "is_ofd", "page_text", "pages", "read_package", "sign_ofd", "verify_ofd", "write_package"]
