"""Where the GB/T 9704 elements of a Word file are, found from their text and position, not from our own
bookmarks, so drafts made in Word or WPS are read like our own output (for :mod:`typeset.conformance`).

From the 发文字号 (or a 纪要 期号, a 令号, a draft's blank number) back to the 发文机关标志 and on to the
red separator and the title; from the end back to the 成文日期, with the 署名 above it and the 附注 below;
the 附件说明 and the 版记 (抄送, the 印发 line, or a line between its black rules). The format is told
by the mark (…纪要, …令) or by a first-page header holding it (信函格式).
"""

from __future__ import annotations

import re
from typing import Any

from docx.document import Document as DocxDocument
from docx.oxml.ns import qn

from typeset import gbt9704 as g
from typeset._styles import StyleResolver
from typeset.layout import MINUTES_NUMBER_RE, ORDER_NUMBER_RE

ANY_NUMBER_RE = re.compile(r"\S+?[〔\[【(（［]\d{2,4}[〕\]】)）］]第?\d+号")
DATE_RE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")
CN_DATE_RE = re.compile(r"^[〇○零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日$")
# The number line of a draft seen before 编号 (typeset.render.DRAFT_NUMBER, or a 令's 第　　号).
DRAFT_NUMBER_RE = re.compile(r"^(\S*〔\s*〕\s*号|第\s+号)")
ANNEX_LABEL_RE = re.compile(r"^附件\d{0,2}$")  # a bound attachment's first line (GB/T 9704 §8)
TOP_MARKS_RE = re.compile(r"^(\d{1,6}|特急|加急|平急|特提|内部.*|秘密.*|机密.*|绝密.*)$")


def _paragraphs(word: DocxDocument) -> list[Any]:
    """The body's paragraphs in reading order, with those of a 联合行文's 发文机关标志 where it stands: a
    table whose first cell is red (``typeset.joint.mark``: the issuers' names one a row, the lead first,
    and 文件 in a merged cell beside them), read as its names and then the suffix, so the mark is found
    before the 发文字号 like one issuer's. Other tables (in the body) are not paragraphs of the body."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[Any] = []
    body = word.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            out.append(Paragraph(child, word._body))
        elif child.tag == qn("w:tbl"):
            table = Table(child, word._body)
            cells = [row.cells for row in table.rows]
            first = cells[0][0].paragraphs if cells and cells[0] else []
            colours = [r.get(qn("w:val")) for p in first for r in p._p.iter(qn("w:color"))]
            if not colours or any(c != g.RED for c in colours):
                continue
            out += [p for row in cells for p in row[0].paragraphs]
            out += cells[0][-1].paragraphs if len(cells[0]) > 1 else []
    return out


class DocxElements:
    """A Word file's paragraphs and where its elements are: ``elements`` (element -> paragraph index), ``fmt``."""

    def __init__(self, word: DocxDocument) -> None:
        self.word = word
        self.styles = StyleResolver(word)
        self.paras = _paragraphs(word)
        self.texts = [p.text.strip() for p in self.paras]
        self.elements: dict[str, int] = {}
        self.fmt = "standard"
        # Bound attachments: the paragraphs "附件N" alone that start them (the first is elements["annex"]).
        self.annexes: list[int] = []

    def recognise(self) -> None:
        el = self.elements
        texts = self.texts
        number = next((i for i, t in enumerate(texts) if ANY_NUMBER_RE.search(t.replace("\t", " "))), None)
        if number is None:
            number = next(
                (
                    i
                    for i, t in enumerate(texts)
                    if MINUTES_NUMBER_RE.fullmatch(t) or ORDER_NUMBER_RE.fullmatch(t) or DRAFT_NUMBER_RE.match(t)
                ),
                None,
            )
        mark = None
        if number is not None:
            el["number"] = number
            mark = next(
                (
                    i
                    for i in range(number - 1, -1, -1)
                    if texts[i] and not TOP_MARKS_RE.match(texts[i]) and "签发人" not in texts[i]
                ),
                None,
            )
        else:  # a draft without a number line (纪要): the mark is the first red line of the page
            mark = next((i for i in range(min(6, len(texts))) if texts[i] and self.colour_of(i) == g.RED), None)
        if mark is not None:
            el["mark"] = mark
            if texts[mark].endswith("纪要"):
                self.fmt = "minutes"
            elif texts[mark].endswith("令"):
                self.fmt = "order"
        anchor = number if number is not None else mark
        if anchor is not None and self.fmt != "order":  # a 令 has no red line (§10.2)
            sep = next((i for i in range(anchor, min(anchor + 4, len(texts))) if self.separator_colour(i)), None)
            if sep is not None:
                el["separator"] = sep
        if self.letter_header() is not None:
            self.fmt = "letter"
        if self.fmt == "order":
            self.recognise_tail(None)
            return
        start = max(el.get("separator", -1), el.get("number", -1)) + 1
        if start == 0 and self.fmt == "letter":  # no number yet: the title follows 份号/密级/紧急
            start = next((i for i, t in enumerate(texts) if t and not TOP_MARKS_RE.match(t)), 0)
            title = start if texts and texts[start] else None
        else:
            title = next((i for i in range(start, len(texts)) if texts[i]), None) if start > 0 else None
        if title is None:
            return
        el["title"] = title
        after = title + 1
        while after < len(texts) and not texts[after]:
            after += 1
        if after < len(texts) and texts[after].endswith(("：", ":")) and len(texts[after]) < 120:
            el["recipients"] = after
        self.recognise_tail(title)

    def recognise_tail(self, title: int | None) -> None:
        """署名, 成文日期, 附注, 附件说明 and 版记, found from the end (after the title, if any)."""
        el, texts = self.elements, self.texts
        title = title if title is not None else el.get("number", 0)
        self.annexes = [i for i in range(title + 1, len(texts)) if ANNEX_LABEL_RE.fullmatch(texts[i].replace(" ", ""))]
        if self.annexes:
            el["annex"] = self.annexes[0]
        # The 主体 ends where the bound attachments start: their dates are not its 成文日期.
        main_end = self.annexes[0] if self.annexes else len(texts)
        for i in range(main_end - 1, title, -1):
            t = texts[i].replace(" ", "")
            if (DATE_RE.match(t) or CN_DATE_RE.match(t)) and "印发" not in t:
                el["date"] = i
                break
        if "date" in el:
            sig = next((i for i in range(el["date"] - 1, title, -1) if texts[i]), None)
            if sig is not None and len(texts[sig]) <= 30 and not texts[sig].startswith("附件"):
                el["signature"] = sig
            note = next((i for i in range(el["date"] + 1, main_end) if texts[i]), None)
            if note is not None and texts[note].startswith(("（", "(")) and texts[note].endswith(("）", ")")):
                el["note"] = note
        att = next((i for i in range(title + 1, main_end) if re.match(r"^附件[：:]", texts[i])), None)
        if att is not None:
            el["attachments"] = att
        # 版记: 抄送, the 印发 line, or (a draft, not yet dated) a line between the 版记's black rules.
        colophon = next(
            (
                i
                for i in range(max([title, *self.annexes]) + 1, len(texts))
                if texts[i].startswith("抄送")
                or texts[i].endswith("印发")
                or (texts[i] and self.separator_colour(i) in ("000000", "AUTO"))
                # the rule drawn by an empty paragraph of its own just above (typeset.colophon)
                or (texts[i] and not texts[i - 1] and self.separator_colour(i - 1) in ("000000", "AUTO"))
            ),
            None,
        )
        if colophon is not None:
            el["colophon"] = colophon

    def separator_colour(self, index: int) -> str | None:
        """Colour of a horizontal rule drawn by a paragraph border or a drawing line, if any."""
        p = self.paras[index]._p
        ppr = p.find(qn("w:pPr"))
        bdr = ppr.find(qn("w:pBdr")) if ppr is not None else None
        if bdr is not None:
            for side in ("bottom", "top"):
                b = bdr.find(qn("w:" + side))
                if b is not None and b.get(qn("w:val")) not in (None, "nil", "none"):
                    return (b.get(qn("w:color")) or "000000").upper()
        for el in p.iter():
            tag = el.tag.split("}")[-1]
            if tag == "line" and el.get("strokecolor"):
                return str(el.get("strokecolor")).lstrip("#").upper().replace("RED", g.RED)
            if tag == "ln":
                clr = next((c for c in el.iter() if c.tag.endswith("}srgbClr")), None)
                if clr is not None:
                    return str(clr.get("val")).upper()
        return None

    def letter_header(self) -> int | None:
        for i, section in enumerate(self.word.sections):
            if section.different_first_page_header_footer:
                for p in section.first_page_header.paragraphs:
                    if p.text.strip():
                        return i
        return None

    def first_run_props(self, index: int) -> Any:
        p = self.paras[index]._p
        for r in p.findall(qn("w:r")):
            if (r.findtext(qn("w:t")) or "").strip():
                return self.styles.run_props(p, r)
        return None

    def colour_of(self, index: int) -> str | None:
        p = self.paras[index]._p
        for r in p.findall(qn("w:r")):
            if (r.findtext(qn("w:t")) or "").strip():
                return self.styles.run_props(p, r).color
        return None

    def indent(self, index: int) -> int:
        """Twips of left and right indent set on the paragraph itself."""
        ppr = self.paras[index]._p.find(qn("w:pPr"))
        ind = ppr.find(qn("w:ind")) if ppr is not None else None
        if ind is None:
            return 0
        return sum(int(ind.get(qn("w:" + k)) or 0) for k in ("left", "right", "start", "end"))
