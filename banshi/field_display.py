"""Reading form values: what each reader may see (field-level ``visible_to``), and the text of a
value for lists and print (money with ¥ and thousands, its 大写 beside it; dates in 年月日; names of
people and departments looked up by the caller in one query per kind, see ``referenced_ids``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from banshi.field_defs import Field, quoted
from banshi.money import fen_to_chinese, format_money


def visible_values(
    fields: list[Field], values: Mapping[str, Any], *, steps_seen: set[str], offices: set[str], full: bool
) -> dict[str, Any]:
    """``values`` without the fields this reader may not see. ``full`` (the applicant) sees all; a
    field with ``visible_to`` is seen by those at one of its steps (``steps_seen``: the step keys the
    reader has a task at) or in one of its offices (``offices``: "personnel", "finance")."""
    if full:
        return dict(values)
    out: dict[str, Any] = {}
    for f in fields:
        key = f["key"]
        if key not in values:
            continue
        rule = f.get("visible_to")
        if rule and not (set(rule.get("steps") or ()) & steps_seen or set(rule.get("offices") or ()) & offices):
            continue
        out[key] = values[key]
    return out


def visible_fields(fields: list[Field], *, steps_seen: set[str], offices: set[str], full: bool) -> list[Field]:
    """The field definitions this reader may see (the same rule as ``visible_values``)."""
    if full:
        return list(fields)
    return [
        f
        for f in fields
        if not f.get("visible_to")
        or set(f["visible_to"].get("steps") or ()) & steps_seen
        or set(f["visible_to"].get("offices") or ()) & offices
    ]


def referenced_ids(fields: list[Field], values: Mapping[str, Any]) -> dict[str, set[int]]:
    """The ids the values point at, by kind ("person", "department", "file", "request", "document"),
    so a page can load their names in one query each before calling ``display_value``."""
    out: dict[str, set[int]] = {k: set() for k in ("person", "department", "file", "request", "document")}
    for f in fields:
        value = values.get(f["key"])
        if value is None:
            continue
        kind = f["type"]
        if kind in ("person", "department"):
            out[kind] |= set(value) if isinstance(value, list) else {value}
        elif kind == "attachment":
            out["file"] |= set(value)
        elif kind == "link":
            out[value["kind"]].add(value["id"])
    return out


def money_in_words(fen: int) -> str:
    """人民币大写, for the print view beside the figure."""
    return fen_to_chinese(fen)


def _chinese_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _days_text(days: float) -> str:
    return str(int(days)) if float(days).is_integer() else f"{days:g}"


def display_value(field: Field, value: Any, *, names: Mapping[str, Mapping[int, str]] | None = None) -> str:
    """The value as text for lists and print: ¥ and thousands for money (its 大写 is
    ``money_in_words``), 年月日 for dates, names for people and departments when ``names`` gives them
    (``{"person": {id: name}, "department": {...}, "file": {...}, "request": {...}, "document": {...}}``,
    see ``referenced_ids``), ``#id`` otherwise."""
    if value is None or value == "" or value == []:
        return ""
    kind = field["type"]
    named = names or {}

    def name_of(what: str, i: int) -> str:
        return named.get(what, {}).get(i) or f"#{i}"

    if kind == "money" or (kind == "formula" and field.get("result") == "money"):
        return format_money(value)
    if kind in ("number", "formula"):
        return repr(value) if isinstance(value, float) else str(value)  # repr: 0.1, never 1e-01
    if kind == "date":
        return _chinese_date(value)
    if kind == "datetime":
        return f"{_chinese_date(value[:10])} {value[11:16]}"
    if kind == "daterange":
        halves = {"am": "上午", "pm": "下午"}
        start = _chinese_date(value["start"]) + halves.get(value.get("start_half", ""), "")
        end = _chinese_date(value["end"]) + halves.get(value.get("end_half", ""), "")
        return f"{start} 至 {end}，共 {_days_text(value.get('days', 0))} 天"
    if kind == "multiselect":
        return "、".join(value)
    if kind in ("person", "department"):
        ids = value if isinstance(value, list) else [value]
        return "、".join(name_of(kind, i) for i in ids)
    if kind == "attachment":
        return "、".join(name_of("file", i) for i in value)
    if kind == "link":
        return ("申请" if value["kind"] == "request" else "公文") + " " + name_of(value["kind"], value["id"])
    if kind == "table":
        rows = value.get("rows", [])
        totals = [
            f"{quoted(c)}合计 {display_value(c, value['totals'][c['key']])}"
            for c in field.get("columns", [])
            if c["key"] in value.get("totals", {})
        ]
        return "，".join([f"共 {len(rows)} 行", *totals])
    return str(value)
