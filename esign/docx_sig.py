"""Electronic seal signatures on .docx packages: apply (visible seal + GB/T 38540 signature) and verify.

Canonical content hash (``CANON_VERSION`` 2; version 1 is still verified), computed for signature
number ``k``:

- Every part of the OPC package is covered except the signature parts
  ``tongban/signatures/sig{n}.der`` themselves. Earlier signatures are covered separately, in
  order, by the digest of each part (``priorSignatures``), so removing or reordering is detected.
- Part digest = H(canonical bytes), H = SHA-256 (ECDSA) or SM3 (SM2). The parts a later signature
  edits (``[Content_Types].xml``, ``.rels``, ``word/document.xml``: see ``_edited_by_signing``) are
  parsed without DTDs/entities and serialised with C14N 1.0, so that the later seal's additions can
  be stripped again; ``[Content_Types].xml`` and ``.rels`` children are also sorted (they are
  unordered sets) and our own signature relationships and overrides are removed. Every other part
  is bound byte for byte as stored (decompressed), so re-zipping, compression level and member
  order do not matter, while any change of text, formatting, image or embedded file does.
  Version 1 canonicalised *every* XML part; for Word's 300–400 KB style parts that was 85% of a
  verification, which is why version 2 stopped doing it.
- Later seals: signature ``j > k`` adds a visible seal (run ``TongbanSeal-j``, part
  ``word/media/tongban-seal-j.png``, relationship ``rIdTongbanSealj``). When verifying ``k`` those
  artefacts are stripped, but only when signature part ``j`` exists (otherwise they are reported
  as an orphan modification); signature ``j`` itself covers them.
- The manifest ``DocManifest ::= SEQUENCE { canonVersion INTEGER, hashAlg OID, sequence INTEGER,
  parts SEQUENCE OF SEQUENCE { name UTF8String, digest OCTET STRING }, priorSignatures SEQUENCE OF
  OCTET STRING }`` is DER-encoded into ``TBS_Sign.extDatas`` (OID ``OID_MANIFEST``) and
  ``TBS_Sign.dataHash = H(DER(manifest))``; the per-part digests let verification name the
  changed parts. The signer's intermediate certificates travel in ``OID_CHAIN``.

Signature part: DER ``SES_Signature`` (:mod:`esign.seal`) at ``/tongban/signatures/sig{n}.der``,
content type ``application/vnd.tongban.ses-signature``, related from ``/_rels/.rels``. The optional
time-stamp token covers SHA-256(signature value).

Limit: removing the *last* signature together with its seal restores a state that really existed,
so it cannot be detected from the file; the transparency log (``log_verifier``) is what catches it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from asn1crypto import core
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from esign import ca, crypto, seal_image
from esign import docx_visual as visual
from esign import seal as seal_mod  # apply_signature has a ``seal`` parameter
from esign.sig_checks import (
    OID_CHAIN,
    CertChain,
    CrlLookup,
    SignatureReport,
    VerificationReport,
    check_cert,
    check_seal,
    check_signature_value,
    check_timestamp,
    signed_reference,
    signer_chain,
)
from office.errors import OfficeError, UnsupportedMedia, ValidationError
from office.safezip import open_zip, read_member

CANON_VERSION = 2
CANON_VERSIONS = (1, 2)  # verifiable; new signatures use CANON_VERSION
SIG_RE = re.compile(r"^tongban/signatures/sig([1-9][0-9]{0,3})\.der$")
SIG_REL_TYPE = "http://tongban.gov.cn/2026/relationships/ses-signature"
SIG_CONTENT_TYPE = "application/vnd.tongban.ses-signature"
OID_MANIFEST = "1.3.6.1.4.1.61234.1.3.1"
_SEAL_MEDIA_RE = re.compile(r"^/?word/media/tongban-seal-(\d+)\.png$")
_SEAL_REL_RE = re.compile(r"^rIdTongbanSeal(\d+)$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class PartDigest(core.Sequence):
    _fields = [("name", core.UTF8String), ("digest", core.OctetString)]


class DocManifest(core.Sequence):
    _fields = [
        ("canon_version", core.Integer),
        ("hash_alg", core.ObjectIdentifier),
        ("sequence", core.Integer),
        ("parts", core.SequenceOf, {"spec": PartDigest}),
        ("prior_signatures", core.SequenceOf, {"spec": core.OctetString}),
    ]


# --- package I/O -------------------------------------------------------------------------------


def read_package(docx_bytes: bytes) -> dict[str, bytes]:
    """All members of a bounded, unencrypted .docx (ordered as stored); raises office errors."""
    zf = open_zip(docx_bytes)
    with zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise UnsupportedMedia("不是有效的 Word（.docx）文件", code="not_docx")
        try:
            return {name: read_member(zf, name) for name in names}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # CRC errors, truncated data
            raise UnsupportedMedia("文件已损坏，无法读取", code="corrupt_file") from exc


def write_package(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(parts, key=lambda n: n != "[Content_Types].xml"):  # stable: keeps original order
            zf.writestr(name, parts[name])
    return out.getvalue()


def _parse_xml(data: bytes) -> etree._Element:
    """Parse one part of an uploaded package: a DOCTYPE (entities, XXE) or broken XML is the uploader's
    error (422), not ours (it used to surface as a 500)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        raise UnsupportedMedia("文件内容已损坏（XML 格式错误），无法处理", code="corrupt_file") from None
    if root.getroottree().docinfo.doctype:
        raise UnsupportedMedia("文件含有不允许的 DOCTYPE 声明，无法处理", code="doctype_not_allowed")
    return root


def _xml_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def signature_numbers(parts: dict[str, bytes]) -> list[int]:
    return sorted(int(m.group(1)) for name in parts if (m := SIG_RE.match(name)))


# --- canonicalisation --------------------------------------------------------------------------


def _later(value: str, pattern: re.Pattern[str], k: int, existing: set[int]) -> bool:
    m = pattern.match(value)
    return m is not None and int(m.group(1)) > k and int(m.group(1)) in existing


def _edited_by_signing(name: str) -> bool:
    return name in ("[Content_Types].xml", "word/document.xml") or name.endswith(".rels")


def _canonical(name: str, data: bytes, k: int, existing: set[int], version: int) -> bytes:
    if not (name.endswith(".xml") or name.endswith(".rels")) or (version >= 2 and not _edited_by_signing(name)):
        return b"raw\x00" + data
    try:
        root = _parse_xml(data)
    except UnsupportedMedia:
        return b"raw\x00" + data  # still bound byte-for-byte; Word would reject it anyway
    if name == "[Content_Types].xml":
        for el in list(root):
            part = el.get("PartName", "")
            if part.startswith("/tongban/signatures/") or _later(part, _SEAL_MEDIA_RE, k, existing):
                root.remove(el)
        root[:] = sorted(root, key=lambda e: (str(e.tag), sorted(e.attrib.items())))
    elif name.endswith(".rels"):
        for el in list(root):
            if el.get("Type") == SIG_REL_TYPE or _later(el.get("Id", ""), _SEAL_REL_RE, k, existing):
                root.remove(el)
        root[:] = sorted(root, key=lambda e: (e.get("Id", ""), str(e.tag)))
    elif name == "word/document.xml":
        for j, runs in visual.seal_runs(root).items():
            if j > k and j in existing:
                for run in runs:
                    run.getparent().remove(run)
    return b"xml\x00" + etree.tostring(root, method="c14n")


def part_digests(parts: dict[str, bytes], k: int, hash_name: str, version: int) -> dict[str, bytes]:
    """Per-part digests covered by signature number ``k`` (see module docstring)."""
    existing = set(signature_numbers(parts))
    out = {}
    for name in sorted(parts):
        if SIG_RE.match(name) or _later(name, _SEAL_MEDIA_RE, k, existing):
            continue
        out[name] = crypto.digest(hash_name, _canonical(name, parts[name], k, existing, version))
    return out


def _prior(parts: dict[str, bytes], k: int, hash_name: str) -> list[bytes]:
    return [
        crypto.digest(hash_name, parts[f"tongban/signatures/sig{j}.der"]) for j in signature_numbers(parts) if j < k
    ]


def _manifest(parts: dict[str, bytes], k: int, hash_name: str) -> bytes:
    digests = part_digests(parts, k, hash_name, CANON_VERSION)
    return DocManifest(
        {
            "canon_version": CANON_VERSION,
            "hash_alg": crypto.DIGEST_OIDS[hash_name],
            "sequence": k,
            "parts": [{"name": n, "digest": d} for n, d in digests.items()],
            "prior_signatures": _prior(parts, k, hash_name),
        }
    ).dump()


# --- signing -----------------------------------------------------------------------------------


def _add_relationship(parts: dict[str, bytes], rels_name: str, rel_id: str, rel_type: str, target: str) -> None:
    root = _parse_xml(parts[rels_name]) if rels_name in parts else etree.Element(f"{{{visual.PKG_REL}}}Relationships")
    rel = etree.SubElement(root, f"{{{visual.PKG_REL}}}Relationship")
    rel.set("Id", rel_id)
    rel.set("Type", rel_type)
    rel.set("Target", target)
    parts[rels_name] = _xml_bytes(root)


def _add_override(parts: dict[str, bytes], part_name: str, content_type: str) -> None:
    root = _parse_xml(parts["[Content_Types].xml"])
    el = etree.SubElement(root, f"{{{visual.CT}}}Override")
    el.set("PartName", part_name)
    el.set("ContentType", content_type)
    parts["[Content_Types].xml"] = _xml_bytes(root)


def _apply_visible(
    parts: dict[str, bytes],
    n: int,
    png: bytes,
    width_mm: float,
    height_mm: float,
    anchor_paragraph: int | None,
    anchor_centre: int | None = None,
) -> None:
    seal_image.validate_seal_png(png)
    doc = _parse_xml(parts["word/document.xml"])
    styles = _parse_xml(parts["word/styles.xml"]) if "word/styles.xml" in parts else None
    visual.add_seal_anchor(
        doc,
        n,
        paragraph_index=anchor_paragraph,
        width_mm=width_mm,
        height_mm=height_mm,
        styles=styles,
        centre_twips=anchor_centre,
    )
    parts["word/document.xml"] = _xml_bytes(doc)
    parts[visual.seal_part_name(n)] = png
    _add_relationship(
        parts, "word/_rels/document.xml.rels", visual.seal_rel_id(n), visual.IMAGE_REL, f"media/tongban-seal-{n}.png"
    )
    _add_override(parts, "/" + visual.seal_part_name(n), "image/png")


def apply_signature(
    docx_bytes: bytes,
    *,
    signer: bytes,
    alg: str,
    sign_fn: Callable[[bytes], bytes],
    timestamp_fn: Callable[[bytes], bytes] | None,
    seal: bytes | None = None,
    image_png: bytes | None = None,
    anchor_paragraph: int | None = None,
    anchor_centre: int | None = None,
    chain: Sequence[bytes] = (),
    now: datetime | None = None,
    reference: str = "",
) -> bytes:
    """Return a new .docx with a visible seal (optional) and signature part ``sig{n}.der`` added.

    ``signer``: the signer's certificate (DER); ``chain``: intermediates to embed. ``seal``: a
    ``SESeal`` (DER) the signer is listed in; its picture is used when ``image_png`` is None.
    ``sign_fn(tbs_der) -> signature`` holds the unlocked key; ``timestamp_fn(sha256(signature))
    -> token`` is the TSA (None: no time-stamp, verification will warn). The visible seal is
    applied first, then the hash is computed, so the signature covers the seal picture.
    ``anchor_centre``: the seal's centre in twips from the type area's left edge (default: the
    paragraph's centre), for one name of several on a line (联合行文).
    """
    parts = read_package(docx_bytes)
    if ca.public_key_from_cert(signer)[0] != alg:
        raise ValidationError("签名算法与签章人证书不符", code="alg_mismatch")
    seal_info = _seal_for_signing(seal, signer)
    numbers = signature_numbers(parts)
    n = (numbers[-1] if numbers else 0) + 1
    if image_png is None and seal_info is not None and seal_info.picture_type.upper() == "PNG":
        image_png = seal_info.picture
    if image_png is not None:
        size = (seal_info.width_mm, seal_info.height_mm) if seal_info else (seal_image.DEFAULT_DIAMETER_MM,) * 2
        _apply_visible(parts, n, image_png, size[0], size[1], anchor_paragraph, anchor_centre)
    hash_name = crypto.DIGEST_OF[alg]
    manifest = _manifest(parts, n, hash_name)
    ext = {OID_MANIFEST: manifest}
    if chain:
        ext[OID_CHAIN] = CertChain(list(chain)).dump()
    prop = f"tongban-docx/{CANON_VERSION};range=all-parts-except-signatures;sequence={n}"
    if reference:  # the document it was made for (e.g. its 发文字号), signed, so a moved signature names it
        prop += ";reference=" + quote(reference[:200], safe="")
    tbs = seal_mod.build_tbs_sign(
        seal_der=seal,
        time_info=now or datetime.now(UTC),
        data_hash=crypto.digest(hash_name, manifest),
        property_info=prop,
        ext_datas=ext,
    )
    signature = sign_fn(tbs)
    token = timestamp_fn(crypto.sha256(signature)) if timestamp_fn else None
    name = f"tongban/signatures/sig{n}.der"
    parts[name] = seal_mod.encode_signature(tbs=tbs, cert=signer, alg=alg, signature=signature, timestamp=token)
    _add_relationship(parts, "_rels/.rels", f"rIdTongbanSig{n}", SIG_REL_TYPE, name)
    _add_override(parts, "/" + name, SIG_CONTENT_TYPE)
    return write_package(parts)


def _seal_for_signing(seal_der: bytes | None, signer: bytes) -> seal_mod.SealData | None:
    if seal_der is None:
        return None
    info = seal_mod.parse_seal(seal_der)
    if not info.lists_cert(ca.load_cert(signer).public_bytes(Encoding.DER)):
        raise ValidationError("签章人证书不在该印章的授权证书列表中", code="signer_not_in_seal")
    return info


# --- verification ------------------------------------------------------------------------------


def verify_docx(
    docx_bytes: bytes,
    *,
    trust_roots: Sequence[bytes],
    crl_lookup: CrlLookup,
    tsa_cert: bytes | None,
    log_verifier: Callable[[bytes], bool] | None = None,
) -> VerificationReport:
    """Verify every signature in a .docx (GB/T 38540 §7.3 steps, adapted to OPC packages).

    Raises an ``office.errors`` error only when the file itself is unusable (not a ZIP, not a
    .docx, encrypted, bomb). Problems with signatures are reported per signature, never raised.
    ``crl_lookup(issuer_cert)`` returns that CA's current CRL (DER) or None (warning: unknown).
    ``log_verifier(signature_part_bytes)`` says whether the transparency log holds the signature.
    """
    parts = read_package(docx_bytes)
    reports = []
    for n in signature_numbers(parts):
        report = SignatureReport(n, f"tongban/signatures/sig{n}.der")
        try:
            _verify_one(parts, n, report, trust_roots, crl_lookup, tsa_cert, log_verifier)
        except (OfficeError, ValueError, TypeError, KeyError) as exc:  # malformed content, not a crash
            report.fail(getattr(exc, "code", "malformed"), f"签章数据无法验证：{getattr(exc, 'message', exc)}")
        report.valid = not any(r.severity == "error" for r in report.reasons)
        reports.append(report)
    return VerificationReport(reports)


def _verify_one(
    parts: dict[str, bytes],
    n: int,
    report: SignatureReport,
    trust_roots: Sequence[bytes],
    crl_lookup: CrlLookup,
    tsa_cert: bytes | None,
    log_verifier: Callable[[bytes], bool] | None,
) -> None:
    raw = parts[report.part_name]
    checked = check_signature_value(raw, report)
    if checked is None:
        return
    sig, cert = checked
    _check_integrity(parts, n, sig, report)
    at_time = check_timestamp(sig, tsa_cert, report)
    chain = signer_chain(sig)
    check_cert(cert, chain, at_time, trust_roots, crl_lookup, report, "签章人")
    if sig.seal_der is not None:
        check_seal(sig.seal_der, cert, chain, at_time, trust_roots, crl_lookup, report)
    if log_verifier is not None and not log_verifier(raw):
        report.fail("not_in_log", "签章未记入公开日志")


def _check_integrity(parts: dict[str, bytes], n: int, sig: seal_mod.SignatureData, report: SignatureReport) -> None:
    if sig.version != seal_mod.SEAL_VERSION or OID_MANIFEST not in sig.ext_datas:
        report.fail("malformed", "签章数据缺少文档摘要清单")
        return
    manifest_der = sig.ext_datas[OID_MANIFEST]
    manifest = DocManifest.load(manifest_der, strict=True)
    hash_name = {v: k for k, v in crypto.DIGEST_OIDS.items()}.get(manifest["hash_alg"].dotted, "")
    version = manifest["canon_version"].native
    if version not in CANON_VERSIONS or hash_name != crypto.DIGEST_OF[sig.alg]:
        report.fail("malformed", "文档摘要清单版本或算法不受支持")
        return
    if crypto.digest(hash_name, manifest_der) != sig.data_hash:
        report.fail("bad_data_hash", "文档摘要与摘要清单不一致")
        return
    if manifest["sequence"].native != n:
        report.fail("signatures_reordered", f"签章顺序被改变（原为第 {manifest['sequence'].native} 个签章）")
    recorded = {p["name"].native: p["digest"].native for p in manifest["parts"]}
    current = part_digests(parts, n, hash_name, version)
    changed = sorted(name for name in recorded.keys() | current.keys() if recorded.get(name) != current.get(name))
    if changed:
        report.changed_parts = changed
        other = _made_for_another(parts, n, sig, recorded.get("word/document.xml"), changed)
        if other:
            report.fail("signature_from_other_document", other)
        else:
            made_for = signed_reference(sig)
            report.fail(
                "document_modified",
                "签章后文档被修改：" + "、".join(changed) + (f"（签章为“{made_for}”加盖）" if made_for else ""),
            )
    existing = set(signature_numbers(parts))
    doc = _parse_xml(parts["word/document.xml"])
    orphans = sorted(j for j in visual.seal_runs(doc) if j > n and j not in existing)
    if orphans:
        report.fail("orphan_seal", f"文档中有无对应签章数据的印章图片（第 {orphans} 个），签章可能被删除")
    recorded_prior = [bytes(d) for d in manifest["prior_signatures"].native]
    actual_prior = _prior(parts, n, hash_name)
    if len(recorded_prior) != len(actual_prior):
        report.fail("signature_removed", "本签章之前的签章被删除或增加")
    elif recorded_prior != actual_prior:
        report.fail("signatures_reordered", "本签章之前的签章被替换或调换顺序")


def seal_pictures(parts: dict[str, bytes]) -> list[str]:
    """Seal pictures in a package: our seal parts, or a drawing named as our seals are."""
    found = [name for name in parts if name.startswith("word/media/tongban-seal-")]
    if "word/document.xml" in parts:
        found += [f"TongbanSeal-{n}" for n in visual.seal_runs(_parse_xml(parts["word/document.xml"]))]
    return found


def _made_for_another(
    parts: dict[str, bytes], n: int, sig: seal_mod.SignatureData, body_digest: bytes | None, changed: list[str]
) -> str:
    """A seal moved here from another document: the signed body differs, the seal picture it put on
    its own document is not in this one, and the document it names is not this one (its reference
    is nowhere in the text). Then say which document it was made for: its reference and body digest.
    (An edited document keeps its seal picture and its number: that is "modified", not "moved".)"""
    if "word/document.xml" not in changed or sig.seal_der is None:
        return ""
    reference = signed_reference(sig)
    doc = _parse_xml(parts["word/document.xml"])
    if not reference or n in visual.seal_runs(doc) or reference in visual.paragraph_text(doc):
        return ""
    digest = body_digest.hex() if isinstance(body_digest, bytes) else ""
    return f"此签章是为另一份文件加盖的（{reference}，正文摘要 {digest[:16]}…），与本文件不符：签章被移用"
