"""Every 公文种类, short and long, laid out through LibreOffice and judged on its real pages.

Each of the 15 types in the format it is issued in (文件格式; 函 信函格式; 纪要 纪要格式; 命令（令） 命令格式),
once with a short body and once with several pages, a table, three bound attachments and a 附注, goes
through ``typeset.paginate.lay_out`` with the warm converter pool; every GB/T 9704 page rule
(``typeset.page_rules``) must hold on the PDF, the Word file it came from must give the same
pages again and pass the Word checker. The first and last pages are kept as PNG under
test-artifacts/typeset/pages/ (gitignored) for a human to look at.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import paginate
from typeset.conformance import check_docx
from typeset.convert import ConverterPool
from typeset.layout import DocType
from typeset.page_rules import check_pdf
from typeset.pdf_pages import expect_for
from typeset.samples import type_sample

PAGES = Path(__file__).resolve().parents[2] / "test-artifacts" / "typeset" / "pages"
CASES = [(doc_type, long) for doc_type in DocType for long in (False, True)]


def save_pages(pdf: bytes, name: str) -> None:
    """First and last page as PNG (100 dpi) for a human to look at."""
    PAGES.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(pdf)
    for index in sorted({0, len(document) - 1}):
        document[index].render(scale=100 / 72).to_pil().save(PAGES / f"{name}-p{index + 1}.png")


@pytest.mark.parametrize(
    ("doc_type", "long"), CASES, ids=[f"{t.value}-{'long' if long else 'short'}" for t, long in CASES]
)
def test_every_type_keeps_the_page_rules_on_its_rendered_pages(
    official_pool: ConverterPool,  # noqa: F811
    doc_type: DocType,
    long: bool,
) -> None:
    doc, fmt = type_sample(doc_type, long=long)
    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    save_pages(laid.pdf, f"{doc_type.value}-{'long' if long else 'short'}")
    assert laid.report.ok, [(v.code, v.page, v.message) for v in laid.report.violations]
    assert laid.passes <= paginate.MAX_PASSES
    if long:  # several pages, the 附件说明 whole and the 附注 on the line below the date
        m = laid.report.measured
        assert m is not None and laid.report.pages >= 3 and len(m.attachments) == 3
        assert fmt == "minutes" or m.note is not None
        # Its three attachments bound: each from a new page after the 主体 (the seal stays there).
        assert [a.label.text for a in m.annexes] == ["附件1", "附件2", "附件3"]
        starts = [a.label.page for a in m.annexes]
        assert starts == sorted(set(starts)) and (m.date is None or m.date.page < starts[0])
    assert laid.report.pages % 2 == 0 or fmt == "letter"
    # The Word file returned is the one the PDF came from: converted again, it gives the same pages.
    again = check_pdf(official_pool.convert(laid.docx), expect_for(doc, fmt))
    assert again.ok and again.pages == laid.report.pages
    assert check_docx(laid.docx).ok, check_docx(laid.docx).deviations
