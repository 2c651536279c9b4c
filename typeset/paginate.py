"""Lay out, render, measure, adjust: the pages of an official document settled on the real rendering.

:func:`typeset.render.render_docx` estimates where lines fall by counting characters on the 22 x 28
grid; LibreOffice (whose PDF is the official copy) breaks lines and pages its own way: wider
digits in the stand-in fonts, whole paragraphs moved by keep-with-next, tables. So each pass
renders, converts and judges the real pages (:mod:`typeset.page_rules`); when a rule fails, the
standard's own remedies go into a :class:`typeset.render.PagePlan` for the next pass:

- the 署名 block (with the 附件说明 or the last paragraph kept with it) went to the next page and
  the page before has room for all but a few lines: that page's lines are set closer, down to
  ``MIN_PITCH`` (GB/T 9704 §7.3.5: 采取调整行距、字距的措施解决); else, when keep-with-next took the
  whole last paragraph along (LibreOffice moves such a paragraph whole, Word only its last lines),
  it is split so its first lines fill the page before (this also where no rule failed);
- the 版记 is placed from where the content really ends: on that page when it is even and has room,
  else on the next even page, after a §7.5 blank page (both without page numbers) when the content
  ends on an even page without room; a 信函's 抄送 is pulled onto the 署名's page by closer lines, or
  goes to the next page with the 署名 block;
- a 版记 a little off the bottom edge is moved by what was measured;
- a title that wrapped otherwise than planned (its characters wider than estimated) is broken again
  with the widths measured on the page (:mod:`typeset.title_fit`), before anything else is adjusted.

At most ``MAX_PASSES`` renderings (most documents need one or two); the best one (fewest broken
rules, the later on a tie) is returned with its report, and the Word file returned is exactly the
one the PDF was made from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from typeset import colophon
from typeset import gbt9704 as g
from typeset.layout import Heading, ListItem, OfficialDocument, Paragraph, Table, numbered_texts
from typeset.page_rules import PageReport, check_pdf, only_colophon
from typeset.pdf_measure import Line
from typeset.pdf_pages import AREA_BOTTOM, AREA_TOP, CHAR, LINE, Measured, area_x, compact, expect_for
from typeset.render import PagePlan, render_docx, title_breaks
from typeset.title_fit import measured_fits
from typeset.title_lines import title_lines

MAX_PASSES = 5
MIN_PITCH = g.MIN_LINE_PITCH  # twips: the closest line spacing a remedy uses (25 pt for 16 pt type)
GLYPH_DROP = 3.4  # pt between a 3号 line's glyph box bottom (PDFium, loose) and its line box bottom
SLACK = 4.0  # pt more than measured when setting lines closer: line boxes are not all alike
SPARE = 40  # twips left under the 版记: LibreOffice moves it on when its last rule nears the edge
COLOPHON_CODES = {
    "colophon_not_last",
    "colophon_odd_page",
    "colophon_not_bottom",
    "colophon_alone",
    "blank_page",
    "page_number_unexpected",
    "text_below_area",
}


@dataclass(frozen=True)
class Laid:
    """The result: the Word file, the PDF rendered from it, the page report, what was adjusted."""

    docx: bytes
    pdf: bytes
    report: PageReport
    plan: PagePlan
    passes: int


def lay_out(
    doc: OfficialDocument,
    fmt: str,
    convert: Callable[[bytes], bytes],
    *,
    seal_mm: float | None = None,
    passes: int = MAX_PASSES,
    plan: PagePlan | None = None,
) -> Laid:
    """Render ``doc`` in ``fmt``, convert with ``convert`` (Word -> PDF) and adjust until the page rules
    hold or ``passes`` renderings are spent; ``plan``: where to start (default: the estimate); ``seal_mm``:
    the seal's size (default: a 公章's, for a 令 a 签名章's).
    Conversion errors (ConverterUnavailable...) propagate."""
    expect = expect_for(doc, fmt, seal_mm=seal_mm)
    plan, best = plan or PagePlan(), None
    for n in range(1, passes + 1):
        docx = render_docx(doc, fmt=fmt, plan=plan)  # type: ignore[arg-type]
        pdf = convert(docx)
        report = check_pdf(pdf, expect)
        laid = Laid(docx, pdf, report, plan, n)
        if best is None or len(report.violations) <= len(best.report.violations):
            best = laid
        if n == passes:
            break
        better = adjust(plan, report, doc, fmt)
        if better == plan:
            break
        plan = better
    assert best is not None
    return replace(best, passes=n)


def adjust(plan: PagePlan, report: PageReport, doc: OfficialDocument, fmt: str) -> PagePlan:
    """The next pass's plan from what this pass's pages show (the same plan: nothing to do). Pages that
    keep every rule are still improved where the 署名 block left the page before half empty."""
    m = report.measured
    assert m is not None
    retitled = _retitle(plan, m, doc)
    if retitled is not None:
        return retitled
    codes = set(report.codes())
    moved = _group_moved(m)
    if moved is not None and plan.tight_from is not None:
        # Closer lines did not bring the block back (a table keeps its rows' height): set them as before.
        # ``tight_pitch`` stays as it was, which tells _tighten it was tried.
        plan = replace(plan, tight_from=None)
    if moved is not None:
        # At the top of a page the 附件说明's blank line above is dropped; back under the body it returns.
        gap = LINE if m.attachments and moved == m.attachments[0] else 0
        if fmt == "letter":  # its 抄送 has to fit on that page too
            gap += colophon.height(len(m.colophon) or 1, rules=False) / 20
        tight = _tighten(plan, m, doc, moved.page - 1, _deficit(m, moved.page, _bottom(m.date, m.note)) + gap)
        better = tight or _split_last(plan, m, doc, moved)
        if better is not None:
            return replace(better, colophon=None)  # the content end moves: place the 版记 next pass
    if codes & COLOPHON_CODES:
        return _place_colophon(plan, m, doc, fmt, only_height=codes & COLOPHON_CODES == {"colophon_not_bottom"})
    return plan


def _retitle(plan: PagePlan, m: Measured, doc: OfficialDocument) -> PagePlan | None:
    """The title wrapped otherwise than planned (wider characters than estimated): break it again with the
    widths measured on the page. Every line below it moves, so the rest of the plan starts afresh."""
    planned = [compact(line) for line in title_breaks(doc, plan)]
    if not m.title or [line.text for line in m.title] == planned:
        return None
    lines = tuple(title_lines(doc.title, measured_fits(m.title)))
    if [compact(line) for line in lines] == planned:
        return None
    return PagePlan(title=lines)


def _bottom(*lines: Line | None) -> Line:
    return min((line for line in lines if line is not None), key=lambda line: (-line.page, line.y0))


def _group_moved(m: Measured) -> Line | None:
    """The first line of the 署名 block's page when keep-with-next took the block there with the text kept
    with it, leaving room on the page before (the line that opens the page), else None."""
    top = m.signature or m.date
    if top is None or top.page == 0:
        return None
    page = m.pages[top.page]
    first = page.content[0] if page.content else None
    chain = m.attachments[0] if m.attachments else None
    if first is None or (chain is not None and first != chain and first != top):
        return None
    before = m.pages[top.page - 1]
    room = (before.content[-1].y0 - GLYPH_DROP - AREA_BOTTOM) if before.content else 0
    return first if room > LINE else None


def _split_last(plan: PagePlan, m: Measured, doc: OfficialDocument, moved: Line) -> PagePlan | None:
    """Keep-with-next took the whole last paragraph along with the 署名 block (LibreOffice moves such a
    paragraph whole): leave its first lines on the page before, as many as fit there, at least two
    on each side (widow and orphan control); only its last lines go with the block."""
    top = m.signature or m.date
    if (
        plan.split_last is not None
        or m.attachments
        or top is None
        or not doc.body
        or not isinstance(doc.body[-1], Paragraph)
    ):
        return None
    page = m.pages[moved.page]
    lines = list(page.content[: page.content.index(top)])
    heading = len(doc.body) > 1 and isinstance(doc.body[-2], Heading)
    if heading:  # the heading came along, kept with its paragraph: it stays before the first part
        lines = lines[1:]
    before = m.pages[moved.page - 1]
    room = int((before.content[-1].y0 - GLYPH_DROP - AREA_BOTTOM) // LINE) - (1 if heading else 0)
    keep = min(room, len(lines) - 2)
    if keep < 2:
        return None
    return replace(plan, split_last=sum(len(line.text) for line in lines[:keep]))


def _deficit(m: Measured, page: int, end: Line) -> float:
    """Points the content of ``page`` down to ``end`` lacks to fit into the room left on the page before."""
    height = AREA_TOP - (end.y0 - GLYPH_DROP)
    before = m.pages[page - 1]
    room = before.content[-1].y0 - GLYPH_DROP - AREA_BOTTOM if before.content else 0
    return height - room


def _tighten(plan: PagePlan, m: Measured, doc: OfficialDocument, page: int, deficit: float) -> PagePlan | None:
    """Set the lines from the top of ``page`` (0-based) on closer, gaining ``deficit`` points on it; None when
    that would take the lines closer than MIN_PITCH, the page cannot be matched to the body, or it was
    tried already (a table on the page, which keeps its rows' height, gains less than counted)."""
    if deficit <= 0 or plan.tight_from is not None or plan.tight_pitch != g.LINE_PITCH:
        return None
    start = _block_at(doc, m, page)
    if start is None:
        return None
    lines = [line for line in m.pages[page].content if line.y1 - line.y0 < 20]  # 3号 text, not the 版头 marks
    if page == 0:
        titles = [line.y0 for line in m.pages[0].content if line.y1 - line.y0 >= 20]
        lines = [line for line in lines if not titles or line.y1 < min(titles)]
    # Body lines and the 附件说明 (with its blank line) close up; the 署名 block keeps its pitch.
    count = len(lines) + (len(m.attachments) + 1 if m.attachments and m.attachments[0].page > page else 0)
    pitch = g.LINE_PITCH - math.ceil((deficit + SLACK) * 20 / max(count, 1))
    return replace(plan, tight_from=start, tight_pitch=pitch) if pitch >= MIN_PITCH else None


def _block_texts(doc: OfficialDocument) -> list[str]:
    out = []
    for block, numbered in zip(doc.body, numbered_texts(doc.body), strict=True):
        if isinstance(block, Heading):
            out.append(compact(numbered or block.text))
        elif isinstance(block, ListItem):
            out.append(compact(block.marker + block.text))
        elif isinstance(block, Paragraph):
            out.append(compact(block.text))
        elif isinstance(block, Table):
            out.append(compact("".join("".join(row) for row in block.rows)))
    return out


def _block_at(doc: OfficialDocument, m: Measured, page: int) -> int | None:
    """The body block that holds the first line of ``page``: the line's text found in the body text as
    often as it was printed before (the same sentence may recur)."""
    if page == 0:
        return 0
    first = m.pages[page].content[0].text if m.pages[page].content else ""
    if not first:
        return None
    before = "".join(line.text for p in m.pages[:page] for line in p.content)
    text, at = "".join(_block_texts(doc)), -1
    for _ in range(before.count(first) + 1):
        at = text.find(first, at + 1)
        if at < 0:
            return None
    total = 0
    for i, block in enumerate(_block_texts(doc)):
        total += len(block)
        if at < total:
            return i
    return None


def _place_colophon(plan: PagePlan, m: Measured, doc: OfficialDocument, fmt: str, *, only_height: bool) -> PagePlan:
    """Where the 版记 goes, from where the content ends on this pass's pages (``only_height``: it is on the
    right page, only too high or too low)."""
    letter = fmt == "letter"
    rows = colophon.rows(doc, printer=not letter)
    if not rows:
        return plan
    lines = max(sum(colophon.lines(rows)), len(m.colophon))
    needed = colophon.height(lines, rules=not letter, rows=len(rows))
    end = m.content_end
    if end is None:
        return plan
    if plan.colophon is not None and only_height and _on_planned_page(plan, m, end):
        return replace(plan, colophon=(plan.colophon[0], plan.colophon[1] + _offset(m, letter) - SPARE))
    if plan.colophon is not None and plan.colophon[0] == 0 and m.colophon and m.colophon[0].page == end.page + 1:
        return replace(plan, colophon=(0, plan.colophon[1] - SPARE))  # a few twips too many moved it on
    room = round((end.y0 - GLYPH_DROP - AREA_BOTTOM) * 20) - SPARE
    fresh = (g.TYPE_AREA_HEIGHT - g.LINE_PITCH) // g.LINE_PITCH * g.LINE_PITCH - needed
    page = end.page + 1  # 1-based
    if room >= needed and (letter or page % 2 == 0):
        return replace(plan, colophon=(0, room - needed))
    if letter:  # pull the 抄送 up with closer lines, or send it on with the 署名 block
        tight = _tighten(plan, m, doc, end.page, (needed - room) / 20)
        return replace(tight, colophon=None) if tight else _keep_colophon(plan, m, doc, end, needed)
    return replace(plan, colophon=(1 if page % 2 else 2, fresh))


def _keep_colophon(plan: PagePlan, m: Measured, doc: OfficialDocument, end: Line, needed: int) -> PagePlan:
    """A 信函's 抄送 goes to the next page with the 署名 block and what is kept with it (the 附件说明 or
    the last paragraph), which start that page: the space above the 抄送 is what they leave."""
    top = _chain_top(m, doc)
    if top is None or top.page != end.page:
        return replace(plan, keep_colophon=True, colophon=(0, 0))  # placed from the next pass's pages
    used = round((top.y0 - end.y0 + LINE) * 20)
    return replace(plan, keep_colophon=True, colophon=(0, g.TYPE_AREA_HEIGHT - used - needed - SPARE))


def _chain_top(m: Measured, doc: OfficialDocument) -> Line | None:
    """The first line kept with the 署名: the 附件说明's, else the last paragraph's (set in two 字), or
    the heading's kept with that paragraph."""
    if m.attachments:
        return m.attachments[0]
    flow = [line for page in m.pages for line in page.content]
    top = m.signature or m.date
    if top is None:
        return None
    at = flow.index(top)
    for i in range(at - 1, max(0, at - 30), -1):
        if abs(flow[i].x0 - (area_x(flow[i].page)[0] + 2 * CHAR)) < 2:
            heading = len(doc.body) > 1 and isinstance(doc.body[-2], Heading)
            return flow[i - 1] if heading and i else flow[i]
    return None


def _on_planned_page(plan: PagePlan, m: Measured, end: Line) -> bool:
    """The 版记 landed where the plan put it (only its height may be off)."""
    assert plan.colophon is not None
    breaks = plan.colophon[0]
    last = m.pages[-1]
    return (
        bool(m.colophon)
        and m.colophon[0].page == end.page + breaks
        and last.index == end.page + breaks
        and (breaks == 0 or only_colophon(m, last))
    )


def _offset(m: Measured, letter: bool) -> int:
    """Twips the 版记 sits above where it belongs (negative: below)."""
    if letter:
        return round((m.colophon[-1].y0 - GLYPH_DROP - AREA_BOTTOM) * 20)
    rule = m.bottom_rule
    return round(((rule[1] + rule[3]) / 2 - AREA_BOTTOM) * 20) if rule else 0
