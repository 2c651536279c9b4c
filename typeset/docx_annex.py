"""``office docx check`` on bound attachments (随文装订的附件, GB/T 9704 §8), found by
:mod:`typeset.docx_elements` as the paragraphs "附件N" alone after the 主体: each starts a new page,
"附件N" in 3号黑体 flush left on line 1, the title centred on line 3 in 2号小标宋, the content
formatted as the body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docx.oxml.ns import qn

from typeset import gbt9704 as g

if TYPE_CHECKING:
    from typeset.conformance import _Checker

LABEL = ("黑体", g.SIZE_3, "附件标识")
TITLE = ("小标宋", g.SIZE_2, "附件标题")


def check(c: _Checker) -> None:
    if not c.annexes:
        return
    ends = [*c.annexes[1:], c.report.elements.get("colophon", len(c.paras))]
    for label, end in zip(c.annexes, ends, strict=True):
        if not _new_page(c, label):
            c.add("annex_new_page", f"“{c.texts[label]}”应另起一页（随文装订的附件从新的一页开始）", paragraph=label)
        if _align(c, label) not in ("left", "start", "both", "justify", None):
            c.add("annex_label_align", f"“{c.texts[label]}”应在版心第一行顶格居左", paragraph=label)
        c.check_runs(label, "annex_label")
        title = next((i for i in range(label + 1, end) if c.texts[i]), None)
        if title is None:
            c.add("annex_title_missing", f"“{c.texts[label]}”下没有附件标题", paragraph=label)
            continue
        c.check_runs(title, "annex_title")
        blank = sum(1 for i in range(label + 1, title) if not c.texts[i])
        if _align(c, title) != "center" or blank + round(_before(c, title) / g.LINE_PITCH) != 1:
            c.add("annex_title_position", f"“{c.texts[label]}”的标题应在第三行居中", paragraph=title)
        for i in range(title + 1, end):
            if c.texts[i]:
                c.check_body_paragraph(i)


def _ppr_child(c: _Checker, index: int, tag: str) -> object | None:
    ppr = c.paras[index]._p.find(qn("w:pPr"))
    return ppr.find(qn(tag)) if ppr is not None else None


def _align(c: _Checker, index: int) -> str | None:
    jc = _ppr_child(c, index, "w:jc")
    return jc.get(qn("w:val")) if jc is not None else None  # type: ignore[attr-defined]


def _before(c: _Checker, index: int) -> int:
    spacing = _ppr_child(c, index, "w:spacing")
    return int(spacing.get(qn("w:before")) or 0) if spacing is not None else 0  # type: ignore[attr-defined]


def _new_page(c: _Checker, index: int) -> bool:
    """A page break before the paragraph: its own "page break before", a page break run in it before its
    text or in the empty paragraphs and the last run of the paragraph before it, or a section break."""
    if _ppr_child(c, index, "w:pageBreakBefore") is not None:
        return True
    for i in range(index, -1, -1):
        p = c.paras[i]._p
        if any(br.get(qn("w:type")) == "page" for br in p.iter(qn("w:br"))):
            return True
        if i < index and _ppr_child(c, i, "w:sectPr") is not None:
            return True
        if i < index and c.texts[i]:
            return False
    return False
