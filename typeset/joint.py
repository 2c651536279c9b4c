"""联合行文: several issuers on one document (GB/T 9704 §7.2.3, §7.3.5.1-7.3.5.3).

The 发文机关标志 stacks the issuers' names, the lead (主办) first, with "文件" to their right,
vertically centred on the stack (:func:`mark`). With seals, the 署名 block names every issuer in
issuing order, at most two to a row (:func:`slots`); each seal will press its own name, the last
also the 成文日期, which stands under the last name 右空四字. Rows are ``ROW_LINES`` lines apart so
seals of ``SEAL_MM`` never touch, and the first row is two lines under the text like a single
署名, so its seals' tops come within a line of it. Without seals the names stack, lead first, over
the date (:func:`signature`).

On the rendered pages, :func:`find_rows` finds the name rows, :func:`placements` where each
seal goes (or, on a sealed file, where each one is) and :func:`check` judges them (codes in
brackets): each seal on its own name [joint_seal_off_name], the last on the date too
[joint_seal_date], the seals of a row level [joint_seals_unaligned], none touching another
[joint_seals_overlap] or leaving the type area [joint_seal_outside], all on the date's page
[joint_seal_page], covering no other text [seal_covers_text], the first row's tops within a line
of the text above [seal_top_gap].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Twips
from pypdfium2 import raw as pdfium_c

from typeset import _ooxml as x
from typeset import gbt9704 as g
from typeset import pdf_measure
from typeset.gbt9704 import text_width
from typeset.layout import DocType, OfficialDocument, format_cn_date
from typeset.page_report import PageReport
from typeset.pdf_measure import LINE_MM, MM, Line

if TYPE_CHECKING:
    from typeset.pdf_pages import Expect, Measured
    from typeset.render import Writer

SEAL_MM = 42.0  # a 公章's diameter: what the rows leave room for
COLUMN_GAP_MM = 6.0  # between two seals of a row
ROW_LINES = 5  # name rows this many lines apart (a 42 mm seal spans 4.1 lines)
BELOW_CENTRE_MM = 3.0  # as for one seal (typeset.pdf_measure): the names sit this far below the centre
TOLERANCE_MM = 2.5
BOOKMARK_ROW = "tb_joint_{}"  # the line under row N's names (the date's line for the last row): seal anchors
MAX_ISSUERS = 6  # the lead and at most five others


@dataclass(frozen=True)
class Slot:
    """Where one issuer's name (and seal) goes: its row and its centre, twips from the type area's left."""

    name: str
    row: int
    centre: int


def names(doc: OfficialDocument) -> list[str]:
    """Every issuer in issuing order, the lead first."""
    return [doc.issuer_name, *doc.joint_issuers]


def slots(issuers: list[str], date_text: str, *, seal_mm: float = SEAL_MM) -> list[Slot]:
    """The names in rows, issuing order, row by row: two to a row where both seals and both names fit
    left of the date's column, else one. The last name stands over the date (centred on it, the date
    右空四字), and each row keeps to the right, so every row's last seal is over the date's column."""
    last = g.TYPE_AREA_WIDTH - 4 * g.CHAR - text_width(date_text) // 2
    half_seal = g.mm(seal_mm) // 2

    def pitch(a: str, b: str) -> int | None:
        gap = max(g.mm(seal_mm + COLUMN_GAP_MM), (text_width(a) + text_width(b)) // 2 + 2 * g.CHAR)
        return gap if last - gap >= max(half_seal, text_width(a) // 2) else None

    out: list[Slot] = []
    i, row = 0, 0
    while i < len(issuers):
        # A pair, unless it is the last name alone or the pair does not fit; an odd name out goes first
        # alone so the last row is full (the date's row pairs when it can).
        left = len(issuers) - i
        step = pitch(issuers[i], issuers[i + 1]) if left >= 2 and left % 2 == 0 else None
        if step is not None:
            out += [Slot(issuers[i], row, last - step), Slot(issuers[i + 1], row, last)]
            i += 2
        else:
            out.append(Slot(issuers[i], row, last))
            i += 1
        row += 1
    return out


def rows(doc: OfficialDocument) -> tuple[tuple[str, ...], ...]:
    """The names as the rows of the 署名 block print them (spaces dropped), for the page rules."""
    if not doc.joint_issuers or doc.date is None:
        return ()
    if not doc.seal_space:
        return tuple((_compact(n),) for n in names(doc))
    return name_rows(names(doc), format_cn_date(doc.date))


def name_rows(issuers: list[str], date_text: str) -> tuple[tuple[str, ...], ...]:
    """The rows of names of the 署名 block with seals, as printed (spaces dropped)."""
    placed = slots(issuers, date_text)
    count = placed[-1].row + 1
    return tuple(tuple(_compact(s.name) for s in placed if s.row == r) for r in range(count))


def _compact(text: str) -> str:
    return "".join(text.split())


# --- the Word file --------------------------------------------------------------------------------


def mark(w: Writer, *, before: int) -> None:
    """发文机关标志: one issuer's as :meth:`Writer.mark`; several stack their names (lead first, each line
    spread to the longest) with the suffix ("文件", "纪要") to the right, vertically centred on them.
    A borderless table of two columns: the names, one a row, and the suffix in a merged cell."""
    doc = w.doc
    if not doc.joint_issuers:
        w.mark(doc.mark_text, before=before)
        return
    issuers = names(doc)
    suffix = "纪要" if doc.doc_type is DocType.jiyao else "文件"
    widest = max(len(n) for n in issuers)
    size = min(g.SIZE_XIAOCHU, (2 * g.TYPE_AREA_WIDTH // 20) // (widest + len(suffix) + 1))
    line = w.mark_line(size)
    w.para([("", g.FONT_FANGSONG, g.SIZE_3, None)], line=max(before, 20), lines=1, align="left")
    name_w, suffix_w = widest * size * 10, (len(suffix) + 1) * size * 10  # half a character between them
    table = w.word.add_table(rows=len(issuers), cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    table.columns[0].width, table.columns[1].width = Twips(name_w), Twips(suffix_w)  # the grid LibreOffice reads
    _no_cell_margins(table)
    for r, name in enumerate(issuers):
        row = table.rows[r]
        row.height, row.height_rule = Twips(line), WD_ROW_HEIGHT_RULE.EXACTLY
        cell = row.cells[0]
        cell.width = Twips(name_w)
        p = cell.paragraphs[0]
        # Spread to the longest name (分散对齐), so the stack reads as one block.
        x.format_paragraph(p, align="distribute" if len(name) > 1 else "center", line=line)
        x.style_run(p.add_run(name), g.FONT_XIAOBIAOSONG, size, color=g.RED, spacing=None)
        row.cells[1].width = Twips(suffix_w)
    right = table.cell(0, 1).merge(table.cell(len(issuers) - 1, 1))
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    p = right.paragraphs[0]
    x.format_paragraph(p, align="right", line=line)
    x.style_run(p.add_run(suffix), g.FONT_XIAOBIAOSONG, size, color=g.RED, spacing=None)
    w.advance(0, line, len(issuers))


def _no_cell_margins(table: object) -> None:
    tbl_pr = table._tbl.tblPr  # type: ignore[attr-defined]
    margins = OxmlElement("w:tblCellMar")
    for side in ("top", "left", "bottom", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), "0")
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tbl_pr.append(margins)


def signature(w: Writer) -> None:
    """The 署名 block of a joint document and its 成文日期 (``closing.signature_and_date`` for one issuer).

    With seals: the rows of :func:`slots`, names at centred tab stops; under each row but the last an
    empty line (bookmarked: the seal of a name anchors one line under it, as one seal anchors on the
    date), the date under the last row. Without seals (§7.3.5.2): the names one a line, lead first,
    each starting two characters left of the date, which is 右空二字 (or under the longest name)."""
    from typeset import closing  # closing calls this module: imported here, not at the top

    doc = w.doc
    assert doc.date is not None
    date = format_cn_date(doc.date)
    issuers = names(doc)
    w_date = text_width(date)
    w.pitch = g.LINE_PITCH  # the 署名 block keeps the full pitch (see closing.signature_and_date)
    if not doc.seal_space:
        date_right = max(max(text_width(n) for n in issuers) - w_date, 2 * g.CHAR)
        start = g.TYPE_AREA_WIDTH - date_right - w_date - 2 * g.CHAR
        closing.keep_group(w, (len(issuers) + 2 + (1 if doc.note else 0)) * g.LINE_PITCH)
        for i, name in enumerate(issuers):
            p = w.para(
                [(name, g.FONT_FANGSONG, g.SIZE_3, None)], align="left", left=start, before=0 if i else g.LINE_PITCH
            )
            p.paragraph_format.keep_with_next = True
            if i == 0:
                w.bookmark(p, closing.BOOKMARK_SIGNATURE)
        p = w.para([(date, g.FONT_FANGSONG, g.SIZE_3, None)], align="right", right=date_right)
        x.no_autospace(p)
        p.paragraph_format.keep_with_next = bool(doc.note)
        w.bookmark(p, closing.BOOKMARK_DATE)
        w.end = p
        return
    placed = slots(issuers, date)
    count = placed[-1].row + 1
    height = (2 + 2 * count + (count - 1) * (ROW_LINES - 2) + (1 if doc.note else 0)) * g.LINE_PITCH
    closing.keep_group(w, height)
    for r in range(count):
        row = [s for s in placed if s.row == r]
        before = 2 * g.LINE_PITCH if r == 0 else (ROW_LINES - 2) * g.LINE_PITCH
        p = w.para(
            [("".join("\t" + s.name for s in row), g.FONT_FANGSONG, g.SIZE_3, None)],
            align="left",
            before=before,
            lines=1,
        )
        x.tab_stops(p, [("center", s.centre) for s in row])
        p.paragraph_format.keep_with_next = True
        if r == 0:
            w.bookmark(p, closing.BOOKMARK_SIGNATURE)
        if r < count - 1:
            under = w.para([("", g.FONT_FANGSONG, g.SIZE_3, None)], align="left", lines=1)
            under.paragraph_format.keep_with_next = True
            w.bookmark(under, BOOKMARK_ROW.format(r))
    # The date centred on the last name's column: a box around that centre, as closing.centred_on_date.
    centre = placed[-1].centre
    p = w.para(
        [(date, g.FONT_FANGSONG, g.SIZE_3, None)], align="center", left=max(2 * centre - g.TYPE_AREA_WIDTH, 0), right=0
    )
    x.no_autospace(p)
    p.paragraph_format.keep_with_next = bool(doc.note)
    w.bookmark(p, closing.BOOKMARK_DATE)
    w.bookmark(p, BOOKMARK_ROW.format(count - 1))
    w.end = p


def word_anchors(docx_bytes: bytes, doc_names: list[str], date_text: str) -> list[tuple[int, int]]:
    """Per issuer, in order: (index into ``docx.Document(...).paragraphs`` of the line under its name,
    centre of its name in twips from the type area's left): where its seal picture goes in the Word file."""
    import io

    import docx

    word = docx.Document(io.BytesIO(docx_bytes))
    at: dict[str, int] = {}
    for i, p in enumerate(word.paragraphs):
        for bm in p._p.iter(qn("w:bookmarkStart")):
            at[bm.get(qn("w:name"))] = i
    return [(at[BOOKMARK_ROW.format(s.row)], s.centre) for s in slots(doc_names, date_text)]


# --- the rendered pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JointSeal:
    """One issuer's seal on the page: the name it must press (its box, points, y up) and the seal's rect."""

    name: str
    page: int
    name_box: tuple[float, float, float, float]
    rect: tuple[float, float, float, float]

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.rect
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def radius(self) -> float:
        return (self.rect[2] - self.rect[0]) / 2


def find_rows(flow: list[Line], at: int, want: tuple[tuple[str, ...], ...]) -> list[Line] | None:
    """The lines of the name rows, first to last, right above the date at ``flow[at]``; None when the
    lines there do not read as the rows (a row split from the block, names changed)."""
    if at < len(want):
        return None
    found = flow[at - len(want) : at]
    if [line.text for line in found] != ["".join(r) for r in want]:
        return None
    return found


def _name_boxes(row: Line, row_names: tuple[str, ...]) -> list[tuple[float, float, float, float]]:
    """Each name's box within its row's line (from the characters' advances on the page)."""
    spans = row.spans if len(row.spans) == len(row.text) else ()
    out, i = [], 0
    for name in row_names:
        if spans:
            x0, x1 = spans[i][0], spans[i + len(name) - 1][1]
        else:  # no per-character boxes: share the line out by characters
            step = (row.x1 - row.x0) / max(len(row.text), 1)
            x0, x1 = row.x0 + i * step, row.x0 + (i + len(name)) * step
        out.append((x0, row.y0, x1, row.y1))
        i += len(name)
    return out


def _last_row_height(
    rows_lines: list[Line], want: tuple[tuple[str, ...], ...], date: Line, others: list[Line], r: float
) -> float:
    """The centre height of the last row's seals: the last name and the date ``BELOW_CENTRE_MM`` under it,
    or as near to that as keeps every seal of the row off other text (the 附注 under the date), while the
    block stays at or below the centre and the date inside the seal (as ``pdf_measure`` does for one)."""
    last = rows_lines[-1]
    block_mid = (last.y1 + date.y0) / 2
    centres = [(b[0] + b[2]) / 2 for b in _name_boxes(last, want[-1])]
    highest = max(0.0, (date.y0 + r - block_mid) / MM)
    step = pdf_measure.STEP_MM
    for k in range(int(max(highest, BELOW_CENTRE_MM) / step) + 1):
        for d in (BELOW_CENTRE_MM + k * step, BELOW_CENTRE_MM - k * step):
            cy = block_mid + d * MM
            if 0 <= d <= highest and not any(pdf_measure.covered_lines(others, cx, cy, r) for cx in centres):
                return cy
    return block_mid + BELOW_CENTRE_MM * MM


def planned(
    rows_lines: list[Line],
    want: tuple[tuple[str, ...], ...],
    date: Line,
    diameter_mm: float,
    others: list[Line] | None = None,
) -> list[JointSeal]:
    """Where 用印 puts each seal: centred on its name; the last row's seals pressing names and date so the
    block sits ``BELOW_CENTRE_MM`` under their centre (as one seal does), every other row's seals at the
    same height relative to their names, so the rows are alike and aligned."""
    r = diameter_mm * MM / 2
    last = rows_lines[-1]
    cy_last = _last_row_height(rows_lines, want, date, others or [], r)
    out = []
    for line, row_names in zip(rows_lines, want, strict=True):
        cy = cy_last + ((line.y0 + line.y1) - (last.y0 + last.y1)) / 2
        for name, box in zip(row_names, _name_boxes(line, row_names), strict=True):
            cx = (box[0] + box[2]) / 2
            out.append(JointSeal(name, line.page, box, (cx - r, cy - r, cx + r, cy + r)))
    last_seal = out[-1]  # over the date as well: centred between the name and the date
    cx = ((last_seal.name_box[0] + last_seal.name_box[2]) / 2 + date.centre_x) / 2
    _, y0, _, y1 = last_seal.rect
    out[-1] = JointSeal(last_seal.name, last_seal.page, last_seal.name_box, (cx - r, y0, cx + r, y1))
    return out


def seal_rects(page: pdfium.PdfPage) -> list[tuple[float, float, float, float]]:
    """Every seal on a page: signature widgets over 10 mm, else round pictures 15-60 mm (a sealed Word file)."""
    found = []
    for i in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, i)
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET:
                continue
            rect = pdfium_c.FS_RECTF()
            if pdfium_c.FPDFAnnot_GetRect(annot, rect) and abs(rect.right - rect.left) > 10 * MM:
                found.append(
                    (
                        min(rect.left, rect.right),
                        min(rect.bottom, rect.top),
                        max(rect.left, rect.right),
                        max(rect.bottom, rect.top),
                    )
                )
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    if found:
        return found
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        x0, y0, x1, y1 = obj.get_bounds()
        if 15 * MM <= x1 - x0 <= 60 * MM and abs((x1 - x0) - (y1 - y0)) <= 0.1 * (x1 - x0):
            found.append((x0, y0, x1, y1))
    return found


def placements(pdf: bytes, want: tuple[tuple[str, ...], ...], date_text: str, diameter_mm: float) -> list[JointSeal]:
    """Measured on the rendered (unsealed) official PDF: where each issuer's seal goes, in issuing order.
    ValidationError ``no_seal_anchor`` when the date or the name rows are not found."""
    from office.errors import ValidationError

    with pdf_measure.opened(pdf) as document:
        date = pdf_measure._find_line(document, date_text)
        if date is not None:
            lines = pdf_measure.page_lines(document, date.page)
            at = max(i for i, line in enumerate(lines) if line == date)
            found = find_rows(lines, at, want)
            if found is not None:
                others = [line for line in lines if line not in found and line != date]
                return planned(found, want, date, diameter_mm, others)
    raise ValidationError("版式文件中找不到联合发文机关署名和成文日期，无法确定盖章位置", code="no_seal_anchor")


def _seals_on_page(
    document: pdfium.PdfDocument,
    rows_lines: list[Line],
    want: tuple[tuple[str, ...], ...],
    date: Line,
    diameter_mm: float,
) -> tuple[list[JointSeal], bool]:
    """The seals as they are (a sealed file: each name given the seal nearest it) or as 用印 would put them."""
    lines = pdf_measure.page_lines(document, date.page)
    others = [line for line in lines if line not in rows_lines and line != date]
    plan = planned(rows_lines, want, date, diameter_mm, others)
    rects = seal_rects(document[date.page])
    if not rects:
        return plan, False
    out = []
    for seal in plan:
        cx, cy = seal.centre
        rect = min(rects, key=lambda r: math.hypot((r[0] + r[2]) / 2 - cx, (r[1] + r[3]) / 2 - cy))
        out.append(JointSeal(seal.name, seal.page, seal.name_box, rect))
    return out, True


def check(report: PageReport, pdf: bytes, m: Measured, expect: Expect) -> None:
    """The joint 署名 block's rules (see the module's docstring) on the rendered or sealed PDF."""
    from typeset.pdf_pages import EDGE, area_x

    if not expect.joint or m.date is None or not expect.sealed:
        return
    date = m.date
    with pdf_measure.opened(pdf) as document:
        lines = pdf_measure.page_lines(document, date.page)
        at = max((i for i, line in enumerate(lines) if line == date), default=-1)
        found = find_rows(lines, at, expect.joint) if at >= 0 else None
        if found is None:
            report.add(
                "joint_seal_off_name", "联合行文的发文机关署名应在成文日期上方、按发文机关顺序排列", date.page + 1
            )
            return
        seals, real = _seals_on_page(document, found, expect.joint, date, expect.seal_size)
    page = date.page + 1
    what = "印章" if real else "印章（按用印位置）"
    if len({s.rect for s in seals}) < len(seals):
        report.add("joint_seal_off_name", f"联合行文应加盖 {len(seals)} 枚印章，每个发文机关署名一枚", page)
    if found[0].page != date.page:
        report.add("joint_seal_page", "联合行文的署名和印章应与成文日期在同一页", found[0].page + 1)
    tol = TOLERANCE_MM * MM
    left, right = area_x(date.page)
    boxes = [s.name_box for s in seals]
    others = [line for line in lines if line not in found and line != date]
    for i, seal in enumerate(seals):
        cx, cy = seal.centre
        r = seal.radius
        nx, ny = (seal.name_box[0] + seal.name_box[2]) / 2, (seal.name_box[1] + seal.name_box[3]) / 2
        # Pressing the name: centred on it, the name and the line under it (the date, on the last row)
        # at or below the seal's centre, the name inside the seal.
        if abs(cx - nx) > tol or ny - LINE_MM * MM / 2 > cy + EDGE or seal.name_box[1] < seal.rect[1]:
            report.add("joint_seal_off_name", f"{what}应端正、居中下压“{seal.name}”的署名", page)
        if seal.rect[0] < left - EDGE or seal.rect[2] > right + EDGE:
            report.add("joint_seal_outside", f"“{seal.name}”的{what}超出版心左右边缘", page)
        covered = [line.text for line in pdf_measure.covered_lines(others, cx, cy, r)]
        covered += [
            seals[j].name
            for j, b in enumerate(boxes)
            if j != i and math.hypot(max(b[0] - cx, 0, cx - b[2]), max(b[1] - cy, 0, cy - b[3])) < r
        ]
        if covered:
            report.add(
                "seal_covers_text", f"“{seal.name}”的{what}压住了其他文字：{'、'.join(t[:12] for t in covered)}", page
            )
        for other in seals[i + 1 :]:
            ox, oy = other.centre
            if math.hypot(ox - cx, oy - cy) <= r + other.radius:
                report.add("joint_seals_overlap", f"“{seal.name}”与“{other.name}”的{what}相交或相切", page)
            if abs(oy - cy) > 0.5 * MM and abs(oy - cy) < r + other.radius:
                report.add("joint_seals_unaligned", f"“{seal.name}”与“{other.name}”的{what}未排列整齐", page)
    last = seals[-1]
    cx, cy = last.centre
    if abs(cx - date.centre_x) > tol or date.y0 < last.rect[1] - EDGE or (date.y0 + date.y1) / 2 > cy:
        report.add("joint_seal_date", f"最后一枚{what}应同时居中下压成文日期", page)
    above = [line for line in others if line.y0 >= found[0].y1]
    if above:
        gap = (min(line.y0 for line in above) - max(s.rect[3] for s in seals[: len(expect.joint[0])])) / MM
        if gap > LINE_MM + 0.5:
            report.add("seal_top_gap", f"首排{what}顶端距上方正文 {gap:.1f}mm，应在一行（{LINE_MM:.1f}mm）之内", page)
