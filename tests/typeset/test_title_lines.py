"""Titles break between words into even lines (GB/T 9704 §7.3.1), never leaving 通…/知."""

from __future__ import annotations

import dataclasses

import pytest

from tests.typeset.conftest import load
from typeset import gbt9704 as g
from typeset.render import render_docx, text_width
from typeset.samples import demo_notice, demo_request
from typeset.title_lines import title_lines


def fits(line: str) -> bool:
    return text_width(line, char=g.SIZE_2 * 10, digit=g.SIZE_2 * 5) <= g.TYPE_AREA_WIDTH


TITLES = {
    # 21 characters: a naive wrap leaves 知 alone on the second line.
    "省财政厅关于做好二〇二七年部门预算编制工作的通知": ["省财政厅关于做好二〇二七年", "部门预算编制工作的通知"],
    "国务院关于同意设立中国（广东）自由贸易试验区的批复": ["国务院关于同意设立中国", "（广东）自由贸易试验区的批复"],
    "广州市人民政府关于申请设立政务服务创新试点的请示": ["广州市人民政府关于申请设立", "政务服务创新试点的请示"],
}


@pytest.mark.parametrize("title", list(TITLES))
def test_long_titles_break_between_words_into_even_lines(title: str) -> None:
    lines = title_lines(title, fits)
    assert "".join(lines) == title and all(fits(line) for line in lines)
    assert lines == TITLES[title]
    assert max(map(len, lines)) - min(map(len, lines)) <= 4


def test_no_line_starts_with_closing_punctuation_or_ends_with_an_opening_one() -> None:
    title = "广东省人民政府办公厅关于转发省发展改革委《关于加快推进全省数字经济高质量发展的若干措施》的通知"
    lines = title_lines(title, fits)
    assert len(lines) == 3 and "".join(lines) == title
    assert all(line[0] not in "》）、，" and line[-1] not in "《（" for line in lines)
    assert max(map(len, lines)) - min(map(len, lines)) <= 6


def test_short_titles_stay_on_one_line_and_typed_breaks_are_kept() -> None:
    assert title_lines("关于做好年终工作的通知", fits) == ["关于做好年终工作的通知"]
    assert title_lines("甲乙丙关于\n丁戊的通知", fits) == ["甲乙丙关于", "丁戊的通知"]


def test_the_rendered_title_carries_the_balanced_breaks() -> None:
    doc = dataclasses.replace(demo_notice(), title="省财政厅关于做好二〇二七年部门预算编制工作的通知")
    word = load(render_docx(doc))
    assert "省财政厅关于做好二〇二七年\n部门预算编制工作的通知" in [p.text for p in word.paragraphs]
    word = load(render_docx(demo_request()))
    assert "广州市人民政府关于申请设立\n政务服务创新试点的请示" in [p.text for p in word.paragraphs]
