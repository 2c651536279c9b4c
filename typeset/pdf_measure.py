"""Measure the rendered pages: where the 署名 and 成文日期 really are, and where the seal goes.

Positions come from the PDF LibreOffice produced, read with ``pypdfium2`` (PDFium; Apache-2.0 /
BSD-3 wheels, ~2 ms per page). PyMuPDF would do as well but is AGPL; pdfplumber (MIT) sits on
pdfminer.six and is ~50x slower per page and brings PDFium along anyway.

Coordinates are PDF user space: points (1/72 inch), origin at the bottom-left of the page, y up,
which is what a PDF signature widget's ``/Rect`` takes (:func:`esign.service.seal_pdf`).

Where the seal goes (GB/T 9704-2012 §7.3.5.1): 端正、居中下压发文机关署名和成文日期，使发文机关署名和成文日期
居印章中心偏下位置，印章顶端应当上距正文（或附件说明）一行之内. So: horizontally centred on the
成文日期 (the 署名 is centred on it); vertically so the 署名+日期 block sits ``BELOW_CENTRE_MM``
below the seal's centre; then, if the circle would cover any other text (the 附注 line below, the
body above), the centre moves up or down in 0.5 mm steps while the block stays below the centre
and the date stays inside the seal. What is still covered, and the gap to the text above, are
reported so the layout (and ``office check``) can judge the page.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import docx
import pypdfium2 as pdfium

from office.errors import UnsupportedMedia, ValidationError
from typeset import render

MM = 72 / 25.4  # points per millimetre
LINE_MM = 225 / 22  # one line of the GB/T 9704 grid (22 lines in the 225 mm type area)
BELOW_CENTRE_MM = 3.0
STEP_MM = 0.5
DEFAULT_SEAL_MM = 42.0
DEFAULT_NAME_SEAL_MM = 20.0  # a 令's 签名章: the size esign makes them (esign.seals.NAME_SEAL_MM)
# PDFium is not thread-safe, not even across documents (pypdfium2 docs, "Incompatibility with
# Threading"), and official copies are measured in request threads: every use takes this lock.
PDFIUM_LOCK = threading.RLock()
NAME_GAP = 8.0  # pt between two words of a line that are set apart (the 令's 职务 and 姓名, two 字)
BAND_PT = 4.0  # characters whose boxes' bottoms are this close stand on one line (lines are 14 pt+ apart)


@dataclass(frozen=True)
class Line:
    """One text line of a page: its text without spaces and its ink box (points, y up)."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    # Left and right edge of each character of ``text`` (its advance), for widths measured on the page.
    spans: tuple[tuple[float, float], ...] = field(default=(), compare=False, repr=False)

    @property
    def centre_x(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class SealPlacement:
    """Where to put the seal: ``page`` (0-based) and ``rect`` = (x0, y0, x1, y1) in points, y up."""

    page: int
    rect: tuple[float, float, float, float]
    diameter_mm: float
    date: Line
    signature: Line | None
    centre_offset_mm: float  # seal centre minus the 署名/日期 centre, horizontally (0 when centred)
    below_centre_mm: float  # how far the 署名+日期 block's middle sits below the seal's centre
    top_gap_mm: float | None  # seal top to the lowest text line above it; None: no text above on the page
    covers: tuple[str, ...]  # other text lines the seal touches (empty when the page is right)

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.rect
        return (x0 + x1) / 2, (y0 + y1) / 2


def _compact(text: str) -> str:
    return "".join(text.split())


def open_pdf(pdf: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise UnsupportedMedia("不是有效的 PDF 文件", code="not_pdf") from exc


@contextmanager
def opened(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    """The PDF opened under ``PDFIUM_LOCK`` and closed (with its pages) before the lock is let go."""
    with PDFIUM_LOCK:
        document = open_pdf(pdf)
        try:
            yield document
        finally:
            document.close()


def page_lines(document: pdfium.PdfDocument, index: int) -> list[Line]:
    """The text lines of one page, top to bottom, with their ink boxes: the characters that share a
    baseline, left to right. PDFium's own line breaks are not used: it breaks inside a LibreOffice
    line where the text runs change (after a tab, between digits and CJK: the 印发 line, the page
    number) and keeps apart the cells of one table row."""
    textpage = document[index].get_textpage()
    # Keyed by the box bottom: PDFium's loose boxes of one line share it, their tops differ (a dash, a comma).
    bands: list[tuple[float, list[tuple[str, tuple[float, float, float, float]]]]] = []
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if not ch.strip():
            continue
        box = textpage.get_charbox(i, loose=True)
        band = next((b for b in reversed(bands) if abs(b[0] - box[1]) < BAND_PT), None)
        if band is None:
            bands.append((box[1], [(ch, box)]))
        else:
            band[1].append((ch, box))
    lines = []
    for _, chars in sorted(bands, key=lambda b: -b[0]):
        chars.sort(key=lambda c: c[1][0])
        boxes = [b for _, b in chars]
        lines.append(
            Line(
                index,
                "".join(c for c, _ in chars),
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
                tuple((b[0], b[2]) for b in boxes),
            )
        )
    return lines


def glyph_box(document: pdfium.PdfDocument, line: Line) -> tuple[float, float, float, float]:
    """The glyphs' own box of ``line`` (a :func:`page_lines` line, whose boxes are the characters'
    advances by the font's height): where the standard measures a distance from, such as the top edge
    of the 发文机关标志."""
    textpage = document[line.page].get_textpage()
    boxes = []
    for i in range(textpage.count_chars()):
        x0, y0, x1, y1 = textpage.get_charbox(i, loose=True)
        if line.x0 <= (x0 + x1) / 2 <= line.x1 and line.y0 <= (y0 + y1) / 2 <= line.y1:
            if textpage.get_text_range(i, 1).strip():
                boxes.append(textpage.get_charbox(i))
    if not boxes:
        return (line.x0, line.y0, line.x1, line.y1)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def find_line(pdf: bytes, text: str) -> Line | None:
    """The last line in the document whose text (spaces ignored) is exactly ``text``."""
    with opened(pdf) as document:
        return _find_line(document, text)


ANNEX_LABEL_RE = re.compile(r"^附件\d{0,2}$")
AREA_TOP = (297 - 37) * MM  # the type area's top and bottom edge, points from the page bottom
AREA_BOTTOM = 35 * MM


def annex_pages(document: pdfium.PdfDocument) -> list[int]:
    """The pages (0-based) on which a bound attachment starts: the first line in the type area is
    "附件" or "附件N" alone (GB/T 9704 §8). Its 成文日期 or tables are the attachment's, not the 主体's."""
    out = []
    for index in range(len(document)):
        if document[index].get_textpage().search("附件").get_next() is None:
            continue
        inside = [line for line in page_lines(document, index) if line.y1 >= AREA_BOTTOM and line.y0 <= AREA_TOP + 1]
        if inside and ANNEX_LABEL_RE.fullmatch(inside[0].text):
            out.append(index)
    return out


def _find_line(document: pdfium.PdfDocument, text: str, *, before: int | None = None) -> Line | None:
    """The last line with ``text`` on the pages before page ``before`` (0-based; None: all pages)."""
    want = _compact(text)
    for index in range(min(len(document), before if before is not None else len(document)) - 1, -1, -1):
        if document[index].get_textpage().search(text[:1]).get_next() is None:
            continue
        matches = [line for line in page_lines(document, index) if line.text == want]
        if matches:
            return matches[-1]
    return None


def covered_lines(lines: list[Line], cx: float, cy: float, r: float) -> list[Line]:
    out = []
    for line in lines:
        nx, ny = min(max(cx, line.x0), line.x1), min(max(cy, line.y0), line.y1)  # nearest point of the box
        if math.hypot(nx - cx, ny - cy) < r:
            out.append(line)
    return out


def seal_placement(
    pdf: bytes,
    *,
    date_text: str,
    signature_text: str | None = None,
    diameter_mm: float = DEFAULT_SEAL_MM,
    name_seal: bool = False,
) -> SealPlacement:
    """Measure the 成文日期 (and 署名) on the rendered pages and place a round seal of ``diameter_mm``;
    ``name_seal``: a 令's 签名章 (:func:`name_seal_placement`) instead of a 公章.

    Raises ValidationError ``no_seal_anchor`` when the date is not on any page.
    """
    with opened(pdf) as document:
        if name_seal:
            return _name_seal_placement(document, date_text, signature_text or "", diameter_mm)
        return _seal_placement(document, date_text, signature_text, diameter_mm)


def _main_end(document: pdfium.PdfDocument) -> int | None:
    """The first page of the bound attachments: the seal goes on the 主体's 署名, never on a date printed
    in an attachment."""
    starts = annex_pages(document)
    return starts[0] if starts else None


def name_box(line: Line) -> tuple[float, float, float | None]:
    """A 令's signature line, 职务 and 姓名 two 字 apart: the left and right edge of the name (where the
    签名章 goes) and the right edge of the job title (None: a line of one word, all of it the name)."""
    spans = line.spans if len(line.spans) == len(line.text) else ()
    gaps = [(b[0] - a[1], i) for i, (a, b) in enumerate(zip(spans, spans[1:], strict=False), 1)]
    gap, at = max(gaps, default=(0.0, 0))
    if gap < NAME_GAP:
        return line.x0, line.x1, None
    return spans[at][0], line.x1, spans[at - 1][1]


def _name_seal_placement(
    document: pdfium.PdfDocument, date_text: str, signature_text: str, size_mm: float
) -> SealPlacement:
    """GB/T 9704 §10.2: the 签发人's 签名章 on his name, 右空四字, the job title to its left, level with it
    (centred on the name, vertically on the signature line); the date under it stays clear."""
    date = _find_line(document, date_text, before=_main_end(document))
    if date is None:
        raise ValidationError("版式文件中找不到成文日期，无法确定盖章位置", code="no_seal_anchor")
    lines = page_lines(document, date.page)
    at = max(i for i, line in enumerate(lines) if line == date)
    want = _compact(signature_text)
    signature = next((line for line in reversed(lines[:at]) if line.text == want), None)
    if signature is None:
        raise ValidationError("版式文件中找不到签发人职务和姓名，无法确定签名章位置", code="no_seal_anchor")
    x0, x1, _ = name_box(signature)
    cx, cy, r = (x0 + x1) / 2, (signature.y0 + signature.y1) / 2, size_mm * MM / 2
    return judge_seal(lines, (cx - r, cy - r, cx + r, cy + r), date=date, signature=signature)


def _seal_placement(
    document: pdfium.PdfDocument, date_text: str, signature_text: str | None, diameter_mm: float
) -> SealPlacement:
    date = _find_line(document, date_text, before=_main_end(document))
    if date is None:
        raise ValidationError("版式文件中找不到成文日期，无法确定盖章位置", code="no_seal_anchor")
    lines = page_lines(document, date.page)
    at = max(i for i, line in enumerate(lines) if line == date)
    want = _compact(signature_text) if signature_text else None
    signature = next((line for line in reversed(lines[:at]) if line.text == want), None) if want else None
    top = signature or date
    anchors = {date, top}
    block_mid = (top.y1 + date.y0) / 2
    centre_x = (date.centre_x + top.centre_x) / 2
    r = diameter_mm * MM / 2
    others = [line for line in lines if line not in anchors]
    # Allowed: the block's middle at or below the centre, and the date's bottom still inside the seal.
    highest = max(0.0, (date.y0 + r - block_mid) / MM)
    best, best_cover = BELOW_CENTRE_MM, None
    for step in range(int(max(highest, BELOW_CENTRE_MM) / STEP_MM) + 1):
        for d in (BELOW_CENTRE_MM + step * STEP_MM, BELOW_CENTRE_MM - step * STEP_MM):
            if 0 <= d <= highest and not covered_lines(others, centre_x, block_mid + d * MM, r):
                best_cover = d
                break
        if best_cover is not None:
            best = best_cover
            break
    cy = block_mid + best * MM
    return judge_seal(lines, (centre_x - r, cy - r, centre_x + r, cy + r), date=date, signature=signature)


def judge_seal(
    lines: list[Line], rect: tuple[float, float, float, float], *, date: Line, signature: Line | None
) -> SealPlacement:
    """The measures of a round seal at ``rect`` on the page holding ``lines`` (a placement made here, or
    the seal picture found on a sealed file): offset from the 署名/日期 centre, how far their block sits
    below the seal's centre, the gap from its top to the text above and what else it covers."""
    x0, y0, x1, y1 = rect
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    top = signature or date
    others = [line for line in lines if line not in (date, top)]
    above = [line for line in others if line.y0 >= top.y1]
    top_gap = (min(line.y0 for line in above) - y1) / MM if above else None
    return SealPlacement(
        page=date.page,
        rect=rect,
        diameter_mm=round(2 * r / MM, 3),
        date=date,
        signature=signature,
        centre_offset_mm=round((cx - (date.centre_x + top.centre_x) / 2) / MM, 3),
        below_centre_mm=round((cy - (top.y1 + date.y0) / 2) / MM, 3),
        top_gap_mm=top_gap,
        covers=tuple(line.text for line in covered_lines(others, cx, cy, r)),
    )


def seal_anchor_texts(docx_bytes: bytes) -> tuple[str, str]:
    """(署名, 成文日期) texts of a rendered Word file, read at its bookmarks; ValidationError
    ``no_seal_anchor`` for a file without them (a 纪要 carries no seal)."""
    word = docx.Document(io.BytesIO(docx_bytes))
    paragraphs = word.paragraphs
    return (
        paragraphs[render.signature_paragraph_index(docx_bytes)].text,
        paragraphs[render.date_paragraph_index(docx_bytes)].text,
    )
