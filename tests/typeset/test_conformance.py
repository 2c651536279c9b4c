"""Our own output conforms; crafted deviations are each reported with code and location."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips
from lxml import etree

from office.errors import UnsupportedMedia
from tests.typeset.conftest import ALL_FORMATS, find_para, load
from typeset.conformance import check_docx
from typeset.layout import OfficialDocument, Paragraph
from typeset.render import render_docx
from typeset.samples import demo_notice, demo_request


@pytest.mark.parametrize(("factory", "fmt"), ALL_FORMATS)
def test_render_output_has_zero_deviations(factory: Callable[[], Any], fmt: str) -> None:
    report = check_docx(render_docx(factory(), fmt=fmt))
    assert report.deviations == []
    assert report.ok
    expected_fmt = {"letter": "letter", "minutes": "minutes"}.get(fmt, "standard")
    assert report.fmt == expected_fmt
    assert {"title"} <= set(report.elements)


def test_render_output_elements_are_recognised(notice_bytes: bytes) -> None:
    report = check_docx(notice_bytes)
    el = report.elements
    assert list(el) and el["mark"] < el["number"] <= el["separator"] < el["title"] < el["recipients"]
    assert el["attachments"] < el["signature"] < el["date"] < el["note"] < el["colophon"]
    data = json.loads(report.to_json())
    assert data["ok"] is True and data["elements"]["date"] == el["date"]


def _mutate(data: bytes, change: Callable[[Any], None]) -> bytes:
    word = load(data)
    change(word)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _set_text(word: Any, old: str, new: str) -> None:
    p = find_para(word, old)
    run = next(r for r in p.runs if old in r.text)
    run.text = run.text.replace(old, new)


def _body_font(word: Any) -> None:
    p = find_para(word, "各地各部门要切实提高政治站位")
    p.runs[0]._r.rPr.find(qn("w:rFonts")).set(qn("w:eastAsia"), "宋体")


def _black_separator(word: Any) -> None:
    p = find_para(word, "粤府办〔2026〕12号")
    p._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).set(qn("w:color"), "000000")


def _margins(word: Any) -> None:
    word.sections[0].top_margin = Mm(25.4)
    word.sections[0].left_margin = Mm(31.8)


def _footer_centred(word: Any) -> None:
    word.sections[0].footer.paragraphs[0]._p.pPr.find(qn("w:jc")).set(qn("w:val"), "center")


def _footer_hyphen(word: Any) -> None:
    for t in word.sections[0].footer.paragraphs[0]._p.iter(qn("w:t")):
        t.text = t.text.replace("—", "-")


def _grid(word: Any) -> None:
    word.sections[0]._sectPr.find(qn("w:docGrid")).set(qn("w:linePitch"), "312")


def _heading_font(word: Any) -> None:
    p = find_para(word, "一、总体要求")
    p.runs[0]._r.rPr.find(qn("w:rFonts")).set(qn("w:eastAsia"), "仿宋_GB2312")


def _title_size(word: Any) -> None:
    p = find_para(word, "广东省人民政府办公厅关于进一步做好")
    p.runs[0]._r.rPr.find(qn("w:sz")).set(qn("w:val"), "36")


def _mark_black(word: Any) -> None:
    find_para(word, "广东省人民政府办公厅文件").runs[0]._r.rPr.find(qn("w:color")).set(qn("w:val"), "000000")


def _char_spacing(word: Any) -> None:
    for p in word.paragraphs:
        for r in p.runs:
            sp = r._r.rPr.find(qn("w:spacing")) if r._r.rPr is not None else None
            if sp is not None:
                r._r.rPr.remove(sp)


def _theme_font(word: Any) -> None:
    fonts = find_para(word, "各地各部门要切实提高政治站位").runs[0]._r.rPr.find(qn("w:rFonts"))
    fonts.set(qn("w:eastAsiaTheme"), "minorEastAsia")


def _no_parity(word: Any) -> None:
    word.settings.odd_and_even_pages_header_footer = False


@pytest.mark.parametrize(
    ("change", "code", "where"),
    [
        (_margins, "margin_top", {"section": 0}),
        (_margins, "margin_left", {"section": 0}),
        (_body_font, "font_body", {"paragraph": None}),
        (lambda w: _set_text(w, "粤府办〔2026〕12号", "粤府办[2026]12号"), "number_brackets", {"paragraph": 3}),
        (lambda w: _set_text(w, "粤府办〔2026〕12号", "粤府办〔2026〕第12号"), "number_format", {"paragraph": 3}),
        (_black_separator, "separator_colour", {"paragraph": 3}),
        (lambda w: _set_text(w, "2026年11月29日", "二〇二六年十一月二十九日"), "date_format", {"paragraph": None}),
        (lambda w: _set_text(w, "2026年11月29日", "2026年11月09日"), "date_format", {"paragraph": None}),
        (_footer_centred, "page_number_align", {"part": "单页页脚"}),
        (_footer_hyphen, "page_number_format", {"part": "单页页脚"}),
        (_grid, "line_grid", {"section": 0}),
        (_heading_font, "font_heading1", {"paragraph": None}),
        (_title_size, "font_title", {"paragraph": 4}),
        (_mark_black, "mark_colour", {"paragraph": 2}),
        (_char_spacing, "chars_per_line", {"section": 0}),
        (_theme_font, "font_body", {"paragraph": None}),
        (_no_parity, "page_number_parity", {"part": "word/settings.xml"}),
    ],
)
def test_crafted_deviation_is_reported(
    notice_bytes: bytes, change: Callable[[Any], None], code: str, where: dict[str, Any]
) -> None:
    report = check_docx(_mutate(notice_bytes, change))
    assert not report.ok
    hits = [d for d in report.deviations if d.code == code]
    assert hits, report.codes()
    for key, value in where.items():
        if value is None:
            assert getattr(hits[0], key) is not None
        else:
            assert getattr(hits[0], key) == value
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d.message) for d in report.deviations)


def test_font_message_names_the_wrong_font(notice_bytes: bytes) -> None:
    report = check_docx(_mutate(notice_bytes, _body_font))
    (dev,) = [d for d in report.deviations if d.code == "font_body"]
    assert "宋体" in dev.message and "仿宋" in dev.message


def test_element_order_is_checked(notice_bytes: bytes) -> None:
    def swap(word: Any) -> None:
        attachments = find_para(word, "附件：1.")
        find_para(word, "（此件公开发布）")._p.addnext(attachments._p)

    report = check_docx(_mutate(notice_bytes, swap))
    assert "element_order" in report.codes()


def test_empty_and_foreign_documents_are_reported_not_crashed() -> None:
    out = io.BytesIO()
    docx.Document().save(out)
    report = check_docx(out.getvalue())
    codes = report.codes()
    for code in (
        "page_size",
        "margin_top",
        "missing_mark",
        "missing_number",
        "missing_title",
        "page_number_missing",
        "page_number_parity",
    ):
        assert code in codes
    json.loads(report.to_json())
    word = docx.Document()
    word.add_paragraph("随便写的一段话")
    word.add_table(rows=1, cols=1).cell(0, 0).text = "x"
    out = io.BytesIO()
    word.save(out)
    assert not check_docx(out.getvalue()).ok


def test_non_docx_bytes_raise_unsupported_media() -> None:
    with pytest.raises(UnsupportedMedia):
        check_docx(b"hello")
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(UnsupportedMedia):
        check_docx(buf.getvalue())


# --- issue 14: what the checker must see ---------------------------------------------------------


def _spacing_in_normal_style(value: int) -> Callable[[Any], None]:
    """Move the body runs' character spacing into the Normal style (inherited, not on the runs)."""

    def change(word: Any) -> None:
        _char_spacing(word)
        rpr = word.styles["Normal"].element.get_or_add_rPr()
        sp = rpr.find(qn("w:spacing"))
        if sp is None:
            sp = rpr.makeelement(qn("w:spacing"), {})
            rpr.append(sp)
        sp.set(qn("w:val"), str(value))

    return change


def test_character_spacing_inherited_from_the_normal_style_is_resolved(notice_bytes: bytes) -> None:
    run = find_para(load(notice_bytes), "各地各部门要切实提高政治站位").runs[0]
    spacing = int(run._r.rPr.find(qn("w:spacing")).get(qn("w:val")))
    assert "chars_per_line" not in check_docx(_mutate(notice_bytes, _spacing_in_normal_style(spacing))).codes()
    assert "chars_per_line" in check_docx(_mutate(notice_bytes, _spacing_in_normal_style(40))).codes()


def test_line_spacing_inherited_from_the_normal_style_is_checked(notice_bytes: bytes) -> None:
    def loose(word: Any) -> None:
        for p in word.paragraphs:
            sp = p._p.pPr.find(qn("w:spacing")) if p._p.pPr is not None else None
            if sp is not None:
                sp.attrib.pop(qn("w:line"), None)
                sp.attrib.pop(qn("w:lineRule"), None)
        fmt = word.styles["Normal"].paragraph_format
        fmt.line_spacing = Pt(32)  # exact 32 pt: 20 lines a page, not 22

    report = check_docx(_mutate(notice_bytes, loose))
    assert "line_pitch" in report.codes(), report.codes()


def test_a_red_line_shorter_than_the_type_area_is_reported() -> None:
    data = render_docx(demo_request())

    def indent(word: Any) -> None:
        find_para(word, "穗府〔2026〕7号").paragraph_format.left_indent = Twips(320)

    report = check_docx(_mutate(data, indent))
    (hit,) = [d for d in report.deviations if d.code == "separator_length"]
    assert "150.4mm" in hit.message


def test_a_sealed_file_without_its_print_date_is_reported() -> None:
    from esign import docx_visual

    def sealed(doc: Any) -> bytes:
        """The seal picture's anchor over the date, as 用印 puts it (the checker looks for it)."""
        data = render_docx(doc)
        index = next(i for i, p in enumerate(load(data).paragraphs) if p.text == "2026年11月29日")
        src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                part = src.read(item)
                if item.filename == "word/document.xml":
                    root = etree.fromstring(part)
                    docx_visual.add_seal_anchor(root, 1, paragraph_index=index, width_mm=42, height_mm=42)
                    part = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
                dst.writestr(item, part)
        return out.getvalue()

    assert check_docx(sealed(demo_notice())).ok
    report = check_docx(sealed(dataclasses.replace(demo_notice(), print_date=None)))
    assert "missing_print_date" in report.codes()
    # A draft's 版记 has no date yet: not a deviation until the file is sealed.
    assert check_docx(render_docx(dataclasses.replace(demo_notice(), print_date=None))).ok


@pytest.mark.parametrize("factory,fmt", ALL_FORMATS)
def test_drafts_before_numbering_pass_in_every_format(factory: Any, fmt: str) -> None:
    doc = dataclasses.replace(factory(), number=None, draft=True)
    report = check_docx(render_docx(doc, fmt=fmt))
    assert report.ok, report.to_json()


def test_an_order_passes_in_the_order_format() -> None:
    doc = OfficialDocument(
        doc_type="命令（令）",
        issuer_name="广东省人民政府",
        title="办法",
        number="第312号",
        body=[Paragraph("《办法》已经省人民政府常务会议通过，现予公布。")],
        signature_name="王伟",
        signer_title="省长",
        date=dt.date(2026, 11, 29),
        printer="广东省人民政府办公厅",
        print_date=dt.date(2026, 11, 30),
    )
    report = check_docx(render_docx(doc, fmt="order"))
    assert report.ok and report.fmt == "order", report.to_json()
