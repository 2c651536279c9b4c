"""GB/T 9704-2012 numbers shared by the renderer and the conformance checker.

Lengths are in twips (1/20 pt) because that is what WordprocessingML stores in ``w:pgMar``,
``w:ind`` and ``w:spacing``; sizes are in half-points (``w:sz``). See /work/shared/spec/gbt9704.md.
"""

from __future__ import annotations

TWIPS_PER_MM = 1440 / 25.4  # 56.69


def mm(value: float) -> int:
    """Millimetres -> whole twips."""
    return round(value * TWIPS_PER_MM)


# Paper and type area (版心 156 x 225 mm, 天头 37 mm, 订口 28 mm).
PAGE_WIDTH = mm(210)
PAGE_HEIGHT = mm(297)
MARGIN_TOP = mm(37)
MARGIN_LEFT = mm(28)  # 订口 (inside margin: w:mirrorMargins is on because printing is double-sided)
MARGIN_RIGHT = mm(26)
MARGIN_BOTTOM = mm(35)
TYPE_AREA_WIDTH = mm(156)
TYPE_AREA_HEIGHT = mm(225)
MARGIN_TOLERANCE = mm(1)

# 22 lines per page: 225 mm / 22 = 579.8 twips, but 22 x 580 overflows the 12 756-twip area in Word.
LINE_PITCH = 579
# The closest pitch GB/T 9704 §7.3.5's remedy (调整行距) may set body lines to keep the 署名 with the
# text: 25 pt for 16 pt type (the layout loop, typeset.paginate, never goes closer; the page rules check it).
MIN_LINE_PITCH = 500
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28
# 28 x 16 pt = 448 pt does not fit 442.2 pt; -0.25 pt per character (w:spacing -5) gives 441 pt.
# A linesAndChars grid would do the same in Word/WPS but LibreOffice then sets 14 characters per line.
CHAR_SPACING = -5
CHAR = 320  # one 3号 character, 16 pt: the unit of "空二字" indents
CHAR_ADVANCE = CHAR + CHAR_SPACING  # what one CJK character really occupies on a body line
DIGIT_ADVANCE = CHAR // 2 + CHAR_SPACING

# Chinese point sizes (号) in half-points.
SIZE_1 = 52  # 一号 26 pt
SIZE_2 = 44  # 二号 22 pt
SIZE_3 = 32  # 三号 16 pt
SIZE_4 = 28  # 四号 14 pt
SIZE_XIAOCHU = 72  # 小初 36 pt, our default for the 发文机关标志

RED = "FF0000"

# Font names written into w:rFonts (w:eastAsia + w:ascii/w:hAnsi).
FONT_FANGSONG = "仿宋_GB2312"
FONT_HEITI = "黑体"
FONT_KAITI = "楷体_GB2312"
FONT_XIAOBIAOSONG = "方正小标宋简体"
FONT_SONGTI = "宋体"

# Families the checker accepts for each role (names seen in real templates and on Windows).
FONT_FAMILIES: dict[str, frozenset[str]] = {
    "仿宋": frozenset(
        {"仿宋_GB2312", "仿宋", "FangSong", "FangSong_GB2312", "方正仿宋_GBK", "方正仿宋简体", "华文仿宋"}
    ),
    "黑体": frozenset({"黑体", "SimHei", "方正黑体_GBK", "方正黑体简体"}),
    "楷体": frozenset({"楷体_GB2312", "楷体", "KaiTi", "KaiTi_GB2312", "方正楷体_GBK", "方正楷体简体", "华文楷体"}),
    "小标宋": frozenset({"方正小标宋简体", "方正小标宋_GBK", "小标宋", "方正小标宋", "FZXiaoBiaoSong-B05S"}),
    "宋体": frozenset({"宋体", "SimSun", "NSimSun", "新宋体"}),
}

# 版记 rules: first and last 0.35 mm, middle 0.25 mm. w:sz is in eighths of a point and Word only
# offers 2/4/6/8/12...; 8 = 1 pt = 0.353 mm, 6 = 0.75 pt = 0.265 mm (nearest to 0.25 mm).
RULE_THICK = 8
RULE_THIN = 6
# 红色分隔线: the standard gives no width; 1.5 pt (0.53 mm) is what common templates use.
SEPARATOR_SZ = 12

PAGE_NUMBER_DASH = "\u2014"  # 一字线


def text_width(text: str, *, char: int = CHAR_ADVANCE, digit: int = DIGIT_ADVANCE) -> int:
    """Approximate advance in twips: CJK and full-width forms = one 字, ASCII = half."""
    return sum(digit if ord(ch) < 0x2E80 else char for ch in text)


def font_family(name: str | None) -> str | None:
    """Map a concrete font name to its role (仿宋/黑体/楷体/小标宋/宋体), or None if unknown."""
    if not name:
        return None
    for family, names in FONT_FAMILIES.items():
        if name in names:
            return family
    return None
