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
from dataclasses import dataclass

import docx
import pypdfium2 as pdfium

from office.errors import UnsupportedMedia, ValidationError
from typeset import render

MM = 72 / 25.4  # points per millimetre
LINE_MM = 225 / 22  # one line of the GB/T 9704 grid (22 lines in the 225 mm type area)
BELOW_CENTRE_MM = 3.0
STEP_MM = 0.5
DEFAULT_SEAL_MM = 42.0


@dataclass(frozen=True)
class Line:
    """One text line of a page: its text without spaces and its ink box (points, y up)."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

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


def page_lines(document: pdfium.PdfDocument, index: int) -> list[Line]:
    """The text lines of one page in reading order (PDFium's line breaks), with their ink boxes."""
    textpage = document[index].get_textpage()
    lines: list[Line] = []
    chars: list[tuple[str, tuple[float, float, float, float]]] = []

    def flush() -> None:
        if chars:
            boxes = [b for _, b in chars]
            lines.append(Line(index, "".join(c for c, _ in chars), min(b[0] for b in boxes), min(b[1] for b in boxes),
                              max(b[2] for b in boxes), max(b[3] for b in boxes)))
            chars.clear()

    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if ch in ("\r", "\n"):
            flush()
        elif ch.strip():
            chars.append((ch, textpage.get_charbox(i, loose=True)))
    flush()
    return lines


def find_line(pdf: bytes, text: str) -> Line | None:
    """The last line in the document whose text (spaces ignored) is exactly ``text``."""
    return _find_line(open_pdf(pdf), text)


def _find_line(document: pdfium.PdfDocument, text: str) -> Line | None:
    want = _compact(text)
    for index in range(len(document) - 1, -1, -1):
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


def seal_placement(pdf: bytes, *, date_text: str, signature_text: str | None = None,
                   diameter_mm: float = DEFAULT_SEAL_MM) -> SealPlacement:
    """Measure the 成文日期 (and 署名) on the rendered pages and place a round seal of ``diameter_mm``.

    Raises ValidationError ``no_seal_anchor`` when the date is not on any page.
    """
    document = open_pdf(pdf)
    date = _find_line(document, date_text)
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
    above = [line for line in others if line.y0 >= top.y1]
    top_gap = (min(line.y0 for line in above) - (cy + r)) / MM if above else None
    return SealPlacement(
        page=date.page, rect=(centre_x - r, cy - r, centre_x + r, cy + r), diameter_mm=diameter_mm, date=date,
        signature=signature, centre_offset_mm=(centre_x - date.centre_x) / MM, below_centre_mm=best,
        top_gap_mm=top_gap, covers=tuple(line.text for line in covered_lines(others, centre_x, cy, r)))


def seal_anchor_texts(docx_bytes: bytes) -> tuple[str, str]:
    """(署名, 成文日期) texts of a rendered Word file, read at its bookmarks; ValidationError
    ``no_seal_anchor`` for a file without them (a 纪要 carries no seal)."""
    word = docx.Document(io.BytesIO(docx_bytes))
    paragraphs = word.paragraphs
    return (paragraphs[render.signature_paragraph_index(docx_bytes)].text,
            paragraphs[render.date_paragraph_index(docx_bytes)].text)
