"""The 版记 rules span the whole 156 mm type area (GB/T 9704 §7.4.1: 版记中的分隔线与版心等宽), measured on
pages LibreOffice rendered. They sat on the indented 抄送 and 印发 paragraphs and came out ~147 mm long."""

from __future__ import annotations

import io

import docx
from docx.oxml.ns import qn

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import gbt9704 as g
from typeset import paginate
from typeset.conformance import check_docx
from typeset.convert import ConverterPool
from typeset.layout import DocType
from typeset.page_rules import RULE_TOLERANCE_MM, check_pdf
from typeset.pdf_measure import MM
from typeset.pdf_pages import area_x, expect_for
from typeset.samples import type_sample


def indented_rules(data: bytes) -> bytes:
    """What the old renderer wrote: the 版记 rules on paragraphs indented one 4号 字 on each side."""
    word = docx.Document(io.BytesIO(data))
    at = next(i for i, p in enumerate(word.paragraphs) if p.text.startswith("抄送"))
    for p in word.paragraphs[at - 1 :]:
        ppr = p._p.pPr
        if ppr is not None and ppr.find(qn("w:pBdr")) is not None:
            p.paragraph_format.left_indent = p.paragraph_format.right_indent = docx.shared.Twips(g.SIZE_4 * 10)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_the_colophon_rules_span_the_type_area(official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = type_sample(DocType("通知"), long=False)
    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    assert laid.report.ok, laid.report.violations
    m = laid.report.measured
    assert m is not None and len(m.rules) == 3  # thick above 抄送, thin between, thick under the 印发 line
    left, right = area_x(m.colophon[-1].page)
    for x0, _, x1, _ in m.rules:
        assert abs((x1 - x0) / MM - 156) <= RULE_TOLERANCE_MM and abs(x0 - left) <= MM and x1 <= right + MM
    thick, thin, _ = sorted(m.rules, key=lambda r: -r[1])
    assert thick[3] - thick[1] > thin[3] - thin[1]  # 0.35 mm over 0.25 mm
    assert check_docx(laid.docx).ok, check_docx(laid.docx).deviations

    bad = indented_rules(laid.docx)
    report = check_pdf(official_pool.convert(bad), expect_for(doc, fmt))
    assert report.codes().count("colophon_rule_length") == 1, report.violations  # one finding for the page
    assert "colophon_rule_length" in check_docx(bad).codes()  # the Word checker sees the indents too
