"""OfficialDocument -> .docx bytes laid out per GB/T 9704-2012 (values in, bytes out; no I/O).

Three formats: ``standard`` (文件格式), ``letter`` (信函格式, §10.1) and ``minutes`` (纪要格式, §10.3).
Every paragraph uses an exact line height (579 twips = 1/22 of the type area) so the 22-line grid
holds in Word, WPS and LibreOffice alike; see gbt9704.py for why characters are compressed by
-0.25 pt instead of using a linesAndChars grid.

The e-seal layer finds the 署名 and 成文日期 paragraphs by bookmark (``signature_paragraph_index``,
``date_paragraph_index``); indexes are into ``docx.Document(...).paragraphs``.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Twips
from docx.text.paragraph import Paragraph as DocxParagraph

from office.errors import ValidationError
from office.safezip import open_zip
from typeset import _ooxml as x
from typeset import colophon
from typeset import gbt9704 as g
from typeset.gbt9704 import text_width
from typeset.layout import (
    Attendance,
    Block,
    DocType,
    Heading,
    ListItem,
    OfficialDocument,
    Paragraph,
    Table,
    format_cn_date,
    numbered_texts,
)
from typeset.title_lines import title_lines

Format = Literal["standard", "letter", "minutes", "order"]
Run = tuple[str, str, int, str | None]  # text, font, half-point size, colour
BOOKMARK_SIGNATURE = "tb_signature"
BOOKMARK_DATE = "tb_date"

# Calibrated on LibreOffice 7.4 PDFs (tests/typeset/test_pdf.py): where the top of a CJK glyph
# falls inside an exact-height line, as a fraction of the font size from the line top.
MARK_LINE_FACTOR = 1.0
# Bottom border of the 发文字号 line: distance in pt so the red line lands 4 mm under the glyphs.
SEPARATOR_SPACE = 6
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
        self._advance(int(fmt.get("before") or 0), line, lines)
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

    def _advance(self, before: int, line: int, lines: int) -> None:
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

    def mark(self, text: str, *, before: int) -> DocxParagraph:
        """发文机关标志: red 小标宋, centred, as large as fits (小初 at most)."""
        size = min(g.SIZE_XIAOCHU, (2 * g.TYPE_AREA_WIDTH // 20) // max(len(text), 1))
        line = round(size * 10 * MARK_LINE_FACTOR)
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
            self._advance(0, g.LINE_PITCH, lines)
            self.y += 20
        # A table that ends the body goes with the 附件说明 and 署名 that follow: its last row's
        # paragraphs keep with the next (Word and LibreOffice keep the row with the next paragraph).
        self.last_text = table.rows[-1].cells[0].paragraphs[0]
        self.end, self.chain = None, None

    def attachments(self) -> None:
        names = self.doc.attachments
        if not names:
            return
        label = "附件："
        hang = text_width(label)
        # The items stay together (never split from the first) and with the 署名 block after them.
        self.chain = (self.page, self.y, (len(names) + 1) * self.pitch, self.pitch)
        for i, name in enumerate(names):
            text = name if len(names) == 1 else f"{i + 1}.{name}"
            if i == 0:
                p = self.para(
                    [(label + text, g.FONT_FANGSONG, g.SIZE_3, None)],
                    left=2 * g.CHAR + hang,
                    first_line=-hang,
                    before=self.pitch,
                    line=self.pitch,
                )
            else:
                p = self.para([(text, g.FONT_FANGSONG, g.SIZE_3, None)], left=2 * g.CHAR + hang, line=self.pitch)
            p.paragraph_format.keep_together = True
            if i < len(names) - 1:
                p.paragraph_format.keep_with_next = True
            self.last_text = self.end = p

    def keep_group(self, group: int) -> None:
        """The 署名 block (``group`` twips) keeps with the 附件说明 or the last text paragraph before it,
        so the seal never stands on a page without text; when they do not fit together, they go to the
        next page together. Mirror that in the estimate."""
        if self.last_text is None:
            return
        self.last_text.paragraph_format.keep_with_next = True
        if self.chain is None or self.y + group <= g.TYPE_AREA_HEIGHT:
            return
        page, y, height, before = self.chain
        if y + height + group > g.TYPE_AREA_HEIGHT:
            self.page, self.y = page + 1, height - before
        else:
            self.page, self.y = page, y + height

    def signature_and_date(self) -> None:
        """署名 + 成文日期: with a seal the date is 右空四字 and the name centred over it, two blank
        lines above so the seal's top edge stays within one line of the text; without a seal the
        name is 右空二字 and the date starts two characters right of the name (GB/T 9704 §7.3.5)."""
        doc = self.doc
        if doc.date is None:
            return
        date = format_cn_date(doc.date)
        name = doc.signature_name or doc.issuer_name
        w_date, w_name = text_width(date), text_width(name)
        date_fmt: dict[str, Any]
        if doc.seal_space:
            date_fmt = name_fmt = self.centred_on_date(w_date, w_name)
            before = 2 * g.LINE_PITCH
        else:
            date_right = max(w_name - w_date, 2 * g.CHAR)
            date_fmt = {"align": "right", "right": date_right}
            name_fmt = {"align": "right", "right": date_right + w_date + 2 * g.CHAR - w_name}
            before = g.LINE_PITCH
        # The 署名 block keeps the full line pitch, also where the lines above are set closer: the
        # seal's size is fixed, and it must clear the 附注 below and reach the text above.
        self.pitch = g.LINE_PITCH
        self.keep_group(before + (3 if doc.note else 2) * g.LINE_PITCH)
        p = self.para([(name, g.FONT_FANGSONG, g.SIZE_3, None)], before=before, **name_fmt)
        p.paragraph_format.keep_with_next = True
        self.bookmark(p, BOOKMARK_SIGNATURE)
        p = self.para([(date, g.FONT_FANGSONG, g.SIZE_3, None)], **date_fmt)
        x.no_autospace(p)
        p.paragraph_format.keep_with_next = bool(doc.note)
        self.bookmark(p, BOOKMARK_DATE)
        self.end = p

    @staticmethod
    def centred_on_date(w_date: int, w_name: int) -> dict[str, Any]:
        """With a seal: 成文日期右空四字, 署名以成文日期为准居中. Both are centred in one box around the
        date's centre, so the name sits on the date's real centre whatever the digits' width in the
        font at hand (and the Word seal, centred on that box, too). A name too long to be centred there
        moves the box left until it fits, a character clear of the edge."""
        half = max(4 * g.CHAR + w_date // 2, (w_name + g.CHAR) // 2)
        return {"align": "center", "left": g.TYPE_AREA_WIDTH - 2 * half, "right": 0}

    def order_signature(self) -> None:
        """签发人职务 + name (where the 签名章 goes) 右空四字, two lines below the text; the date one
        line below, 右空四字 too."""
        doc = self.doc
        name = doc.signature_name or ""
        text = f"{doc.signer_title}\u3000\u3000{name}" if doc.signer_title else name
        self.pitch = g.LINE_PITCH  # as for the 署名 block with a seal
        self.keep_group((4 if doc.date else 2) * self.pitch + (self.pitch if doc.note else 0))
        p = self.para(
            [(text, g.FONT_FANGSONG, g.SIZE_3, None)],
            align="right",
            right=4 * g.CHAR,
            before=2 * self.pitch,
            line=self.pitch,
        )
        p.paragraph_format.keep_with_next = True
        self.bookmark(p, BOOKMARK_SIGNATURE)
        self.end = p
        if doc.date is None:
            return
        p = self.para(
            [(format_cn_date(doc.date), g.FONT_FANGSONG, g.SIZE_3, None)],
            align="right",
            right=4 * g.CHAR,
            before=self.pitch,
            line=self.pitch,
        )
        p.paragraph_format.keep_with_next = bool(doc.note)
        self.bookmark(p, BOOKMARK_DATE)
        self.end = p

    def note(self) -> None:
        note = self.doc.note
        if note:
            text = note if note.startswith(("（", "(")) else f"（{note}）"
            self.body_para(text)

    def attendance(self, att: Attendance) -> None:
        """纪要: 出席/请假/列席 labels in 3号黑体, names in 仿宋, wrapped lines aligned after the colon."""
        made: list[DocxParagraph] = []
        for label, names in (("出席", att.present), ("请假", att.on_leave), ("列席", att.sitting_in)):
            if not names:
                continue
            head = label + "："
            hang = text_width(head)
            made.append(
                self.para(
                    [(head, g.FONT_HEITI, g.SIZE_3, None), ("，".join(names), g.FONT_FANGSONG, g.SIZE_3, None)],
                    left=2 * g.CHAR + hang,
                    first_line=-hang,
                    before=0 if made else self.pitch,
                    line=self.pitch,
                )
            )
        for p in made[:-1]:  # the attendance block stays together on one page
            p.paragraph_format.keep_with_next = True
        if made:
            self.last_text = self.end = made[-1]

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


# --- formats ------------------------------------------------------------------------------------


def _standard(w: Writer) -> None:
    doc = w.doc
    marks = w.top_left_marks()
    # Top edge of the 发文机关标志 35 mm below the top of the type area (§7.2.3).
    w.mark(doc.mark_text, before=g.mm(35) - marks * g.LINE_PITCH)
    w.red_separator(w.number_line())
    w.title()
    w.recipients()
    w.body(doc.body)
    w.attachments()
    w.signature_and_date()
    w.note()
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
        line=round(size * 10 * MARK_LINE_FACTOR),
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
    w.attachments()
    w.signature_and_date()
    w.note()
    colophon.write(w, rules=False, printer=False)
    colophon.page_numbers(w)


def _minutes(w: Writer) -> None:
    """纪要格式: red ×××纪要 35 mm below the type area top; 期号 centred two lines under it and the
    issuer/date line with the red separator are common practice, not the standard. No seal."""
    doc = w.doc
    w.top_left_marks()
    marks = sum(1 for t in (doc.copy_number, doc.classification, doc.urgency) if t)
    w.mark(doc.mark_text, before=g.mm(35) - marks * g.LINE_PITCH)
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
    w.attachments()
    if doc.attendance:
        w.attendance(doc.attendance)
    w.note()
    colophon.write(w, rules=True, printer=True)
    colophon.page_numbers(w)


DRAFT_NUMBER = "〔　　〕号"
DRAFT_NOTICE = "草稿　未编号　不得印发"


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
    w._advance(0, g.LINE_PITCH, 2)
    w.recipients()
    w.body(doc.body)
    w.attachments()
    w.order_signature()
    w.note()
    colophon.write(w, rules=True, printer=True)
    colophon.page_numbers(w)


_FORMATS: dict[str, Callable[[Writer], None]] = {
    "standard": _standard,
    "letter": _letter,
    "minutes": _minutes,
    "order": _order,
}


def render_docx(doc: OfficialDocument, *, fmt: Format = "standard", plan: PagePlan | None = None) -> bytes:
    """Lay ``doc`` out per GB/T 9704-2012 and return the .docx bytes.

    ``fmt`` picks 文件格式, 信函格式 or 纪要格式; a 纪要 must use ``minutes`` and ``minutes`` only
    takes a 纪要. ``plan``: adjustments measured on the pages of an earlier pass (``typeset.paginate``);
    without it the pages are estimated. Raises office.errors.ValidationError for inconsistent input.
    """
    if fmt not in _FORMATS:
        raise ValidationError(f"不支持的版式：{fmt}", code="bad_format")
    if (fmt == "minutes") != (doc.doc_type is DocType.jiyao):
        raise ValidationError("纪要须使用纪要格式，纪要格式只用于纪要", code="bad_format")
    if fmt == "order" and doc.doc_type is not DocType.mingling:
        raise ValidationError("命令格式只用于命令（令）", code="bad_format")
    if fmt == "standard" and not doc.number and not doc.draft:
        raise ValidationError("文件格式须有发文字号", code="missing_number")
    writer = Writer(doc, plan)
    _FORMATS[fmt](writer)
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
