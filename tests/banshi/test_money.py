"""人民币大写 and the grouped figure (banshi/money.py), on the examples of the rules for writing amounts
on bills (《正确填写票据和结算凭证的基本规定》) and the edge cases of 零 across 万 and 亿."""

from __future__ import annotations

import pytest

from banshi.money import MAX_ABS_FEN, fen_to_chinese, format_fen, format_money

CASES = [
    # (分, 大写)
    (0, "零元整"),
    (1, "壹分"),
    (5, "伍分"),
    (10, "壹角"),
    (55, "伍角伍分"),
    (100, "壹元整"),
    (105, "壹元零伍分"),  # no 角: 零 before the 分
    (150, "壹元伍角"),  # 角 without 分: no 整
    (1000, "壹拾元整"),  # 壹拾, never a bare 拾
    (1600, "壹拾陆元整"),
    (100000, "壹仟元整"),
    (140950, "壹仟肆佰零玖元伍角"),  # the rules' ¥1,409.50
    (600714, "陆仟零柒元壹角肆分"),  # the rules' ¥6,007.14
    (32504, "叁佰贰拾伍元零肆分"),  # the rules' ¥325.04
    (168032, "壹仟陆佰捌拾元叁角贰分"),  # the rules' ¥1,680.32 (the writing without the optional 零)
    (10700053, "壹拾万柒仟元伍角叁分"),  # the rules' ¥107,000.53 (likewise)
    (1004050, "壹万零肆拾元伍角"),  # 零 between 万 and a section under 1000
    (1000100, "壹万零壹元整"),  # a run of zeros across the 万 boundary is one 零
    (10001000, "壹拾万零壹拾元整"),
    (10000000, "壹拾万元整"),
    (12345678, "壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
    (1234567, "壹万贰仟叁佰肆拾伍元陆角柒分"),  # the contract's example
    (100000000, "壹佰万元整"),
    (5000000000, "伍仟万元整"),
    (10000000000, "壹亿元整"),
    (10000000100, "壹亿零壹元整"),  # an empty 万 section: one 零
    (10001000000, "壹亿零壹万元整"),
    (10100000000, "壹亿零壹佰万元整"),
    (11000000000, "壹亿壹仟万元整"),  # the 万 section starts with a digit: no 零
    (11001000000, "壹亿壹仟零壹万元整"),
    (100000000000, "壹拾亿元整"),
    (1000000000100, "壹佰亿零壹元整"),
    (100000000000000, "壹万亿元整"),
    (1000000000000000, "壹拾万亿元整"),
    (100000000000100, "壹万亿零壹元整"),
    (MAX_ABS_FEN, "玖仟玖佰玖拾玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
]


@pytest.mark.parametrize(("fen", "words"), CASES)
def test_fen_to_chinese(fen: int, words: str) -> None:
    assert fen_to_chinese(fen) == words


def test_negative_amounts_start_with_fu() -> None:
    assert fen_to_chinese(-5) == "负伍分"
    assert fen_to_chinese(-1004050) == "负壹万零肆拾元伍角"
    assert fen_to_chinese(-100) == "负壹元整"


def test_bad_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        fen_to_chinese(MAX_ABS_FEN + 1)
    with pytest.raises(ValueError):
        fen_to_chinese(-MAX_ABS_FEN - 1)
    for bad in (1.5, "100", True, None):
        with pytest.raises(TypeError):
            fen_to_chinese(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            format_fen(bad)  # type: ignore[arg-type]


def test_every_amount_up_to_ten_thousand_yuan_reads_back() -> None:
    """A reader of the 大写 recovers the figure: no lost or doubled 零 anywhere up to 1万元 (every 分
    under 10 元, then every 元 to 1万)."""
    for fen in [*range(0, 1000), *range(1000, 1_000_001, 100), *range(1_000_001, 100_000_001, 99_991)]:
        assert _read(fen_to_chinese(fen)) == fen, fen


def _read(words: str) -> int:
    """Parse 大写 back to 分 (a test oracle, strict about where 零 may stand)."""
    digits = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
    places = {"拾": 10, "佰": 100, "仟": 1000}
    assert "零零" not in words and not words.startswith("零") or words == "零元整"
    if words == "零元整":
        return 0
    yuan_part, _, rest = words.partition("元") if "元" in words else ("", "", words)
    total, section, digit = 0, 0, 0
    for c in yuan_part:
        if c in digits:
            digit = digits[c]
        elif c in places:
            section += digit * places[c]
            digit = 0
        elif c == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif c == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    yuan = total + section + digit
    fen = yuan * 100
    if "角" in rest:
        fen += digits[rest[rest.index("角") - 1]] * 10
    if "分" in rest:
        fen += digits[rest[rest.index("分") - 1]]
    assert rest.endswith(("整", "角", "分")) or not rest
    assert rest.endswith("整") == (fen % 100 == 0)
    return fen


def test_format_fen_groups_thousands() -> None:
    assert format_fen(0) == "0.00"
    assert format_fen(5) == "0.05"
    assert format_fen(100) == "1.00"
    assert format_fen(1234567) == "12,345.67"
    assert format_fen(100000000000) == "1,000,000,000.00"
    assert format_fen(-1234567) == "-12,345.67"
    assert format_money(1234567) == "¥12,345.67"
    assert format_money(-500) == "-¥5.00"
