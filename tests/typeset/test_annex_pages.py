"""Bound attachments (随文装订的附件, GB/T 9704 §8) on their rendered pages: each starts a new page after
the 主体 and before the 版记, "附件N" flush left on line 1 and its title centred on line 3; the page
numbers go on through them; the seal stays on the 主体's 署名 even when an attachment ends with the
same date. The page rules and ``office docx check`` flag each defect when it is put back into the
Word file by hand. (Every long sample binds its three attachments: tests/typeset/test_page_rules.py.)
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import docx
from docx.oxml.ns import qn
from docx.shared import Mm

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import paginate, pdf_measure
from typeset.conformance import check_docx
from typeset.convert import ConverterPool
from typeset.layout import Annex, DocType, OfficialDocument, Paragraph
from typeset.page_rules import check_pdf
from typeset.pdf_pages import expect_for
from typeset.render import render_docx
from typeset.samples import type_sample

DATE = "2026年11月29日"


def sample() -> tuple[OfficialDocument, str]:
    """A short 通知 with two bound attachments; the second ends with the document's own date."""
    doc, fmt = type_sample(DocType.tongzhi, long=False)
    return dataclasses.replace(
        doc,
        attachments=["任务清单", "关于进一步做好政务服务事项标准化工作的实施方案和有关事项的说明"],
        annexes=[
            Annex(1, "任务清单", (Paragraph("各地级以上市人民政府负责本地区的标准化工作。"),)),
            Annex(
                2,
                "关于进一步做好政务服务事项标准化工作的实施方案和有关事项的说明",
                (Paragraph("按照省政府的工作安排，制定本方案。"), Paragraph(DATE)),
            ),
        ],
    ), fmt


def edited(change: Callable[[list[docx.text.paragraph.Paragraph]], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        word = docx.Document(io.BytesIO(data))
        change(word.paragraphs)
        out = io.BytesIO()
        word.save(out)
        return out.getvalue()

    return edit


def _at(paras: list[docx.text.paragraph.Paragraph], text: str) -> int:
    return next(i for i, p in enumerate(paras) if p.text == text)


def no_page_break(paras: list[docx.text.paragraph.Paragraph]) -> None:
    ppr = paras[_at(paras, "附件2")]._p.pPr
    ppr.remove(ppr.find(qn("w:pageBreakBefore")))


def title_on_line_two(paras: list[docx.text.paragraph.Paragraph]) -> None:
    paras[_at(paras, "附件2") + 1].paragraph_format.space_before = 0


def label_centred(paras: list[docx.text.paragraph.Paragraph]) -> None:
    paras[_at(paras, "附件1")]._p.pPr.find(qn("w:jc")).set(qn("w:val"), "center")


def seal_on_an_attachment(paras: list[docx.text.paragraph.Paragraph]) -> None:
    """A seal picture (a 20 mm red disc) on the last attachment's last paragraph, not on the 主体's 署名."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(image).ellipse((0, 0, 199, 199), outline="red", width=8)
    png = io.BytesIO()
    image.save(png, format="PNG")
    png.seek(0)
    paras[-1].add_run().add_picture(png, width=Mm(20), height=Mm(20))


def test_bound_attachments_on_pages_of_their_own(official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = sample()
    laid = paginate.lay_out(doc, fmt, official_pool.convert)
    assert laid.report.ok, [(v.code, v.page, v.message) for v in laid.report.violations]
    m = laid.report.measured
    assert m is not None and m.date is not None and m.signature is not None
    labels = [(a.label.text, a.label.page) for a in m.annexes]
    assert labels == [("附件1", m.date.page + 1), ("附件2", m.date.page + 2)]
    assert "".join(line.text for line in m.annexes[1].title) == doc.annexes[1].title
    assert len(m.annexes[1].title) == 2  # the long title broken in two, centred on lines 3 and 4
    # The numbers go on through the attachments; the 版记 at the bottom of the last page, an even one.
    numbered = [p.number.text for p in m.pages if p.number is not None]
    assert numbered[: len(m.pages) - 1] == [f"—{n}—" for n in range(1, len(m.pages))]
    assert len(m.pages) % 2 == 0 and m.colophon[0].page == len(m.pages) - 1 >= m.annexes[-1].label.page
    # The seal goes on the 主体's 署名, not on the attachment's last line, which is the same date.
    placement = pdf_measure.seal_placement(laid.pdf, date_text=DATE, signature_text=m.signature.text)
    assert placement.page == m.date.page < m.annexes[0].label.page and not placement.covers
    report = check_docx(laid.docx)
    assert report.ok, report.deviations
    word = docx.Document(io.BytesIO(laid.docx))
    assert word.paragraphs[report.elements["date"]].text == DATE and report.elements["date"] < report.elements["annex"]
    assert word.paragraphs[report.elements["signature"]].text == doc.signature_name
    # Unbound, an attachment stays a line of the 附件说明 only.
    unbound = render_docx(dataclasses.replace(doc, annexes=doc.annexes[:1]), fmt=fmt)  # type: ignore[arg-type]
    assert [p.text for p in docx.Document(io.BytesIO(unbound)).paragraphs].count("附件2") == 0


def test_the_page_rules_and_the_word_check_flag_misplaced_attachments(official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = sample()
    data = render_docx(doc, fmt=fmt)  # type: ignore[arg-type]
    for change, page_code, word_code in (
        (no_page_break, "annex_not_new_page", "annex_new_page"),
        (title_on_line_two, "annex_title_position", "annex_title_position"),
        (label_centred, "annex_label_position", "annex_label_align"),
        (seal_on_an_attachment, "annex_sealed", None),
    ):
        bad = edited(change)(data)
        report = check_pdf(official_pool.convert(bad), expect_for(doc, fmt))
        assert page_code in report.codes(), (change.__name__, report.codes())
        assert word_code is None or word_code in check_docx(bad).codes(), (change.__name__, check_docx(bad).codes())
    # Without being told what the layout printed (``office check FILE.pdf``), the pages are read alike.
    report = check_pdf(official_pool.convert(data))
    assert report.ok and [a.label.text for a in report.measured.annexes] == ["附件1", "附件2"]  # type: ignore[union-attr]
    missing = check_pdf(
        official_pool.convert(render_docx(dataclasses.replace(doc, annexes=[]), fmt=fmt)), expect_for(doc, fmt)
    )  # type: ignore[arg-type]
    assert missing.codes().count("annex_missing") == 2
