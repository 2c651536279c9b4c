"""A 令's 签名章 (GB/T 9704 §10.2) judged on the rendered and the sealed pages: on the 签发人's name 右空四字,
level with the job title about two 字 to its left, the 成文日期 under it 右空四字.

The official copy used to place it like a 公章, centred between the 职务/姓名 line and the date: 10 mm
below the line and left of the name; the page rules skipped a 令's seal, so nothing said so."""

from __future__ import annotations

import dataclasses

from esign.models import SealKind
from tests.esign.svc import PIN, enrol, make_seal
from tests.factories import Org
from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import paginate, pdf_measure
from typeset.convert import ConverterPool
from typeset.layout import DocType
from typeset.page_rules import check_pdf
from typeset.pdf_measure import MM, name_box
from typeset.pdf_pages import expect_for
from typeset.samples import type_sample


def _sealed(org: Org, seal_id: int, pdf: bytes, placement: pdf_measure.SealPlacement) -> bytes:
    from esign import service

    with org.db.write() as s:
        return service.seal_pdf(
            s,
            org.actor("yorick"),
            seal_id=seal_id,
            pin=PIN,
            pdf_bytes=pdf,
            page=placement.page,
            rect=placement.rect,
            reference="第12号",
        )


def test_a_ling_carries_its_name_seal_on_the_signers_name(org: Org, official_pool: ConverterPool) -> None:  # noqa: F811
    enrol(org, "yorick")
    seal_id = make_seal(org, kind=SealKind.name, holder_user_id=org.users["claudius"], users=("yorick",))
    doc, fmt = type_sample(DocType("命令（令）"), long=False)
    laid = paginate.lay_out(doc, fmt, official_pool.convert, seal_mm=20)
    assert laid.report.ok, laid.report.violations
    signature, date = pdf_measure.seal_anchor_texts(laid.docx)
    placement = pdf_measure.seal_placement(
        laid.pdf, date_text=date, signature_text=signature, diameter_mm=20, name_seal=True
    )
    assert placement.signature is not None
    x0, y0, x1, y1 = placement.rect
    name_x0, name_x1, title_x1 = name_box(placement.signature)
    assert abs((x0 + x1) / 2 - (name_x0 + name_x1) / 2) < 0.5 * MM and title_x1 is not None and title_x1 < x0
    assert abs((y0 + y1) / 2 - (placement.signature.y0 + placement.signature.y1) / 2) < 0.5 * MM
    assert y0 > placement.date.y1 and not placement.covers

    expect = expect_for(doc, fmt)
    sealed = check_pdf(_sealed(org, seal_id, laid.pdf, placement), expect)
    assert sealed.ok and sealed.measured is not None and sealed.measured.sealed, sealed.violations
    assert check_pdf(_sealed(org, seal_id, laid.pdf, placement)).ok  # recognised as a 令 without being told

    # Where a 公章 would go: centred between the 职务/姓名 line and the date.
    as_official = pdf_measure.seal_placement(laid.pdf, date_text=date, signature_text=signature, diameter_mm=20)
    report = check_pdf(_sealed(org, seal_id, laid.pdf, as_official), expect)
    assert report.codes() == ["name_seal_position"], report.violations


def test_a_ling_under_a_classification_and_an_urgency_keeps_its_mark_on_page_1(official_pool: ConverterPool) -> None:  # noqa: F811
    """Two marks take 20.4 mm, more than the 20 mm above a 令's mark: its space before went negative and the
    mark, 令号 and body moved to page 2, leaving 内部 and 加急 alone on page 1."""
    doc, fmt = type_sample(DocType("命令（令）"), long=False)
    doc = dataclasses.replace(doc, classification="内部", urgency="加急")
    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    assert laid.report.ok and laid.report.fmt == "order", laid.report.violations
    assert laid.report.measured is not None
    first = [line.text for line in laid.report.measured.pages[0].content]
    assert first[:4] == ["内部", "加急", "广东省人民政府令", "第12号"], first
