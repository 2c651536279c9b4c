"""Measure any .docx against GB/T 9704-2012 and list deviations (never raises on a valid .docx).

Elements are recognised from text and position (:mod:`typeset.docx_elements`), not from our own
bookmarks, so drafts made in Word or WPS are checked the same way as our render output:

1. page setup per section (A4, margins, type area) and the 22 x 28 grid;
2. 版头: 发文机关标志 (red 小标宋), 发文字号 (〔〕), red separator; 信函格式 marks in the first-page header;
3. 主体: 标题, 主送, 正文 and heading levels, 附件说明, 署名, 成文日期 (Arabic numerals), 附注;
4. 版记 (抄送 / 印发, black rules) and page-number footers (— N —, odd right, even left).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn

from office.errors import UnsupportedMedia
from office.safezip import open_zip
from typeset import docx_annex
from typeset import gbt9704 as g
from typeset.docx_elements import ANY_NUMBER_RE, CN_DATE_RE, DocxElements
from typeset.layout import NUMBER_RE, detect_heading_level


def _heading_level(text: str) -> int | None:
    """A 结构层次序数 line is a heading when it reads as a title (short, no full stop); a numbered
    sentence (e.g. 纪要 议定事项 "二、加强机关效能建设。") is body text and keeps the body font."""
    level = detect_heading_level(text)
    if level is None:
        return None
    text = text.strip()
    return level if len(text) <= 60 and "。" not in text else None


ORDER = (
    "mark",
    "number",
    "separator",
    "title",
    "recipients",
    "attachments",
    "signature",
    "date",
    "note",
    "annex",
    "colophon",
)
EXPECT: dict[str, tuple[str, int | None, str]] = {
    # element: (font family, half-points or None = any size, Chinese name)
    "mark": ("小标宋", None, "发文机关标志"),
    "number": ("仿宋", g.SIZE_3, "发文字号"),
    "title": ("小标宋", g.SIZE_2, "标题"),
    "recipients": ("仿宋", g.SIZE_3, "主送机关"),
    "body": ("仿宋", g.SIZE_3, "正文"),
    "heading1": ("黑体", g.SIZE_3, "一级标题"),
    "heading2": ("楷体", g.SIZE_3, "二级标题"),
    "heading3": ("仿宋", g.SIZE_3, "三级标题"),
    "heading4": ("仿宋", g.SIZE_3, "四级标题"),
    "attachments": ("仿宋", g.SIZE_3, "附件说明"),
    "signature": ("仿宋", g.SIZE_3, "发文机关署名"),
    "date": ("仿宋", g.SIZE_3, "成文日期"),
    "note": ("仿宋", g.SIZE_3, "附注"),
    "colophon": ("仿宋", g.SIZE_4, "版记"),
    "annex_label": docx_annex.LABEL,
    "annex_title": docx_annex.TITLE,
}


@dataclass(frozen=True)
class Deviation:
    code: str
    message: str
    part: str = "word/document.xml"
    paragraph: int | None = None
    section: int | None = None


@dataclass
class ConformanceReport:
    deviations: list[Deviation] = field(default_factory=list)
    elements: dict[str, int] = field(default_factory=dict)  # element -> paragraph index
    fmt: str = "standard"

    @property
    def ok(self) -> bool:
        return not self.deviations

    def codes(self) -> list[str]:
        return [d.code for d in self.deviations]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "format": self.fmt,
            "elements": dict(self.elements),
            "deviations": [asdict(d) for d in self.deviations],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def check_docx(data: bytes) -> ConformanceReport:
    """Check ``data`` (an untrusted .docx) against GB/T 9704-2012.

    Raises UnsupportedMedia/PayloadTooLarge only when the bytes are not a readable .docx at all.
    """
    open_zip(data).close()
    try:
        word = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, PackageNotFoundError...
        raise UnsupportedMedia("不是有效的 Word（.docx）文件", code="not_docx") from exc
    return _Checker(word).run()


def _mm(twips: int) -> str:
    return f"{twips / g.TWIPS_PER_MM:.1f}mm"


class _Checker(DocxElements):
    def __init__(self, word: DocxDocument) -> None:
        super().__init__(word)
        self.report = ConformanceReport(elements=self.elements)
        self.areas: list[int] = []
        self.body_paras: list[int] = []

    def add(self, code: str, message: str, **where: Any) -> None:
        self.report.deviations.append(Deviation(code, message, **where))

    def run(self) -> ConformanceReport:
        self.check_page_setup()
        self.recognise()
        self.report.fmt = self.fmt
        self.check_elements()
        self.check_chars_per_line()
        self.check_footers()
        return self.report

    # --- page setup -------------------------------------------------------------------------

    def check_page_setup(self) -> None:
        for i, section in enumerate(self.word.sections):
            sp = section._sectPr
            pg = sp.find(qn("w:pgSz"))
            mar = sp.find(qn("w:pgMar"))
            width = int(pg.get(qn("w:w"), 0)) if pg is not None else 0
            height = int(pg.get(qn("w:h"), 0)) if pg is not None else 0
            if abs(width - g.PAGE_WIDTH) > g.mm(1) or abs(height - g.PAGE_HEIGHT) > g.mm(1):
                self.add("page_size", f"纸张应为A4（210×297mm），实际为{_mm(width)}×{_mm(height)}", section=i)
            values = {
                k: int(mar.get(qn("w:" + k), 0)) if mar is not None else 0 for k in ("top", "bottom", "left", "right")
            }
            want = {
                "top": (g.MARGIN_TOP, "天头"),
                "left": (g.MARGIN_LEFT, "订口"),
                "right": (g.MARGIN_RIGHT, "右白边"),
                "bottom": (g.MARGIN_BOTTOM, "下白边"),
            }
            for key, (target, name) in want.items():
                if abs(values[key] - target) > g.MARGIN_TOLERANCE:
                    self.add(f"margin_{key}", f"{name}应为{_mm(target)}±1mm，实际为{_mm(values[key])}", section=i)
            self.check_grid(sp, i, height - values["top"] - values["bottom"])
            self.areas.append(width - values["left"] - values["right"])

    def check_grid(self, sect_pr: Any, index: int, area_h: int) -> None:
        grid = sect_pr.find(qn("w:docGrid"))
        pitch = int(grid.get(qn("w:linePitch"), 0)) if grid is not None else 0
        kind = grid.get(qn("w:type")) if grid is not None else None
        if not pitch or kind not in ("lines", "linesAndChars", "snapToChars"):
            self.add("line_grid", "未设置文档网格（每面22行）", section=index)
        elif area_h // pitch != g.LINES_PER_PAGE:
            self.add("line_grid", f"每面应排22行，网格行距{pitch / 20:.2f}磅得到{area_h // pitch}行", section=index)

    def check_chars_per_line(self) -> None:
        """28 characters per body line and 22 lines per page, from the body text's effective size,
        character spacing and line spacing (run -> styles -> docDefaults), or a linesAndChars grid."""
        if not self.areas or not self.body_paras:
            return  # nothing to measure (the missing elements are reported on their own)
        sect_pr = self.word.sections[0]._sectPr
        grid = sect_pr.find(qn("w:docGrid"))
        kind = grid.get(qn("w:type")) if grid is not None else None
        area_w, index = self.areas[0], 0
        first = self.body_paras[0]
        props = self.first_run_props(first)
        size = (props.size if props and props.size else g.SIZE_3) * 10
        if kind in ("linesAndChars", "snapToChars") and grid is not None:
            pitch_chars = size + int(grid.get(qn("w:charSpace"), 0)) * 20 / 4096
        else:
            pitch_chars = size + (props.spacing if props else 0)
        chars = int(area_w // pitch_chars) if pitch_chars > 0 else 0
        if chars != g.CHARS_PER_LINE:
            self.add("chars_per_line", f"每行应排28个字，按当前字距为{chars}个", section=index, paragraph=first)
        line, rule = self.styles.line_spacing(self.paras[first]._p)
        if line is not None and rule == "exact" and abs(line - g.LINE_PITCH) > 10:
            self.add(
                "line_pitch",
                f"正文行距应为固定值{g.LINE_PITCH / 20:.2f}磅（每面22行），实际为{line / 20:.2f}磅",
                paragraph=first,
            )

    # --- elements -----------------------------------------------------------------------------

    def check_elements(self) -> None:
        el = self.report.elements
        letter, order = self.report.fmt == "letter", self.report.fmt == "order"
        if letter:
            self.check_letter_mark()
        else:
            required = (
                (("mark", "发文机关标志"), ("number", "令号"))
                if order
                else (("mark", "发文机关标志"), ("separator", "版头分隔线"))
                if self.report.fmt == "minutes"
                else (("mark", "发文机关标志"), ("number", "发文字号"), ("separator", "版头分隔线"))
            )  # 纪要: 期号 optional
            for name, cn in required:
                if name not in el:
                    self.add(f"missing_{name}", f"未找到{cn}")
        if "title" not in el and not order:
            self.add("missing_title", "未找到标题")
        if "separator" in el and not letter:
            self.check_separator_span(el["separator"])
        if "colophon" in el and not letter and self.sealed():
            self.check_print_line(el["colophon"])
        if "mark" in el and not letter:
            self.check_runs(el["mark"], "mark")
            if self.colour_of(el["mark"]) != g.RED:
                self.add("mark_colour", "发文机关标志应为红色", paragraph=el["mark"])
        if "separator" in el and not letter:
            colour = self.separator_colour(el["separator"])
            if colour not in (g.RED, "F00", "FF0000"):
                self.add("separator_colour", f"版头分隔线应为红色，实际为#{colour}", paragraph=el["separator"])
        if "number" in el:
            self.check_number(el["number"])
        self.check_date()
        if "number" in el:
            self.check_runs(el["number"], "number", first_run_only=True)  # 签发人 names share the line
        for name in ("title", "recipients", "attachments", "signature", "date", "note", "colophon"):
            if name in el:
                self.check_runs(el[name], name)
        self.check_body()
        docx_annex.check(self)
        self.check_order()
        if "colophon" in el and not letter:
            self.check_colophon_rules(el["colophon"])

    def check_separator_span(self, index: int) -> None:
        """The red line is the paragraph's border: an indent shortens it below the 156 mm type area."""
        inset = self.indent(index)
        if inset > 0:
            length = (self.areas[0] if self.areas else g.TYPE_AREA_WIDTH) - inset
            self.add("separator_length", f"版头分隔线应与版心等宽（156mm），实际为{_mm(length)}", paragraph=index)

    def sealed(self) -> bool:
        """A file that carries a seal is the issued one: its 版记 must be complete (a draft's is not yet)."""
        return any((e.get("name") or "").startswith("TongbanSeal") for e in self.word.element.body.iter("{*}docPr"))

    def check_print_line(self, index: int) -> None:
        """文件格式 and 纪要 版记 end with 印发机关和印发日期 (§7.4.3)."""
        tail = [t for t in self.texts[index:] if t]
        if not any(re.search(r"\d{4}年\d{1,2}月\d{1,2}日印发$", t.replace(" ", "")) for t in tail):
            self.add("missing_print_date", "版记缺少印发机关和印发日期（×年×月×日印发）", paragraph=index)

    def check_letter_mark(self) -> None:
        section = self.word.sections[self.letter_header() or 0]
        paras = [p for p in section.first_page_header.paragraphs if p.text.strip()]
        for p in paras[:1]:
            for r in p._p.findall(qn("w:r")):
                props = self.styles.run_props(p._p, r)
                if (r.findtext(qn("w:t")) or "").strip() and props.color != g.RED:
                    self.add("mark_colour", "信函格式发文机关标志应为红色", part="first-page header")
                    return

    def check_number(self, index: int) -> None:
        text = self.texts[index].split("\t")[0].strip()
        match = ANY_NUMBER_RE.search(text)
        if match is None:
            return  # a 纪要 期号
        number = match.group(0)
        if not NUMBER_RE.fullmatch(number):
            if re.search(r"[\[\]()（）【】［］]", number):
                self.add("number_brackets", f"发文字号“{number}”的年份应使用六角括号〔〕", paragraph=index)
            else:
                self.add("number_format", f"发文字号“{number}”格式不符（序号不编虚位、不加“第”）", paragraph=index)

    def check_date(self) -> None:
        index = self.report.elements.get("date")
        if index is None:
            return
        text = self.texts[index].replace(" ", "")
        if CN_DATE_RE.match(text):
            self.add("date_format", f"成文日期“{text}”应使用阿拉伯数字（GB/T 9704-2012）", paragraph=index)
        elif re.search(r"年0\d|月0\d", text):
            self.add("date_format", f"成文日期“{text}”的月、日不编虚位", paragraph=index)

    def check_body(self) -> None:
        el = self.report.elements
        if "title" not in el:
            return
        start = el.get("recipients", el["title"]) + 1
        ends = [el[k] for k in ("attachments", "signature", "date", "note", "annex", "colophon") if k in el]
        end = min(ends) if ends else len(self.paras)
        for i in range(start, end):
            if self.texts[i]:
                self.check_body_paragraph(i)

    def check_body_paragraph(self, i: int) -> None:
        """A paragraph of the body (or of a bound attachment): text or a heading of its level."""
        level = _heading_level(self.texts[i])
        role = f"heading{level}" if level else "body"
        if not level:
            self.body_paras.append(i)
        self.check_runs(i, role, first_run_only=level is not None)

    def check_runs(self, index: int, role: str, *, first_run_only: bool = False) -> None:
        family, size, cn = EXPECT[role]
        p = self.paras[index]._p
        for r in p.iter(qn("w:r")):
            text = "".join(t.text or "" for t in r.iter(qn("w:t"))).strip()
            if not text:
                continue
            props = self.styles.run_props(p, r)
            font = props.font if any(ord(ch) >= 0x2E80 for ch in text) else (props.latin or props.font)
            actual = g.font_family(font)
            wrong_font = actual != family and not (role == "body" and actual in ("黑体", "楷体"))
            if wrong_font or (size is not None and props.size != size):
                shown = f"{font or '未指定字体'} {props.size / 2 if props.size else '?'}磅"
                want = f"{family}" + (f" {size / 2:g}磅" if size else "")
                self.add(f"font_{role}", f"{cn}应为{want}，实际为{shown}", paragraph=index)
                return
            if first_run_only:
                return

    def check_order(self) -> None:
        found = [(self.report.elements[name], name) for name in ORDER if name in self.report.elements]
        for (a, name_a), (b, name_b) in pairwise(found):
            if b < a:
                self.add("element_order", f"要素顺序错误：{name_b} 出现在 {name_a} 之前", paragraph=b)

    def check_colophon_rules(self, index: int) -> None:
        """版记 needs black rules above its first and below its last element (borders or lines)."""
        colours = [self.separator_colour(i) for i in range(index, len(self.paras))]
        drawn = [c for c in colours if c is not None]
        if not drawn:
            self.add("colophon_rules", "版记缺少分隔线（首末条粗线、中间细线）", paragraph=index)
        elif any(c not in ("000000", "AUTO") for c in drawn):
            self.add("colophon_rules", "版记分隔线应为黑色", paragraph=index)
        # A border runs between the paragraph's indents: on an indented row it is shorter than the type area.
        ruled = [i for i in range(index - 1, len(self.paras)) if self.separator_colour(i) is not None]
        short = next((i for i in ruled if self.indent(i) > 0), None)
        if short is not None:
            length = (self.areas[0] if self.areas else g.TYPE_AREA_WIDTH) - self.indent(short)
            self.add("colophon_rule_length", f"版记分隔线应与版心等宽（156mm），实际为{_mm(length)}", paragraph=short)

    # --- page numbers -------------------------------------------------------------------------

    def check_footers(self) -> None:
        settings = self.word.settings
        if not settings.odd_and_even_pages_header_footer:
            self.add("page_number_parity", "页码应单页居右、双页居左（未启用奇偶页不同页脚）", part="word/settings.xml")
        for i, section in enumerate(self.word.sections):
            if i and i == len(self.word.sections) - 1 and self.back_section():
                continue  # §7.5: 版记页前有空白页的，空白页和版记页均不编排页码
            for footer, align, name in ((section.footer, "right", "单页"), (section.even_page_footer, "left", "双页")):
                if footer.is_linked_to_previous and i > 0:
                    continue
                self.check_footer(footer, align, name, i)

    def back_section(self) -> bool:
        """The last section holds nothing but the 版记 (after empty paragraphs): the blank page and the
        版记 page of §7.5, which carry no page numbers."""
        colophon = self.report.elements.get("colophon")
        ends = [
            i for i, p in enumerate(self.paras) if p._p.pPr is not None and p._p.pPr.find(qn("w:sectPr")) is not None
        ]
        if colophon is None or not ends:
            return False
        return all(i >= colophon for i in range(ends[-1] + 1, len(self.paras)) if self.texts[i])

    def check_footer(self, footer: Any, align: str, name: str, section: int) -> None:
        paras = [
            p
            for p in footer.paragraphs
            if "PAGE" in "".join(t.text or "" for t in p._p.iter(qn("w:instrText")))
            or p._p.find(qn("w:fldSimple")) is not None
        ]
        part = f"{name}页脚"
        if not paras:
            self.add("page_number_missing", f"{name}页脚缺少页码", part=part, section=section)
            return
        p = paras[0]
        text = p.text.strip()
        if not re.fullmatch(r"\u2014\s?\S+\s?\u2014", text):
            self.add(
                "page_number_format", f"{name}页码应为“— 1 —”（一字线），实际为“{text}”", part=part, section=section
            )
        jc = p._p.find(qn("w:pPr"))
        jc_el = jc.find(qn("w:jc")) if jc is not None else None
        actual = jc_el.get(qn("w:val")) if jc_el is not None else "left"
        actual = {"end": "right", "start": "left"}.get(actual, actual)
        if actual != align:
            where = "居右空一字" if align == "right" else "居左空一字"
            self.add("page_number_align", f"{name}页码应{where}", part=part, section=section)
        for r in p._p.iter(qn("w:r")):
            if "".join(t.text or "" for t in r.iter(qn("w:t"))).strip():
                props = self.styles.run_props(p._p, r)
                if g.font_family(props.latin) != "宋体" or props.size != g.SIZE_4:
                    self.add("page_number_font", f"{name}页码应为4号半角宋体", part=part, section=section)
                break
