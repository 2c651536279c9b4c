"""Balanced line breaks for a 公文 title (GB/T 9704 §7.3.1: 标题回行时，要做到词意完整，排列对称，
长短适宜，间距恰当，标题排列应当使用梯形或菱形).

A title longer than a line is cut only between words (rjieba, the jieba-rs segmenter), never before
closing or after opening punctuation, and the cut that makes the lines most even wins, so no line
is left with one or two characters ("通…/知"). Breaks the author typed are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import combinations, pairwise

import rjieba

NO_LINE_START = set("，。、；：？！）》」』”’〕】")
NO_LINE_END = set("（《「『“‘〔【")
# Cuts a reader expects in a title: after 关于 (the issuer and 关于 above the subject) and before
# the last 的 (the subject above 的+文种), and after a comma or a closing bracket.
PREFERRED_AFTER = {"关于", "、", "，", "）", "》", "”"}
# A number keeps its unit: 2026 | 年度 or 二〇二七 | 年 would read as two words.
NUMERALS = set("0123456789〇零一二三四五六七八九十百千万")
UNITS = set("年月日号期届次度个项批季")
MAX_CANDIDATES = 60


def title_lines(title: str, fits: Callable[[str], bool]) -> list[str]:
    """The title's lines: as typed where it holds line breaks, else one line if it fits, else the
    most even cut between words into as few lines as fit."""
    if "\n" in title:
        return title.split("\n")
    if fits(title):
        return [title]
    cuts = _candidates(title)
    for count in range(2, 6):
        best = _best(title, cuts, count, fits)
        if best is not None:
            return best
    return [title]  # one unbreakable run longer than five lines: let the word processor wrap it


@lru_cache(maxsize=1024)
def _words(title: str) -> tuple[str, ...]:
    return tuple(rjieba.cut(title))


def _candidates(title: str) -> dict[int, float]:
    """Cut positions between words, each with a bonus for a natural cut (lower cost)."""
    words = _words(title)
    last_de = max((i for i, w in enumerate(words) if w == "的"), default=-1)
    cuts: dict[int, float] = {}
    pos = 0
    for i, word in enumerate(words[:-1]):
        pos += len(word)
        nxt = words[i + 1]
        if nxt[0] in NO_LINE_START or word[-1] in NO_LINE_END:
            continue
        if word[-1] in NUMERALS and nxt[0] in UNITS:
            continue
        bonus = 0.0
        if word in PREFERRED_AFTER or word[-1] in PREFERRED_AFTER or i + 1 == last_de:
            bonus = 1.5
        cuts[pos] = bonus
    if len(cuts) > MAX_CANDIDATES:  # keep the search bounded for absurdly long titles
        middle = sorted(cuts, key=lambda p: abs(p - len(title) / 2))[:MAX_CANDIDATES]
        cuts = {p: cuts[p] for p in middle}
    return cuts


def _best(title: str, cuts: dict[int, float], count: int, fits: Callable[[str], bool]) -> list[str] | None:
    best: tuple[float, list[str]] | None = None
    mean = len(title) / count
    for chosen in combinations(sorted(cuts), count - 1):
        bounds = (0, *chosen, len(title))
        lines = [title[a:b] for a, b in pairwise(bounds)]
        if not all(fits(line) for line in lines):
            continue
        cost = sum((len(line) - mean) ** 2 for line in lines) - sum(cuts[c] for c in chosen)
        # Of two equally even cuts prefer the longer line on top (倒梯形), the usual title shape.
        cost += sum(0.25 for a, b in pairwise(lines) if len(b) > len(a))
        if best is None or cost < best[0]:
            best = (cost, lines)
    return best[1] if best else None
