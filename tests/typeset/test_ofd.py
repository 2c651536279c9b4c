"""The OFD official copy: the same pages as the PDF, text kept as text, readable by another reader."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from office.errors import UnsupportedMedia
from tests.typeset.ofd_reader import render
from tests.typeset.official import OfficialPdf, notice_pdf, official_pool  # noqa: F401 - fixtures
from typeset import ofd, ofd_fonts


def _pdf_pages(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return ["".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]
    finally:
        doc.close()


def test_an_independent_reader_renders_the_same_pages_and_text(notice_pdf: OfficialPdf) -> None:  # noqa: F811
    package = ofd.pdf_to_ofd(notice_pdf.pdf, title="通知")
    expected = _pdf_pages(notice_pdf.pdf)
    shown = render(package)
    assert len(shown.pages) == len(expected) >= 2
    for mine, theirs in zip(shown.pages, expected, strict=True):
        assert mine == theirs  # every character, in reading order, on its own page
    assert "广东省人民政府办公厅文件" in shown.pages[0]


def test_the_package_is_laid_out_as_the_standard_names_it(notice_pdf: OfficialPdf) -> None:  # noqa: F811
    package = ofd.pdf_to_ofd(notice_pdf.pdf)
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        names = zf.namelist()
        assert names[0] == "OFD.xml"
        assert {"Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/Pages/Page_0/Content.xml"} <= set(names)
        page = zf.read("Doc_0/Pages/Page_0/Content.xml").decode()
    assert "<ofd:TextObject" in page and 'StrokeColor Value="255 0 0"' in page  # text, and the red line
    assert "<ofd:PhysicalBox>0 0 210.01 297</ofd:PhysicalBox>" in page  # A4 in millimetres
    assert ofd.pdf_to_ofd(notice_pdf.pdf) == package  # the same pages give the same bytes


def test_the_fonts_drawn_are_embedded_and_hold_every_character(notice_pdf: OfficialPdf) -> None:  # noqa: F811
    """GB/T 33190 §11.1 FontFile: a reader without our fonts still has the glyphs the page draws."""
    package = ofd.pdf_to_ofd(notice_pdf.pdf)
    shown = render(package)
    assert len(shown.drawn) >= 3  # body 仿宋, headings 黑体, title 小标宋: each its own face
    for font_id, chars in shown.drawn.items():
        assert font_id in shown.font_files, f"font {font_id} is drawn but not embedded"
        font = TTFont(io.BytesIO(shown.font_files[font_id]))  # a valid font file
        cmap, glyf = font.getBestCmap(), font["glyf"]
        missing = {ch for ch in chars if ord(ch) not in cmap}
        assert not missing, f"font {font_id} lacks {sorted(missing)}"
        blank = {ch for ch in chars if not ch.isspace() and glyf[cmap[ord(ch)]].numberOfContours == 0}
        assert not blank, f"font {font_id} has empty glyphs for {sorted(blank)}"
        assert font["name"].getDebugName(0)  # the source's copyright travels with the subset
    assert "广" in shown.drawn[max(shown.drawn, key=lambda k: len(shown.drawn[k]))]
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        res = zf.read("Doc_0/PublicRes.xml").decode()
        fonts = sorted(n for n in zf.namelist() if n.startswith("Doc_0/Res/font_"))
    assert len(fonts) == len(shown.font_files) and all(f"<ofd:FontFile>{n[10:]}</ofd:FontFile>" in res for n in fonts)
    # Regional glyph forms: the face is the Simplified Chinese one fontconfig gives for 仿宋_GB2312.
    assert all("CJKsc" in TTFont(io.BytesIO(data))["name"].getDebugName(6) for data in shown.font_files.values())


def _font_file(path: Path, fs_type: int) -> str:
    """A one-glyph TrueType font ("A", a square) whose OS/2 embedding bits are ``fs_type``."""
    pen = TTGlyphPen(None)
    for op, point in (("moveTo", (100, 0)), ("lineTo", (100, 700)), ("lineTo", (500, 700)), ("lineTo", (500, 0))):
        getattr(pen, op)(point)
    pen.closePath()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "A": pen.glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (600, 100)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Probe", "styleName": "Regular", "copyright": "test font"})
    builder.setupOS2(fsType=fs_type)
    builder.setupPost()
    builder.save(str(path))
    return str(path)


def test_a_font_whose_licence_bits_forbid_embedding_is_named_only(tmp_path: Path) -> None:
    free = ofd_fonts.subset(_font_file(tmp_path / "free.ttf", 0), 0, {"A"})
    assert free is not None and TTFont(io.BytesIO(free.data)).getBestCmap() == {ord("A"): "A"}
    for bits in (0x0002, 0x0100):  # restricted-licence embedding; no subsetting
        assert ofd_fonts.subset(_font_file(tmp_path / f"{bits}.ttf", bits), 0, {"A"}) is None


def test_a_file_that_is_not_a_pdf_is_refused() -> None:
    with pytest.raises(UnsupportedMedia):
        ofd.pdf_to_ofd(b"not a pdf")
