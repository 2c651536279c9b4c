"""Measure the produced WordprocessingML: geometry, grid, fonts per element, colours, footers."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from docx.oxml.ns import qn

from office.errors import ValidationError
from tests.typeset.conftest import find_para, load, run_props
from typeset import gbt9704 as g
from typeset.render import date_paragraph_index, render_docx, signature_paragraph_index, text_width
from typeset.samples import demo_letter, demo_minutes, demo_notice, demo_request

EMU_PER_TWIP = 635


def test_page_geometry_is_a4_with_standard_margins(notice_bytes: bytes) -> None:
    section = load(notice_bytes).sections[0]
    assert section.page_width == 210 * 36000 or abs(section.page_width - 210 * 36000) <= EMU_PER_TWIP
    assert abs(section.page_height - 297 * 36000) <= EMU_PER_TWIP
    mm_emu = 36000
    assert abs(section.top_margin - 37 * mm_emu) <= EMU_PER_TWIP
    assert abs(section.left_margin - 28 * mm_emu) <= EMU_PER_TWIP
    assert abs(section.right_margin - 26 * mm_emu) <= EMU_PER_TWIP
    assert abs(section.bottom_margin - 35 * mm_emu) <= EMU_PER_TWIP
    pg_mar = section._sectPr.find(qn("w:pgMar"))
    assert (
        pg_mar.get(qn("w:top")),
        pg_mar.get(qn("w:left")),
        pg_mar.get(qn("w:right")),
        pg_mar.get(qn("w:bottom")),
    ) == ("2098", "1587", "1474", "1984")
    width = section.page_width - section.left_margin - section.right_margin
    height = section.page_height - section.top_margin - section.bottom_margin
    assert abs(width - 156 * mm_emu) <= 2 * EMU_PER_TWIP and abs(height - 225 * mm_emu) <= 2 * EMU_PER_TWIP


def test_line_grid_gives_22_lines_and_runs_fit_28_chars(notice_bytes: bytes) -> None:
    word = load(notice_bytes)
    grid = word.sections[0]._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines"
    assert grid.get(qn("w:linePitch")) == "579"
    assert g.TYPE_AREA_HEIGHT // 579 == 22 and g.TYPE_AREA_HEIGHT // 580 == 21
    body = find_para(word, "各地各部门要切实提高政治站位")
    props = run_props(body.runs[0])
    advance = int(props["sz"]) * 10 + int(props["spacing"])  # twips
    assert g.TYPE_AREA_WIDTH // advance == 28
    spacing = body._p.pPr.find(qn("w:spacing"))
    assert (spacing.get(qn("w:line")), spacing.get(qn("w:lineRule"))) == ("579", "exact")
    assert body._p.pPr.find(qn("w:ind")).get(qn("w:firstLine")) == "640"  # 空二字
    assert word.settings.element.find(qn("w:mirrorMargins")) is not None


def test_fonts_sizes_and_colours_per_element(notice_bytes: bytes) -> None:
    word = load(notice_bytes)
    expect = {
        "广东省人民政府办公厅文件": ("方正小标宋简体", None, "FF0000"),
        "粤府办〔2026〕12号": ("仿宋_GB2312", "32", None),
        "政务服务事项标准化工作的通知": ("方正小标宋简体", "44", None),
        "各地级以上市人民政府，省政府各部门、各直属机构：": ("仿宋_GB2312", "32", None),
        "一、总体要求": ("黑体", "32", None),
        "（一）加强统筹协调。": ("楷体_GB2312", "32", None),
        "1.完善工作机制。": ("仿宋_GB2312", "32", None),
        "（1）细化责任清单。": ("仿宋_GB2312", "32", None),
        "附件：1.政务服务事项标准化工作任务清单": ("仿宋_GB2312", "32", None),
        "2026年11月29日": ("仿宋_GB2312", "32", None),
        "（此件公开发布）": ("仿宋_GB2312", "32", None),
        "抄送：": ("仿宋_GB2312", "28", None),
        "2026年11月30日印发": ("仿宋_GB2312", "28", None),
        "000123": ("仿宋_GB2312", "32", None),
        "加急": ("黑体", "32", None),
    }
    for text, (font, size, color) in expect.items():
        p = find_para(word, text)
        props = run_props(next(r for r in p.runs if r.text.strip()))
        assert props["eastAsia"] == font, text
        assert props["ascii"] == font, text  # digits too; no theme font may override
        if size:
            assert props["sz"] == size, text
        assert props["color"] == color, text
    mark = find_para(word, "广东省人民政府办公厅文件")
    assert int(run_props(mark.runs[0])["sz"]) <= g.SIZE_XIAOCHU
    assert mark.alignment == 1  # centred
    styles_xml = word.styles.element.xml
    assert "eastAsiaTheme" not in styles_xml and "asciiTheme" not in styles_xml


def test_red_separator_under_number_and_black_colophon_rules(notice_bytes: bytes) -> None:
    word = load(notice_bytes)
    number = find_para(word, "粤府办〔2026〕12号")
    bottom = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert bottom.get(qn("w:color")) == "FF0000" and bottom.get(qn("w:val")) == "single"
    paras = word.paragraphs
    at = next(i for i, p in enumerate(paras) if p.text.startswith("抄送："))
    cc, printed = paras[at], paras[at + 2]
    assert printed.text.endswith("印发")
    # The rules are empty paragraphs without indents around the rows (thick, thin, thick): on the
    # indented rows themselves they would be shorter than the type area.
    rules = [paras[at - 1], paras[at + 1], paras[at + 3]]
    assert [r.text for r in rules] == ["", "", ""]
    assert [r._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:sz")) for r in rules] == [
        str(g.RULE_THICK),
        str(g.RULE_THIN),
        str(g.RULE_THICK),
    ]
    assert {r._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:color")) for r in rules} == {"000000"}
    assert all(not r.paragraph_format.left_indent and not r.paragraph_format.right_indent for r in rules)
    assert cc._p.pPr.find(qn("w:pBdr")) is None and printed._p.pPr.find(qn("w:pBdr")) is None
    assert cc.text == "抄送：省委各部门，省人大常委会办公厅，省政协办公厅，省法院，省检察院。"


def test_vertical_positions_of_header_elements(notice_bytes: bytes) -> None:
    word = load(notice_bytes)
    paras = word.paragraphs
    # 份号 and 紧急程度 take lines 1-2; the mark's space before puts its top 35 mm below the type area top.
    assert [p.text for p in paras[:2]] == ["000123", "加急"]
    before = int(paras[2]._p.pPr.find(qn("w:spacing")).get(qn("w:before")))
    assert 2 * 579 + before == g.mm(35)
    number_before = int(paras[3]._p.pPr.find(qn("w:spacing")).get(qn("w:before")))
    assert number_before == 2 * 579  # 发文机关标志下空二行


def test_footers_alternate_and_show_em_dash_page_numbers(notice_bytes: bytes) -> None:
    word = load(notice_bytes)
    assert word.settings.odd_and_even_pages_header_footer
    section = word.sections[0]
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    assert odd.text == "— 1 —" and even.text == "— 1 —"  # cached field result
    for p, align, side in ((odd, "right", "w:right"), (even, "left", "w:left")):
        assert p._p.pPr.find(qn("w:jc")).get(qn("w:val")) == align
        assert p._p.pPr.find(qn("w:ind")).get(qn(side)) == "280"  # 一字 at 4号
        assert " PAGE " in "".join(t.text for t in p._p.iter(qn("w:instrText")))
        props = run_props(p.runs[0])
        assert (props["eastAsia"], props["ascii"], props["sz"]) == ("宋体", "宋体", "28")


def test_signature_centred_over_date_with_seal_space(notice_bytes: bytes) -> None:
    word = load(notice_bytes)
    d, s = date_paragraph_index(notice_bytes), signature_paragraph_index(notice_bytes)
    assert word.paragraphs[d].text == "2026年11月29日"
    assert word.paragraphs[s].text == "广东省人民政府办公厅" and s == d - 1
    # Both centred in one box whose centre is the date's: the name sits on the date's real centre
    # whatever the font's digit widths, and the date ends 右空四字 (with the standard's half-width digits).
    box = {
        i: (
            int(word.paragraphs[i]._p.pPr.find(qn("w:ind")).get(qn("w:left"))),
            int(word.paragraphs[i]._p.pPr.find(qn("w:ind")).get(qn("w:right"))),
            word.paragraphs[i]._p.pPr.find(qn("w:jc")).get(qn("w:val")),
        )
        for i in (d, s)
    }
    assert box[d] == box[s] and box[d][2] == "center"
    left, right, _ = box[d]
    centre = (left + g.TYPE_AREA_WIDTH - right) / 2
    assert abs(g.TYPE_AREA_WIDTH - (centre + text_width("2026年11月29日") / 2) - 4 * 320) <= 1  # 右空四字
    before = int(word.paragraphs[s]._p.pPr.find(qn("w:spacing")).get(qn("w:before")))
    assert before == 2 * 579  # room for the seal, whose top stays within a line of the text
    assert (
        word.paragraphs[s - 3]._p.pPr.find(qn("w:keepNext")) is not None
        or word.paragraphs[s - 1]._p.pPr.find(qn("w:keepNext")) is not None
    )


def test_signature_without_seal_is_right_two_and_date_two_chars_in() -> None:
    doc = dataclasses.replace(demo_notice(pages=1), seal_space=False, signature_name="某机关", date=dt.date(2026, 1, 5))
    data = render_docx(doc)
    word = load(data)
    s, d = signature_paragraph_index(data), date_paragraph_index(data)
    r_name = int(word.paragraphs[s]._p.pPr.find(qn("w:ind")).get(qn("w:right")))
    r_date = int(word.paragraphs[d]._p.pPr.find(qn("w:ind")).get(qn("w:right")))
    # The date is longer than the name: date 右空二字, name starts two characters left of it.
    assert r_date == 640
    name_start = g.TYPE_AREA_WIDTH - r_name - text_width("某机关")
    date_start = g.TYPE_AREA_WIDTH - r_date - text_width("2026年1月5日")
    assert date_start - name_start == 640


def test_upward_document_puts_signers_right_and_number_left() -> None:
    data = render_docx(demo_request())
    word = load(data)
    first = find_para(word, "签发人：")
    last = find_para(word, "穗府〔2026〕7号")
    assert "张三\u3000李四" in first.text and last.text.endswith("王五")
    names = [r for r in first.runs if "张三" in r.text][0]
    assert run_props(names)["eastAsia"] == "楷体_GB2312"
    assert last.text.startswith("\u3000穗府〔2026〕7号")  # 居左空一字
    # ... by a space, not an indent: the red line (the paragraph's bottom border) spans the type area.
    ind = last._p.pPr.find(qn("w:ind"))
    assert ind is None or int(ind.get(qn("w:left")) or 0) == 0 and int(ind.get(qn("w:right")) or 0) == 0
    assert last._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:color")) == "FF0000"
    # wrapped signer names align with the first name
    tab_first = int(first._p.pPr.find(qn("w:tabs"))[0].get(qn("w:pos")))
    tab_last = int(last._p.pPr.find(qn("w:tabs"))[0].get(qn("w:pos")))
    assert tab_last - tab_first == text_width("签发人：")
    assert tab_first + text_width("签发人：张三\u3000李四") == g.TYPE_AREA_WIDTH - 320


def test_letter_format_header_double_lines_and_no_first_page_number() -> None:
    data = render_docx(demo_letter(), fmt="letter")
    section = load(data).sections[0]
    assert section.different_first_page_header_footer
    head = section.first_page_header.paragraphs[0]
    assert head.text == "广东省人民政府办公厅"
    assert run_props(head.runs[0])["color"] == "FF0000"
    top = head._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert (top.get(qn("w:val")), top.get(qn("w:color"))) == ("thickThinSmallGap", "FF0000")
    ind = head._p.pPr.find(qn("w:ind"))
    assert g.TYPE_AREA_WIDTH - 2 * int(ind.get(qn("w:left"))) in range(g.mm(170) - 2, g.mm(170) + 2)
    foot = section.first_page_footer.paragraphs[0]
    assert foot._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:val")) == "thinThickSmallGap"
    assert "PAGE" not in foot._p.xml
    assert abs(section.header_distance - 30 * 36000) <= EMU_PER_TWIP
    assert abs(section.footer_distance - 20 * 36000) <= EMU_PER_TWIP
    number = find_para(load(data), "粤办函〔2026〕88号")
    assert number._p.pPr.find(qn("w:tabs"))[0].get(qn("w:val")) == "right"  # 发文字号 flush right
    assert "印发" not in "".join(p.text for p in load(data).paragraphs)


def test_minutes_format_attendance_and_no_seal_anchor() -> None:
    data = render_docx(demo_minutes(), fmt="minutes")
    word = load(data)
    mark = find_para(word, "省政府常务会议纪要")
    assert run_props(mark.runs[0])["color"] == "FF0000"
    present = find_para(word, "出席：")
    label, names = present.runs[0], present.runs[1]
    assert label.text == "出席：" and run_props(label)["eastAsia"] == "黑体"
    assert run_props(names)["eastAsia"] == "仿宋_GB2312"
    ind = present._p.pPr.find(qn("w:ind"))
    assert int(ind.get(qn("w:left"))) - int(ind.get(qn("w:hanging"))) == 640
    assert [p.text[:3] for p in word.paragraphs if p.text[:3] in ("出席：", "请假：", "列席：")] == [
        "出席：",
        "请假：",
        "列席：",
    ]
    assert len(word.tables) == 1
    with pytest.raises(ValidationError):
        date_paragraph_index(data)


def test_render_rejects_inconsistent_formats() -> None:
    with pytest.raises(ValidationError):
        render_docx(demo_notice(), fmt="minutes")
    with pytest.raises(ValidationError):
        render_docx(demo_minutes(), fmt="standard")
    with pytest.raises(ValidationError):
        render_docx(demo_notice(), fmt="poster")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        render_docx(dataclasses.replace(demo_notice(), number=None))


def test_colophon_lands_on_an_even_page_estimate() -> None:
    from typeset.layout import Paragraph

    one_page = render_docx(dataclasses.replace(demo_notice(), body=[Paragraph("特此通知。")], attachments=[]))
    word = load(one_page)
    texts = [p.text for p in word.paragraphs]
    breaks = [
        i
        for i, p in enumerate(word.paragraphs)
        if p._p.pPr is not None and p._p.pPr.find(qn("w:pageBreakBefore")) is not None
    ]
    assert breaks, "a one-page notice puts its 版记 on page 2 (封四)"
    cc = next(i for i, t in enumerate(texts) if t.startswith("抄送："))
    assert breaks[-1] < cc and breaks[-1] > texts.index("2026年11月29日")
