"""信函格式's first page (GB/T 9704 §10.1) measured on pages LibreOffice rendered: the 发文机关标志 30 mm from
the top of the page, a red double line 4 mm under it and one 20 mm above the bottom, both 170 mm and
centred, the first line under the upper one 7/8 of a 3号 character (14 pt) below it and the last line
of text above the lower one at least as far from it.

The old head (a 小初 mark, the double line 7 pt under its line) left 2.7 mm to the line and 3.8 mm to
the 发文字号 under it."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import paginate
from typeset.convert import ConverterPool
from typeset.layout import DocType
from typeset.page_rules import check_pdf
from typeset.pdf_measure import MM
from typeset.pdf_pages import expect_for
from typeset.samples import type_sample


def edit_head(change: Callable[[Any, Any], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        word = docx.Document(io.BytesIO(data))
        section = word.sections[0]
        change(section, section.first_page_header.paragraphs[0])
        out = io.BytesIO()
        word.save(out)
        return out.getvalue()

    return edit


def old_head(section: Any, head: Any) -> None:
    """小初, the double line 7 pt under the mark's line, nothing after it."""
    for run in head.runs:
        run.font.size = Pt(36)
    head.paragraph_format.line_spacing = Pt(36)
    head.paragraph_format.space_after = Twips(0)
    head._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).set(qn("w:space"), "7")


def lower_head(section: Any, head: Any) -> None:
    section.header_distance = Mm(35)


def short_lines(section: Any, head: Any) -> None:
    """The double lines as wide as the type area (156 mm), not 170 mm."""
    head.paragraph_format.left_indent = head.paragraph_format.right_indent = Twips(0)


def low_text(data: bytes) -> bytes:
    """The type area run down to 21 mm above the page bottom (the footer holding the lower double line
    made one point high) and the 抄送 moved down into it: the last line comes within a few mm of the
    lower double line (20 mm)."""
    word = docx.Document(io.BytesIO(data))
    word.sections[0].bottom_margin = Mm(21)
    word.sections[0].first_page_footer.paragraphs[0].paragraph_format.line_spacing = Pt(1)
    cc = next(p for p in word.paragraphs if p.text.startswith("抄送"))
    cc.paragraph_format.space_before = Pt(29)  # 30 pt sends it to the next page
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_a_letters_head_keeps_its_distances(official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = type_sample(DocType("函"), long=False)
    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    assert laid.report.ok, laid.report.violations
    m = laid.report.measured
    assert m is not None and m.letter is not None
    mark, upper, lower, first = m.letter.mark, m.letter.upper, m.letter.lower, m.letter.first
    assert mark is not None and upper is not None and lower is not None and first is not None
    assert abs((297 * MM - mark[3]) / MM - 30) <= 1  # the mark's top edge
    assert abs((mark[1] - upper[3]) / MM - 4) <= 1 and abs(lower[1] / MM - 20) <= 1
    assert abs((upper[1] - first[3]) / MM - 14 / MM) <= 1  # 7/8 of a 3号 character
    assert all(abs((r[2] - r[0]) / MM - 170) <= 2 for r in (upper, lower))
    last = m.letter.last  # the last line of text (here the 抄送) at least 14 pt above the lower double line
    assert last is not None and last[1] - lower[3] >= 14

    expect = expect_for(doc, fmt)
    for change, codes in (
        (old_head, {"letter_rules", "letter_first_line"}),
        (lower_head, {"letter_mark"}),
        (short_lines, {"letter_rules"}),
        (low_text, {"letter_last_line"}),
    ):
        edit = change if change is low_text else edit_head(change)  # type: ignore[arg-type]
        report = check_pdf(official_pool.convert(edit(laid.docx)), expect)  # type: ignore[operator]
        assert codes <= set(report.codes()), (change.__name__, report.violations)
    assert check_pdf(laid.pdf).ok  # recognised as a 信函 without being told
