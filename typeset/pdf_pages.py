"""Read an official PDF's pages and find the GB/T 9704 elements on them (for :mod:`typeset.page_rules`).

Text and positions come from :mod:`typeset.pdf_measure` (PDFium). Each page's lines are split into
those inside the type area, the page number below it and anything else outside it. The elements are
recognised from their text and position (成文日期 in Arabic numerals, the 署名 right above it, the
附注 in brackets on the line below, "附件：" and its items, 抄送/主送/分送 and the 印发 line of the
版记) or, when the layout says what it printed (:class:`Expect`), by those texts. The 版记 rules are
the page's horizontal path objects. A sealed PDF's seal is its signature widget (or the seal picture
of a sealed Word file converted to PDF); on an unsealed one it is placed where 用印 would put it
(:func:`pdf_measure.seal_placement`).

Coordinates are PDF points, y up (as in :mod:`typeset.pdf_measure`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pypdfium2 as pdfium
from pypdfium2 import raw as pdfium_c

from typeset import joint, pdf_measure
from typeset.layout import OfficialDocument, format_cn_date
from typeset.pdf_measure import LINE_MM, MM, Line, SealPlacement

AREA_BOTTOM = 35 * MM  # the type area's bottom edge, points from the page bottom
AREA_TOP = (297 - 37) * MM
LINE = LINE_MM * MM
CHAR = 16.0  # one 3号 character
EDGE = 1.0  # pt: a line over an edge by less than this is still inside
NUMBER_RE = re.compile(r"^[—–\-－一]*(\d{1,4})[—–\-－一]*$")
DATE_RE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")
COLOPHON_START_RE = re.compile(r"^(抄送|主送|分送)[：:]|\d{4}年\d{1,2}月\d{1,2}日印发$")
ITEM_RE = re.compile(r"^\d{1,2}[.．]")
TITLE_HEIGHT = (20.0, 24.5)  # pt: the box of a 2号 (22 pt) line; 3号 lines are 16-17, the 小初 mark 37
Rect = tuple[float, float, float, float]


def area_x(index: int) -> tuple[float, float]:
    """Left and right edge of the type area on page ``index`` (0-based): 订口 28 mm on the binding side,
    which is the left of odd pages and the right of even ones (printed double-sided, mirrored margins)."""
    left = 28 * MM if index % 2 == 0 else 26 * MM
    return left, left + 156 * MM


@dataclass(frozen=True)
class Expect:
    """What the layout put on the pages (texts without spaces); None/empty: recognise it on the page."""

    fmt: str | None = None  # standard, letter, minutes or order; None: told by the 版头
    date: str | None = None
    signature: str | None = None
    sealed: bool | None = None
    joint: tuple[tuple[str, ...], ...] = ()  # 联合行文: the 署名 block's rows of names (typeset.joint)
    attachments: tuple[str, ...] = ()
    note: str | None = None
    colophon: tuple[str, ...] = ()
    seal_mm: float | None = None  # None: the usual size for the format (a 公章, a 令's 签名章)
    title: str | None = None
    annexes: tuple[tuple[str, str], ...] = ()  # bound attachments: ("附件N", title) in order

    @property
    def seal_size(self) -> float:
        if self.seal_mm is not None:
            return self.seal_mm
        return pdf_measure.DEFAULT_NAME_SEAL_MM if self.fmt == "order" else pdf_measure.DEFAULT_SEAL_MM


def compact(text: str) -> str:
    return "".join(text.split())


def expect_for(doc: OfficialDocument, fmt: str, *, seal_mm: float | None = None) -> Expect:
    """What :func:`typeset.render.render_docx` lays out for ``doc`` in ``fmt``."""
    date = format_cn_date(doc.date) if doc.date else None
    signature = doc.signature_name or doc.issuer_name
    if fmt == "order":
        signature = (doc.signer_title or "") + (doc.signature_name or "")
    names = doc.attachments
    items = [f"{i + 1}.{n}" if len(names) > 1 else n for i, n in enumerate(names)]
    note = doc.note if not doc.note or doc.note.startswith(("（", "(")) else f"（{doc.note}）"
    colophon = ["抄送：" + "，".join(doc.cc).rstrip("。") + "。"] if doc.cc else []
    if fmt != "letter" and doc.printer:
        colophon.append(doc.printer + (format_cn_date(doc.print_date) + "印发" if doc.print_date else ""))
    minutes = fmt == "minutes"
    if doc.joint_issuers and fmt in ("standard", "letter") and joint.rows(doc):
        signature = "".join(joint.rows(doc)[-1])  # the row over the date
    return Expect(
        fmt=fmt,
        date=None if minutes else date,
        signature=None if minutes else compact(signature),
        sealed=bool(doc.seal_space and date) and fmt in ("standard", "letter"),
        joint=joint.rows(doc) if fmt in ("standard", "letter") else (),
        attachments=tuple(compact(("附件：" if i == 0 else "") + a) for i, a in enumerate(items)),
        note=compact(note) if note else None,
        colophon=tuple(compact(c) for c in colophon),
        seal_mm=seal_mm,
        title=None if fmt == "order" else compact(doc.title),  # a 令 has no title under its 令号
        annexes=tuple((doc.annex_label(a), compact(a.title)) for a in doc.annexes),
    )


@dataclass(frozen=True)
class PageText:
    """One page: the lines inside the type area, its page number line, anything else printed."""

    index: int
    content: tuple[Line, ...]
    number: Line | None
    outside: tuple[Line, ...]

    @property
    def blank(self) -> bool:
        return not self.content


@dataclass(frozen=True)
class LetterHead:
    """信函格式's first page (§10.1): the glyph box of the 发文机关标志, the box around each red double line
    (both of its rules) and the glyph box of the first line under the upper one; None where not found.
    ``last``: the glyph box of the page's lowest line of text, above the lower double line."""

    mark: Rect | None
    upper: Rect | None
    lower: Rect | None
    first: Rect | None
    last: Rect | None = None


@dataclass(frozen=True)
class AnnexStart:
    """The first page of a bound attachment: its "附件N" line and the title's lines under it (2号)."""

    label: Line
    title: tuple[Line, ...]


@dataclass(frozen=True)
class Measured:
    """Where the elements landed (what :mod:`typeset.paginate` adjusts from)."""

    pages: tuple[PageText, ...]
    date: Line | None = None
    signature: Line | None = None
    note: Line | None = None
    attachments: tuple[Line, ...] = ()
    colophon: tuple[Line, ...] = ()
    rules: tuple[Rect, ...] = ()  # 版记 rules on the 版记's last page
    seal: SealPlacement | None = None
    sealed: bool = False  # a real seal is on the page (signature widget or seal picture)
    title: tuple[Line, ...] = ()  # the title's lines on the first page
    letter: LetterHead | None = None  # a 信函's first page
    annexes: tuple[AnnexStart, ...] = ()  # bound attachments, each from a page of its own
    annex_seals: tuple[int, ...] = ()  # pages (0-based) of the attachments that carry a seal

    @property
    def bottom_rule(self) -> Rect | None:
        return min(self.rules, key=lambda r: r[1]) if self.rules else None

    @property
    def content_end(self) -> Line | None:
        """The last line before the 版记 (the 附注, the date, the attendance...)."""
        flow = [line for page in self.pages for line in page.content if line not in self.colophon]
        return flow[-1] if flow else None


def _pages(document: pdfium.PdfDocument) -> tuple[PageText, ...]:
    out = []
    for index in range(len(document)):
        content, outside, number = [], [], None
        for line in pdf_measure.page_lines(document, index):
            if line.y1 < AREA_BOTTOM - EDGE or line.y0 > AREA_TOP + EDGE:
                if number is None and line.y1 < AREA_BOTTOM and NUMBER_RE.fullmatch(line.text):
                    number = line
                else:
                    outside.append(line)
            else:
                content.append(line)
        out.append(PageText(index, tuple(content), number, tuple(outside)))
    return tuple(out)


def _rules(page: pdfium.PdfPage, height: float = 3.0) -> list[Rect]:
    """Horizontal rules at least 100 mm long and at most ``height`` points high, top first."""
    found = set()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]):
        x0, y0, x1, y1 = obj.get_bounds()
        if x1 - x0 >= 100 * MM and y1 - y0 <= height:
            found.add((round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)))
    return sorted(found, key=lambda r: -r[1])


def _seal_rect(page: pdfium.PdfPage) -> Rect | None:
    """The seal of a sealed file: its signature widget, else a round or square picture 15-60 mm wide."""
    for i in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, i)
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET:
                continue
            rect = pdfium_c.FS_RECTF()
            if pdfium_c.FPDFAnnot_GetRect(annot, rect) and abs(rect.right - rect.left) > 10 * MM:
                return (
                    min(rect.left, rect.right),
                    min(rect.bottom, rect.top),
                    max(rect.left, rect.right),
                    max(rect.bottom, rect.top),
                )
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        x0, y0, x1, y1 = obj.get_bounds()
        w, h = x1 - x0, y1 - y0
        if 15 * MM <= w <= 60 * MM and abs(w - h) <= 0.1 * w:  # a 公章 (42 mm) or a 签名章 (20 mm)
            return (x0, y0, x1, y1)
    return None


def _starts(line: Line, text: str) -> bool:
    """A printed line that begins ``text`` (long texts wrap) or is all of it."""
    return bool(line.text) and (text.startswith(line.text) if len(line.text) < len(text) else line.text == text)


def _right_aligned(line: Line) -> bool:
    """A 署名 line: set from the right, well in from the left edge (body and 附件说明 lines are not)."""
    left, right = area_x(line.page)
    return line.x0 > left + 5.5 * CHAR and line.x1 < right - CHAR


def _alone(line: Line, flow: list[Line]) -> bool:
    """Nothing else printed beside it (a table row's cells share their band)."""
    return not any(o is not line and o.page == line.page and min(o.y1, line.y1) - max(o.y0, line.y0) > 2 for o in flow)


def _find(flow: list[Line], expect: Expect) -> tuple[Line | None, Line | None, Line | None]:
    """成文日期, 署名 and 附注: the last date line in the flow, the line above it, the line below it."""
    dates = [
        i
        for i, line in enumerate(flow)
        if (
            line.text == expect.date
            if expect.date
            else DATE_RE.fullmatch(line.text) and _right_aligned(line) and _alone(line, flow)
        )
    ]
    if not dates:
        return None, None, None
    at = dates[-1]
    date = flow[at]
    before = flow[at - 1] if at and flow[at - 1].page == date.page else None
    wanted = (lambda line: line.text == expect.signature) if expect.signature is not None else _right_aligned
    signature = before if before is not None and wanted(before) else None
    if expect.joint:  # 联合行文: the block starts at its first row of names
        rows = joint.find_rows(flow, at, expect.joint)
        signature = rows[0] if rows else None
    after = flow[at + 1] if at + 1 < len(flow) else None
    if after is not None and (_starts(after, expect.note) if expect.note else after.text.startswith(("（", "("))):
        return date, signature, after
    return date, signature, None


def _colophon_start(flow: list[Line], expect: Expect, after: int) -> int:
    for i in range(after, len(flow)):
        line = flow[i]
        if any(_starts(line, h) for h in expect.colophon) if expect.colophon else COLOPHON_START_RE.search(line.text):
            return i
    return len(flow)


def _attachments(flow: list[Line], expect: Expect, end: int) -> tuple[Line, ...]:
    """The 附件说明: its "附件：" line and the item lines after it, up to ``end`` (the 署名)."""
    first = next((i for i in range(end - 1, -1, -1) if flow[i].text.startswith("附件：")), None)
    if first is None:
        return ()
    lines = [flow[first]]
    for line in flow[first + 1 : end]:
        if expect.attachments:
            if not any(_starts(line, a) or a.endswith(line.text) for a in expect.attachments[1:]):
                break
        elif not ITEM_RE.match(line.text) and line.x0 < lines[-1].x0 - EDGE:
            break
        lines.append(line)
    return tuple(lines)


def _format(pages: tuple[PageText, ...]) -> str:
    """信函: the 发文机关标志 stands in the first page's header (30 mm from the top); 纪要 and 令 by the
    last characters of the mark, the first large line inside the type area."""
    first = sorted(pages[0].content + pages[0].outside, key=lambda line: -line.y1) if pages else []
    mark = next((line for line in first if line.y1 - line.y0 > 20), None)
    if mark is not None and mark.y1 > AREA_TOP:
        return "letter"
    if mark is not None and mark.text.endswith("纪要"):
        return "minutes"
    if mark is not None and mark.text.endswith("令"):
        return "order"
    return "standard"


def measure(pdf: bytes, expect: Expect | None = None) -> tuple[Measured, Expect]:
    """Read the pages of ``pdf`` and find the elements. Raises UnsupportedMedia ``not_pdf``."""
    with pdf_measure.opened(pdf) as document:
        return _measure(document, pdf, expect or Expect())


def _measure(document: pdfium.PdfDocument, pdf: bytes, expect: Expect) -> tuple[Measured, Expect]:
    pages = _pages(document)
    if expect.fmt is None:
        expect = replace(expect, fmt=_format(pages))
    flow = [line for page in pages for line in page.content]
    annexes = _annex_starts(pages)
    # The 主体 ends where the bound attachments start: their dates and lists are not its elements.
    main = [line for line in flow if not annexes or line.page < annexes[0].label.page]
    date, signature, note = _find(main, expect)
    after = flow.index(note or date) + 1 if date else 0
    if annexes:
        after = max(after, flow.index(annexes[-1].label) + 1)
    start = _colophon_start(flow, expect, after)
    colophon = tuple(flow[start:])
    attachments = _attachments(main, expect, main.index(signature or date) if date else min(start, len(main)))
    rules: tuple[Rect, ...] = ()
    if colophon:
        page = colophon[-1].page
        top = max(line.y1 for line in colophon if line.page == page)
        rules = tuple(r for r in _rules(document[page]) if r[1] <= top + LINE)
    seal, real = None, False
    order = expect.fmt == "order" and signature is not None  # a 令's 签名章 sits on the 签发人's name
    if date is not None and not expect.joint and (expect.fmt in ("standard", "letter") or order):
        rect = _seal_rect(document[date.page])
        if rect is not None:
            lines = pdf_measure.page_lines(document, date.page)
            seal, real = pdf_measure.judge_seal(lines, rect, date=date, signature=signature), True
        elif order or _sealed_layout(expect, date):
            seal = pdf_measure.seal_placement(
                pdf,
                date_text=date.text,
                diameter_mm=expect.seal_size,
                signature_text=signature.text if signature else None,
                name_seal=order,
            )
    title = _title(pages[0], expect) if pages else ()
    letter = _letter_head(document, pages[0]) if pages and expect.fmt == "letter" else None
    annex_seals = tuple(
        i for i in range(annexes[0].label.page if annexes else len(pages), len(pages)) if _seal_rect(document[i])
    )
    measured = Measured(pages, date, signature, note, attachments, colophon, rules, seal, real, title, letter)
    return replace(measured, annexes=annexes, annex_seals=annex_seals), expect


def _annex_starts(pages: tuple[PageText, ...]) -> tuple[AnnexStart, ...]:
    """The pages whose first line is "附件" or "附件N" (:func:`pdf_measure.annex_pages`), with the run of
    2号 lines under it: the attachment's title."""
    out = []
    for page in pages:
        if not page.content or not pdf_measure.ANNEX_LABEL_RE.fullmatch(page.content[0].text):
            continue
        title = []
        for line in page.content[1:]:
            if not TITLE_HEIGHT[0] <= line.y1 - line.y0 <= TITLE_HEIGHT[1]:
                break
            title.append(line)
        out.append(AnnexStart(page.content[0], tuple(title)))
    return tuple(out)


def _union(rects: list[Rect]) -> Rect | None:
    if not rects:
        return None
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def _letter_head(document: pdfium.PdfDocument, page: PageText) -> LetterHead:
    """The 信函 head: the mark is the first large line of the page, the upper double line the rules
    between it and the next line, the lower one the rules under the type area."""
    lines = sorted(page.content + page.outside, key=lambda line: -line.y1)
    at = next((i for i, line in enumerate(lines) if line.y1 - line.y0 > TITLE_HEIGHT[1]), None)
    if at is None:
        return LetterHead(None, None, None, None)
    mark = lines[at]
    after = lines[at + 1] if at + 1 < len(lines) else None
    rules = _rules(document[page.index], height=3 * MM)  # a double line's thick rule is drawn as a band
    upper = [r for r in rules if r[3] < mark.y0 and (after is None or r[1] > after.y1)]
    lower = [r for r in rules if r[3] < AREA_BOTTOM]
    first = pdf_measure.glyph_box(document, after) if after is not None and upper else None
    bottom = _union(lower)
    above = [line for line in lines if bottom is not None and line.y0 > bottom[3]]
    last = pdf_measure.glyph_box(document, above[-1]) if above else None
    return LetterHead(pdf_measure.glyph_box(document, mark), _union(upper), bottom, first, last)


def _title(page: PageText, expect: Expect) -> tuple[Line, ...]:
    """The title's lines: the lines on the first page that spell ``expect.title``, or, not told, the last
    run of 2号 lines there (the 发文机关标志 above it is larger or stands apart)."""
    lines = page.content
    if expect.title:
        for i in range(len(lines)):
            text = ""
            for j in range(i, len(lines)):
                text += lines[j].text
                if text == expect.title:
                    return lines[i : j + 1]
                if not expect.title.startswith(text):
                    break
        return ()
    if expect.fmt == "order":
        return ()
    runs: list[list[Line]] = []
    for i, line in enumerate(lines):
        if TITLE_HEIGHT[0] <= line.y1 - line.y0 <= TITLE_HEIGHT[1]:
            if runs and i and lines[i - 1] is runs[-1][-1]:
                runs[-1].append(line)
            else:
                runs.append([line])
    return tuple(runs[-1]) if runs else ()


def _sealed_layout(expect: Expect, date: Line) -> bool:
    """With a seal the date is 右空四字, without one 右空二字 (§7.3.5): judged by that gap when not told."""
    if expect.sealed is not None:
        return expect.sealed
    return area_x(date.page)[1] - date.x1 > 3 * CHAR
