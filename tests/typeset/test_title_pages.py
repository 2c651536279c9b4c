"""Title line breaks judged on the rendered page (GB/T 9704 §7.3.1: 标题回行时，要做到词意完整，排列对称).

``typeset.title_lines`` counts digits as half a 字; the stand-in fonts draw them wider and LibreOffice
puts a space between digits and CJK, so a title it estimated as one line came out as "…的通 / 报". The
page rule finds such a line on the PDF, and the layout loop breaks the title again with the widths
measured there.
"""

from __future__ import annotations

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import paginate
from typeset.convert import ConverterPool
from typeset.layout import DocType
from typeset.page_rules import check_pdf
from typeset.pdf_pages import compact, expect_for
from typeset.render import render_docx, title_breaks
from typeset.samples import type_sample


def test_a_title_with_digits_is_broken_again_from_its_measured_widths(official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = type_sample(DocType("通报"), long=False)  # 关于2026年第三季度政务服务督查情况的通报
    assert len(title_breaks(doc)) == 1  # the estimate: one line
    estimated = official_pool.convert(render_docx(doc))
    for report in (check_pdf(estimated, expect_for(doc, fmt)), check_pdf(estimated)):  # told, or recognised
        orphan = [v for v in report.violations if v.code == "title_orphan"]
        assert orphan and orphan[0].page == 1, report.violations
        assert report.measured is not None and [line.text for line in report.measured.title][-1] == "报"

    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    assert laid.report.ok, laid.report.violations
    m = laid.report.measured
    assert m is not None and laid.plan.title is not None
    printed = [line.text for line in m.title]
    assert printed == [compact(t) for t in laid.plan.title] and "".join(printed) == compact(doc.title)
    assert len(printed) == 2 and min(map(len, printed)) >= 5, printed  # two even lines, cut between words
    assert max(map(len, printed)) - min(map(len, printed)) <= 6, printed


def test_titles_that_fit_as_estimated_are_left_as_they_are(official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = type_sample(DocType("批复"), long=False)  # no digits: the estimate holds
    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    assert laid.report.ok and laid.plan.title is None, laid.report.violations
    assert laid.report.measured is not None
    assert [line.text for line in laid.report.measured.title] == [compact(t) for t in title_breaks(doc)]
