"""The cleaners of 办事 form values, one per field type (the scalar types, which are also table cells,
and the types that point elsewhere: people, departments, files, links, date ranges). Each takes the
field, the client's value and the submission's references, and returns the value to store or raises
``Bad`` with a message naming the field; ids are only collected here and checked in the database
after the whole form (``banshi.fields``, one query per kind). Tables and formulas are in
``banshi.fields``, which adds the table cleaner to ``CLEANERS``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from banshi import formula
from banshi.field_defs import MAX_MONEY_FEN, MAX_NUMBER, Field, quoted
from banshi.money import format_money
from banshi.textpattern import check_pattern
from office.jsonin import MAX_ID
from office.workcal import WorkCalendar

MAX_RANGE_DAYS = 731  # a date range longer than two years is a typing mistake
MAX_PEOPLE = 100
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d also takes ２ and ٢
DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2})")
NUMBER_TEXT = re.compile(r"-?[0-9]{1,13}(\.[0-9]{1,8})?")
FEN_TEXT = re.compile(r"-?[0-9]{1,16}")
LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # a long text keeps tabs and line breaks
OFFICE_NAMES = {"personnel": "人事处", "finance": "财务处"}


class Bad(Exception):
    """A value refused; the caller adds where it was (field, row, column)."""

    def __init__(self, message: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Refs:
    """Ids met while cleaning, by kind, each with the field that holds it (to name it in the error)."""

    def __init__(self, *, partial: bool = False) -> None:
        self.partial = partial  # a preview of a form still being filled: no field is required yet
        self.people: dict[int, str] = {}
        self.departments: dict[int, str] = {}
        self.files: dict[int, str] = {}
        self.requests: dict[int, str] = {}
        self.request_forms: dict[int, str] = {}  # linked request id -> the field whose link_form it must match
        self.documents: dict[int, str] = {}
        self.ranges: dict[str, tuple[dt.date, dt.date]] = {}  # workday-counted ranges by field key


def empty(value: Any) -> bool:
    if value is None or value == [] or value == {}:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, dict) and set(value) <= {"start", "end", "start_half", "end_half"}:
        return not value.get("start") and not value.get("end")  # a date range left blank
    return False


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise Bad(f"{what}应为编号")
    return value


def _ids(f: Field, value: Any, what: str, *, limit: int) -> list[int]:
    items = value if isinstance(value, list) else None
    if items is None:
        raise Bad(f"{quoted(f)}应为{what}的列表")
    ids = [_id(v, f"{quoted(f)}中的每一项") for v in items]
    if len(ids) > limit:
        raise Bad(f"{quoted(f)}最多选择 {limit} 项", "too_many")
    if len(set(ids)) != len(ids):
        raise Bad(f"{quoted(f)}中有重复的项")
    return ids


# Scalar types (also table cells) ------------------------------------------------------------------


@lru_cache(maxsize=512)
def _pattern(text: str) -> re.Pattern[str]:
    return check_pattern(text)


def _text(f: Field, value: Any, refs: Refs) -> str:
    if not isinstance(value, str):
        raise Bad(f"{quoted(f)}应为文字")
    text = value.strip()
    if LINE_CONTROLS.search(text):
        raise Bad(f"{quoted(f)}不能包含换行或控制字符")
    limit = f.get("max_length") or 200
    if len(text) > limit:
        raise Bad(f"{quoted(f)}不能超过 {limit} 个字", "too_long")
    pattern = f.get("pattern")
    if pattern and not _pattern(pattern).fullmatch(text):
        raise Bad(f.get("pattern_message") or f"{quoted(f)}的格式不正确", "bad_pattern")
    return text


def _textarea(f: Field, value: Any, refs: Refs) -> str:
    if not isinstance(value, str):
        raise Bad(f"{quoted(f)}应为文字")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if TEXT_CONTROLS.search(text):
        raise Bad(f"{quoted(f)}不能包含控制字符")
    limit = f.get("max_length") or 2000
    if len(text) > limit:
        raise Bad(f"{quoted(f)}不能超过 {limit} 个字", "too_long")
    return text


def _decimal(f: Field, value: Any) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise Bad(f"{quoted(f)}应为数字")
        number = formula.from_number(value)
    elif isinstance(value, str) and NUMBER_TEXT.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        raise Bad(f"{quoted(f)}应为数字")
    if abs(number) > MAX_NUMBER:
        raise Bad(f"{quoted(f)}超出范围", "out_of_range")
    return number


def _plain(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _number(f: Field, value: Any, refs: Refs) -> int | float:
    number = _decimal(f, value)
    decimals = f.get("decimals", 2)
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise Bad(f"{quoted(f)}最多 {decimals} 位小数" if decimals else f"{quoted(f)}应为整数", "too_precise")
    low, high = f.get("min"), f.get("max")
    if low is not None and number < formula.from_number(low):
        raise Bad(f"{quoted(f)}不能小于 {low}", "out_of_range")
    if high is not None and number > formula.from_number(high):
        raise Bad(f"{quoted(f)}不能大于 {high}", "out_of_range")
    return _plain(number)


def _money(f: Field, value: Any, refs: Refs) -> int:
    """分, as an integer: JSON numbers past 2^31 are refused at the edge, so large amounts may come
    as a string of digits."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and FEN_TEXT.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad(f"{quoted(f)}应为以分为单位的整数金额")
    low = f.get("min", 0)
    high = f.get("max", MAX_MONEY_FEN)
    if low is not None and value < low:
        raise Bad(f"{quoted(f)}不能少于 {format_money(low)}", "out_of_range")
    if high is not None and value > high:
        raise Bad(f"{quoted(f)}不能超过 {format_money(high)}", "out_of_range")
    return value


def parse_date(f: Field, value: Any, what: str = "") -> dt.date:
    if isinstance(value, str) and DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if 1900 <= day.year <= 2100:
                return day
    raise Bad(f"{quoted(f)}{what}不是有效的日期（年-月-日）", "bad_date")


def _date(f: Field, value: Any, refs: Refs) -> str:
    return parse_date(f, value).isoformat()


def _datetime(f: Field, value: Any, refs: Refs) -> str:
    m = DATETIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if m:
        try:
            moment = dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}")
        except ValueError:
            pass
        else:
            if 1900 <= moment.year <= 2100:
                return moment.strftime("%Y-%m-%dT%H:%M")
    raise Bad(f"{quoted(f)}不是有效的时间（年-月-日 时:分）", "bad_datetime")


def _select(f: Field, value: Any, refs: Refs) -> str:
    if not isinstance(value, str) or value.strip() not in f["options"]:
        raise Bad(f"{quoted(f)}只能从给定的选项中选择", "bad_choice")
    return value.strip()


def _multiselect(f: Field, value: Any, refs: Refs) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Bad(f"{quoted(f)}应为选项的列表")
    chosen = {v.strip() for v in value}
    if len(chosen) != len(value):
        raise Bad(f"{quoted(f)}中有重复的选项")
    if chosen - set(f["options"]):
        raise Bad(f"{quoted(f)}只能从给定的选项中选择", "bad_choice")
    return [o for o in f["options"] if o in chosen]


# Types that point elsewhere (checked in the database after the whole form) ----------------------


def _daterange(f: Field, value: Any, refs: Refs) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"start", "end", "start_half", "end_half", "days"}:
        raise Bad(f"{quoted(f)}应包含开始日期和结束日期")
    start = parse_date(f, value.get("start"), "的开始日期")
    end = parse_date(f, value.get("end"), "的结束日期")
    if end < start:
        raise Bad(f"{quoted(f)}的结束日期不能早于开始日期", "bad_range")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise Bad(f"{quoted(f)}不能超过两年", "bad_range")
    out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    if f.get("halves"):
        start_half = value.get("start_half") or "am"
        end_half = value.get("end_half") or "pm"
        if start_half not in ("am", "pm") or end_half not in ("am", "pm"):
            raise Bad(f"{quoted(f)}的上午/下午只能是 am 或 pm")
        if start == end and start_half == "pm" and end_half == "am":
            raise Bad(f"{quoted(f)}在同一天内不能从下午到上午", "bad_range")
        out["start_half"], out["end_half"] = start_half, end_half
    if f.get("count", "workdays") == "workdays":
        refs.ranges[f["key"]] = (start, end)
    else:
        out["days"] = count_days(None, start, end, out.get("start_half", "am"), out.get("end_half", "pm"))
    return out


def _person(f: Field, value: Any, refs: Refs) -> int | list[int]:
    if f.get("multiple"):
        ids = _ids(f, value, "人员", limit=MAX_PEOPLE)
    else:
        ids = [_id(value, quoted(f))]
    for i in ids:
        refs.people.setdefault(i, f["key"])
    return ids if f.get("multiple") else ids[0]


def _department(f: Field, value: Any, refs: Refs) -> int | list[int]:
    if f.get("multiple"):
        ids = _ids(f, value, "部门", limit=MAX_PEOPLE)
    else:
        ids = [_id(value, quoted(f))]
    for i in ids:
        refs.departments.setdefault(i, f["key"])
    return ids if f.get("multiple") else ids[0]


def _attachment(f: Field, value: Any, refs: Refs) -> list[int]:
    ids = _ids(f, value, "文件", limit=f.get("max_files") or 10)
    for i in ids:
        if i in refs.files:
            raise Bad(f"同一个文件不能同时放在{quoted(f)}和另一个附件字段中")
        refs.files[i] = f["key"]
    return ids


def _link(f: Field, value: Any, refs: Refs) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"kind", "id", "title"}:
        raise Bad(f"{quoted(f)}应为要关联的申请或公文")
    if value.get("kind") != f["to"]:
        raise Bad(f"{quoted(f)}只能关联{'审批申请' if f['to'] == 'request' else '公文'}")
    target = _id(value.get("id"), quoted(f))
    (refs.requests if f["to"] == "request" else refs.documents)[target] = f["key"]
    if f.get("link_form"):
        refs.request_forms[target] = f["key"]
    return {"kind": f["to"], "id": target}


Cleaner = Callable[[Field, Any, Refs], Any]
CLEANERS: dict[str, Cleaner] = {
    "text": _text,
    "textarea": _textarea,
    "number": _number,
    "money": _money,
    "date": _date,
    "datetime": _datetime,
    "daterange": _daterange,
    "select": _select,
    "multiselect": _multiselect,
    "person": _person,
    "department": _department,
    "attachment": _attachment,
    "link": _link,
}


def count_days(calendar: WorkCalendar | None, start: dt.date, end: dt.date, start_half: str, end_half: str) -> float:
    """Days from ``start`` to ``end`` inclusive: working days by ``calendar`` (holidays off, 调休
    Saturdays on), or calendar days when it is None. Starting in the afternoon or ending in the
    morning takes half of that day off, if that day counts at all."""
    counts: Callable[[dt.date], bool] = calendar.is_workday if calendar is not None else lambda day: True
    days = 0.0
    day = start
    while day <= end:
        days += counts(day)
        day += dt.timedelta(days=1)
    if start_half == "pm" and counts(start):
        days -= 0.5
    if end_half == "am" and counts(end):
        days -= 0.5
    return days
