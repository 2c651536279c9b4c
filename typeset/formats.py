"""The four GB/T 9704 formats, each laid out top to bottom on :mod:`typeset.render`'s ``Writer``:
文件格式 (``standard``), 信函格式 (``letter``, §10.1), 纪要格式 (``minutes``, §10.3) and 命令格式
(``order``, §10.2). :func:`typeset.render.render_docx` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from docx.shared import Twips

from typeset import _ooxml as x
from typeset import annex, closing, colophon, joint
from typeset import gbt9704 as g
from typeset.layout import format_cn_date

if TYPE_CHECKING:
    from typeset.render import Run, Writer

LETTER_HEADER_DISTANCE = g.mm(30)
LETTER_DOUBLE_LINE = ("thickThinSmallGap", 18)
LETTER_BOTTOM_LINE = ("thinThickSmallGap", 18)
# 信函格式 (§10.1), calibrated on LibreOffice PDFs (tests/typeset/test_letter_pages.py): the mark in 一号
# with the double line 12 pt under its line puts the line 4 mm under the glyphs and leaves 7/8 of a 3号
# character (14 pt) to the first line under it. A 小初 mark left 3.8 mm there, and moving the body down
# does not help: its lines snap to the 22-line grid. The space after the head keeps the body where it
# was with the larger mark, so the pages below break as before.
LETTER_MARK_SIZE = g.SIZE_1
LETTER_LINE_SPACE = 12
LETTER_AFTER_LINE = 100


def _standard(w: Writer) -> None:
    doc = w.doc
    marks = w.top_left_marks()
    # Top edge of the 发文机关标志 35 mm below the top of the type area (§7.2.3); 联合行文: names stacked.
    joint.mark(w, before=g.mm(35) - marks * g.LINE_PITCH)
    w.red_separator(w.number_line())
    w.title()
    w.recipients()
    w.body(doc.body)
    closing.attachments(w)
    closing.signature_and_date(w)
    closing.note(w)
    annex.write(w)  # bound attachments, each from a new page, before the 版记
    colophon.write(w, rules=True, printer=True)
    colophon.page_numbers(w)


def _letter(w: Writer) -> None:
    """信函格式: mark 30 mm from the page top with a red double line (thick over thin) 4 mm below,
    a red double line (thin over thick) 20 mm above the page bottom, both 170 mm long; both live in
    the first-page header/footer so later pages keep the normal 37 mm 天头. No page number on page 1."""
    doc = w.doc
    section = w.word.sections[0]
    section.different_first_page_header_footer = True
    section.header_distance = Twips(LETTER_HEADER_DISTANCE)
    overhang = (g.mm(170) - g.TYPE_AREA_WIDTH) // 2
    head = section.first_page_header.paragraphs[0]
    size = min(LETTER_MARK_SIZE, (2 * g.TYPE_AREA_WIDTH // 20) // max(len(doc.issuer_mark_text or doc.issuer_name), 1))
    x.format_paragraph(
        head,
        align="center",
        left=-overhang,
        right=-overhang,
        line=w.mark_line(size),
        after=LETTER_AFTER_LINE,
    )
    x.style_run(
        head.add_run(doc.issuer_mark_text or doc.issuer_name), g.FONT_XIAOBIAOSONG, size, color=g.RED, spacing=None
    )
    style, sz = LETTER_DOUBLE_LINE
    x.borders(head, bottom=(style, sz, g.RED, LETTER_LINE_SPACE))
    foot = section.first_page_footer.paragraphs[0]
    x.format_paragraph(foot, align="center", left=-overhang, right=-overhang, line=g.SIZE_4 * 10)
    style, sz = LETTER_BOTTOM_LINE
    x.borders(foot, bottom=(style, sz, g.RED, 0))
    # 份号/密级/紧急程度 flush left under the double line; 发文字号 flush right on the first of those lines.
    lefts = [t for t in (doc.copy_number, doc.classification, doc.urgency) if t] or [""]
    for i, text in enumerate(lefts):
        font = g.FONT_FANGSONG if text == doc.copy_number else g.FONT_HEITI
        runs: list[Run] = [(text, font, g.SIZE_3, None)]
        if i == 0 and doc.number:
            runs.append(("\t" + doc.number, g.FONT_FANGSONG, g.SIZE_3, None))
        p = w.para(runs, align="left", lines=1)
        x.tab_stops(p, [("right", g.TYPE_AREA_WIDTH)])
    w.title()
    w.recipients()
    w.body(doc.body)
    closing.attachments(w)
    closing.signature_and_date(w)
    closing.note(w)
    annex.write(w)  # bound attachments, each from a new page, before the 版记
    colophon.write(w, rules=False, printer=False)
    colophon.page_numbers(w)


def _minutes(w: Writer) -> None:
    """纪要格式: red ×××纪要 35 mm below the type area top; 期号 centred two lines under it and the
    issuer/date line with the red separator are common practice, not the standard. No seal."""
    doc = w.doc
    w.top_left_marks()
    marks = sum(1 for t in (doc.copy_number, doc.classification, doc.urgency) if t)
    joint.mark(w, before=g.mm(35) - marks * g.LINE_PITCH)
    if doc.number:
        w.para([(doc.number, g.FONT_FANGSONG, g.SIZE_3, None)], align="center", before=2 * g.LINE_PITCH)
    date = format_cn_date(doc.date) if doc.date else ""
    line = w.para(
        [(doc.issuer_name + "\t" + date, g.FONT_FANGSONG, g.SIZE_3, None)],
        align="left",
        before=g.LINE_PITCH if doc.number else 2 * g.LINE_PITCH,
        lines=1,
    )
    x.tab_stops(line, [("right", g.TYPE_AREA_WIDTH)])
    w.red_separator(line)
    w.title()
    w.recipients()
    w.body(doc.body)
    closing.attachments(w)
    if doc.attendance:
        closing.attendance(w, doc.attendance)
    closing.note(w)
    annex.write(w)  # bound attachments, each from a new page, before the 版记
    colophon.write(w, rules=True, printer=True)
    colophon.page_numbers(w)


def _order(w: Writer) -> None:
    """命令（令）格式 (§10.2): red ×××令 20 mm below the type area top, the 令号 centred two lines under
    it, the body two lines under that (no red line, no title); the 签发人's job title with the 签名章
    four characters in from the right, the date one line below."""
    doc = w.doc
    marks = w.top_left_marks()
    # 20 mm is less than two lines: under a 密级 and a 紧急程度 the mark follows them. (A negative space
    # before is no OOXML value; LibreOffice read it as a huge one and put the mark on page 2.)
    w.mark(doc.mark_text, before=max(g.mm(20) - marks * g.LINE_PITCH, 0))
    number = doc.number or ("第　　号" if doc.draft else "")
    # The body starts two lines below the 令号: space after it, whatever the first block is.
    w.para([(number, g.FONT_FANGSONG, g.SIZE_3, None)], align="center", before=2 * g.LINE_PITCH, after=2 * g.LINE_PITCH)
    w.advance(0, g.LINE_PITCH, 2)
    w.recipients()
    w.body(doc.body)
    closing.attachments(w)
    closing.order_signature(w)
    closing.note(w)
    annex.write(w)  # bound attachments, each from a new page, before the 版记
    colophon.write(w, rules=True, printer=True)
    colophon.page_numbers(w)


FORMATS: dict[str, Callable[[Writer], None]] = {
    "standard": _standard,
    "letter": _letter,
    "minutes": _minutes,
    "order": _order,
}
