"""Visible seal on a .docx: a floating picture (``wp:anchor``, in front of text) over the 成文日期.

Edits the OPC package directly (lxml + zipfile) rather than through python-docx, so that the
signature layer knows exactly what one seal adds and nothing else is re-serialised:

- part ``word/media/tongban-seal-{n}.png`` with a ``[Content_Types].xml`` Override;
- relationship ``rIdTongbanSeal{n}`` in ``word/_rels/document.xml.rels``;
- one run ``<w:r><w:drawing><wp:anchor>…<wp:docPr name="TongbanSeal-{n}"/>…`` appended to the
  anchor paragraph.

Placement (GB/T 9704-2012 7.3.5.1: 端正、居中下压发文机关署名和成文日期，印章顶端上距正文一行之内):
the seal is centred horizontally on the estimated centre of the date text, and vertically so its
lower edge sits just under the date line (署名 and date below its centre, 附注 clear). Text width is
estimated from the character count and run size (default 3号 = 16 pt), alignment and right/left
indents, because Word's line
layout is not available here; the estimate is exact for a right-aligned 成文日期 with full-width
characters, and for a centred one (typeset.render centres the 成文日期 and 署名 in one box) whatever
the font.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from office.errors import ValidationError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
EMU_PER_MM = 36000
EMU_PER_TWIP = 635
SEAL_BOTTOM_BELOW_DATE_MM = 5.0

SEAL_NAME_RE = re.compile(r"^TongbanSeal-(\d+)$")
DATE_RE = re.compile(
    r"^\s*(?:[0-9０-９]{4}|[〇○零一二三四五六七八九]{4})年"
    r"(?:[0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})月"
    r"(?:[0-9０-９]{1,2}|[一二三四五六七八九十]{1,4})日\s*$"
)


def seal_part_name(n: int) -> str:
    return f"word/media/tongban-seal-{n}.png"


def seal_rel_id(n: int) -> str:
    return f"rIdTongbanSeal{n}"


def body_paragraphs(doc: etree._Element) -> list[etree._Element]:
    """Top-level body paragraphs, the same list (and indexes) as python-docx ``Document.paragraphs``."""
    body = doc.find(f"{{{W}}}body")
    return [] if body is None else body.findall(f"{{{W}}}p")


def paragraph_text(p: etree._Element) -> str:
    return "".join(t.text or "" for t in p.iter(f"{{{W}}}t"))


def find_date_paragraph(doc: etree._Element) -> int | None:
    """Index of the last body paragraph that is a Chinese date (二〇二六年十一月二十九日 / 2026年11月29日)."""
    found = None
    for i, p in enumerate(body_paragraphs(doc)):
        if DATE_RE.match(paragraph_text(p)):
            found = i
    return found


@dataclass(frozen=True)
class _Layout:
    text_width: int  # twips between margins
    centre_x: int  # twips from the left margin to the date text's centre
    line: int  # twips, height of one line of the date
    name_x: int = 0  # twips from the left margin to the centre of the text after its last wide gap
    before: int = 0  # twips of space above the paragraph


NAME_GAP_RE = re.compile("\u3000{2,}")  # a 令's "职务　　姓名": the job title, two 字 apart from the name


def _twips(el: etree._Element | None, attr: str, default: int) -> int:
    if el is None:
        return default
    value = el.get(f"{{{W}}}{attr}")
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _layout(doc: etree._Element, p: etree._Element, default_half_points: int) -> _Layout:
    sect = doc.find(f".//{{{W}}}sectPr")
    pg = sect.find(f"{{{W}}}pgSz") if sect is not None else None
    mar = sect.find(f"{{{W}}}pgMar") if sect is not None else None
    width = _twips(pg, "w", 11906) - _twips(mar, "left", 1588) - _twips(mar, "right", 1474)
    ppr = p.find(f"{{{W}}}pPr")
    ind = ppr.find(f"{{{W}}}ind") if ppr is not None else None
    jc_el = ppr.find(f"{{{W}}}jc") if ppr is not None else None
    jc = jc_el.get(f"{{{W}}}val", "left") if jc_el is not None else "left"
    sz = p.find(f".//{{{W}}}rPr/{{{W}}}sz")
    half_points = _twips(sz, "val", default_half_points)
    spacing_el = p.find(f".//{{{W}}}rPr/{{{W}}}spacing")
    per_char = _twips(spacing_el, "val", 0)
    chars = paragraph_text(p).strip()

    # Full-width characters advance one em, digits and Latin half of one (counting 2026 as four
    # ems put the seal 6–10 mm left of the date); character spacing adds to each.
    def measure(part: str) -> int:
        return sum(half_points * (10 if ord(ch) >= 0x2E80 else 5) + per_char for ch in part)

    text = measure(chars)
    if jc in ("right", "end"):
        centre = width - _twips(ind, "right", _twips(ind, "end", 0)) - text // 2
    elif jc == "center":  # the centre of the box between the indents (the 成文日期 with a seal)
        left = _twips(ind, "left", _twips(ind, "start", 0))
        centre = left + (width - left - _twips(ind, "right", _twips(ind, "end", 0))) // 2
    else:
        centre = _twips(ind, "left", _twips(ind, "start", 0)) + text // 2
    name = measure(NAME_GAP_RE.split(chars)[-1])
    spacing = ppr.find(f"{{{W}}}spacing") if ppr is not None else None
    line = _twips(spacing, "line", 579) if spacing is not None and spacing.get(f"{{{W}}}lineRule") == "exact" else 579
    before = _twips(spacing, "before", 0)
    return _Layout(width, max(0, centre), line, max(0, centre + text // 2 - name // 2), before)


def _anchor_xml(n: int, docpr_id: int, rel_id: str, cx: int, cy: int, x: int, y: int) -> str:
    return (
        f'<w:r xmlns:w="{W}" xmlns:wp="{WP}" xmlns:a="{A}" xmlns:pic="{PIC}" xmlns:r="{R}"><w:drawing>'
        f'<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" '
        f'behindDoc="0" locked="1" layoutInCell="1" allowOverlap="1">'
        f'<wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="margin"><wp:posOffset>{x}</wp:posOffset></wp:positionH>'
        f'<wp:positionV relativeFrom="paragraph"><wp:posOffset>{y}</wp:posOffset></wp:positionV>'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="{docpr_id}" name="TongbanSeal-{n}" descr="电子印章"/>'
        f'<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
        f'<a:graphic><a:graphicData uri="{PIC}"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="{docpr_id}" name="tongban-seal-{n}.png"/><pic:cNvPicPr/></pic:nvPicPr>'
        f'<pic:blipFill><a:blip r:embed="{rel_id}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
        f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>'
        f"</pic:pic></a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>"
    )


def add_seal_anchor(
    doc: etree._Element,
    n: int,
    *,
    paragraph_index: int | None,
    width_mm: float,
    height_mm: float,
    styles: etree._Element | None = None,
    centre_twips: int | None = None,
) -> int:
    """Append seal run ``n`` to the chosen (or detected date) paragraph; returns the paragraph index.

    ``styles`` (the parsed ``word/styles.xml``) supplies the default font size when runs set none.
    ``centre_twips``: where the seal's centre goes, twips from the type area's left edge, when it is
    not the paragraph's centre (a 联合行文 names several issuers on one line, each under its own seal).
    """
    paragraphs = body_paragraphs(doc)
    if paragraph_index is None:
        paragraph_index = find_date_paragraph(doc)
        if paragraph_index is None:
            paragraph_index = len(paragraphs) - 1  # no date found: the last paragraph
    if not paragraphs or not 0 <= paragraph_index < len(paragraphs):
        raise ValidationError("盖章位置（段落序号）超出范围", code="bad_anchor_paragraph")
    p = paragraphs[paragraph_index]
    default_sz = styles.find(f"{{{W}}}docDefaults//{{{W}}}sz") if styles is not None else None
    layout = _layout(doc, p, _twips(default_sz, "val", 32))
    cx, cy = int(width_mm * EMU_PER_MM), int(height_mm * EMU_PER_MM)
    x = (layout.centre_x if centre_twips is None else centre_twips) * EMU_PER_TWIP - cx // 2
    # 居中下压: the seal's lower edge just under the date line (SEAL_BOTTOM_BELOW_DATE_MM below its
    # centre), so the 署名 above and the date sit below the seal's centre, its top edge comes within a
    # line of the text above (the 署名 stands two blank lines under it), and the 附注 on the line
    # after the date stays clear.
    y = layout.line * EMU_PER_TWIP // 2 + int(SEAL_BOTTOM_BELOW_DATE_MM * EMU_PER_MM) - cy
    if centre_twips is None and not DATE_RE.match(paragraph_text(p)):
        # Not on a date: on a name (a 令's 签名章 on the 签发人's name, GB/T 9704 §10.2), centred on the
        # name after the job title and level with it, as the PDF and OFD seals are placed.
        x = layout.name_x * EMU_PER_TWIP - cx // 2
        y = (layout.before + layout.line // 2) * EMU_PER_TWIP - cy // 2
    ids = [int(v) for v in doc.xpath("//wp:docPr/@id", namespaces={"wp": WP}) if str(v).isdigit()]
    docpr_id = max(ids, default=0) + 1
    p.append(etree.fromstring(_anchor_xml(n, docpr_id, seal_rel_id(n), cx, cy, x, y)))
    return paragraph_index


def seal_runs(doc: etree._Element) -> dict[int, list[etree._Element]]:
    """Runs holding a Tongban seal drawing, by seal number (used to strip later seals when verifying)."""
    found: dict[int, list[etree._Element]] = {}
    for docpr in doc.iter(f"{{{WP}}}docPr"):
        m = SEAL_NAME_RE.match(docpr.get("name", ""))
        if not m:
            continue
        run = docpr
        while run is not None and run.tag != f"{{{W}}}r":
            run = run.getparent()
        if run is not None:
            found.setdefault(int(m.group(1)), []).append(run)
    return found
