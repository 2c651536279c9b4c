"""Title widths measured on the rendered page, for breaking the title again (:mod:`typeset.paginate`).

:func:`typeset.render.title_breaks` estimates a title line's width by counting a CJK character as one
字 and a digit or Latin letter as half of one. The fonts LibreOffice draws with may be wider (the Noto
stand-ins draw a 2号 digit 13 pt wide, not 11) and it puts a space between CJK and Latin runs, so a
title the estimate put on one line can wrap with a character or two left over. The printed title
gives the real advance of each character and the real space between two kinds of character; a line
made of the same characters is as wide as those add up to.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from typeset.pdf_measure import MM, Line

AREA_WIDTH = 156 * MM  # points
MARGIN = 0.5  # pt kept free: LibreOffice wraps a line that fills the width to the last hundredth
AUTOSPACE_EM = 0.2  # the space LibreOffice puts between CJK and Latin, where none was printed to measure


def _cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def measured_width(lines: Sequence[Line]) -> Callable[[str], float]:
    """The width in points of a string of the title's characters, from the printed title ``lines``."""
    advances: dict[str, list[float]] = {}
    gaps: dict[tuple[bool, bool], list[float]] = {}
    size = statistics.median(line.y1 - line.y0 for line in lines)
    for line in lines:
        spans = line.spans if len(line.spans) == len(line.text) else ()
        for i, (ch, (x0, x1)) in enumerate(zip(line.text, spans, strict=False)):
            advances.setdefault(ch, []).append(x1 - x0)
            if i:
                kinds = (_cjk(line.text[i - 1]), _cjk(ch))
                gaps.setdefault(kinds, []).append(max(x0 - spans[i - 1][1], 0.0))
    by_char = {ch: statistics.median(widths) for ch, widths in advances.items()}
    cjk = [w for ch, w in by_char.items() if _cjk(ch)] or [size]
    latin = [w for ch, w in by_char.items() if not _cjk(ch)] or [size / 2]
    default = {True: statistics.median(cjk), False: max(latin)}
    gap = {kinds: statistics.median(found) for kinds, found in gaps.items()}

    def width(text: str) -> float:
        total = sum(by_char.get(ch, default[_cjk(ch)]) for ch in text)
        for a, b in zip(text, text[1:], strict=False):
            kinds = (_cjk(a), _cjk(b))
            total += gap.get(kinds, AUTOSPACE_EM * size if kinds[0] != kinds[1] else 0.0)
        return total

    return width


def measured_fits(lines: Sequence[Line]) -> Callable[[str], bool]:
    """``fits(text)`` for :func:`typeset.title_lines.title_lines`, judged by the widths measured on ``lines``."""
    width = measured_width(lines)
    return lambda text: width("".join(text.split())) <= AREA_WIDTH - MARGIN
