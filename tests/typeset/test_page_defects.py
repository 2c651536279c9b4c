"""The page defects of issue 14 (7, and the page side of 8), each reproduced on pages LibreOffice
really rendered: the checker (``typeset.page_rules``) must flag the defective pages, and the layout
loop (``typeset.paginate.lay_out``) must not produce them for the same document.

The defective pages are made the way the old estimate made them: a 版记 spacer computed for the
wrong page (a page too early or too late), the 附件说明 items or the 署名 block not kept together.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable

import docx
import pytest

from tests.esign.svc import PIN, enrol, make_seal, seal_doc
from tests.factories import Org
from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import colophon, paginate, pdf_measure
from typeset import gbt9704 as g
from typeset.conformance import check_docx
from typeset.convert import ConverterPool
from typeset.layout import DocType, OfficialDocument
from typeset.page_rules import PageReport, check_pdf
from typeset.pdf_measure import MM
from typeset.pdf_pages import AREA_BOTTOM, LINE, area_x, expect_for
from typeset.render import PagePlan, render_docx
from typeset.samples import body_text, demo_notice, type_sample

FULL = (g.TYPE_AREA_HEIGHT - g.LINE_PITCH) // g.LINE_PITCH * g.LINE_PITCH  # a spacer that fills a page


def rendered(
    pool: ConverterPool,
    doc: OfficialDocument,
    fmt: str = "standard",
    plan: PagePlan | None = None,
    edit: Callable[[bytes], bytes] | None = None,
) -> PageReport:
    data = render_docx(doc, fmt=fmt, plan=plan)  # type: ignore[arg-type]
    return check_pdf(pool.convert(edit(data) if edit else data), expect_for(doc, fmt))


def laid_out(
    pool: ConverterPool, doc: OfficialDocument, fmt: str = "standard", plan: PagePlan | None = None
) -> paginate.Laid:
    """Laid out by the loop, from the estimate or from a defective ``plan`` it has to repair."""
    laid = paginate.lay_out(doc, fmt, pool.convert, plan=plan)
    assert laid.report.ok, [(v.code, v.page, v.message) for v in laid.report.violations]
    return laid


def no_keep(pattern: str) -> Callable[[bytes], bytes]:
    """What the old renderer wrote: the paragraphs matching ``pattern`` not kept with the next."""

    def edit(data: bytes) -> bytes:
        word = docx.Document(io.BytesIO(data))
        for p in word.paragraphs:
            if re.match(pattern, p.text):
                p.paragraph_format.keep_with_next = False
        out = io.BytesIO()
        word.save(out)
        return out.getvalue()

    return edit


def test_a_blank_page_with_a_number_and_the_colophon_on_an_odd_page(official_pool: ConverterPool) -> None:  # noqa: F811
    """通报 ran to 5 pages: a blank page 4 still carrying "— 4 —", the 版记 on odd page 5."""
    doc, fmt = type_sample(DocType.tongbao, long=True)
    defect = PagePlan(colophon=(0, FULL))  # the spacer meant for the page before
    bad = rendered(official_pool, dataclasses.replace(doc, annexes=[]), fmt, defect)  # the 主体 as it was found
    blank = next(v.page for v in bad.violations if v.code == "blank_page")
    assert bad.measured is not None and bad.measured.pages[blank - 1].number is not None  # "— N —" on it
    assert {"blank_page", "colophon_odd_page"} <= set(bad.codes()) and bad.pages % 2
    laid = laid_out(official_pool, doc, fmt, defect)  # measured, the 版记 goes where the content really ends
    assert laid.report.pages % 2 == 0 and not any(p.blank for p in laid.report.measured.pages)  # type: ignore[union-attr]


def test_a_blank_page_before_an_even_colophon_page_carries_no_number(official_pool: ConverterPool) -> None:  # noqa: F811
    """意见 had a blank page with a page number; GB/T 9704 §7.5: a blank page before the 版记 page, and the
    版记 page, carry none."""
    base, fmt = type_sample(DocType.yijian, long=False)
    for n in range(3, 12):  # a body ending on an even page
        doc = dataclasses.replace(base, body=body_text(n))
        bad = rendered(official_pool, doc, fmt, PagePlan(colophon=(0, FULL)))
        if bad.pages % 2 == 0:
            break
    else:
        pytest.fail("no body length ends on an even page")
    assert bad.codes().count("page_number_unexpected") == 2, bad.violations
    laid = laid_out(official_pool, doc, fmt, PagePlan(colophon=(0, FULL)))
    # Laid out as §7.5 says: a section of its own without page numbers, which both checkers accept.
    plan = dataclasses.replace(laid.plan, colophon=(2, FULL - colophon.height(2, rules=True)))
    good = render_docx(doc, fmt=fmt, plan=plan)  # type: ignore[arg-type]
    report = check_pdf(official_pool.convert(good), expect_for(doc, fmt))
    assert report.ok, report.violations
    m = report.measured
    assert m is not None and m.pages[-2].blank and m.pages[-2].number is None and m.pages[-1].number is None
    assert check_docx(good).ok, check_docx(good).deviations


def test_a_letters_cc_does_not_stand_alone_on_a_page(official_pool: ConverterPool) -> None:  # noqa: F811
    """函 put its 抄送 alone on a page of its own (the 信函 版记 has no parity rule)."""
    doc, fmt = type_sample(DocType.han, long=False)
    defect = PagePlan(colophon=(1, FULL - g.LINE_PITCH))
    bad = rendered(official_pool, doc, fmt, defect)
    assert "colophon_alone" in bad.codes()
    laid = laid_out(official_pool, doc, fmt, defect)
    m = laid.report.measured
    assert m is not None and m.date is not None and m.colophon[0].page == m.date.page


def test_the_attachment_list_stays_with_its_first_item_and_the_seal_with_text(official_pool: ConverterPool) -> None:  # noqa: F811
    """demo_notice: "2.各地市联络员名单" alone at the top of page 4 with the 署名 and date, the seal on a
    page holding only the tail of the 附件说明."""
    doc = demo_notice(pages=3)
    bad = rendered(official_pool, doc, edit=no_keep(r"附件："))  # its later items still kept with the 署名
    assert {"attachments_split", "signature_without_text"} <= set(bad.codes()), bad.violations
    laid = laid_out(official_pool, doc)
    m = laid.report.measured
    assert m is not None and m.signature is not None and len(m.attachments) == 2
    assert {line.page for line in m.attachments} == {m.signature.page}


def test_the_signature_block_never_stands_on_a_page_without_text(official_pool: ConverterPool) -> None:  # noqa: F811
    """通知, 决定, 通报, 报告, 函: the seal landed on a page with no body text."""
    base, fmt = type_sample(DocType.jueding, long=False)
    for n in range(2, 16):  # a body after which the 署名 block does not fit
        doc = dataclasses.replace(base, body=body_text(n))
        bad = rendered(official_pool, doc, fmt, edit=no_keep(r"[^广0-9（]"))  # nothing kept with the 署名
        if "signature_without_text" in bad.codes():
            break
    else:
        pytest.fail("no body length leaves the 署名 block alone")
    laid = laid_out(official_pool, doc, fmt)
    m = laid.report.measured
    assert m is not None and m.signature is not None
    assert [line for line in m.pages[m.signature.page].content if line.y0 > m.signature.y1]


def _first_with(pool: ConverterPool, doc_type: DocType, attachments: list[str], want: str) -> paginate.Laid:
    """The first body length whose layout needed ``want`` (a PagePlan field) set."""
    base, fmt = type_sample(doc_type, long=False)
    ending = base.body[-1:] if attachments else []  # 专此函达。
    for n in range(2, 16):
        doc = dataclasses.replace(base, body=body_text(n) + ending, attachments=attachments)
        laid = laid_out(pool, doc, fmt)
        if getattr(laid.plan, want) is not None:
            return laid
    pytest.fail(f"no body length needs {want}")


def test_the_page_before_the_seal_is_not_left_half_empty(official_pool: ConverterPool) -> None:  # noqa: F811
    """The page before the seal's ended with 5-8 empty lines. GB/T 9704 §7.3.5: when the 署名 block does
    not fit, adjust the line spacing (within typeset.paginate.MIN_PITCH); and only the last lines of the
    last paragraph go with it, as Word does (LibreOffice moves a kept paragraph whole)."""
    split = _first_with(official_pool, DocType.jueding, [], "split_last")
    m = split.report.measured
    assert m is not None and m.signature is not None and m.signature.page > 0
    first = m.pages[m.signature.page].content[0]  # the paragraph's last lines, not its indented first one
    assert abs(first.x0 - area_x(first.page)[0]) < 2 and m.pages[m.signature.page].content.index(m.signature) >= 2
    assert m.pages[m.signature.page - 1].content[-1].y0 - AREA_BOTTOM < 5 * LINE
    closer = _first_with(official_pool, DocType.han, ["工作任务清单"], "tight_from")
    m = closer.report.measured
    assert m is not None and m.attachments and paginate.MIN_PITCH <= closer.plan.tight_pitch < g.LINE_PITCH
    assert m.pages[m.attachments[0].page].content[0] != m.attachments[0]  # back under the body text


def _seal_at(org: Org, pdf: bytes, page: int, rect: tuple[float, float, float, float]) -> bytes:
    from esign import service

    with org.db.write() as s:
        return service.seal_pdf(
            s,
            org.actor("yorick"),
            seal_id=org.seal_id,
            pin=PIN,
            pdf_bytes=pdf,  # type: ignore[attr-defined]
            page=page,
            rect=rect,
            reference="粤府办〔2026〕12号",
        )


def test_the_seal_sits_on_the_signature_and_date_of_the_sealed_copies(org: Org, official_pool: ConverterPool) -> None:  # noqa: F811
    """Defect 8, measured on sealed files: the seal covered the 附注, sat 6-10 mm left of the 署名/date
    centre, its top 14 mm below the text. The sealed PDF (signature widget) and the sealed Word file
    (seal picture) pass; a seal put where those defects put it is flagged."""
    enrol(org, "yorick")
    org.seal_id = make_seal(org, users=("yorick",))  # type: ignore[attr-defined]
    doc = dataclasses.replace(demo_notice(pages=2), note="联系人：张三，电话：020-12345678")
    laid = laid_out(official_pool, doc)
    signature, date = pdf_measure.seal_anchor_texts(laid.docx)
    placement = pdf_measure.seal_placement(laid.pdf, date_text=date, signature_text=signature)
    sealed = check_pdf(_seal_at(org, laid.pdf, placement.page, placement.rect), expect_for(doc, "standard"))
    assert sealed.ok and sealed.measured is not None and sealed.measured.sealed, sealed.violations
    word = check_pdf(
        official_pool.convert(seal_doc(org, "yorick", org.seal_id, laid.docx)),  # type: ignore[attr-defined]
        expect_for(doc, "standard"),
    )
    assert word.ok and word.measured is not None and word.measured.sealed, word.violations
    x0, y0, x1, y1 = placement.rect
    for dx, dy, code in ((-8, 0, "seal_off_centre"), (0, -6, "note_under_seal"), (0, -14, "seal_top_gap")):
        moved = (x0 + dx * MM, y0 + dy * MM, x1 + dx * MM, y1 + dy * MM)
        report = check_pdf(_seal_at(org, laid.pdf, placement.page, moved), expect_for(doc, "standard"))
        assert code in report.codes(), (code, report.violations)
