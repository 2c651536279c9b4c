"""office.jsonin: the text pre-check that spares most bodies the walk answers exactly as the walk."""

from __future__ import annotations

import json

import pytest

from office.errors import ValidationError
from office.jsonin import MAX_JSON_DEPTH, MAX_JSON_INT, _depth, _surely_within_limits, parse_json


def _nested(levels: int, leaf: str = "1") -> bytes:
    return ("[" * levels + leaf + "]" * levels).encode()


def _answer(raw: bytes) -> str:
    try:
        parse_json(raw)
    except ValidationError as exc:
        return exc.code
    return "ok"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_nested(MAX_JSON_DEPTH - 1), "ok"),  # a value inside 31 lists: depth 32
        (_nested(MAX_JSON_DEPTH), "too_deep"),  # inside 32: depth 33, though only 32 brackets
        (_nested(MAX_JSON_DEPTH, ""), "ok"),  # 32 empty lists: depth 32
        (b'{"a": [' + b"1," * 20 + b"1]}", "ok"),
        (json.dumps({"n": MAX_JSON_INT}).encode(), "ok"),
        (json.dumps({"n": MAX_JSON_INT + 1}).encode(), "number_out_of_range"),
        (json.dumps({"n": -MAX_JSON_INT - 1}).encode(), "number_out_of_range"),
        (json.dumps({"phone": "13800138000", "n": 1}).encode(), "ok"),  # long digits in text: walked
        (b'{"a\\u0000": 1}', "nul_character"),
        (b'{"a": "x\\u0000y"}', "nul_character"),
        (b'{"a": "x\\\\u0000y"}', "ok"),  # an escaped backslash then "u0000": no NUL
    ],
)
def test_parse_answers_as_the_walk_does(raw: bytes, expected: str) -> None:
    assert _answer(raw) == expected


def test_the_pre_check_never_vouches_for_what_the_walk_refuses() -> None:
    samples = [_nested(n, leaf) for n in range(1, 40) for leaf in ("1", "", '"s"', "1234567890")]
    samples += [b'{"k":' * n + b"0" + b"}" * n for n in range(0, 40)]
    for raw in samples:
        text = raw.decode()
        if _surely_within_limits(text, MAX_JSON_DEPTH):
            assert _depth(json.loads(text), MAX_JSON_DEPTH) <= MAX_JSON_DEPTH, text


def test_a_wide_body_is_vouched_for_without_the_walk() -> None:
    # 400,000 items, as test_hostile_input's body: the walk took ~0.1 s of CPU per request (a cost an
    # attacker chooses); the text check is a few counts and one regex search in C.
    wide = b'{"name": [' + b",".join([b'"x"'] * 400_000) + b"]}"
    assert _surely_within_limits(wide.decode(), MAX_JSON_DEPTH)
    assert parse_json(wide) == {"name": ["x"] * 400_000}
