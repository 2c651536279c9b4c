"""The official copy as OFD (GB/T 33190-2016): the pages of the official PDF, written as an OFD package.

Why our own writer: the OFD libraries on PyPI either rasterise (easyofd's ``pdf2ofd`` draws each
page as a picture and sits on PyMuPDF, AGPL; ``pdf2ofd`` likewise) or only read (ofdkit,
ofdreader). An official document must keep its text selectable and searchable and its lines
sharp, so the pages are converted object by object with ``pypdfium2`` (already used to measure
the pages, ``typeset.pdf_measure``):

- text → ``TextObject`` per run of characters on one baseline with one font, size and colour,
  every character placed by ``DeltaX`` from the PDF's own glyph origins (the layout does not move
  whatever font the reader substitutes);
- paths (the red 版头 line, 版记 rules, table borders) → ``PathObject`` with ``AbbreviatedData``;
- images → ``ImageObject`` over a PNG in ``Res``.

Fonts are embedded (GB/T 33190 §11.1 ``FontFile``): for each font the PDF uses, a TrueType subset
of the same font file holding the characters drawn with it (``typeset.ofd_fonts``), so a reader
without our fonts shows the same glyphs; a font that cannot be found or whose licence bits forbid
embedding is named only (readers substitute by name). The PDF's own subset fonts carry no Unicode
cmap an OFD reader could use. The seal is not on the pages: it is the signature's ``StampAnnot``
(``esign.ofd_sig``), as in the PDF, where it is the signature widget. The seal covers the font
files like every other file of the package.

Units: OFD is millimetres, origin top-left, y down; PDF is points, origin bottom-left, y up.
The package layout is the usual one: ``OFD.xml``, ``Doc_0/Document.xml``, ``Doc_0/PublicRes.xml``,
``Doc_0/DocumentRes.xml``, ``Doc_0/Pages/Page_N/Content.xml``, ``Doc_0/Res/image_N.png``,
``Doc_0/Res/font_N.ttf``.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import pypdfium2 as pdfium
from pypdfium2 import raw

from office.errors import UnsupportedMedia
from office.safezip import write_zip
from typeset import ofd_fonts
from typeset.pdf_measure import PDFIUM_LOCK

NS = "http://www.ofdspec.org/2016"
MM = 72 / 25.4  # points per millimetre
OFD_MEDIA_TYPE = "application/ofd"
_SEGMENT = {raw.FPDF_SEGMENT_MOVETO: "M", raw.FPDF_SEGMENT_LINETO: "L", raw.FPDF_SEGMENT_BEZIERTO: "B"}


def _n(value: float) -> str:
    """A millimetre value as OFD writes it: at most 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


@dataclass
class _Ids:
    """OFD object IDs are unique across the document (``MaxUnitID`` is the last one)."""

    last: int = 0
    fonts: dict[tuple[str, str], int] = field(default_factory=dict)
    images: list[tuple[int, bytes]] = field(default_factory=list)
    drawn: dict[int, set[str]] = field(default_factory=dict)  # font ID -> the characters drawn with it

    def next(self) -> int:
        self.last += 1
        return self.last

    def font(self, name: str, family: str) -> int:
        key = (name, family)
        if key not in self.fonts:
            self.fonts[key] = self.next()
        return self.fonts[key]


@dataclass
class _Char:
    ch: str
    x: float  # mm from the left edge
    y: float  # baseline, mm from the top edge
    size: float  # mm
    font: int
    color: tuple[int, int, int]
    bold: bool


def _font_names(textpage: pdfium.PdfTextPage, index: int) -> tuple[str, str, bool]:
    buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    raw.FPDFText_GetFontInfo(textpage, index, buf, 256, flags)
    name = buf.value.decode("latin-1")
    name = name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name  # drop the subset tag
    family = name.split("-", 1)[0] or name
    return name, family, raw.FPDFText_GetFontWeight(textpage, index) >= 600


def _chars(page: pdfium.PdfPage, height: float, ids: _Ids) -> list[_Char]:
    textpage = page.get_textpage()
    out = []
    x, y = ctypes.c_double(), ctypes.c_double()
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage, i)
        if code < 32 or raw.FPDFText_IsGenerated(textpage, i) == 1:
            continue
        ch = chr(code)
        size = raw.FPDFText_GetFontSize(textpage, i)
        name, family, bold = _font_names(textpage, i)
        if not name or ch.isspace():
            out.append(_Char(" ", 0, 0, 0, 0, (0, 0, 0), False))  # a run break
            continue
        raw.FPDFText_GetCharOrigin(textpage, i, x, y)
        raw.FPDFText_GetFillColor(textpage, i, r, g, b, a)
        out.append(
            _Char(
                ch,
                x.value / MM,
                height - y.value / MM,
                size / MM,
                ids.font(name, family),
                (r.value, g.value, b.value),
                bold,
            )
        )
    textpage.close()
    return out


def _runs(chars: list[_Char]) -> list[list[_Char]]:
    runs: list[list[_Char]] = []
    for c in chars:
        last = runs[-1][-1] if runs and runs[-1] else None
        same = (
            last is not None
            and c.ch != " "
            and abs(c.y - last.y) < 0.05
            and c.font == last.font
            and abs(c.size - last.size) < 0.01
            and c.color == last.color
            and c.x > last.x
        )
        if same:
            runs[-1].append(c)
        elif c.ch != " ":
            runs.append([c])
        else:
            runs.append([])
    return [run for run in runs if run]


def _text_object(ids: _Ids, run: list[_Char]) -> str:
    first, last = run[0], run[-1]
    ids.drawn.setdefault(first.font, set()).update(c.ch for c in run)
    size = first.size
    left, top = first.x - 0.5, first.y - size * 1.2
    width, height = last.x - first.x + size + 1, size * 1.6
    deltas = " ".join(_n(b.x - a.x) for a, b in itertools.pairwise(run))
    delta_attr = f" DeltaX={quoteattr(deltas)}" if deltas else ""
    bold = ' Weight="700"' if first.bold else ""
    color = f'<ofd:FillColor Value="{" ".join(map(str, first.color))}"/>'
    return (
        f'<ofd:TextObject ID="{ids.next()}" Boundary="{_n(left)} {_n(top)} {_n(width)} {_n(height)}" '
        f'Font="{first.font}" Size="{_n(size)}"{bold}>{color}'
        f'<ofd:TextCode X="{_n(first.x - left)}" Y="{_n(first.y - top)}"{delta_attr}>'
        f"{escape(''.join(c.ch for c in run))}</ofd:TextCode></ofd:TextObject>"
    )


def _colour(obj: pdfium.PdfObject, getter: object) -> tuple[str, int]:
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    getter(obj, r, g, b, a)  # type: ignore[operator]
    return f"{r.value} {g.value} {b.value}", a.value


def _path_object(ids: _Ids, obj: pdfium.PdfObject, page_w: float, height: float) -> str | None:
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    raw.FPDFPath_GetDrawMode(obj, fill_mode, stroke)
    if fill_mode.value == 0 and not stroke.value:
        return None  # a clip or an invisible path
    m = obj.get_matrix()
    point_x, point_y = ctypes.c_float(), ctypes.c_float()
    ops: list[str] = []
    bezier: list[str] = []  # PDFium gives a cubic Bézier as three BEZIERTO points; OFD: "B x1 y1 x2 y2 x3 y3"
    for i in range(raw.FPDFPath_CountSegments(obj)):
        seg = raw.FPDFPath_GetPathSegment(obj, i)
        raw.FPDFPathSegment_GetPoint(seg, point_x, point_y)
        px, py = point_x.value, point_y.value
        point = f"{_n((m.a * px + m.c * py + m.e) / MM)} {_n(height - (m.b * px + m.d * py + m.f) / MM)}"
        op = _SEGMENT.get(raw.FPDFPathSegment_GetType(seg), "L")
        if op == "B":
            bezier.append(point)
            if len(bezier) == 3:
                ops.append("B " + " ".join(bezier))
                bezier = []
        else:
            ops.append(f"{op} {point}")
        if raw.FPDFPathSegment_GetClose(seg):
            ops.append("C")
    if not ops:
        return None
    width = ctypes.c_float()
    raw.FPDFPageObj_GetStrokeWidth(obj, width)
    scale = (abs(m.a * m.d - m.b * m.c) ** 0.5) or 1.0
    stroke_rgb, _ = _colour(obj, raw.FPDFPageObj_GetStrokeColor)
    fill_rgb, _ = _colour(obj, raw.FPDFPageObj_GetFillColor)
    fill = fill_mode.value != 0
    if not fill:  # unused by the standard then; some readers take a stroke's colour from it
        fill_rgb = stroke_rgb
    rule = ' Rule="Even-Odd"' if fill_mode.value == raw.FPDF_FILLMODE_ALTERNATE else ""
    # Written in page coordinates inside a boundary that is the whole page.
    return (
        f'<ofd:PathObject ID="{ids.next()}" Boundary="0 0 {_n(page_w)} {_n(height)}" '
        f'LineWidth="{_n(max(width.value * scale / MM, 0.05))}" Stroke="{str(bool(stroke.value)).lower()}" '
        f'Fill="{str(fill).lower()}"{rule}>'
        f'<ofd:FillColor Value="{fill_rgb}"/><ofd:StrokeColor Value="{stroke_rgb}"/>'
        f"<ofd:AbbreviatedData>{' '.join(ops)}</ofd:AbbreviatedData></ofd:PathObject>"
    )


def _image_object(ids: _Ids, obj: pdfium.PdfObject, height: float) -> str | None:
    left, bottom, right, top = obj.get_bounds()
    if right - left < 0.5 or top - bottom < 0.5:
        return None
    try:
        image = pdfium.PdfImage(obj.raw, obj.page, obj.pdf)
        png = io.BytesIO()
        image.get_bitmap(render=True).to_pil().save(png, "PNG")
    except Exception:  # noqa: BLE001 - an image PDFium cannot decode is left out, not a failed copy
        return None
    resource = ids.next()
    ids.images.append((resource, png.getvalue()))
    w, h = (right - left) / MM, (top - bottom) / MM
    return (
        f'<ofd:ImageObject ID="{ids.next()}" Boundary="{_n(left / MM)} {_n(height - top / MM)} {_n(w)} {_n(h)}" '
        f'CTM="{_n(w)} 0 0 {_n(h)} 0 0" ResourceID="{resource}"/>'
    )


def _page_xml(ids: _Ids, page: pdfium.PdfPage, width: float, height: float) -> str:
    objects = []
    for obj in page.get_objects(max_depth=3):
        if obj.type == raw.FPDF_PAGEOBJ_PATH:
            objects.append(_path_object(ids, obj, width, height))
        elif obj.type == raw.FPDF_PAGEOBJ_IMAGE:
            objects.append(_image_object(ids, obj, height))
    objects += [_text_object(ids, run) for run in _runs(_chars(page, height, ids))]
    layer = ids.next()
    return (
        f'<ofd:Page xmlns:ofd="{NS}"><ofd:Area><ofd:PhysicalBox>0 0 {_n(width)} {_n(height)}</ofd:PhysicalBox>'
        f'</ofd:Area><ofd:Content><ofd:Layer ID="{layer}" Type="Body">{"".join(o for o in objects if o)}'
        f"</ofd:Layer></ofd:Content></ofd:Page>"
    )


def _font_xml(ids: _Ids, name: str, family: str, fid: int, parts: dict[str, bytes]) -> str:
    """The font resource; with its ``FontFile`` (the characters drawn, ``typeset.ofd_fonts``) in
    ``Doc_0/Res`` when the font is found on this machine and its licence bits allow embedding."""
    attrs = f"FontName={quoteattr(name)} FamilyName={quoteattr(family)}"
    found = ofd_fonts.locate(name)
    embedded = ofd_fonts.subset(*found, ids.drawn.get(fid, set())) if found else None
    if embedded is None:
        return f'<ofd:Font ID="{fid}" {attrs}/>'
    parts[f"Doc_0/Res/font_{fid}.ttf"] = embedded.data
    bold = ' Bold="true"' if embedded.bold else ""
    return f'<ofd:Font ID="{fid}" {attrs}{bold}><ofd:FontFile>font_{fid}.ttf</ofd:FontFile></ofd:Font>'


def pdf_to_ofd(pdf: bytes, *, title: str = "", created: datetime | None = None) -> bytes:
    """Write the pages of ``pdf`` as an OFD package (bytes). Same pages, same positions; the text
    stays text. Raises UnsupportedMedia for a file PDFium cannot open."""
    ids = _Ids()
    parts: dict[str, bytes] = {}
    pages = []
    with PDFIUM_LOCK:  # PDFium is not thread-safe: one lock for every use in the process (pdf_measure)
        try:
            doc = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError:
            raise UnsupportedMedia("不是可读取的 PDF 文件", code="not_pdf") from None
        try:
            for index in range(len(doc)):
                page = doc[index]
                w_pt, h_pt = page.get_size()
                width, height = w_pt / MM, h_pt / MM
                page_id = ids.next()
                parts[f"Doc_0/Pages/Page_{index}/Content.xml"] = _xml(_page_xml(ids, page, width, height))
                pages.append((page_id, index, width, height))
                page.close()
        finally:
            doc.close()
    first_w, first_h = (pages[0][2], pages[0][3]) if pages else (210.0, 297.0)
    fonts = "".join(_font_xml(ids, name, family, fid, parts) for (name, family), fid in ids.fonts.items())
    media = "".join(
        f'<ofd:MultiMedia ID="{rid}" Type="Image" Format="PNG"><ofd:MediaFile>image_{rid}.png'
        f"</ofd:MediaFile></ofd:MultiMedia>"
        for rid, _ in ids.images
    )
    for rid, png in ids.images:
        parts[f"Doc_0/Res/image_{rid}.png"] = png
    parts["Doc_0/PublicRes.xml"] = _xml(
        f'<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>{fonts}</ofd:Fonts></ofd:Res>'
    )
    parts["Doc_0/DocumentRes.xml"] = _xml(
        f'<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:MultiMedias>{media}</ofd:MultiMedias></ofd:Res>'
    )
    page_list = "".join(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for pid, i, _, _ in pages)
    parts["Doc_0/Document.xml"] = _xml(
        f'<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData><ofd:MaxUnitID>{ids.last}</ofd:MaxUnitID>'
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_n(first_w)} {_n(first_h)}</ofd:PhysicalBox></ofd:PageArea>"
        f"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
        f"</ofd:CommonData><ofd:Pages>{page_list}</ofd:Pages></ofd:Document>"
    )
    when = (created or datetime.now(UTC)).strftime("%Y-%m-%d")
    doc_id = hashlib.md5(pdf, usedforsecurity=False).hexdigest()  # stable: the same pages, the same DocID
    parts["OFD.xml"] = _xml(
        f'<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
        f"<ofd:DocID>{doc_id}</ofd:DocID><ofd:Title>{escape(title)}</ofd:Title><ofd:CreationDate>{when}"
        f"</ofd:CreationDate><ofd:Creator>Tongban</ofd:Creator></ofd:DocInfo>"
        f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    return write(parts)


def write(parts: dict[str, bytes]) -> bytes:
    """A package from its parts, ``OFD.xml`` first (readers and ``esign.ofd_sig`` recognise it by that)."""
    return write_zip(parts, first="OFD.xml")
