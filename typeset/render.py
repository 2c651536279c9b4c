"""OfficialDocument -> .docx bytes laid out per GB/T 9704-2012 (values in, bytes out; no I/O).

Four formats (:mod:`typeset.formats`): ``standard`` (文件格式), ``letter`` (信函格式, §10.1), ``minutes``
(纪要格式, §10.3) and ``order`` (命令格式, §10.2), each written top to bottom on the ``Writer`` here; the
end of the 主体 is :mod:`typeset.closing`, the 版记 and page numbers :mod:`typeset.colophon`. Every
paragraph uses an exact line height (579 twips = 1/22 of the type area) so the 22-line grid holds in
Word, WPS and LibreOffice alike; see gbt9704.py for why characters are compressed by
-0.25 pt instead of using a linesAndChars grid.

The e-seal layer finds the 署名 and 成文日期 paragraphs by bookmark (``signature_paragraph_index``,
``date_paragraph_index``); indexes are into ``docx.Document(...).paragraphs``.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from typing import Literal

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Twips
from docx.text.paragraph import Paragraph as DocxParagraph

from office.errors import ValidationError
from office.safezip import open_zip
from typeset import _ooxml as x
from typeset import colophon, formats
from typeset import gbt9704 as g
from typeset.closing import BOOKMARK_DATE, BOOKMARK_SIGNATURE
from typeset.gbt9704 import text_width
from typeset.layout import (
    Block,
    DocType,
    Heading,
    ListItem,
    OfficialDocument,
    Paragraph,
    Table,
    numbered_texts,
)
from typeset.title_lines import title_lines

Format = Literal["standard", "letter", "minutes", "order"]
Run = tuple[str, str, int, str | None]  # text, font, half-point size, colour

# Calibrated on LibreOffice 7.4 PDFs (tests/typeset/test_pdf.py): where the top of a CJK glyph
# falls inside an exact-height line, as a fraction of the font size from the line top.
MARK_LINE_FACTOR = 1.0
# Bottom border of the 发文字号 line: distance in pt so the red line lands 4 mm under the glyphs.
SEPARATOR_SPACE = 6
DRAFT_NUMBER = "〔　　〕号"
DRAFT_NOTICE = "草稿　未编号　不得印发"


@dataclass(frozen=True)
class PagePlan:
    """Adjustments measured on a rendered pass (``typeset.paginate``); the defaults are the estimate.

    ``colophon``: (pages after the content's last page, twips of space above the 版记 on its page);
    2 pages means the §7.5 blank page and a 版记 page, both without page numbers. ``split_last``: the
    last paragraph is split after that many printed characters, so only its last lines go to the
    署名 block's page. ``tight_from``: the body block from which lines are set ``tight_pitch`` apart
    (GB/T 9704 §7.3.5: when the 署名 block does not fit, adjust the line spacing); a ``tight_pitch``
    without ``tight_from`` says it was tried and did not help. ``keep_colophon``: a 信函's 抄送 goes
    with the 署名 block. ``title``: the title's lines, broken with the widths the rendered page showed.
    """

    colophon: tuple[int, int] | None = None
    split_last: int | None = None
    tight_from: int | None = None
    tight_pitch: int = g.LINE_PITCH
    keep_colophon: bool = False
    title: tuple[str, ...] | None = None


def _title_fits(line: str) -> bool:
    return text_width(line, char=g.SIZE_2 * 10, digit=g.SIZE_2 * 5) <= g.TYPE_AREA_WIDTH


def title_breaks(doc: OfficialDocument, plan: PagePlan | None = None) -> list[str]:
    """The title's lines as laid out: those chosen from widths measured on an earlier pass
    (``plan.title``), else balanced breaks between words estimated by counting characters."""
    if plan is not None and plan.title is not None:
        return list(plan.title)
    return title_lines(doc.title, _title_fits)


class Writer:
    """Builds the document top to bottom and tracks an estimate of the current page and line."""

    def __init__(self, doc: OfficialDocument, plan: PagePlan | None = None) -> None:
        self.doc = doc
        self.plan = plan or PagePlan()
        self.word = docx.Document()
        self.page = 1
        self.y = 0  # twips used on the current page's type area
        self.pitch = g.LINE_PITCH  # line height of body text, closer from ``plan.tight_from`` on
        self._bookmark_id = 0
        self.last_text: DocxParagraph | None = None  # kept with the 署名 so the seal never sits alone
        self.last_lines = 0
        # Where the text kept with the 署名 starts (page, y), how tall it is and its space before (which
        # goes at the top of a page): LibreOffice moves a keep-with-next paragraph on whole, so the
        # estimate moves all of it.
        self.chain: tuple[int, int, int, int] | None = None
        self.end: DocxParagraph | None = None  # the last paragraph before the 版记
        self._setup()

    # --- setup --------------------------------------------------------------------------------

    def _setup(self) -> None:
        word = self.word
        section = word.sections[0]
        section.page_width, section.page_height = Twips(g.PAGE_WIDTH), Twips(g.PAGE_HEIGHT)
        section.top_margin, section.bottom_margin = Twips(g.MARGIN_TOP), Twips(g.MARGIN_BOTTOM)
        section.left_margin, section.right_margin = Twips(g.MARGIN_LEFT), Twips(g.MARGIN_RIGHT)
        section.gutter = Twips(0)
        section.footer_distance = Twips(colophon.FOOTER_DISTANCE)
        section.header_distance = Twips(g.mm(15))
        sect_pr = section._sectPr
        grid = sect_pr.find(qn("w:docGrid"))
        if grid is None:
            grid = OxmlElement("w:docGrid")
            sect_pr.append(grid)
        for attr in list(grid.attrib):
            del grid.attrib[attr]
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(g.LINE_PITCH))
        word.settings.odd_and_even_pages_header_footer = True
        settings = word.settings.element
        if settings.find(qn("w:mirrorMargins")) is None:
            zoom = settings.find(qn("w:zoom"))
            mirror = OxmlElement("w:mirrorMargins")
            if zoom is not None:
                zoom.addnext(mirror)
            else:
                settings.insert(0, mirror)
        self._setup_defaults()
        props = word.core_properties
        props.title = self.doc.title.replace("\n", "")
        props.author = self.doc.issuer_name
        props.comments = "GB/T 9704-2012"

    def _setup_defaults(self) -> None:
        """Document defaults = 3号仿宋 black, no theme fonts (they would override w:eastAsia)."""
        styles = self.word.styles.element
        rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        x.set_fonts(rpr, g.FONT_FANGSONG)
        for tag in ("w:sz", "w:szCs"):
            el = rpr.find(qn(tag))
            if el is None:
                el = OxmlElement(tag)
                rpr.append(el)
            el.set(qn("w:val"), str(g.SIZE_3))
        for style in styles.iter(qn("w:rFonts")):
            for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
                style.attrib.pop(qn("w:" + attr), None)

    # --- primitives ---------------------------------------------------------------------------

    def para(
        self,
        runs: list[Run],
        *,
        line: int = g.LINE_PITCH,
        lines: int | None = None,
        spacing: int | None = g.CHAR_SPACING,
        **fmt: int | str | None,
    ) -> DocxParagraph:
        """Add a paragraph; ``lines`` overrides the estimated line count for page tracking."""
        p = self.word.add_paragraph()
        x.format_paragraph(p, line=line, **fmt)  # type: ignore[arg-type]
        for text, font, size, color in runs:
            parts = text.split("\n")
            for i, part in enumerate(parts):
                run = p.add_run(part)
                x.style_run(run, font, size, color=color, spacing=spacing)
                if i < len(parts) - 1:
                    run.add_break()
        if lines is None:
            lines = self._count_lines(runs, spacing, fmt)
        self.advance(int(fmt.get("before") or 0), line, lines)
        return p

    @staticmethod
    def _count_lines(runs: list[Run], spacing: int | None, fmt: dict[str, int | str | None]) -> int:
        indent = int(fmt.get("left") or 0) + int(fmt.get("right") or 0) + max(int(fmt.get("first_line") or 0), 0)
        count, width = 0, indent
        for text, _font, size, _color in runs:
            for i, part in enumerate(text.replace("\t", "\u3000\u3000").split("\n")):
                if i:
                    count, width = count + max(1, math.ceil(width / g.TYPE_AREA_WIDTH)), indent
                width += text_width(part, char=size * 10 + (spacing or 0), digit=size * 5 + (spacing or 0))
        return count + max(1, math.ceil(width / g.TYPE_AREA_WIDTH))

    def advance(self, before: int, line: int, lines: int) -> None:
        """Move the page estimate past a paragraph, with widow/orphan control (on by default in
        Word and LibreOffice: never one line of a paragraph alone at a page top or bottom)."""
        self.last_lines = lines
        fit = max(0, (g.TYPE_AREA_HEIGHT - self.y - before) // line)
        if lines <= fit:
            self.y += before + lines * line
            return
        kept = fit
        if lines >= 2:
            if lines - kept == 1:
                kept -= 1
            if kept == 1:
                kept = 0
        rest = lines - max(kept, 0)
        per_page = max(1, g.TYPE_AREA_HEIGHT // line)
        self.page += 1 + (rest - 1) // per_page
        self.y = ((rest - 1) % per_page + 1) * line

    def bookmark(self, p: DocxParagraph, name: str) -> None:
        self._bookmark_id += 1
        x.bookmark(p, name, self._bookmark_id)

    def body_para(
        self, text: str, font: str = g.FONT_FANGSONG, *, before: int = 0, outline: int | None = None
    ) -> DocxParagraph:
        start = (self.page, self.y)
        self.last_text = self.para(
            [(text, font, g.SIZE_3, None)], first_line=2 * g.CHAR, before=before, outline=outline, line=self.pitch
        )
        self.chain = (*start, before + self.last_lines * self.pitch, before)
        self.end = self.last_text
        return self.last_text

    # --- 版头 ----------------------------------------------------------------------------------

    def top_left_marks(self) -> int:
        """份号, 密级, 紧急程度 flush left, one per line from line 1; returns how many lines."""
        doc, count = self.doc, 0
        for text, font in (
            (doc.copy_number, g.FONT_FANGSONG),
            (doc.classification, g.FONT_HEITI),
            (doc.urgency, g.FONT_HEITI),
        ):
            if text:
                self.para([(text, font, g.SIZE_3, None)], align="left")
                count += 1
        return count

    @staticmethod
    def mark_line(size: int) -> int:
        """The exact line height (twips) of a 发文机关标志 line in ``size`` half-points."""
        return round(size * 10 * MARK_LINE_FACTOR)

    def mark(self, text: str, *, before: int) -> DocxParagraph:
        """发文机关标志: red 小标宋, centred, as large as fits (小初 at most)."""
        size = min(g.SIZE_XIAOCHU, (2 * g.TYPE_AREA_WIDTH // 20) // max(len(text), 1))
        line = self.mark_line(size)
        return self.para(
            [(text, g.FONT_XIAOBIAOSONG, size, g.RED)], align="center", line=line, lines=1, before=before, spacing=None
        )

    def red_separator(self, p: DocxParagraph) -> None:
        x.borders(p, bottom=("single", g.SEPARATOR_SZ, g.RED, SEPARATOR_SPACE))

    def number_line(self) -> DocxParagraph:
        """发文字号 centred two lines under the mark, or 上行文: number left + 签发人 right."""
        doc = self.doc
        number = doc.number or (DRAFT_NUMBER if doc.draft else "")
        if not (doc.doc_type.upward and doc.signers):
            return self.para([(number, g.FONT_FANGSONG, g.SIZE_3, None)], align="center", before=2 * g.LINE_PITCH)
        label = "签发人："
        pairs = [doc.signers[i : i + 2] for i in range(0, len(doc.signers), 2)]
        label_x = g.TYPE_AREA_WIDTH - g.CHAR - text_width(label + "\u3000".join(pairs[0]))
        name_x = label_x + text_width(label)
        p: DocxParagraph | None = None
        for i, pair in enumerate(pairs):
            last = i == len(pairs) - 1
            # 居左空一字 with a full-width space, not an indent: the red separator is this paragraph's
            # bottom border, which starts at the indent and must span the whole 156 mm type area.
            runs: list[Run] = [
                ("\u3000" + number if last else "", g.FONT_FANGSONG, g.SIZE_3, None),
                ("\t" + (label if i == 0 else ""), g.FONT_FANGSONG, g.SIZE_3, None),
                ("\u3000".join(pair), g.FONT_KAITI, g.SIZE_3, None),
            ]
            p = self.para(runs, align="left", before=2 * g.LINE_PITCH if i == 0 else 0, lines=1)
            x.tab_stops(p, [("left", label_x if i == 0 else name_x)])
        assert p is not None
        return p

    def title(self, *, before: int = 2 * g.LINE_PITCH) -> None:
        text = "\n".join(title_breaks(self.doc, self.plan))
        self.para([(text, g.FONT_XIAOBIAOSONG, g.SIZE_2, None)], align="center", before=before, spacing=None)

    def recipients(self) -> None:
        if self.doc.main_recipients:
            text = "，".join(self.doc.main_recipients).rstrip("：:") + "："
            self.para([(text, g.FONT_FANGSONG, g.SIZE_3, None)], align="both", before=g.LINE_PITCH)

    # --- 主体 ----------------------------------------------------------------------------------

    def body(self, blocks: list[Block]) -> None:
        fonts = {1: g.FONT_HEITI, 2: g.FONT_KAITI, 3: g.FONT_FANGSONG, 4: g.FONT_FANGSONG}
        for i, (block, numbered) in enumerate(zip(blocks, numbered_texts(blocks), strict=True)):
            if self.plan.tight_from is not None and i >= self.plan.tight_from:
                self.pitch = self.plan.tight_pitch
            if isinstance(block, Heading):  # never the last line of a page
                if 0 < self.y and self.y + 3 * self.pitch > g.TYPE_AREA_HEIGHT:  # with two lines after it
                    self.page, self.y = self.page + 1, 0
                p = self.body_para(numbered or block.text, fonts[block.level], outline=block.level - 1)
                p.paragraph_format.keep_with_next = True
            elif isinstance(block, Paragraph) and i == len(blocks) - 1 and self.plan.split_last:
                self.split_para(block.text, self.plan.split_last)
            elif isinstance(block, Paragraph):
                self.body_para(block.text)
            elif isinstance(block, ListItem):
                self.body_para(block.marker + block.text)
            elif isinstance(block, Table):
                self.table(block)

    def split_para(self, text: str, keep: int) -> None:
        """The last paragraph in two, after its first ``keep`` printed characters: what Word does with a
        paragraph kept with the next one (its last lines go with the 署名 block), and LibreOffice, which
        moves such a paragraph whole, does not. The first part's last line is justified like the others."""
        seen, cut = 0, len(text)
        for j, ch in enumerate(text):
            seen += not ch.isspace()
            if seen == keep:
                cut = j + 1
                break
        head = self.body_para(text[:cut])
        x.format_paragraph(head, first_line=2 * g.CHAR, line=self.pitch, align="distribute")
        start = (self.page, self.y)
        self.last_text = self.end = self.para([(text[cut:], g.FONT_FANGSONG, g.SIZE_3, None)], line=self.pitch)
        self.chain = (*start, self.last_lines * self.pitch, 0)

    def table(self, block: Table) -> None:
        if not block.rows:
            return
        cols = max(len(row) for row in block.rows)
        table = self.word.add_table(rows=len(block.rows), cols=cols)
        table.style = self.word.styles["Table Grid"]
        width = g.TYPE_AREA_WIDTH // cols
        for r, row in enumerate(block.rows):
            for c in range(cols):
                cell = table.cell(r, c)
                cell.width = Twips(width)
                p = cell.paragraphs[0]
                # Left, not justified: 两端对齐 spreads a short cell's characters across the cell.
                x.format_paragraph(p, align="center" if r == 0 and block.header else "left")
                font = g.FONT_HEITI if r == 0 and block.header else g.FONT_FANGSONG
                x.style_run(p.add_run(row[c] if c < len(row) else ""), font, g.SIZE_3)
            # Cell margins take 2 x 108 twips; a row grows by its border width as well.
            lines = max(max(1, math.ceil(text_width(cell) / (width - 216))) for cell in row) if row else 1
            self.advance(0, g.LINE_PITCH, lines)
            self.y += 20
        # A table that ends the body goes with the 附件说明 and 署名 that follow: its last row's
        # paragraphs keep with the next (Word and LibreOffice keep the row with the next paragraph).
        self.last_text = table.rows[-1].cells[0].paragraphs[0]
        self.end, self.chain = None, None

    # --- page furniture -------------------------------------------------------------------------

    def draft_notice(self) -> None:
        """草稿 in the header of every page (outside the type area, so the layout is the final one)."""
        section = self.word.sections[0]
        headers = [section.header, section.even_page_header]
        if section.different_first_page_header_footer:
            headers.append(section.first_page_header)
        for header in headers:
            header.is_linked_to_previous = False
            p = header.paragraphs[0]
            if p.text:  # the 信函 mark fixed 30 mm from the page top: leave that page's header alone
                continue
            x.format_paragraph(p, align="right", line=g.SIZE_4 * 10)
            x.style_run(p.add_run(DRAFT_NOTICE), g.FONT_HEITI, g.SIZE_4, color=g.RED, spacing=None)

    def save(self) -> bytes:
        # python-docx's template says it was made in 2013 by python-docx: say what and when instead.
        props = self.word.core_properties
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        props.created = props.modified = now
        props.author = props.last_modified_by = self.doc.issuer_name[:100]
        props.title = self.doc.title.replace("\n", "")[:200]
        props.revision, props.comments, props.keywords, props.subject = 1, "", "", ""
        out = io.BytesIO()
        self.word.save(out)
        return out.getvalue()


def render_docx(doc: OfficialDocument, *, fmt: Format = "standard", plan: PagePlan | None = None) -> bytes:
    """Lay ``doc`` out per GB/T 9704-2012 and return the .docx bytes.

    ``fmt`` picks 文件格式, 信函格式 or 纪要格式; a 纪要 must use ``minutes`` and ``minutes`` only
    takes a 纪要. ``plan``: adjustments measured on the pages of an earlier pass (``typeset.paginate``);
    without it the pages are estimated. Raises office.errors.ValidationError for inconsistent input.
    """
    if fmt not in formats.FORMATS:
        raise ValidationError(f"不支持的版式：{fmt}", code="bad_format")
    if (fmt == "minutes") != (doc.doc_type is DocType.jiyao):
        raise ValidationError("纪要须使用纪要格式，纪要格式只用于纪要", code="bad_format")
    if fmt == "order" and doc.doc_type is not DocType.mingling:
        raise ValidationError("命令格式只用于命令（令）", code="bad_format")
    if fmt == "standard" and not doc.number and not doc.draft:
        raise ValidationError("文件格式须有发文字号", code="missing_number")
    writer = Writer(doc, plan)
    formats.FORMATS[fmt](writer)
    if doc.draft:
        writer.draft_notice()
    return writer.save()


def _bookmarked_index(data: bytes, name: str) -> int:
    open_zip(data).close()
    word = docx.Document(io.BytesIO(data))
    for i, p in enumerate(word.paragraphs):
        for mark in p._p.iter(qn("w:bookmarkStart")):
            if mark.get(qn("w:name")) == name:
                return i
    raise ValidationError("文档中没有找到署名/成文日期位置（纪要不加盖印章）", code="no_seal_anchor")


def date_paragraph_index(docx_bytes: bytes) -> int:
    """Index into ``docx.Document(...).paragraphs`` of the 成文日期 paragraph of a rendered file."""
    return _bookmarked_index(docx_bytes, BOOKMARK_DATE)


def signature_paragraph_index(docx_bytes: bytes) -> int:
    """Index into ``docx.Document(...).paragraphs`` of the 发文机关署名 paragraph of a rendered file."""
    return _bookmarked_index(docx_bytes, BOOKMARK_SIGNATURE)
