"""Parsing untrusted JSON (HTTP bodies and websocket frames) with the same limits everywhere:
nesting depth, integers a database column can hold, and no NUL characters."""

from __future__ import annotations

import json
import re
from typing import Any

from office.errors import ValidationError

MAX_JSON_DEPTH = 32
# PostgreSQL's ``integer`` (every id and count column): larger numbers cannot even be compared
# with a column there, so they are refused before any query runs, on SQLite too.
MAX_ID = 2**31 - 1
MAX_JSON_INT = MAX_ID


def is_digits(text: str) -> bool:
    """ASCII 0-9 only. ``str.isdigit()`` also accepts '¹' or '①', which ``int()`` refuses: a
    query or header holding one answered 500 instead of 4xx."""
    return text.isascii() and text.isdigit()


def refuse_nul(text: str) -> None:
    """NUL never belongs in office text, and PostgreSQL cannot store it at all: refuse it at the
    edge so both databases answer the same clear error instead of one of them a 500."""
    if "\x00" in text:
        raise ValidationError("内容包含不允许的空字符（NUL）", code="nul_character")


def _depth(obj: Any, limit: int) -> int:
    """Nesting depth of parsed JSON (stops early past ``limit``); refuses integers a database column
    cannot hold and text with NUL (both used to reach the database and answer 500)."""
    stack = [(obj, 1)]
    deepest = 1
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if d > limit:
            return d
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_JSON_INT:
            raise ValidationError("数值超出范围", code="number_out_of_range")
        if isinstance(item, str):
            refuse_nul(item)
        if isinstance(item, dict):
            for key in item:
                refuse_nul(key)
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


# Nine digits always fit MAX_JSON_INT; only a run of ten or more can be an integer out of range.
_LONG_DIGITS = re.compile(r"[0-9]{10}")


def _surely_within_limits(text: str, limit: int) -> bool:
    """True when ``text`` (JSON that parsed) cannot break ``_depth``'s rules, told from the text in C
    at a few per cent of the walk's cost (a 400,000-item body took the walk ~0.1 s of CPU): depth
    past ``limit`` needs at least ``limit`` opening brackets (the walk counts a value inside the
    innermost one as a level too), an integer out of range a run of ten digits, and a NUL in a
    string or key either the escape ``\\u0000`` or a raw NUL (which strict parsing refuses anyway).
    False only means "walk and see": the walk stays the one rule."""
    return (
        text.count("[") + text.count("{") < limit
        and "\\u0000" not in text
        and "\x00" not in text
        and _LONG_DIGITS.search(text) is None
    )


def parse_json(raw: bytes) -> Any:
    if not raw:
        raise ValidationError("请求体为空，需要 JSON", code="empty_body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("请求体不是有效的 UTF-8 编码", code="bad_encoding") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValidationError("JSON 嵌套过深", code="too_deep") from None
    except ValueError as exc:
        raise ValidationError(f"JSON 格式错误：{exc.msg}（第 {exc.lineno} 行）", code="malformed_json") from None  # type: ignore[attr-defined]
    if not _surely_within_limits(text, MAX_JSON_DEPTH) and _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValidationError("JSON 嵌套过深", code="too_deep")
    return data
