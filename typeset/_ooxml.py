"""Small WordprocessingML writers python-docx has no API for (borders, frames, fields, bookmarks)."""

from __future__ import annotations

import copy
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

from typeset import gbt9704 as g

ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "both": WD_ALIGN_PARAGRAPH.JUSTIFY,
    "distribute": WD_ALIGN_PARAGRAPH.DISTRIBUTE,
}

# Order of children inside w:pPr and w:rPr matters to Word's schema validation.
_PPR_ORDER = (
    "w:pStyle",
    "w:keepNext",
    "w:keepLines",
    "w:pageBreakBefore",
    "w:framePr",
    "w:widowControl",
    "w:numPr",
    "w:suppressLineNumbers",
    "w:pBdr",
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
_RPR_ORDER = (
    "w:rStyle",
    "w:rFonts",
    "w:b",
    "w:bCs",
    "w:i",
    "w:iCs",
    "w:caps",
    "w:smallCaps",
    "w:strike",
    "w:dstrike",
    "w:outline",
    "w:shadow",
    "w:emboss",
    "w:imprint",
    "w:noProof",
    "w:snapToGrid",
    "w:vanish",
    "w:webHidden",
    "w:color",
    "w:spacing",
    "w:w",
    "w:kern",
    "w:position",
    "w:sz",
    "w:szCs",
    "w:highlight",
    "w:u",
    "w:effect",
    "w:bdr",
    "w:shd",
    "w:fitText",
    "w:vertAlign",
    "w:rtl",
    "w:cs",
    "w:em",
    "w:lang",
    "w:eastAsianLayout",
    "w:specVanish",
    "w:oMath",
)


def _set_child(parent: Any, tag: str, order: tuple[str, ...], **attrs: str) -> Any:
    """Replace ``tag`` under ``parent`` keeping the schema order; attrs are w:-prefixed."""
    old = parent.find(qn(tag))
    if old is not None:
        parent.remove(old)
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn("w:" + key), value)
    rank = order.index(tag)
    for i, child in enumerate(parent):
        name = child.tag.split("}")[-1]
        if "w:" + name in order and order.index("w:" + name) > rank:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


def set_fonts(rpr: Any, font: str, *, latin: str | None = None) -> None:
    """Explicit East Asian + Latin names; drop theme attributes because they override w:eastAsia."""
    el = _set_child(rpr, "w:rFonts", _RPR_ORDER)
    latin = latin or font
    el.set(qn("w:ascii"), latin)
    el.set(qn("w:hAnsi"), latin)
    el.set(qn("w:eastAsia"), font)
    el.set(qn("w:cs"), latin)
    el.set(qn("w:hint"), "eastAsia")


def style_run(
    run: Run,
    font: str,
    size: int,
    *,
    color: str | None = None,
    spacing: int | None = g.CHAR_SPACING,
    latin: str | None = None,
) -> None:
    """Font, half-point size, colour and character spacing (twentieths of a point) of a run."""
    rpr = run._r.get_or_add_rPr()
    set_fonts(rpr, font, latin=latin)
    if color:
        _set_child(rpr, "w:color", _RPR_ORDER, val=color)
    if spacing:
        _set_child(rpr, "w:spacing", _RPR_ORDER, val=str(spacing))
    _set_child(rpr, "w:sz", _RPR_ORDER, val=str(size))
    _set_child(rpr, "w:szCs", _RPR_ORDER, val=str(size))


def format_paragraph(
    p: DocxParagraph,
    *,
    align: str = "both",
    first_line: int = 0,
    left: int = 0,
    right: int = 0,
    before: int = 0,
    after: int = 0,
    line: int = g.LINE_PITCH,
    outline: int | None = None,
) -> None:
    """Exact line height ``line`` twips, space before in twips, indents in twips (negative first
    line = hanging). Exact spacing keeps every line on the 579-twip grid in Word, WPS and LibreOffice."""
    ppr = p._p.get_or_add_pPr()
    _set_child(ppr, "w:snapToGrid", _PPR_ORDER, val="0")
    _set_child(ppr, "w:spacing", _PPR_ORDER, before=str(before), after=str(after), line=str(line), lineRule="exact")
    ind: dict[str, str] = {"left": str(left), "right": str(right)}
    if first_line >= 0:
        ind["firstLine"] = str(first_line)
    else:
        ind["hanging"] = str(-first_line)
    _set_child(ppr, "w:ind", _PPR_ORDER, **ind)
    _set_child(
        ppr,
        "w:jc",
        _PPR_ORDER,
        val={"both": "both", "left": "left", "center": "center", "right": "right", "distribute": "distribute"}[align],
    )
    if outline is not None:
        _set_child(ppr, "w:outlineLvl", _PPR_ORDER, val=str(outline))


def no_autospace(p: DocxParagraph) -> None:
    """No extra space between CJK and digits (2026年 reads 2026 年 in LibreOffice and WPS otherwise):
    the 成文日期 must be exactly as wide as its characters, or the 署名 above and the seal over it
    are no longer centred on it."""
    ppr = p._p.get_or_add_pPr()
    _set_child(ppr, "w:autoSpaceDE", _PPR_ORDER, val="0")
    _set_child(ppr, "w:autoSpaceDN", _PPR_ORDER, val="0")


def borders(p: DocxParagraph, **sides: tuple[str, int, str, int]) -> None:
    """Paragraph borders: side=(style, sz in 1/8 pt, colour, space in pt)."""
    ppr = p._p.get_or_add_pPr()
    bdr = _set_child(ppr, "w:pBdr", _PPR_ORDER)
    for side in ("top", "left", "bottom", "right"):
        if side in sides:
            val, sz, color, space = sides[side]
            el = OxmlElement("w:" + side)
            for key, value in (("val", val), ("sz", str(sz)), ("space", str(space)), ("color", color)):
                el.set(qn("w:" + key), value)
            bdr.append(el)


def tab_stops(p: DocxParagraph, stops: list[tuple[str, int]]) -> None:
    ppr = p._p.get_or_add_pPr()
    tabs = _set_child(ppr, "w:tabs", _PPR_ORDER)
    for kind, pos in stops:
        el = OxmlElement("w:tab")
        el.set(qn("w:val"), kind)
        el.set(qn("w:pos"), str(pos))
        tabs.append(el)


def page_break_before(p: DocxParagraph) -> None:
    _set_child(p._p.get_or_add_pPr(), "w:pageBreakBefore", _PPR_ORDER)


def add_field(p: DocxParagraph, instr: str, style: Any) -> None:
    """A complex field (PAGE) whose cached result is "1"; ``style`` styles each run."""
    for kind, text in (("begin", None), ("instr", instr), ("separate", None), ("text", "1"), ("end", None)):
        run = p.add_run()
        style(run)
        if kind in ("begin", "separate", "end"):
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif kind == "instr":
            el = OxmlElement("w:instrText")
            el.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            el.text = f" {text} "
            run._r.append(el)
        else:
            run.text = text or ""


def bookmark(p: DocxParagraph, name: str, ident: int) -> None:
    """Zero-length bookmark at the paragraph start: a stable handle for the e-seal layer."""
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(ident))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(ident))
    ppr = p._p.pPr
    index = 1 if ppr is not None else 0
    p._p.insert(index, end)
    p._p.insert(index, start)


def end_section(document: Any) -> None:
    """End the current section after the last block and start a new one that has no header or footer
    references of its own (python-docx's ``add_section`` would add an empty paragraph, a line that
    can spill onto a page of its own)."""
    body = document.element.body
    final = body.sectPr
    closing = copy.deepcopy(final)
    last = final.getprevious()
    if last is None or last.tag != qn("w:p"):  # a table ends the body: a hairline paragraph holds the break
        last = OxmlElement("w:p")
        final.addprevious(last)
        _set_child(last.get_or_add_pPr(), "w:spacing", _PPR_ORDER, before="0", after="0", line="20", lineRule="exact")
    ppr = last.get_or_add_pPr()
    change = ppr.find(qn("w:pPrChange"))
    if change is not None:
        change.addprevious(closing)
    else:
        ppr.append(closing)
    for tag in ("w:headerReference", "w:footerReference"):
        for ref in final.findall(qn(tag)):
            final.remove(ref)
