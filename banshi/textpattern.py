"""The 格式 (pattern) a designer may give a text field, checked so that matching it cannot hang a
worker: Python's ``re`` backtracks, and ``(a+)+$`` or ``\\d*\\d*\\d*\\d*x`` against 500 characters
would run for minutes inside a request.

Only a plain subset is accepted: literals, ``.``, ``^``/``$``, the classes ``\\d \\w \\s`` (and their
capitals), ``[...]`` sets, groups ``(...)``/``(?:...)`` with ``|``, and the quantifiers
``? * + {m} {m,} {m,n}`` (m, n ≤ 500). A repeated group may not itself hold a repetition or ``|``
(nested repetition is what backtracks exponentially), and the product of the quantifiers' spans
is bounded (what makes ``\\d*\\d*\\d*`` polynomial-slow). Lazy quantifiers, back-references,
look-arounds and flags are refused. What passes is compiled with ``re`` and matched with
``fullmatch`` against at most 500 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PATTERN = 200
MAX_REPEAT = 500  # text fields hold at most 500 characters: an unbounded repeat spans that many
MAX_COST = 300_000  # two unbounded repeats (500 × 501), not three: O(n²) on 500 characters is a few ms
CLASS_ESCAPES = set("dDwWsS")
SPECIAL = set("()|[]{}?*+.^$\\")


class PatternError(ValueError):
    pass


@dataclass
class _Parsed:
    cost: int  # roughly how many ways the piece can match a stretch of text
    risky: bool  # holds a repetition or an alternation (may not be repeated again)


UNICODE_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")


def _escape_length(text: str, i: int) -> int:
    """Length of the escape at ``text[i]`` (a backslash) if it is one we accept."""
    nxt = text[i + 1 : i + 2]
    if nxt in CLASS_ESCAPES or (nxt and nxt.isascii() and not nxt.isalnum()):
        return 2
    if UNICODE_ESCAPE.match(text, i):
        return 6  # \u4e00: the usual way to name the range of Chinese characters
    raise PatternError("格式只支持 \\d \\w \\s（及其大写）、\\uXXXX 和转义的符号")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def alternation(self) -> _Parsed:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        if len(branches) == 1:
            return branches[0]
        return _Parsed(cost=sum(b.cost for b in branches), risky=True)

    def sequence(self) -> _Parsed:
        cost, risky = 1, False
        while self.peek() not in ("", "|", ")"):
            piece = self.quantified()
            cost = min(cost * piece.cost, MAX_COST + 1)
            risky = risky or piece.risky
        return _Parsed(cost, risky)

    def quantified(self) -> _Parsed:
        atom = self.atom()
        bounds = self.quantifier()
        if bounds is None:
            return atom
        low, high = bounds
        if high > 1 and atom.risky:
            raise PatternError("格式中不能重复一个本身含重复或“|”的分组（例如 (a+)+），请改写")
        if self.peek() in ("?", "*", "+", "{"):
            raise PatternError("格式中的量词不能连用（不支持 +? 这类写法）")
        return _Parsed(cost=atom.cost * (high - low + 1), risky=atom.risky or high > 1)

    def quantifier(self) -> tuple[int, int] | None:
        c = self.peek()
        if c in ("?", "*", "+"):
            self.i += 1
            return {"?": (0, 1), "*": (0, MAX_REPEAT), "+": (1, MAX_REPEAT)}[c]
        if c != "{":
            return None
        m = re.compile(r"\{([0-9]{1,3})(?:(,)([0-9]{1,3})?)?\}").match(self.text, self.i)
        if not m:
            raise PatternError("格式中的 { } 应写成 {m}、{m,} 或 {m,n}；要匹配花括号本身请写 \\{")
        self.i = m.end()
        low = int(m.group(1))
        high = low if not m.group(2) else int(m.group(3)) if m.group(3) else MAX_REPEAT
        if low > high or high > MAX_REPEAT:
            raise PatternError(f"格式中的重复次数应满足 m ≤ n ≤ {MAX_REPEAT}")
        return low, max(high, 1)

    def atom(self) -> _Parsed:
        c = self.peek()
        if c == "(":
            self.i += 1
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise PatternError("格式只支持普通分组 ( ) 和 (?: )")
            inner = self.alternation()
            if self.peek() != ")":
                raise PatternError("格式中的括号不配对")
            self.i += 1
            return inner
        if c == "[":
            return self.char_set()
        if c == "\\":
            return self.escape()
        if c in (")", "]", "}"):
            raise PatternError(f"格式中的 {c} 不配对；要匹配它本身请写 \\{c}")
        if c in ("?", "*", "+", "{"):
            raise PatternError("格式中的量词前面没有可重复的内容")
        self.i += 1
        return _Parsed(1, False)

    def escape(self) -> _Parsed:
        self.i += _escape_length(self.text, self.i)
        return _Parsed(1, False)

    def char_set(self) -> _Parsed:
        end = self.i + 1
        if self.text.startswith("^", end):
            end += 1
        start = end
        while end < len(self.text) and self.text[end] != "]":
            if self.text[end] == "\\":
                end += _escape_length(self.text, end)
                continue
            if self.text[end] == "[":
                raise PatternError("格式的 [ ] 中要匹配 [ 请写 \\[")
            end += 1
        if end >= len(self.text):
            raise PatternError("格式中的 [ ] 不配对")
        if end == start:
            raise PatternError("格式中的 [ ] 不能为空")
        self.i = end + 1
        return _Parsed(1, False)


def check_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled pattern if it is within the safe subset; ``PatternError`` (a message for the
    designer) otherwise."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"格式不能超过 {MAX_PATTERN} 个字符")
    parser = _Parser(pattern)
    parsed = parser.alternation()
    if parser.i != len(pattern):
        raise PatternError("格式中的括号不配对")
    if parsed.cost > MAX_COST:
        raise PatternError("格式过于复杂（不限次数的重复太多），请用 {m,n} 限定次数")
    try:
        return re.compile(pattern)
    except re.error:
        raise PatternError("格式不是有效的正则表达式") from None
