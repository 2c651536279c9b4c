"""GB/T 9704-2012 page rules, measured on the rendered pages (the PDF) rather than estimated.

The Word file says what goes on the pages; only the rendered pages show where it landed. The
pages are read by :mod:`typeset.pdf_pages`; these rules (codes in brackets) are then judged:

- the page's shape (:mod:`typeset.page_format`): no title line left with one or two characters
  [title_orphan], 22 lines of 28 characters [line_pitch, chars_per_line], a 信函's head
  [letter_mark, letter_rules, letter_first_line, letter_last_line];
- no blank pages [blank_page]. The one exception is §7.5: a blank page directly before the last
  page when that page holds only the 版记 and is even; neither carries a page number;
- page numbers "— N —" on every page [page_number_missing, page_number_wrong], odd pages right and
  even pages left with a one-字 indent, the 一字线 7 mm below the type area [page_number_position];
  none on a 信函's first page or on the §7.5 pages [page_number_unexpected];
- the 版记 on the last page [colophon_not_last], which is even (文件、纪要、命令格式) [colophon_odd_page],
  its last rule on the bottom edge of the type area (信函: its last line on the area's last line)
  [colophon_not_bottom], its rules as wide as the type area [colophon_rule_length]; a 信函's 抄送
  not alone on a page [colophon_alone];
- 署名 and 成文日期 on one page [signature_date_split] with body text or the 附件说明 above them, so
  no seal stands on a page without text [signature_without_text]; the 附件说明 on one page with its
  first item [attachments_split]; the 成文日期 the layout printed is there [date_not_found];
- the 附注 on the line below the 成文日期 [note_position], not under the seal [note_under_seal];
- the seal centred on the 署名/日期 [seal_off_centre, signature_off_centre], pressing them so they sit
  below its centre [seal_not_pressing], its top within one line of the text above [seal_top_gap],
  covering no other text [seal_covers_text];
- a 令's 签名章 on the 签发人's name 右空四字, level with the job title about two 字 to its left, the
  成文日期 under it 右空四字 [name_seal_position];
- nothing printed below the type area but the page number [text_below_area];
- each bound attachment (GB/T 9704 §8) on a new page after the 主体 [annex_not_new_page, annex_missing]:
  "附件N" flush left on the first line [annex_label_position], its title centred on line 3
  [annex_title_position]; the seal on the 主体's page, none on an attachment's [annex_sealed]. Their
  pages go on with the page numbers and hold no blank page (the rules above).

``office check FILE.pdf`` runs them on any PDF; :mod:`typeset.paginate` runs them on each layout pass.
"""

from __future__ import annotations

from typeset import joint, page_format
from typeset.page_report import PageReport, Violation
from typeset.pdf_measure import LINE_MM, MM, Line, SealPlacement, name_box
from typeset.pdf_pages import AREA_BOTTOM, AREA_TOP, CHAR, EDGE, LINE, Expect, Measured, PageText, area_x, measure

__all__ = ["PageReport", "Violation", "check_pdf", "only_colophon"]  # the report classes: typeset.page_report

TOLERANCE_MM = 2.0  # page number position (the standard allows 4 mm between two pages' numbers)
COLOPHON_TOLERANCE_MM = 1.5
CENTRE_TOLERANCE_MM = 2.5
RULE_TOLERANCE_MM = 1.0  # 版记 rules: 156 mm, the width of the type area
NUMBER_Y = (35 - 7) * MM  # the page number's 一字线: 7 mm below the type area
NUMBER_INDENT = 14.0  # one 字 of 4号
GLYPH_DROP = 3.4  # pt between a line's glyph box bottom and its grid line's bottom (typeset.paginate)


def check_pdf(pdf: bytes, expect: Expect | None = None) -> PageReport:
    """Judge the pages of a rendered (or sealed) official PDF. ``expect``: what the layout printed
    (:func:`typeset.pdf_pages.expect_for`); without it the elements are recognised on the pages.

    Raises UnsupportedMedia ``not_pdf`` when the bytes are not a readable PDF.
    """
    measured, expect = measure(pdf, expect)
    report = PageReport(fmt=expect.fmt or "standard", pages=len(measured.pages), measured=measured)
    back = _back_pages(measured, expect)
    _blank_pages(report, measured, back)
    _page_numbers(report, measured, expect, back)
    _below_area(report, measured)
    page_format.title(report, measured)
    page_format.grid(report, measured)
    page_format.letter(report, measured)
    _colophon(report, measured, expect)
    _signature(report, measured, expect)
    _seal(report, measured, expect)
    joint.check(report, pdf, measured, expect)  # 联合行文: one seal per issuer (typeset.joint)
    _annexes(report, measured, expect)
    return report


def only_colophon(m: Measured, page: PageText) -> bool:
    return bool(page.content) and all(line in m.colophon for line in page.content)


def _back_pages(m: Measured, expect: Expect) -> set[int]:
    """§7.5: 版记页前有空白页的，空白页和版记页均不编排页码 — the indexes of those two pages, if so laid out."""
    pages = m.pages
    if expect.fmt == "letter" or len(pages) < 3 or len(pages) % 2:
        return set()
    if pages[-2].blank and only_colophon(m, pages[-1]):
        return {len(pages) - 2, len(pages) - 1}
    return set()


def _blank_pages(report: PageReport, m: Measured, back: set[int]) -> None:
    for page in m.pages:
        if page.blank and page.index not in back:
            report.add("blank_page", f"第 {page.index + 1} 页是空白页（除页码外没有内容）", page.index + 1)


def _page_numbers(report: PageReport, m: Measured, expect: Expect, back: set[int]) -> None:
    for page in m.pages:
        n = page.index + 1
        if page.index in back or (expect.fmt == "letter" and page.index == 0):
            if page.number is not None:
                why = "信函格式首页不显示页码" if page.index == 0 else "版记页前有空白页的，空白页和版记页均不编排页码"
                report.add("page_number_unexpected", f"第 {n} 页不应有页码：{why}", n)
            continue
        if page.number is None:
            report.add("page_number_missing", f"第 {n} 页没有页码（应为“— {n} —”）", n)
        elif page.number.text != f"—{n}—":
            report.add("page_number_wrong", f"第 {n} 页的页码是“{page.number.text}”，应为“— {n} —”", n)
        elif not _number_in_place(page.number):
            side = "单页码居右空一字" if n % 2 else "双页码居左空一字"
            report.add("page_number_position", f"第 {n} 页页码位置不对：{side}，一字线距版心下边缘 7mm", n)


def _number_in_place(line: Line) -> bool:
    left, right = area_x(line.page)
    tol = TOLERANCE_MM * MM
    x_ok = (
        abs(line.x1 - (right - NUMBER_INDENT)) <= tol
        if line.page % 2 == 0
        else abs(line.x0 - (left + NUMBER_INDENT)) <= tol
    )
    return x_ok and abs((line.y0 + line.y1) / 2 - NUMBER_Y) <= tol


def _below_area(report: PageReport, m: Measured) -> None:
    for page in m.pages:
        low = [line for line in page.outside if line.y1 < AREA_BOTTOM] + [
            line for line in page.content if line.y0 < AREA_BOTTOM - 3
        ]
        if low:
            report.add(
                "text_below_area", f"第 {page.index + 1} 页有文字超出版心下边缘：{low[0].text[:20]}", page.index + 1
            )


def _colophon(report: PageReport, m: Measured, expect: Expect) -> None:
    if not m.colophon:
        if expect.colophon:
            report.add("colophon_not_last", "找不到版记（抄送、印发机关和印发日期）")
        return
    last = len(m.pages)
    if any(line.page != last - 1 for line in m.colophon):
        report.add(
            "colophon_not_last",
            f"版记应在公文最后一页（第 {last} 页），现从第 {m.colophon[0].page + 1} 页开始",
            m.colophon[0].page + 1,
        )
        return
    if expect.fmt != "letter" and last % 2:
        report.add("colophon_odd_page", f"版记在第 {last} 页（单页）：公文最后一页应为双页，版记在其底部", last)
    if expect.fmt == "letter":
        bottom = m.colophon[-1].y0 - AREA_BOTTOM
        if not -3 <= bottom <= LINE / 2:
            report.add(
                "colophon_not_bottom", f"信函格式的版记应在最后一页版心最下一行（现高出 {bottom / MM:.1f}mm）", last
            )
        if only_colophon(m, m.pages[-1]):
            report.add("colophon_alone", f"信函格式的版记（抄送）单独占了第 {last} 页", last)
        return
    rule = m.bottom_rule
    if rule is None:
        report.add("colophon_not_bottom", "找不到版记分隔线", last)
        return
    off = ((rule[1] + rule[3]) / 2 - AREA_BOTTOM) / MM
    if abs(off) > COLOPHON_TOLERANCE_MM:
        report.add(
            "colophon_not_bottom",
            f"版记末条分隔线应与版心下边缘重合（现{'高出' if off > 0 else '低于'} {abs(off):.1f}mm）",
            last,
        )
    left = area_x(last - 1)[0]
    short = [r for r in m.rules if abs((r[2] - r[0]) / MM - 156) > RULE_TOLERANCE_MM or abs(r[0] - left) > MM]
    if short:
        report.add(
            "colophon_rule_length",
            f"版记分隔线应与版心等宽（156mm），现长 {(short[0][2] - short[0][0]) / MM:.1f}mm",
            last,
        )


def _signature(report: PageReport, m: Measured, expect: Expect) -> None:
    if m.date is None:
        if expect.date:
            report.add("date_not_found", f"找不到成文日期“{expect.date}”")
        return
    date, top = m.date, m.signature or m.date
    page = top.page + 1
    if m.signature is not None and m.signature.page != date.page:
        report.add("signature_date_split", f"发文机关署名在第 {page} 页，成文日期在第 {date.page + 1} 页", page)
    tail = set(m.attachments[1:])  # the 附件说明's later items alone do not count: it was split from its first
    if not [
        line for line in m.pages[top.page].content if line.y0 >= top.y1 - EDGE and line != top and line not in tail
    ]:
        report.add(
            "signature_without_text",
            f"署名和成文日期在第 {page} 页，该页没有正文或附件说明（不得出现只有印章、署名的一页）",
            page,
        )
    if m.attachments and len({line.page for line in m.attachments}) > 1:
        first, last = m.attachments[0].page + 1, m.attachments[-1].page + 1
        report.add("attachments_split", f"附件说明从第 {first} 页跨到第 {last} 页，应与其第一项排在同一页", last)
    note = m.note
    if expect.note and note is None:
        report.add("note_position", "附注应在成文日期下一行", date.page + 1)
    elif note is not None and (note.page != date.page or not 0.5 * LINE < date.y0 - note.y0 < 1.5 * LINE):
        report.add("note_position", "附注应在成文日期下一行", note.page + 1)


def _seal(report: PageReport, m: Measured, expect: Expect) -> None:
    seal = m.seal
    if seal is None:
        return
    if expect.fmt == "order":
        _name_seal(report, m, seal)
        return
    page = seal.page + 1
    what = "印章" if m.sealed else "印章（按用印位置）"
    covered = [t for t in seal.covers if t != (m.note.text if m.note else None)]
    if m.note is not None and m.note.text in seal.covers:
        report.add("note_under_seal", f"{what}压住了附注“{m.note.text[:20]}”", page)
    if covered:
        report.add(
            "seal_covers_text", f"{what}压住了署名和成文日期以外的文字：{'、'.join(t[:12] for t in covered)}", page
        )
    if abs(seal.centre_offset_mm) > CENTRE_TOLERANCE_MM:
        report.add("seal_off_centre", f"{what}中心偏离署名和成文日期的中心 {seal.centre_offset_mm:+.1f}mm", page)
    sig = seal.signature
    if sig is not None and abs(sig.centre_x - seal.date.centre_x) / MM > CENTRE_TOLERANCE_MM:
        report.add("signature_off_centre", "加盖印章时发文机关署名应以成文日期为准居中编排", page)
    _, y0, _, y1 = seal.rect
    if seal.below_centre_mm < 0 or seal.date.y0 < y0 - EDGE or (sig is not None and sig.y1 > y1):
        report.add("seal_not_pressing", f"{what}应端正、居中下压署名和成文日期，使其居印章中心偏下位置", page)
    if seal.top_gap_mm is not None and seal.top_gap_mm > LINE_MM + 0.5:
        report.add(
            "seal_top_gap", f"{what}顶端距上方正文 {seal.top_gap_mm:.1f}mm，应在一行（{LINE_MM:.1f}mm）之内", page
        )


def _name_seal(report: PageReport, m: Measured, seal: SealPlacement) -> None:
    """GB/T 9704 §10.2: the 签发人's 签名章 on his name 右空四字, level with his job title, which stands about
    two 字 to its left; the 成文日期 under it, 右空四字, clear of it."""
    sig, date = seal.signature, seal.date
    if sig is None:
        return
    x0, y0, x1, y1 = seal.rect
    name_x0, name_x1, title_x1 = name_box(sig)
    right, tol = area_x(seal.page)[1], CENTRE_TOLERANCE_MM * MM
    found = []
    if abs((x0 + x1 - name_x0 - name_x1) / 2) > tol or abs((y0 + y1 - sig.y0 - sig.y1) / 2) > tol:
        found.append("应盖在签发人姓名上，与其职务平齐居中")
    if abs(right - 4 * CHAR - name_x1) > tol:
        found.append("签发人姓名（签名章位置）应右空四字")
    if title_x1 is not None and not CHAR - EDGE <= x0 - title_x1 <= 3 * CHAR:
        found.append(f"职务应在签名章左侧空约二字（现 {(x0 - title_x1) / CHAR:.1f} 字）")
    if date.y1 > y0 + EDGE or abs(right - 4 * CHAR - date.x1) > tol:
        found.append("成文日期应在签名章下方、右空四字")
    if seal.covers:
        found.append(f"压住了其他文字：{'、'.join(t[:12] for t in seal.covers)}")
    if found:
        what = "签名章" if m.sealed else "签名章（按用印位置）"
        report.add("name_seal_position", f"命令格式的{what}" + "；".join(found), seal.page + 1)


def _line_no(line: Line) -> int:
    """The grid line (1-based) a line of text stands on, from the top of the type area."""
    return round((AREA_TOP - line.y0 + GLYPH_DROP) / LINE)


def _annexes(report: PageReport, m: Measured, expect: Expect) -> None:
    """Bound attachments: each starts a page ("附件N" flush left on line 1, its title centred on line 3),
    in the 附件说明's order, after the 主体 and before the 版记; the seal stays on the 主体's page."""
    found = {a.label.text: a for a in m.annexes}
    for label, title in expect.annexes:
        if label in found:
            continue
        stray = next((line for page in m.pages for line in page.content if line.text == label), None)
        if stray is not None:
            report.add("annex_not_new_page", f"{label}应另起一页，其页首第一行居左标“{label}”", stray.page + 1)
        else:
            report.add("annex_missing", f"找不到随文装订的{label}“{title[:20]}”")
    wanted = dict(expect.annexes)
    for annex in m.annexes:
        mark, page = annex.label, annex.label.page
        n = page + 1
        if abs(mark.x0 - area_x(page)[0]) > 2 * EDGE or _line_no(mark) != 1:
            report.add("annex_label_position", f"第 {n} 页的“{mark.text}”应在版心第一行顶格居左", n)
        title = "".join(line.text for line in annex.title)
        centre = sum(area_x(page)) / 2
        if (
            not annex.title
            or _line_no(annex.title[0]) != 3
            or any(abs((line.x0 + line.x1) / 2 - centre) > CENTRE_TOLERANCE_MM * MM for line in annex.title)
            or (mark.text in wanted and title != wanted[mark.text])
        ):
            report.add("annex_title_position", f"第 {n} 页{mark.text}的标题应在第三行居中（2号小标宋）", n)
    for page in m.annex_seals:
        report.add("annex_sealed", f"第 {page + 1} 页是附件页，印章应盖在正文署名处", page + 1)
    if m.annexes and m.colophon and m.colophon[0].page < m.annexes[-1].label.page:
        report.add("colophon_not_last", "版记应在附件之后、公文最后一页", m.colophon[0].page + 1)
