"""Where the seal goes, measured on pages LibreOffice really rendered (GB/T 9704-2012 §7.3.5.1)."""

from __future__ import annotations

import pytest

from office.errors import UnsupportedMedia, ValidationError
from tests.typeset.official import OfficialPdf, notice_pdf, official, official_pool  # noqa: F401 - fixtures
from typeset import pdf_measure
from typeset.convert import ConverterPool
from typeset.pdf_measure import LINE_MM, MM, Line, SealPlacement
from typeset.render import render_docx
from typeset.samples import demo_minutes, demo_request


def _overlaps(placement: SealPlacement, line: Line) -> bool:
    x0, y0, x1, y1 = placement.rect
    return line.y0 < y1 and line.y1 > y0 and line.x0 < x1 and line.x1 > x0


def _check_rules(placement: SealPlacement) -> None:
    cx, cy = placement.centre
    sig, date = placement.signature, placement.date
    assert sig is not None
    assert abs(placement.rect[2] - placement.rect[0] - 42 * MM) < 0.01  # the seal's real size
    # 端正、居中: centred on the 署名/日期 (they are centred on each other within a few mm).
    assert abs(cx - date.centre_x) / MM < 2.5 and abs(cx - sig.centre_x) / MM < 2.5
    # 下压: both lines under the seal, their middle below its centre, the date inside the circle.
    assert _overlaps(placement, sig) and _overlaps(placement, date)
    assert (sig.y1 + date.y0) / 2 < cy and date.y0 >= placement.rect[1]
    # 印章顶端上距正文（或附件说明）一行之内, and no other text under the seal (附注 included).
    assert placement.top_gap_mm is not None and 0 <= placement.top_gap_mm <= LINE_MM
    assert placement.covers == ()


def test_seal_sits_on_the_signature_and_date_of_a_notice(notice_pdf: OfficialPdf) -> None:  # noqa: F811
    placement = pdf_measure.seal_placement(
        notice_pdf.pdf, date_text=notice_pdf.date_text, signature_text=notice_pdf.signature_text
    )
    assert placement.date.text == "2026年11月29日" and placement.signature is not None
    assert placement.signature.text == "广东省人民政府办公厅"  # the 署名, not the 版记's 印发机关 line below
    assert placement.below_centre_mm == pdf_measure.BELOW_CENTRE_MM
    _check_rules(placement)


def test_seal_moves_up_off_a_long_note_line(official_pool: ConverterPool) -> None:  # noqa: F811
    copy = official(official_pool, demo_request())  # 附注 "（联系人：赵六，电话：020-12345678）" under the date
    placement = pdf_measure.seal_placement(copy.pdf, date_text=copy.date_text, signature_text=copy.signature_text)
    note = next(
        line
        for line in pdf_measure.page_lines(pdf_measure.open_pdf(copy.pdf), placement.page)
        if line.text.startswith("（联系人")
    )
    # At the usual height the circle would touch the 附注; it is lifted just enough, the date still inside.
    r = placement.diameter_mm * MM / 2
    block_mid = (placement.signature.y1 + placement.date.y0) / 2  # type: ignore[union-attr]
    usual = block_mid + pdf_measure.BELOW_CENTRE_MM * MM
    assert pdf_measure.covered_lines([note], placement.centre[0], usual, r)
    assert placement.below_centre_mm > pdf_measure.BELOW_CENTRE_MM
    _check_rules(placement)


def test_missing_anchor_and_bad_files_are_clear_errors(notice_pdf: OfficialPdf) -> None:  # noqa: F811
    with pytest.raises(ValidationError) as err:
        pdf_measure.seal_placement(notice_pdf.pdf, date_text="2030年1月1日")
    assert err.value.code == "no_seal_anchor"
    with pytest.raises(UnsupportedMedia):
        pdf_measure.seal_placement(b"%PDF-1.7 broken", date_text="2026年11月29日")
    with pytest.raises(ValidationError) as err:  # a 纪要 carries no seal
        pdf_measure.seal_anchor_texts(render_docx(demo_minutes(), fmt="minutes"))
    assert err.value.code == "no_seal_anchor"
    assert (
        pdf_measure.find_line(notice_pdf.pdf, "2026年11月29日")
        == pdf_measure.seal_placement(notice_pdf.pdf, date_text="2026年11月29日").date
    )
