"""The 版记 (抄送, 印发机关和印发日期) at the bottom of the last page, and the page numbers.

Part of :mod:`typeset.render` (functions on its ``Writer``); :mod:`typeset.paginate` uses the
row and height functions to place the 版记 from where the content really ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from docx.enum.section import WD_SECTION
from docx.text.paragraph import Paragraph as DocxParagraph

from typeset import _ooxml as x
from typeset import gbt9704 as g
from typeset.gbt9704 import text_width
from typeset.layout import OfficialDocument, format_cn_date

if TYPE_CHECKING:
    from typeset.render import Writer

Row = tuple[list[tuple[str, str, int, str | None]], dict[str, Any]]
# Footers sit 20 mm above the page bottom (where the 信函 lower double line goes); the page-number
# paragraph's space after lifts the dash centre to 7 mm below the type area (35 - 7 = 28 mm).
FOOTER_DISTANCE = g.mm(20)
PAGE_NUMBER_AFTER = g.mm(28) - g.mm(20) - 140
RULE_LINE = 20  # twips: the height of a rule's empty paragraph
RULE_SLACK = 25


def write(w: Writer, *, rules: bool, printer: bool) -> None:
    """抄送 + 印发 at the bottom of the last page, an even one (§7.4: the last 版记 rule coincides
    with the bottom edge of the type area on the last page; 信函: its last line on the last line).

    Word has no "bottom of page" flow position that LibreOffice also honours (it ignores a bottom-
    aligned w:framePr), so an exact-height spacer pushes the block down. Its page and height are
    estimated here by counting lines on the 22 x 28 grid (exact for plain text, approximate for
    tables and long Latin runs) or measured on the rendered pages (``plan.colophon``). A 版记 that
    must go two pages on (the content ends on an even page that has no room) gets a blank page
    before it, and both sit in a section without page numbers (§7.5)."""
    found = rows(w.doc, printer=printer)
    if not found:
        return
    small = g.SIZE_4 * 10
    counts = lines(found)
    needed = height(sum(counts), rules=rules, rows=len(found))
    breaks, space = w.plan.colophon or estimate(w, needed, letter=not rules)
    if w.plan.keep_colophon and breaks == 0 and w.end is not None:
        w.end.paragraph_format.keep_with_next = True  # a 信函's 抄送 moves with the 署名 block
    first: DocxParagraph | None = None
    if breaks >= 2:
        _end_section(w)
        w.para([], lines=0)  # the blank page
    if breaks:
        first = w.para([], line=g.LINE_PITCH, lines=0)
        x.page_break_before(first)
    if space > 0:
        spacer = w.para([], line=space, lines=0)
        first = first or spacer
    made: list[DocxParagraph] = []
    for i, ((runs, fmt), n) in enumerate(zip(found, counts, strict=True)):
        if rules:  # thick above the first row, thin between rows
            made.append(_rule(w, g.RULE_THICK if i == 0 else g.RULE_THIN))
        row = w.para(runs, spacing=None, lines=n, **fmt)
        row.paragraph_format.keep_together = True
        made.append(row)
    if rules:
        made.append(_rule(w, g.RULE_THICK))
    for p in ([first] if first is not None else []) + made[:-1]:
        p.paragraph_format.keep_with_next = True
    w.page, w.y = w.page + breaks, g.TYPE_AREA_HEIGHT
    if printer and w.doc.printer:
        x.tab_stops(made[-2 if rules else -1], [("right", g.TYPE_AREA_WIDTH - small)])


def _rule(w: Writer, size: int) -> DocxParagraph:
    """A 版记 rule: the bottom border of an empty paragraph without indents, one point high. The rows
    are indented one 字 on each side (抄送 also hangs after its colon), and a paragraph's border runs
    only between its indents: on the rows themselves the rules came out ~147 mm, not the 156 mm type
    area the standard asks for (§7.4.1)."""
    p = w.para([], line=RULE_LINE, lines=0, spacing=None)
    x.borders(p, bottom=("single", size, "000000", 0))
    return p


def estimate(w: Writer, needed: int, *, letter: bool) -> tuple[int, int]:
    """(pages on, space above) for a 版记 ``needed`` twips tall, from the estimated position."""
    fits = w.y + needed <= g.TYPE_AREA_HEIGHT
    breaks = 0 if fits else 1
    if not letter and (w.page + breaks) % 2:
        breaks += 1
    y = g.LINE_PITCH if breaks else w.y  # the page-break paragraph takes a line
    return breaks, (g.TYPE_AREA_HEIGHT - y) // g.LINE_PITCH * g.LINE_PITCH - needed


def _end_section(w: Writer) -> None:
    """§7.5: the blank page and the 版记 page go in a section of their own, without page numbers."""
    x.end_section(w.word)
    section = w.word.sections[-1]
    section.start_type = WD_SECTION.NEW_PAGE
    section.different_first_page_header_footer = False


def page_numbers(w: Writer, *, first_page: bool = True) -> None:
    """— N — in 4号 宋体 (Latin and East Asian), odd pages 右空一字, even pages 左空一字."""
    section = w.word.sections[0]

    def style(run: object) -> None:
        x.style_run(run, g.FONT_SONGTI, g.SIZE_4, spacing=None)  # type: ignore[arg-type]

    indent = g.SIZE_4 * 10
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        x.format_paragraph(
            p,
            align=align,
            left=indent if align == "left" else 0,
            right=indent if align == "right" else 0,
            line=g.SIZE_4 * 10,
            after=PAGE_NUMBER_AFTER,
        )
        dash = g.PAGE_NUMBER_DASH
        style_run: Callable[[object], None] = style
        style_run(p.add_run(dash + " "))
        x.add_field(p, "PAGE", style)
        style_run(p.add_run(" " + dash))
    if not first_page:
        section.different_first_page_header_footer = True
    for later in w.word.sections[1:]:  # the §7.5 section: blank page and 版记 page, no numbers
        for footer in (later.footer, later.even_page_footer):
            footer.is_linked_to_previous = False


def rows(doc: OfficialDocument, *, printer: bool) -> list[Row]:
    """The 版记 rows: 抄送 (4号, wrapped lines aligned after the colon) and the 印发 line."""
    out: list[Row] = []
    small = g.SIZE_4 * 10
    if doc.cc:
        head = "抄送："
        text = head + "，".join(doc.cc).rstrip("。") + "。"
        hang = text_width(head, char=small)
        out.append(
            (
                [(text, g.FONT_FANGSONG, g.SIZE_4, None)],
                {"left": small + hang, "right": small, "first_line": -hang, "align": "both"},
            )
        )
    if printer and doc.printer:
        date = format_cn_date(doc.print_date) + "印发" if doc.print_date else ""
        out.append(
            (
                [(f"{doc.printer}\t{date}", g.FONT_FANGSONG, g.SIZE_4, None)],
                {"left": small, "right": small, "align": "left"},
            )
        )
    return out


def lines(found: list[Row]) -> list[int]:
    """Estimated lines of each 版记 row (4号 characters between one-字 indents)."""
    small = g.SIZE_4 * 10
    return [
        max(1, math.ceil((text_width(r[0][0][0], char=small, digit=small // 2) + 2 * small) / g.TYPE_AREA_WIDTH))
        for r in found
    ]


def height(count: int, *, rules: bool, rows: int = 2) -> int:
    """Twips a 版记 of ``count`` lines in ``rows`` rows takes: with rules, a one-point paragraph and the
    border's width for each rule, and ``RULE_SLACK`` (LibreOffice moves a 版记 on whose last rule
    touches the bottom edge)."""
    if not rules:
        return count * g.LINE_PITCH
    borders = 2 * g.RULE_THICK + max(rows - 1, 0) * g.RULE_THIN  # eighths of a point
    return count * g.LINE_PITCH + (rows + 1) * RULE_LINE + math.ceil(borders * 20 / 8) + RULE_SLACK
