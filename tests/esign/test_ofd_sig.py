"""用印 on the OFD official copy: a real 通知 rendered by LibreOffice, written as OFD, sealed through
``esign.service.seal_ofd`` on a real database (SM2/SM3 where the seal holder's key is SM2, ECDSA
otherwise), verified by ``office verify`` (server and offline) and rendered, seal included, by an
independent OFD reader. Tampered copies must fail with a reason that says what happened."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import replace

import pytest
from sqlmodel import select

from esign import crypto, ofd_sig, service
from esign.models import SealUse
from esign.verify import offline_trust
from office.audit import AuditEntry
from office.errors import NotFound, UnsupportedMedia, ValidationError
from tests.esign.svc import PIN, enrol, make_seal
from tests.factories import Org
from tests.typeset.ofd_reader import render
from tests.typeset.official import OfficialPdf, notice_pdf, official_pool  # noqa: F401 - fixtures
from typeset import ofd, pdf_measure

REFERENCE = "粤府办〔2026〕12号"


def _seal(
    org: Org, copy: OfficialPdf, seal_id: int, user: str = "claudius", *, package: bytes | None = None, **kw: object
) -> bytes:
    placement = pdf_measure.seal_placement(copy.pdf, date_text=copy.date_text, signature_text=copy.signature_text)
    args = {"page": placement.page, "rect": placement.rect, "reference": REFERENCE, "pin": PIN, **kw}
    with org.db.write() as s:
        return service.seal_ofd(
            s,
            org.actor(user),
            seal_id=seal_id,  # type: ignore[arg-type]
            ofd_bytes=package or ofd.pdf_to_ofd(copy.pdf),
            **args,
        )


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _codes(report: dict) -> set[str]:  # type: ignore[type-arg]
    return {e["code"] for sig in report["signatures"] for e in sig["errors"]}


@pytest.mark.parametrize("alg", [crypto.ALG_SM2, crypto.ALG_ECDSA])
def test_sealed_ofd_verifies_and_tampering_fails(
    org: Org,
    notice_pdf: OfficialPdf,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    alg: str,
) -> None:
    monkeypatch.setattr(org.db, "settings", replace(org.db.settings, esign_alg=alg))
    enrol(org, "yorick")
    enrol(org, "claudius")
    seal_id = make_seal(org, users=("claudius",))
    sealed = _seal(org, notice_pdf, seal_id)
    parts = _parts(sealed)
    assert {
        "Doc_0/Signs/Signatures.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "Doc_0/Signs/Sign_0/Seal.esl",
    } <= set(parts)
    signature_xml = parts["Doc_0/Signs/Sign_0/Signature.xml"].decode()
    assert f"<ofd:SignatureMethod>{crypto.SIGNATURE_OIDS[alg]}</ofd:SignatureMethod>" in signature_xml
    assert f'CheckMethod="{crypto.DIGEST_OIDS[crypto.DIGEST_OF[alg]]}"' in signature_xml
    assert 'FileRef="/Doc_0/Pages/Page_0/Content.xml"' in signature_xml and "<ofd:StampAnnot" in signature_xml
    fonts = sorted(n for n in parts if n.startswith("Doc_0/Res/font_"))
    assert fonts and all(f'FileRef="/{n}"' in signature_xml for n in fonts)  # the seal covers the embedded fonts

    with org.db.read() as s:
        report = service.verify_file(s, sealed)
    assert report["valid"] and report["format"] == "ofd", report
    sig = report["signatures"][0]
    assert sig["alg"] == alg and sig["signer"] == "赵刚" and sig["seal_name"] == "省政府办公厅公章"
    assert sig["reference"] == REFERENCE and sig["time_trusted"] and sig["log"]["included"]
    # The seal picture sits where the PDF's does: the measured rectangle, converted to OFD millimetres.
    placement = pdf_measure.seal_placement(
        notice_pdf.pdf, date_text=notice_pdf.date_text, signature_text=notice_pdf.signature_text
    )
    assert sig["page"] == placement.page + 1
    x, _, w, _ = (float(v) for v in sig["boundary"].split())
    assert abs(x - placement.rect[0] / ofd.MM) < 0.01 and abs(w - placement.diameter_mm) < 1
    with org.db.read() as s:
        use = s.exec(select(SealUse)).one()
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "esign.seal_use")).one()
    assert use.sealed_sha256 == hashlib.sha256(sealed).hexdigest() and entry.detail["format"] == "ofd"

    with org.db.read() as s:
        chain = service.chain_pem(s)
    offline = service.verify_file(None, sealed, trust=offline_trust(chain))
    assert offline["valid"], offline

    # A content byte changed: the page is named.
    page = parts["Doc_0/Pages/Page_0/Content.xml"]
    changed = dict(parts, **{"Doc_0/Pages/Page_0/Content.xml": page.replace("通知".encode(), "通告".encode(), 1)})
    with org.db.read() as s:
        bad = service.verify_file(s, ofd_sig.write_package(changed))
    assert not bad["valid"] and "document_modified" in _codes(bad)
    assert "Doc_0/Pages/Page_0/Content.xml" in bad["signatures"][0]["errors"][0]["message"]

    # A glyph changed in an embedded font (what the reader draws): the font file is named.
    font = bytearray(parts[fonts[0]])
    font[len(font) // 2] ^= 0xFF
    with org.db.read() as s:
        bad = service.verify_file(s, ofd_sig.write_package(dict(parts, **{fonts[0]: bytes(font)})))
    assert not bad["valid"] and fonts[0] in bad["signatures"][0]["errors"][0]["message"]

    # A page removed, or a page added.
    last = max(n for n in parts if n.startswith("Doc_0/Pages/"))
    removed = {k: v for k, v in parts.items() if k != last}
    with org.db.read() as s:
        gone = service.verify_file(s, ofd_sig.write_package(removed))
    assert not gone["valid"] and "被删除" in gone["signatures"][0]["errors"][0]["message"]
    with org.db.read() as s:
        extra = service.verify_file(s, ofd_sig.write_package(dict(parts, **{"Doc_0/Pages/Page_9/Content.xml": page})))
    assert not extra["valid"] and "被加入" in extra["signatures"][0]["errors"][0]["message"]

    # The seal moved: StampAnnot is inside the signed Signature.xml.
    moved = dict(
        parts, **{"Doc_0/Signs/Sign_0/Signature.xml": signature_xml.replace('Boundary="', 'Boundary="1', 1).encode()}
    )
    with org.db.read() as s:
        assert "bad_data_hash" in _codes(service.verify_file(s, ofd_sig.write_package(moved)))

    # The seal files stripped while OFD.xml still lists them: said so, not valid.
    stripped = {k: v for k, v in parts.items() if not k.startswith("Doc_0/Signs/")}
    with org.db.read() as s:
        none = service.verify_file(s, ofd_sig.write_package(stripped))
    assert not none["valid"] and "signature_removed" in _codes(none)


def test_a_seal_moved_to_another_ofd_names_the_document_it_was_made_for(org: Org, notice_pdf: OfficialPdf) -> None:  # noqa: F811
    enrol(org, "yorick")
    enrol(org, "claudius")
    seal_id = make_seal(org, users=("claudius",))
    sealed = _parts(_seal(org, notice_pdf, seal_id))
    other = _parts(ofd.pdf_to_ofd(notice_pdf.pdf))
    for name in other:  # another document: every page's text differs, no 发文字号 of ours on it
        if name.endswith("Content.xml"):
            other[name] = other[name].replace("粤府办".encode(), "湘政办".encode())
    other.update({k: v for k, v in sealed.items() if k.startswith("Doc_0/Signs/") or k == "OFD.xml"})
    with org.db.read() as s:
        report = service.verify_file(s, ofd_sig.write_package(other))
    assert not report["valid"] and "signature_from_other_document" in _codes(report)
    assert REFERENCE in report["signatures"][0]["errors"][0]["message"]


def test_an_independent_reader_renders_the_sealed_ofd(org: Org, notice_pdf: OfficialPdf) -> None:  # noqa: F811
    enrol(org, "yorick")
    enrol(org, "claudius")
    seal_id = make_seal(org, users=("claudius",))
    sealed = _seal(org, notice_pdf, seal_id)
    shown = render(sealed)
    assert len(shown.pages) == len(ofd_sig.pages(ofd_sig.read_package(sealed))) >= 2
    assert "广东省人民政府办公厅" in shown.pages[-1] and REFERENCE in shown.pages[0].replace(" ", "")
    # The reader finds the seal picture in SignedValue.dat and draws it where StampAnnot says, only there.
    import pypdfium2 as pdfium

    placement = pdf_measure.seal_placement(
        notice_pdf.pdf, date_text=notice_pdf.date_text, signature_text=notice_pdf.signature_text
    )
    doc = pdfium.PdfDocument(shown.pdf)
    try:
        images = [
            sum(1 for o in doc[i].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE) for i in range(len(doc))
        ]
    finally:
        doc.close()
    assert images == [1 if i == placement.page else 0 for i in range(len(images))]


def test_seal_ofd_shares_the_checks_of_seal_docx(org: Org, notice_pdf: OfficialPdf) -> None:  # noqa: F811
    enrol(org, "yorick")
    enrol(org, "claudius")
    enrol(org, "hamlet")
    seal_id = make_seal(org, users=("claudius",))
    with pytest.raises(NotFound):
        _seal(org, notice_pdf, seal_id, user="hamlet")
    placement = pdf_measure.seal_placement(
        notice_pdf.pdf, date_text=notice_pdf.date_text, signature_text=notice_pdf.signature_text
    )
    x0, y0, x1, y1 = placement.rect
    with pytest.raises(ValidationError):
        _seal(org, notice_pdf, seal_id, rect=(x0, y0, x1 + 20, y1 + 20))
    with pytest.raises(ValidationError):
        _seal(org, notice_pdf, seal_id, page=99)
    with pytest.raises(UnsupportedMedia), org.db.write() as s:
        service.seal_ofd(
            s,
            org.actor("claudius"),
            seal_id=seal_id,
            pin=PIN,
            ofd_bytes=b"%PDF-1.7 not an ofd",
            page=0,
            rect=placement.rect,
            reference=REFERENCE,
        )
    with org.db.read() as s:
        assert s.exec(select(SealUse)).all() == []


def test_office_verify_and_the_verification_page_accept_an_ofd(
    org: Org,
    notice_pdf: OfficialPdf,  # noqa: F811
    client: object,
    settings: object,
    tmp_path: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path

    from office.cli import main
    from tests.conftest import PG_URL

    enrol(org, "yorick")
    enrol(org, "claudius")
    sealed = _seal(org, notice_pdf, make_seal(org, users=("claudius",)))
    parts = _parts(sealed)
    tampered = ofd_sig.write_package(dict(parts, **{"Doc_0/PublicRes.xml": parts["Doc_0/PublicRes.xml"] + b" "}))
    for name, data, valid in (("copy.ofd", sealed, True), ("bad.ofd", tampered, False)):
        report = client.post("/api/esign/verify", files={"file": (name, data, "application/ofd")}).json()  # type: ignore[attr-defined]
        assert report["valid"] is valid and report["format"] == "ofd", report
    if PG_URL:  # the CLI reads the embedded database of a data folder
        return
    path = Path(str(tmp_path)) / "通知.ofd"
    path.write_bytes(tampered)
    code = main(["verify", str(path), "--json", "--data", str(settings.data_dir)])  # type: ignore[attr-defined]
    report = json.loads(capsys.readouterr().out)
    assert (
        code != 0 and not report["valid"] and "Doc_0/PublicRes.xml" in report["signatures"][0]["errors"][0]["message"]
    )
    path.write_bytes(sealed)
    assert main(["verify", str(path), "--data", str(settings.data_dir)]) == 0  # type: ignore[attr-defined]
    assert "验证结论：有效" in capsys.readouterr().out
