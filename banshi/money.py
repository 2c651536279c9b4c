"""Money in 分 (an ``int``, never a float): the 人民币大写 amount printed on forms and slips, and the
grouped figure (``12,345.67``) shown beside it.

The 大写 follows the rules for writing amounts on bills and vouchers (《支付结算办法》附件一
《正确填写票据和结算凭证的基本规定》): 壹拾 not 拾; one 零 for a run of zeros inside the figure, none
where a 万/亿 section or the 元 ends in zeros; 零 before 分 when there is no 角; 整 when there is no
角 and no 分; 负 in front of a negative amount. Where the rules allow either writing (a 零 after a 万
or 元 digit that is 0 when the next digit is not), the shorter one is used, as in 壹万零肆拾元伍角.
"""

from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")  # within a section of four digits
SECTIONS = ("", "万", "亿", "万亿")  # each four digits up
# Four sections of 元: up to 9999万亿 元. Money fields stay far below (their limits are in 分).
MAX_ABS_FEN = 10**18 - 1


def _section(n: int) -> str:
    """1–9999 in 大写 without a leading 零 (the caller adds the one between sections)."""
    out: list[str] = []
    zero = False
    for place in (3, 2, 1, 0):
        digit = n // 10**place % 10
        if digit == 0:
            zero = bool(out)  # a zero after a written digit; written only if a digit follows
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[digit] + PLACES[place])
    return "".join(out)


def _yuan(yuan: int) -> str:
    """The 元 part, 1 and up (without 元)."""
    sections: list[int] = []
    while yuan:
        sections.append(yuan % 10000)
        yuan //= 10000
    out: list[str] = []
    gap = False  # a whole section of zeros since the last written one
    for index in range(len(sections) - 1, -1, -1):
        n = sections[index]
        if n == 0:
            gap = gap or bool(out)
            continue
        if out and (gap or n < 1000):
            out.append("零")
        out.append(_section(n) + SECTIONS[index])
        gap = False
    return "".join(out)


def fen_to_chinese(fen: int) -> str:
    """人民币大写 of an amount in 分: 100000 → 壹仟元整, 1004050 → 壹万零肆拾元伍角, 0 → 零元整,
    -5 → 负伍分. Raises ``ValueError`` past 9999万亿元 (no money field allows that)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("金额必须是以分为单位的整数")
    if abs(fen) > MAX_ABS_FEN:
        raise ValueError("金额超出可以大写的范围")
    if fen == 0:
        return "零元整"
    sign = "负" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    jiao, fen_digit = divmod(rest, 10)
    out = _yuan(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    elif fen_digit and yuan:
        out += "零"  # 壹佰元零伍分: the empty 角 is written as 零 before the 分
    if fen_digit:
        out += DIGITS[fen_digit] + "分"
    elif not jiao:
        out += "整"
    return sign + out


def format_fen(fen: int) -> str:
    """The figure in 元 with thousands separators and two decimals: 1234567 → ``12,345.67``."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("金额必须是以分为单位的整数")
    yuan, rest = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{yuan:,}.{rest:02d}"


def format_money(fen: int) -> str:
    """The figure as shown in lists: ``¥12,345.67`` (``-¥5.00`` below zero)."""
    text = format_fen(fen)
    return "-¥" + text[1:] if text.startswith("-") else "¥" + text
