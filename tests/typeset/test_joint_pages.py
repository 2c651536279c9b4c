"""联合行文 on real rendered pages: the stacked 发文机关标志, the 署名 block with one seal per issuer, the
measured page rules for it (``typeset.joint``), short and long, through LibreOffice."""

from __future__ import annotations

import dataclasses

import pytest

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from tests.typeset.test_page_rules import save_pages
from typeset import joint, paginate, pdf_measure
from typeset.conformance import check_docx
from typeset.convert import ConverterPool
from typeset.layout import OfficialDocument, format_cn_date
from typeset.page_rules import check_pdf
from typeset.pdf_pages import expect_for
from typeset.samples import demo_notice

TWO = ["广东省财政厅"]
FIVE = ["广东省财政厅", "广东省民政厅", "广东省卫生健康委员会", "广东省人力资源和社会保障厅"]


def joint_notice(others: list[str], *, pages: int, sealed: bool = True) -> OfficialDocument:
    doc = demo_notice(pages=pages)
    return dataclasses.replace(
        doc, issuer_name="广东省教育厅", joint_issuers=others, number="粤教发〔2026〕3号", seal_space=sealed
    )


CASES = [("two", TWO, 1), ("two", TWO, 3), ("five", FIVE, 1), ("five", FIVE, 3)]


@pytest.mark.parametrize(("name", "others", "pages"), CASES, ids=[f"{n}-{p}" for n, _, p in CASES])
def test_joint_pages_keep_the_page_rules(
    official_pool: ConverterPool,  # noqa: F811
    name: str,
    others: list[str],
    pages: int,
) -> None:
    doc = joint_notice(others, pages=pages)
    laid = paginate.lay_out(doc, "standard", official_pool.convert)
    save_pages(laid.pdf, f"联合行文-{name}-{pages}")
    assert laid.report.ok, [(v.code, v.message) for v in laid.report.violations]
    assert laid.report.pages % 2 == 0 and laid.passes <= paginate.MAX_PASSES
    word = check_docx(laid.docx)  # the Word checker finds the stacked mark where one issuer's stands
    assert word.ok, word.deviations
    m = laid.report.measured
    assert m is not None and m.signature is not None and m.date is not None
    assert m.signature.text == "".join(joint.rows(doc)[0]) and m.signature.page == m.date.page
    seals = joint.placements(laid.pdf, joint.rows(doc), format_cn_date(doc.date), pdf_measure.DEFAULT_SEAL_MM)
    assert [s.name for s in seals] == ["广东省教育厅", *others]  # issuing order, one seal each
    # The first page stacks the names, the lead first, with 文件 beside them (not under them).
    with pdf_measure.opened(laid.pdf) as document:
        lines = pdf_measure.page_lines(document, 0)
    big = [line for line in lines if line.y1 - line.y0 > 25]
    # 文件 stands beside the middle of the stack: on a line of its own between two names, or on the
    # middle name's line when there is an odd number of them (one line then, as PDFium reads it).
    assert [line.text.removesuffix("文件") for line in big if line.text != "文件"] == ["广东省教育厅", *others]
    suffix = next(line for line in big if line.text.endswith("文件"))
    stack = [line for line in big if line.text != "文件"]
    middle = (stack[0].y1 + stack[-1].y0) / 2
    assert abs((suffix.y0 + suffix.y1) / 2 - middle) < 2 * pdf_measure.MM
    assert suffix.spans[-2][0] > max(line.spans[len(line.text.removesuffix("文件")) - 1][1] for line in stack)


def test_names_stack_lead_first_without_seals(official_pool: ConverterPool) -> None:  # noqa: F811
    doc = joint_notice(FIVE, pages=1, sealed=False)
    laid = paginate.lay_out(doc, "standard", official_pool.convert)
    assert laid.report.ok, [(v.code, v.message) for v in laid.report.violations]
    m = laid.report.measured
    assert m is not None and m.date is not None
    flow = [line for page in m.pages for line in page.content]
    at = flow.index(m.date)
    assert [line.text for line in flow[at - 5 : at]] == ["广东省教育厅", *FIVE]
    assert len({round(line.x0) for line in flow[at - 5 : at]}) == 1  # one under the other, aligned


def test_the_rules_catch_seals_that_touch(official_pool: ConverterPool, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Rows laid out too close for their seals: the measured rules say so (one seal per name, apart)."""
    monkeypatch.setattr(joint, "ROW_LINES", 3)
    doc = joint_notice(["广东省财政厅", "广东省民政厅", "广东省卫生厅"], pages=1)
    pdf = official_pool.convert(paginate.lay_out(doc, "standard", official_pool.convert, passes=1).docx)
    codes = check_pdf(pdf, expect_for(doc, "standard")).codes()
    assert "joint_seals_overlap" in codes
