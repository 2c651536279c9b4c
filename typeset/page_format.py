"""GB/T 9704 rules on the shape of the rendered pages (part of :mod:`typeset.page_rules`), codes in brackets:

- the title's lines: none left with one or two characters [title_orphan] (§7.3.1: 标题回行时，要做到
  词意完整，排列对称，长短适宜);
- the type area's grid, 22 lines of 28 characters (§5.2.2) [line_pitch, chars_per_line]: on a page of
  body text the lines stand one grid line (225 mm / 22) apart. Closer is allowed only on the 署名's page
  and the two before it, where §7.3.5's remedy (采取调整行距、字距的措施) sets them closer, down to
  ``gbt9704.MIN_LINE_PITCH``; a full line of CJK text holds 28 characters and fills the type area.
- 信函格式's first page (§10.1) [letter_mark, letter_rules, letter_first_line, letter_last_line]: the
  发文机关标志's top edge 30 mm from the top of the page; a red double line 4 mm under it and one 20 mm
  above the bottom of the page, both 170 mm long and centred on the type area; the first line under
  the upper double line (份号 or 发文字号) 7/8 of a 3号 character's height (14 pt) below it, the last
  line of text above the lower one at least as far from it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from itertools import pairwise

from typeset import gbt9704 as g
from typeset.page_report import PageReport
from typeset.pdf_measure import MM, Line
from typeset.pdf_pages import LINE, Measured, PageText, Rect, area_x

ORPHAN_CHARS = 2  # a title line this short is a word torn off the line above
BODY_HEIGHT = (14.8, 18.0)  # pt: the box of a 3号 (16 pt) line; 4号 版记 lines and 2号 titles fall outside
PITCH_TOLERANCE = 0.5  # pt (0.18 mm): the grid's 579 twips is 28.95 pt, 225 mm / 22 is 28.99 pt
MIN_PITCH = g.MIN_LINE_PITCH / 20
PITCH_SAMPLES = 4  # line gaps a page needs before its pitch is judged
FULL_LINES = 3  # full lines of CJK text a page needs before its count is judged
EDGE_PT = 3.0  # a full line starts within this of the type area's left edge and ends within it of the right
PAGE_TOP = 297 * MM
LETTER_TOLERANCE_MM = 1.0
LETTER_LENGTH_TOLERANCE_MM = 2.0  # the double lines' ends: a thick rule is drawn a little long


def title(report: PageReport, m: Measured) -> None:
    lines = [line.text for line in m.title]
    short = next((t for t in lines if len(t) <= ORPHAN_CHARS), None) if len(lines) > 1 else None
    if short is not None:
        report.add(
            "title_orphan",
            f"标题回行后有一行只剩“{short}”：标题回行应词意完整、排列对称、长短适宜（梯形或菱形）",
            1,
        )


def grid(report: PageReport, m: Measured) -> None:
    anchor = m.signature or m.date
    remedy_from = anchor.page - 2 if anchor is not None else len(m.pages)
    for page in m.pages:
        lines = [
            line
            for line in page.content
            if line not in m.colophon and BODY_HEIGHT[0] <= line.y1 - line.y0 <= BODY_HEIGHT[1]
        ]
        _pitch(report, lines, page, closer=page.index >= remedy_from)
        _chars(report, lines, page)


def _pitch(report: PageReport, lines: list[Line], page: PageText, *, closer: bool) -> None:
    """The page's line pitch: the median gap between neighbouring body lines (a blank line between two
    is not a gap; a heading's box sits a little apart from the body's, the median takes no notice)."""
    gaps = [a.y0 - b.y0 for a, b in pairwise(lines) if 0.8 * LINE <= a.y0 - b.y0 <= 1.2 * LINE]
    if len(gaps) < PITCH_SAMPLES:
        return
    pitch = statistics.median(gaps)
    low = MIN_PITCH if closer else LINE
    if not low - PITCH_TOLERANCE <= pitch <= LINE + PITCH_TOLERANCE:
        n = page.index + 1
        report.add(
            "line_pitch",
            f"第 {n} 页行距 {pitch / MM:.2f}mm：版心每面排 22 行，行距应为 {LINE / MM:.2f}mm"
            + (f"（为使署名与正文同页而调整行距的，不小于 {MIN_PITCH / MM:.2f}mm）" if closer else ""),
            n,
        )


def _chars(report: PageReport, lines: list[Line], page: PageText) -> None:
    """Characters in the full lines of CJK text (a paragraph's inner lines: from edge to edge, no digits or
    Latin, which are narrower): the most common count is the page's, and it must be 28."""
    left, right = area_x(page.index)
    counts = Counter(
        len(line.text)
        for line in lines
        if line.x0 - left < EDGE_PT and right - line.x1 < EDGE_PT and all(ord(ch) >= 0x2E80 for ch in line.text)
    )
    if sum(counts.values()) < FULL_LINES:
        return
    count = counts.most_common(1)[0][0]
    if count != g.CHARS_PER_LINE:
        n = page.index + 1
        report.add("chars_per_line", f"第 {n} 页每行 {count} 字：版心每行应排 28 字", n)


def letter(report: PageReport, m: Measured) -> None:
    head = m.letter
    if head is None:
        return
    problems: dict[str, list[str]] = {
        "letter_mark": [],
        "letter_rules": [],
        "letter_first_line": [],
        "letter_last_line": [],
    }
    if head.mark is None:
        problems["letter_mark"].append("找不到发文机关标志")
    else:
        _near(problems["letter_mark"], "发文机关标志上边缘距页面上边缘", (PAGE_TOP - head.mark[3]) / MM, 30)
    if head.upper is None or head.lower is None:
        problems["letter_rules"].append("找不到上下两条红色双线")
    else:
        if head.mark is not None:
            _near(problems["letter_rules"], "第一条红色双线距发文机关标志", (head.mark[1] - head.upper[3]) / MM, 4)
        _near(problems["letter_rules"], "第二条红色双线距页面下边缘", head.lower[1] / MM, 20)
        for name, rule in (("第一条", head.upper), ("第二条", head.lower)):
            _rule_span(problems["letter_rules"], name, rule)
    if head.upper is not None and head.first is not None:
        gap = (head.upper[1] - head.first[3]) / MM
        _near(problems["letter_first_line"], "第一条红色双线下的第一行距该线", gap, 14 / MM)
    if head.lower is not None and head.last is not None:
        gap = (head.last[1] - head.lower[3]) / MM
        if gap < 14 / MM - LETTER_TOLERANCE_MM:  # §10.1: 7/8 of a 3号 character at least
            problems["letter_last_line"].append(
                f"第二条红色双线上的最后一行距该线 {gap:.1f}mm，应不少于 {14 / MM:.1f}mm"
            )
    for code, found in problems.items():
        if found:
            report.add(code, "信函格式：" + "；".join(found), 1)


def _near(out: list[str], what: str, measured_mm: float, want_mm: float) -> None:
    if abs(measured_mm - want_mm) > LETTER_TOLERANCE_MM:
        out.append(f"{what} {measured_mm:.1f}mm，应为 {want_mm:.1f}mm")


def _rule_span(out: list[str], name: str, rule: Rect) -> None:
    """170 mm long, centred on the type area of the first page."""
    left, right = area_x(0)
    length, off = (rule[2] - rule[0]) / MM, ((rule[0] + rule[2]) - (left + right)) / 2 / MM
    if abs(length - 170) > LETTER_LENGTH_TOLERANCE_MM or abs(off) > LETTER_TOLERANCE_MM:
        out.append(f"{name}红色双线长 {length:.1f}mm、偏离版心中线 {off:+.1f}mm，应长 170mm 居中")
