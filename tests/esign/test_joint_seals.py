"""联合行文 in esign: several agencies' seals on one official copy, one after the other, each by its own
keeper's key. Every earlier seal stays valid after the later ones are added: in the PDF (incremental
PAdES signatures: ours, pyHanko and pdfsig), in the OFD (one ``Sign_N`` each in ``Signatures.xml``)
and in the Word file (later seal pictures are stripped when an earlier signature is checked)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pypdfium2 as pdfium

from esign import service
from esign.verify import format_report
from office.models import Role
from tests.esign.svc import PIN, enrol, make_seal
from tests.esign.test_pdf_sig import _append_update, _pdfsig, _pyhanko, _root
from tests.factories import Org, make_user
from tests.typeset.official import official_pool  # noqa: F401 - fixture
from tests.typeset.test_page_rules import PAGES, save_pages
from typeset import joint, paginate, pdf_measure
from typeset.convert import ConverterPool
from typeset.layout import format_cn_date
from typeset.ofd import pdf_to_ofd
from typeset.page_rules import check_pdf
from typeset.pdf_pages import expect_for
from typeset.samples import demo_notice

REFERENCE = "粤府办〔2026〕7号"


def _save_sealed(pdf: bytes, name: str) -> None:
    """The seal page of a sealed PDF as PNG, with the signature widgets drawn (forms initialised)."""
    document = pdfium.PdfDocument(pdf)
    document.init_forms()
    PAGES.mkdir(parents=True, exist_ok=True)
    document[len(document) - 1].render(scale=100 / 72, may_draw_forms=True).to_pil().save(PAGES / f"{name}.png")


def _two_agencies(org: Org) -> tuple[int, int]:
    """A's seal used by its keeper; B (省财政厅) gets a keeper of its own and its 公章."""
    org.users["caliban"] = make_user(
        org.db, "caliban", "钱进", dept_id=org.depts["B1"], roles={Role.staff, Role.seal_keeper}
    )
    enrol(org, "yorick")
    enrol(org, "caliban")
    return make_seal(org, users=("yorick",)), make_seal(org, keeper="caliban", users=("caliban",))


def test_each_seal_stays_valid_after_the_next_is_added(
    org: Org,
    official_pool: ConverterPool,  # noqa: F811
    tmp_path: Path,
) -> None:
    seal_a, seal_b = _two_agencies(org)
    doc = dataclasses.replace(
        demo_notice(pages=1), issuer_name="省政府办公厅", joint_issuers=["省财政厅"], number=REFERENCE
    )
    laid = paginate.lay_out(doc, "standard", official_pool.convert)
    assert laid.report.ok, laid.report.violations
    spots = joint.placements(laid.pdf, joint.rows(doc), format_cn_date(doc.date), pdf_measure.DEFAULT_SEAL_MM)
    anchors = joint.word_anchors(laid.docx, joint.names(doc), format_cn_date(doc.date))
    pdf, ofd, word = laid.pdf, pdf_to_ofd(laid.pdf, title="联合通知"), laid.docx
    for user, seal_id, spot, (paragraph, centre) in zip(
        ("yorick", "caliban"), (seal_a, seal_b), spots, anchors, strict=True
    ):
        args = {"seal_id": seal_id, "pin": PIN, "reference": REFERENCE}
        with org.db.write() as s:
            actor = org.actor(user)
            pdf = service.seal_pdf(s, actor, pdf_bytes=pdf, page=spot.page, rect=spot.rect, **args)
            ofd = service.seal_ofd(s, actor, ofd_bytes=ofd, page=spot.page, rect=spot.rect, **args)
            word = service.seal_docx(
                s, actor, docx_bytes=word, anchor_paragraph=paragraph, anchor_centre_twips=centre, **args
            )
    with org.db.read() as s:
        reports = {fmt: service.verify_file(s, data) for fmt, data in (("pdf", pdf), ("ofd", ofd), ("docx", word))}
    for fmt, report in reports.items():
        assert report["valid"], (fmt, [(s["seal_name"], s["errors"]) for s in report["signatures"]], report["errors"])
        sigs = report["signatures"]
        assert [s["seal_name"] for s in sigs] == ["省政府办公厅公章", "省财政厅公章"], (fmt, sigs)
        assert [s["signer"] for s in sigs] == ["周敏", "钱进"]
        assert [s["organization"] for s in sigs] == ["省政府办公厅", "省财政厅"]  # each seal with its agency
        text = format_report(report)  # what `office verify` prints
        assert "第 2 个签章：有效（印章“省财政厅公章”）" in text and "单位：省财政厅" in text, text
    _save_sealed(pdf, "联合行文-sealed-pdf")  # for a human: both seals on their names, the last on the date
    save_pages(official_pool.convert(word), "联合行文-sealed-word")
    root = _root(org)
    out = _pdfsig(pdf, root, tmp_path)
    assert out.count("Signature is Valid.") == 2 and out.count("Certificate is Trusted.") == 2, out
    for index in (0, 1):
        status = _pyhanko(pdf, root, index)
        assert status.bottom_line, status.pretty_print_details()  # type: ignore[attr-defined]
    # The Word file's seal pictures, rendered: each on its own name, the last on the date, none touching.
    rendered = check_pdf(official_pool.convert(word), expect_for(doc, "standard"))
    assert rendered.ok, [(v.code, v.message) for v in rendered.violations]
    with pdf_measure.opened(official_pool.convert(word)) as document:
        assert len(joint.seal_rects(document[spots[0].page])) == 2
    # Anything but a seal after them still fails them all: a changed page after the last seal.
    with org.db.read() as s:
        later = service.verify_file(s, _append_update(pdf))
    assert not later["valid"]
    assert all("modified_after_seal" in {e["code"] for e in sig["errors"]} for sig in later["signatures"])
