"""22 lines of 28 characters per page (GB/T 9704 §5.2.2), measured on pages LibreOffice rendered.

The body is set on the grid: lines one grid line (225 mm / 22) apart, 28 CJK characters to a full line.
Set closer lines are allowed only where §7.3.5's remedy put them (near the 署名); characters not
compressed to fit the 156 mm line give 27 to a line.
"""

from __future__ import annotations

import io
import statistics

import docx
from docx.oxml.ns import qn

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import paginate
from typeset.convert import ConverterPool
from typeset.page_format import BODY_HEIGHT
from typeset.page_rules import check_pdf
from typeset.pdf_pages import LINE, expect_for
from typeset.render import PagePlan, render_docx
from typeset.samples import demo_notice


def uncompressed(data: bytes) -> bytes:
    """The body's characters at their full 16 pt (no -0.25 pt spacing): 27 fit the line, not 28."""
    word = docx.Document(io.BytesIO(data))
    for el in word.element.body.iter(qn("w:spacing")):
        if el.getparent().tag == qn("w:rPr"):
            el.set(qn("w:val"), "0")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_body_pages_hold_22_lines_of_28_characters(official_pool: ConverterPool) -> None:  # noqa: F811
    doc = demo_notice(pages=5)
    laid = paginate.lay_out(doc, "standard", official_pool.convert)
    assert laid.report.ok, laid.report.violations
    m = laid.report.measured
    assert m is not None
    body = m.pages[1]  # a page of body text only
    lines = [line for line in body.content if BODY_HEIGHT[0] <= line.y1 - line.y0 <= BODY_HEIGHT[1]]
    gaps = [a.y0 - b.y0 for a, b in zip(lines, lines[1:], strict=False) if a.y0 - b.y0 < 1.2 * LINE]
    assert abs(statistics.median(gaps) - LINE) < 0.3 and 28 in {len(line.text) for line in lines}

    # The closer pitch of §7.3.5's remedy from the first block on, not only near the 署名: pages 1-2 flagged.
    closer = check_pdf(
        official_pool.convert(render_docx(doc, plan=PagePlan(tight_from=0, tight_pitch=540))),
        expect_for(doc, "standard"),
    )
    pages = {v.page for v in closer.violations if v.code == "line_pitch"}
    assert {1, 2} <= pages and (closer.measured is not None and closer.measured.signature is not None)
    assert all(p < closer.measured.signature.page - 1 for p in pages), closer.violations  # none near the 署名

    wide = check_pdf(official_pool.convert(uncompressed(laid.docx)), expect_for(doc, "standard"))
    assert "chars_per_line" in wide.codes() and "每行 27 字" in str(wide.violations), wide.violations
