"""A text field's 格式 (banshi/textpattern.py): the usual patterns pass, those that make Python's
backtracking ``re`` run for seconds on 500 characters are refused, and what passes matches the
worst input quickly."""

from __future__ import annotations

import time

import pytest

from banshi.textpattern import PatternError, check_pattern

USUAL = [
    r"1[3-9]\d{9}",  # 手机号
    r"\d{17}[\dXx]",  # 身份证号
    r"[\u4e00-\u9fa5]{2,10}",  # 中文姓名
    r"\d{6}(19|20)\d{2}\d{7}[\dXx]",
    r"[A-Z]{2}-\d{4,6}",
    r"\w{1,64}@\w{1,64}\.\w{2,8}",
    r"\d+(\.\d{1,2})?",
    r"(?:京|沪|粤)[A-Z][A-Z0-9]{5}",
    r"^\d{4}$",
    r"[\]\-\\a]+",
    r"a\{b\}",
    r"(ab)+c",
    r".*",
]


@pytest.mark.parametrize("pattern", USUAL)
def test_usual_patterns_pass(pattern: str) -> None:
    assert check_pattern(pattern).pattern == pattern


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a+)+$", "重复"),  # the classic exponential backtracking
        (r"(a*)*b", "重复"),
        (r"(a|aa)*b", "重复"),  # overlapping alternatives repeated
        (r"(\d{1,3}){1,100}", "重复"),
        (r"\d*\d*\d*x", "复杂"),  # polynomial: three unbounded repeats over the same characters
        (r"\w+@\w+\.\w+", "复杂"),
        (r".*.*.*x", "复杂"),
        (r"a+?", "连用"),
        (r"a**", "连用"),
        (r"*a", "量词"),
        (r"(?=a)b", "分组"),
        (r"(?i)a", "分组"),
        (r"(?P<n>a)(?P=n)", "分组"),
        (r"(a)\1", "转义"),
        (r"\x41", "转义"),
        (r"\bword\b", "转义"),
        (r"a{", "{m}"),
        (r"a{1,2,3}", "{m}"),
        (r"a{3,2}", "m ≤ n"),
        (r"a{501}", "m ≤ n"),
        (r"[abc", "不配对"),
        (r"[]", "不能为空"),
        (r"[[a]]", "[ ]"),
        (r"(ab", "不配对"),
        (r"ab)", "不配对"),
        (r"a]", "不配对"),
        (r"[z-a]", "有效"),  # within the subset's shape, refused by re itself
        ("a" * 201, "200"),
    ],
)
def test_risky_or_unsupported_patterns_are_refused(pattern: str, words: str) -> None:
    with pytest.raises(PatternError) as e:
        check_pattern(pattern)
    assert words in str(e.value), str(e.value)


def test_accepted_patterns_match_the_worst_input_quickly() -> None:
    """The largest accepted cost (two unbounded repeats over the same characters) against 500
    characters that almost match: milliseconds, where three repeats took seconds."""
    for pattern, text in ((r"\d*\d*x", "1" * 500), (r"[ab]{0,500}[ab]{0,500}x", "a" * 500), (r".*.*x", "a" * 500)):
        compiled = check_pattern(pattern)
        start = time.perf_counter()
        assert compiled.fullmatch(text) is None
        assert time.perf_counter() - start < 0.1
