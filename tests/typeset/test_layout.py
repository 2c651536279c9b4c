from __future__ import annotations

import datetime as dt

import pytest

from office.errors import ValidationError
from typeset.layout import (
    DocType,
    Heading,
    OfficialDocument,
    Paragraph,
    Table,
    detect_heading_level,
    format_cn_date,
    heading_marker,
    numbered_texts,
    validate_number,
)


def test_format_cn_date_uses_unpadded_arabic_numerals() -> None:
    assert format_cn_date(dt.date(2026, 11, 29)) == "2026年11月29日"
    assert format_cn_date(dt.date(2024, 5, 6)) == "2024年5月6日"


@pytest.mark.parametrize("good", ["粤府办〔2026〕12号", "国办发〔2024〕1号", "穗府函〔2025〕123号"])
def test_validate_number_accepts_hexagonal_brackets(good: str) -> None:
    assert validate_number(good) == good


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ("粤府办[2026]12号", "bad_number_brackets"),
        ("粤府办(2026)12号", "bad_number_brackets"),
        ("粤府办【2026】12号", "bad_number_brackets"),
        ("粤府办〔2026〕第12号", "bad_number_format"),
        ("粤府办〔2026〕012号", "bad_number_format"),
        ("粤府办〔26〕12号", "bad_number_format"),
    ],
)
def test_validate_number_rejects_wrong_forms(bad: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_number(bad)
    assert info.value.code == code


def test_heading_markers_and_detection_round_trip() -> None:
    assert [heading_marker(1, n) for n in (1, 10, 11, 20, 23)] == ["一、", "十、", "十一、", "二十、", "二十三、"]
    assert heading_marker(2, 3) == "（三）"
    assert heading_marker(3, 2) == "2."
    assert heading_marker(4, 5) == "（5）"
    for level in (1, 2, 3, 4):
        assert detect_heading_level(heading_marker(level, 7) + "标题") == level
    assert detect_heading_level("2026年工作") is None
    assert detect_heading_level("3.5亿元") is None


def test_numbered_texts_restart_lower_levels() -> None:
    blocks = [
        Heading(1, "甲"),
        Heading(2, "乙"),
        Heading(2, "丙"),
        Paragraph("x"),
        Heading(1, "丁"),
        Heading(2, "戊"),
        Heading(3, "己"),
        Heading(1, "三、已编号", numbered=True),
    ]
    assert numbered_texts(blocks) == [
        "一、甲",
        "（一）乙",
        "（二）丙",
        None,
        "二、丁",
        "（一）戊",
        "1.己",
        "三、已编号",
    ]


def test_doc_type_parse_accepts_all_fifteen_and_ling() -> None:
    names = "决议 决定 命令（令） 公报 公告 通告 意见 通知 通报 报告 请示 批复 议案 函 纪要".split()
    assert [DocType.parse(n).value for n in names] == names
    for variant in ("令", "命令", "命令(令)"):
        assert DocType.parse(variant) is DocType.mingling
    assert DocType.qingshi.upward and not DocType.tongzhi.upward
    with pytest.raises(ValidationError):
        DocType.parse("便条")


def _doc(**kw: object) -> OfficialDocument:
    base: dict[str, object] = {
        "doc_type": "通知",
        "issuer_name": "某机关",
        "title": "关于某事的通知",
        "body": [Paragraph("正文")],
        "number": "某发〔2026〕1号",
    }
    base.update(kw)
    return OfficialDocument(**base)  # type: ignore[arg-type]


def test_official_document_validates_markings() -> None:
    assert _doc().doc_type is DocType.tongzhi
    assert _doc().mark_text == "某机关文件"
    assert _doc(issuer_mark_text="某机关办公室文件").mark_text == "某机关办公室文件"
    for kw, code in (
        ({"urgency": "急"}, "bad_urgency"),
        ({"classification": "机密"}, "classified_not_allowed"),
        ({"copy_number": "12a"}, "bad_copy_number"),
        ({"number": "某发[2026]1号"}, "bad_number_brackets"),
        ({"title": " "}, "empty_title"),
    ):
        with pytest.raises(ValidationError) as info:
            _doc(**kw)
        assert info.value.code == code
    assert _doc(doc_type="纪要", number="第3期").mark_text == "某机关纪要"
    with pytest.raises(ValidationError):
        Heading(5, "x")
    assert Table([[1, 2]]).rows == (("1", "2"),)
