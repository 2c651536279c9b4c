from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from cryptography import x509
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from lxml import etree

from esign import ca, crypto, docx_sig, docx_visual, seal, seal_image, tsa
from office.errors import PayloadTooLarge, UnsupportedMedia
from tests.esign.conftest import NOW, Identity, Pki, make_identity

ALGS = crypto.ALGORITHMS


def small_png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def build_docx(pages: int = 1) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.top_margin, section.left_margin, section.right_margin = Mm(37), Mm(28), Mm(26)
    title = doc.add_paragraph("某市人民政府办公室关于做好年终工作的通知")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for page in range(pages):
        for i in range(12):
            run = doc.add_paragraph().add_run(
                f"第{page + 1}页第{i + 1}段：各区人民政府，市政府各部门，现将有关事项通知如下。"
            )
            run.font.size = Pt(16)
    doc.add_picture(io.BytesIO(small_png((0, 128, 255))), width=Mm(20))
    doc.add_paragraph("附件：年终工作安排表")
    agency = doc.add_paragraph("某市人民政府办公室")
    agency.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    date = doc.add_paragraph("2026年11月29日")
    date.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    date.paragraph_format.right_indent = Pt(64)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def plain_docx() -> bytes:
    return build_docx()


@pytest.fixture(scope="module")
def seal_der(pki: Pki) -> bytes:
    keeper = pki.seal_keeper
    return seal.make_seal(
        es_id="11010000000001",
        name="某市人民政府办公室",
        signer_certs=[p.certificate for p in pki.people.values()],
        picture=seal_image.round_seal_png("某市人民政府办公室", "公章", size_px=200),
        width_mm=42,
        height_mm=42,
        valid_start=NOW - timedelta(days=10),
        valid_end=NOW + timedelta(days=365),
        maker_cert=keeper.certificate,
        alg=keeper.alg,
        maker_sign=crypto.load_signer(keeper.alg, keeper.private_key).sign,
        created=NOW,
    )


def tsa_fn(pki: Pki, when=NOW):
    return lambda digest: tsa.issue_token(pki.tsa.private_key, pki.tsa.certificate, digest, when)


def sign(pki: Pki, data: bytes, who: Identity, *, seal_der: bytes | None = None, when=NOW, **kw) -> bytes:
    return docx_sig.apply_signature(
        data,
        signer=who.certificate,
        alg=who.alg,
        sign_fn=crypto.load_signer(who.alg, who.private_key).sign,
        timestamp_fn=tsa_fn(pki, when),
        seal=seal_der,
        chain=[pki.agency.certificate],
        now=when,
        **kw,
    )


class Crls:
    def __init__(self, pki: Pki, revoked: list | None = None) -> None:
        self.by_subject = {
            ca.load_cert(pki.agency.certificate).subject: ca.build_crl(pki.agency, revoked or [], this_update=NOW),
            ca.load_cert(pki.root.certificate).subject: ca.build_crl(pki.root, [], this_update=NOW),
        }

    def __call__(self, issuer: x509.Certificate) -> bytes | None:
        return self.by_subject.get(issuer.subject)


def verify(pki: Pki, data: bytes, **kw) -> docx_sig.VerificationReport:
    args = dict(trust_roots=[pki.root.certificate], crl_lookup=Crls(pki), tsa_cert=pki.tsa.certificate)
    args.update(kw)
    return docx_sig.verify_docx(data, **args)


def codes(report: docx_sig.SignatureReport, severity: str = "error") -> set[str]:
    return {r.code for r in report.reasons if r.severity == severity}


def edit_part(data: bytes, name: str, fn) -> bytes:
    parts = docx_sig.read_package(data)
    parts[name] = fn(parts[name])
    return docx_sig.write_package(parts)


@pytest.fixture(scope="module", params=ALGS)
def sealed(request, pki: Pki, plain_docx: bytes, seal_der: bytes) -> tuple[str, bytes]:
    return request.param, sign(pki, plain_docx, pki.people[request.param], seal_der=seal_der)


# --- happy paths -------------------------------------------------------------------------------


def test_sealed_document_verifies(pki: Pki, sealed) -> None:
    alg, data = sealed
    report = verify(pki, data)
    assert report.valid, report.signatures[0].reasons
    (sig,) = report.signatures
    assert sig.alg == alg and sig.signer_subject == f"张三（{alg}）" and sig.seal_name == "某市人民政府办公室"
    assert sig.signer_organization == "某市人民政府办公室"
    assert sig.timestamp_time == NOW and sig.trusted_time == NOW and sig.reasons == []
    assert sig.revocation is not None and not sig.revocation.revoked
    # the signed file still opens in python-docx and shows the floating seal over the date
    doc = Document(io.BytesIO(data))
    assert doc.paragraphs[-1].text == "2026年11月29日"
    anchors = doc.element.body.xpath(".//wp:anchor")
    assert len(anchors) == 1 and anchors[0].get("behindDoc") == "0"
    assert anchors[0].xpath(".//wp:docPr/@name") == ["TongbanSeal-1"]
    assert "tongban/signatures/sig1.der" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_rezip_and_reorder_do_not_break(pki: Pki, sealed) -> None:
    _, data = sealed
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for info in reversed(zin.infolist()):
            zout.writestr(info.filename, zin.read(info.filename))
    assert verify(pki, out.getvalue()).valid


def _respell(b: bytes) -> bytes:
    """Same XML, other spelling: no XML declaration, attribute quoting as lxml writes it."""
    return etree.tostring(etree.fromstring(b), encoding="UTF-8")


def test_parts_a_later_seal_edits_are_canonical_the_rest_bound_as_stored(pki: Pki, sealed) -> None:
    _, data = sealed
    for name in ("word/document.xml", "[Content_Types].xml", "word/_rels/document.xml.rels"):
        assert verify(pki, edit_part(data, name, _respell)).valid, name
    (sig,) = verify(pki, edit_part(data, "word/styles.xml", _respell)).signatures
    assert codes(sig) == {"document_modified"} and sig.changed_parts == ["word/styles.xml"]


def test_version_1_signatures_still_verify(
    pki: Pki, plain_docx: bytes, seal_der: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files sealed before CANON_VERSION 2 canonicalised every XML part; they stay valid, and a second
    (version 2) seal on top of one keeps both valid."""
    monkeypatch.setattr(docx_sig, "CANON_VERSION", 1)
    old = sign(pki, plain_docx, pki.people[crypto.ALG_ECDSA], seal_der=seal_der)
    monkeypatch.undo()
    assert verify(pki, edit_part(old, "word/styles.xml", _respell)).valid
    (sig,) = verify(pki, edit_part(old, "word/styles.xml", lambda b: b.replace(b"Normal", b"Abnormal", 1))).signatures
    assert sig.changed_parts == ["word/styles.xml"]
    both = sign(
        pki,
        old,
        pki.people[crypto.ALG_SM2],
        image_png=seal_image.square_name_seal_png("张三", size_px=120),
        anchor_paragraph=1,
        when=NOW + timedelta(hours=1),
    )
    report = verify(pki, both)
    assert report.valid, [s.reasons for s in report.signatures]
    versions = [
        docx_sig.DocManifest.load(
            seal.parse_signature(docx_sig.read_package(both)[s.part_name]).ext_datas[docx_sig.OID_MANIFEST]
        )["canon_version"].native
        for s in report.signatures
    ]
    assert versions == [1, 2]


def test_sequential_signatures_with_visible_seals(pki: Pki, plain_docx: bytes, seal_der: bytes) -> None:
    once = sign(pki, plain_docx, pki.people[crypto.ALG_ECDSA], seal_der=seal_der)
    twice = sign(
        pki,
        once,
        pki.people[crypto.ALG_SM2],
        image_png=seal_image.square_name_seal_png("张三", size_px=120),
        anchor_paragraph=1,
        when=NOW + timedelta(hours=1),
    )
    report = verify(pki, twice)
    assert report.valid, [s.reasons for s in report.signatures]
    assert [s.sequence for s in report.signatures] == [1, 2]
    assert report.signatures[1].seal_name is None and report.signatures[1].timestamp_time == NOW + timedelta(hours=1)


def test_no_timestamp_is_a_warning(pki: Pki, plain_docx: bytes) -> None:
    who = pki.people[crypto.ALG_ECDSA]
    data = docx_sig.apply_signature(
        plain_docx,
        signer=who.certificate,
        alg=who.alg,
        timestamp_fn=None,
        sign_fn=crypto.load_signer(who.alg, who.private_key).sign,
        chain=[pki.agency.certificate],
        now=NOW,
    )
    (sig,) = verify(pki, data).signatures
    assert sig.valid and codes(sig, "warning") == {"no_timestamp"} and sig.trusted_time == NOW


# --- tamper tests ------------------------------------------------------------------------------


def _doc_xml_edit(data: bytes, old: str, new: str) -> bytes:
    return edit_part(data, "word/document.xml", lambda b: b.replace(old.encode(), new.encode(), 1))


def test_one_character_changed(pki: Pki, sealed) -> None:
    _, data = sealed
    (sig,) = verify(pki, _doc_xml_edit(data, "现将有关事项", "现将有关亊项")).signatures
    assert not sig.valid and "document_modified" in codes(sig) and sig.changed_parts == ["word/document.xml"]


def test_run_font_changed(pki: Pki, sealed) -> None:
    _, data = sealed
    (sig,) = verify(pki, _doc_xml_edit(data, '<w:sz w:val="32"/>', '<w:sz w:val="44"/>')).signatures
    assert sig.changed_parts == ["word/document.xml"] and not sig.valid


def test_image_swapped(pki: Pki, sealed) -> None:
    _, data = sealed
    parts = docx_sig.read_package(data)
    image = next(n for n in parts if n.startswith("word/media/image"))
    (sig,) = verify(pki, edit_part(data, image, lambda _: small_png((255, 0, 0)))).signatures
    assert sig.changed_parts == [image] and "document_modified" in codes(sig)


def test_part_added_or_removed(pki: Pki, sealed) -> None:
    _, data = sealed
    parts = docx_sig.read_package(data)
    parts["word/embeddings/extra.bin"] = b"attachment"
    del parts["docProps/app.xml"]
    (sig,) = verify(pki, docx_sig.write_package(parts)).signatures
    assert sig.changed_parts == ["docProps/app.xml", "word/embeddings/extra.bin"]


def test_visible_seal_moved_is_detected(pki: Pki, sealed) -> None:
    _, data = sealed
    (sig,) = verify(pki, _doc_xml_edit(data, "<wp:posOffset>", "<wp:posOffset>1")).signatures
    assert sig.changed_parts == ["word/document.xml"]


def test_remove_first_signature(pki: Pki, plain_docx: bytes, seal_der: bytes) -> None:
    two = sign(
        pki,
        sign(pki, plain_docx, pki.people[crypto.ALG_ECDSA], seal_der=seal_der),
        pki.people[crypto.ALG_SM2],
        seal_der=seal_der,
    )
    parts = docx_sig.read_package(two)
    del parts["tongban/signatures/sig1.der"]
    (sig2,) = verify(pki, docx_sig.write_package(parts)).signatures
    assert sig2.sequence == 2 and "signature_removed" in codes(sig2)


def test_remove_last_signature_leaving_its_seal_image(pki: Pki, plain_docx: bytes, seal_der: bytes) -> None:
    two = sign(
        pki,
        sign(pki, plain_docx, pki.people[crypto.ALG_ECDSA], seal_der=seal_der),
        pki.people[crypto.ALG_SM2],
        seal_der=seal_der,
    )
    parts = docx_sig.read_package(two)
    del parts["tongban/signatures/sig2.der"]
    (sig1,) = verify(pki, docx_sig.write_package(parts)).signatures
    assert "orphan_seal" in codes(sig1) and "document_modified" in codes(sig1)
    # The transparency log catches the clean removal the file alone cannot show.
    logged = {docx_sig.read_package(two)["tongban/signatures/sig2.der"]}
    report = verify(pki, two, log_verifier=lambda raw: raw in logged)
    assert [s.valid for s in report.signatures] == [False, True]
    assert codes(report.signatures[0]) == {"not_in_log"}


def test_reorder_signatures(pki: Pki, plain_docx: bytes, seal_der: bytes) -> None:
    two = sign(
        pki,
        sign(pki, plain_docx, pki.people[crypto.ALG_ECDSA], seal_der=seal_der),
        pki.people[crypto.ALG_SM2],
        seal_der=seal_der,
    )
    parts = docx_sig.read_package(two)
    a, b = parts["tongban/signatures/sig1.der"], parts["tongban/signatures/sig2.der"]
    parts["tongban/signatures/sig1.der"], parts["tongban/signatures/sig2.der"] = b, a
    report = verify(pki, docx_sig.write_package(parts))
    assert not any(s.valid for s in report.signatures)
    assert all("signatures_reordered" in codes(s) for s in report.signatures)


def test_replayed_signature_from_another_document(pki: Pki, seal_der: bytes) -> None:
    other = sign(pki, build_docx(pages=2), pki.people[crypto.ALG_ECDSA], seal_der=seal_der)
    target = build_docx(pages=1)
    parts = docx_sig.read_package(target)
    source = docx_sig.read_package(other)
    for name in ("tongban/signatures/sig1.der", "_rels/.rels", "[Content_Types].xml"):
        parts[name] = source[name]
    (sig,) = verify(pki, docx_sig.write_package(parts)).signatures
    assert not sig.valid and "document_modified" in codes(sig) and "word/document.xml" in sig.changed_parts


def test_forged_and_malformed_signature_parts(pki: Pki, sealed) -> None:
    _, data = sealed
    sig_name = "tongban/signatures/sig1.der"
    for mutate, code in (
        (lambda b: b[:-10], "malformed"),
        (lambda b: b"garbage", "malformed"),
        (lambda b: b.replace("某市人民政府办公室".encode(), "某市财政局局局局局".encode(), 1), "bad_signature"),
    ):
        (sig,) = verify(pki, edit_part(data, sig_name, mutate)).signatures
        assert not sig.valid and code in codes(sig), sig.reasons
    # a signature re-signed by an untrusted key but claiming the real signer's certificate
    parsed = seal.parse_signature(docx_sig.read_package(data)[sig_name])
    forger = crypto.generate_keypair(parsed.alg)[0]
    forged = seal.encode_signature(
        tbs=parsed.tbs,
        cert=parsed.cert,
        alg=parsed.alg,
        signature=crypto.sign(parsed.alg, forger, parsed.tbs),
        timestamp=parsed.timestamp,
    )
    (sig,) = verify(pki, edit_part(data, sig_name, lambda _: forged)).signatures
    assert codes(sig) == {"bad_signature"}


# --- certificates, seals, time ------------------------------------------------------------------


def test_revoked_after_signing_stays_valid_before_is_invalid(pki: Pki, sealed) -> None:
    alg, data = sealed
    serial = ca.load_cert(pki.people[alg].certificate).serial_number
    later = Crls(pki, [(serial, NOW + timedelta(days=1), "key_compromise")])
    (sig,) = verify(pki, data, crl_lookup=later).signatures
    assert sig.valid and sig.revocation is not None and sig.revocation.revoked_at == NOW + timedelta(days=1)
    earlier = Crls(pki, [(serial, NOW - timedelta(days=1), "key_compromise")])
    (sig,) = verify(pki, data, crl_lookup=earlier).signatures
    assert not sig.valid and "cert_revoked" in codes(sig) and sig.revocation.revoked


def test_unknown_revocation_is_a_warning(pki: Pki, sealed) -> None:
    _, data = sealed
    (sig,) = verify(pki, data, crl_lookup=lambda issuer: None).signatures
    assert sig.valid and "revocation_unknown" in codes(sig, "warning")


def test_expired_certificate(pki: Pki, plain_docx: bytes) -> None:
    short = make_identity(pki.agency, crypto.ALG_ECDSA, "临时人员", now=NOW - timedelta(days=5), days=2)
    (sig,) = verify(pki, sign(pki, plain_docx, short)).signatures
    assert "cert_expired" in codes(sig)


def test_wrong_issuer(pki: Pki, plain_docx: bytes) -> None:
    (sig,) = verify(pki, sign(pki, plain_docx, pki.stranger)).signatures
    assert "untrusted_chain" in codes(sig) and sig.signer_subject == "李四"


def test_timestamp_from_untrusted_tsa_or_wrong_time(pki: Pki, plain_docx: bytes) -> None:
    rogue = make_identity(pki.agency, crypto.ALG_ECDSA, "伪时间戳", purpose="tsa", now=NOW - timedelta(days=1))
    who = pki.people[crypto.ALG_ECDSA]
    data = docx_sig.apply_signature(
        plain_docx,
        signer=who.certificate,
        alg=who.alg,
        sign_fn=crypto.load_signer(who.alg, who.private_key).sign,
        timestamp_fn=lambda d: tsa.issue_token(rogue.private_key, rogue.certificate, d, NOW - timedelta(days=100)),
        chain=[pki.agency.certificate],
        now=NOW,
    )
    (sig,) = verify(pki, data).signatures
    assert "timestamp_wrong_tsa" in codes(sig)


def test_signer_not_in_seal_and_expired_seal(pki: Pki, plain_docx: bytes, seal_der: bytes) -> None:
    with pytest.raises(docx_sig.ValidationError):
        sign(pki, plain_docx, pki.stranger, seal_der=seal_der)
    late = NOW + timedelta(days=400)
    long_lived = make_identity(pki.agency, crypto.ALG_ECDSA, "张三（ECDSA-P256-SHA256）", now=NOW, days=1000)
    keeper = pki.seal_keeper
    seal2 = seal.make_seal(
        es_id="2",
        name="某市人民政府办公室",
        signer_certs=[long_lived.certificate],
        picture=seal_image.round_seal_png("某市人民政府办公室", size_px=120),
        width_mm=42,
        height_mm=42,
        valid_start=NOW,
        valid_end=NOW + timedelta(days=30),
        maker_cert=keeper.certificate,
        alg=keeper.alg,
        maker_sign=crypto.load_signer(keeper.alg, keeper.private_key).sign,
    )
    data = sign(pki, plain_docx, long_lived, seal_der=seal2, when=late)
    (sig,) = verify(pki, data).signatures
    assert "seal_expired" in codes(sig)


def test_algorithm_mismatch_refused(pki: Pki, plain_docx: bytes) -> None:
    who = pki.people[crypto.ALG_SM2]
    with pytest.raises(docx_sig.ValidationError):
        docx_sig.apply_signature(
            plain_docx, signer=who.certificate, alg=crypto.ALG_ECDSA, sign_fn=lambda b: b"", timestamp_fn=None
        )


# --- bad input ---------------------------------------------------------------------------------


def test_bad_containers_raise_clear_errors(pki: Pki) -> None:
    cases = [b"not a zip at all", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, b"PK\x03\x04broken"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "not a docx")
    cases.append(out.getvalue())
    for data in cases:
        with pytest.raises(UnsupportedMedia):
            verify(pki, data)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<x/>")
        zf.writestr("word/document.xml", b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(PayloadTooLarge):
        verify(pki, bomb.getvalue())


def test_unsigned_document_and_hostile_xml(pki: Pki, plain_docx: bytes) -> None:
    report = verify(pki, plain_docx)
    assert report.signatures == [] and not report.valid
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert docx_sig._canonical("word/document.xml", evil, 1, set(), 2).startswith(b"raw\x00")


def test_date_paragraph_detection_and_anchor_index(pki: Pki, plain_docx: bytes) -> None:
    doc = etree.fromstring(docx_sig.read_package(plain_docx)["word/document.xml"])
    paragraphs = docx_visual.body_paragraphs(doc)
    assert docx_visual.find_date_paragraph(doc) == len(paragraphs) - 1
    for text in ("二〇二六年十一月二十九日", "2026年1月9日", " 2026年11月29日 "):
        assert docx_visual.DATE_RE.match(text)
    for text in ("2026年11月", "关于2026年11月29日会议的通知"):
        assert not docx_visual.DATE_RE.match(text)
    with pytest.raises(docx_sig.ValidationError):
        sign(pki, plain_docx, pki.people[crypto.ALG_ECDSA], image_png=small_png((1, 2, 3)), anchor_paragraph=999)


def _numbered(pages: int, number: str) -> bytes:
    word = Document(io.BytesIO(build_docx(pages=pages)))
    word.paragraphs[0].insert_paragraph_before(number)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_a_signature_moved_from_another_document_names_that_document(pki: Pki, seal_der: bytes) -> None:
    other = sign(
        pki,
        _numbered(2, "粤府办〔2026〕7号"),
        pki.people[crypto.ALG_ECDSA],
        seal_der=seal_der,
        reference="粤府办〔2026〕7号",
    )
    parts = docx_sig.read_package(build_docx(pages=1))
    source = docx_sig.read_package(other)
    for name in ("tongban/signatures/sig1.der", "_rels/.rels", "[Content_Types].xml"):
        parts[name] = source[name]
    (sig,) = verify(pki, docx_sig.write_package(parts)).signatures
    assert not sig.valid and "signature_from_other_document" in codes(sig)
    message = next(r.message for r in sig.reasons if r.code == "signature_from_other_document")
    body_digest = next(
        p["digest"].native
        for p in docx_sig.DocManifest.load(
            seal.parse_signature(source["tongban/signatures/sig1.der"]).ext_datas[docx_sig.OID_MANIFEST]
        )["parts"]
        if p["name"].native == "word/document.xml"
    )
    assert "粤府办〔2026〕7号" in message and body_digest.hex()[:16] in message
    # The same document edited after sealing is "modified", not "moved": its reference is still in it.
    edited = edit_part(other, "word/document.xml", lambda b: b.replace("7号".encode(), "7号（修改）".encode(), 1))
    (sig,) = verify(pki, edited).signatures
    assert "document_modified" in codes(sig) and "signature_from_other_document" not in codes(sig)


def test_a_seal_picture_left_without_its_signature_is_reported(pki: Pki, sealed) -> None:
    from esign import verify as verify_mod

    _, data = sealed
    parts = docx_sig.read_package(data)
    del parts["tongban/signatures/sig1.der"]
    stripped = docx_sig.write_package(parts)
    trust = verify_mod.Trust([pki.root.certificate], Crls(pki), pki.tsa.certificate)
    report = verify_mod.verify_docx(None, stripped, trust=trust)
    assert not report["valid"] and {"no_signatures", "orphan_seal_picture"} <= {e["code"] for e in report["errors"]}
    assert "印章图片" in verify_mod.format_report(report)
    clean = verify_mod.verify_docx(None, build_docx(pages=1), trust=trust)
    assert {e["code"] for e in clean["errors"]} == {"no_signatures"}
