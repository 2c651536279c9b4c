"""Form values: the server's check of a submission against its template version's fields, the
values each reader may see, and their text for lists and print.

``clean_values`` trusts nothing from the client: every value is checked against its field's type
and options; date ranges get their days counted with the working calendar (holidays and 调休),
tables their column totals, formulas their results; the ids that point into the database (people,
departments, files, linked requests and 公文) are checked in one query per kind. A bad value is a
422 naming ``field`` (and ``row``, counted from 0, and ``column`` inside a table), with a message
that says which field and why. The field list itself is checked by ``validate_fields`` (designer,
``banshi.field_defs``); reading values (``visible_values``, ``display_value``) is in
``banshi.field_display``. This module is the one place the rest of 办事 imports them from.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from banshi import field_refs, formula
from banshi.field_defs import MAX_MONEY_FEN, MAX_NUMBER, Field, formula_order, quoted, validate_fields
from banshi.field_display import display_value, money_in_words, referenced_ids, visible_fields, visible_values
from banshi.money import format_money
from banshi.textpattern import check_pattern
from office.actor import Actor
from office.errors import ValidationError
from office.jsonin import MAX_ID
from office.workcal import WorkCalendar

__all__ = [
    "clean_values",
    "count_days",
    "display_value",
    "money_in_words",
    "referenced_ids",
    "validate_fields",
    "visible_fields",
    "visible_values",
]

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


class _Refs:
    """Ids met while cleaning, by kind, each with the field that holds it (to name it in the error)."""

    def __init__(self, *, partial: bool = False) -> None:
        self.partial = partial  # a preview of a form still being filled: no field is required yet
        self.people: dict[int, str] = {}
        self.departments: dict[int, str] = {}
        self.files: dict[int, str] = {}
        self.requests: dict[int, str] = {}
        self.documents: dict[int, str] = {}
        self.ranges: dict[str, tuple[dt.date, dt.date]] = {}  # workday-counted ranges by field key


def _empty(value: Any) -> bool:
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


def _text(f: Field, value: Any, refs: _Refs) -> str:
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


def _textarea(f: Field, value: Any, refs: _Refs) -> str:
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


def _number(f: Field, value: Any, refs: _Refs) -> int | float:
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


def _money(f: Field, value: Any, refs: _Refs) -> int:
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


def _parse_date(f: Field, value: Any, what: str = "") -> dt.date:
    if isinstance(value, str) and DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if 1900 <= day.year <= 2100:
                return day
    raise Bad(f"{quoted(f)}{what}不是有效的日期（年-月-日）", "bad_date")


def _date(f: Field, value: Any, refs: _Refs) -> str:
    return _parse_date(f, value).isoformat()


def _datetime(f: Field, value: Any, refs: _Refs) -> str:
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


def _select(f: Field, value: Any, refs: _Refs) -> str:
    if not isinstance(value, str) or value.strip() not in f["options"]:
        raise Bad(f"{quoted(f)}只能从给定的选项中选择", "bad_choice")
    return value.strip()


def _multiselect(f: Field, value: Any, refs: _Refs) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Bad(f"{quoted(f)}应为选项的列表")
    chosen = {v.strip() for v in value}
    if len(chosen) != len(value):
        raise Bad(f"{quoted(f)}中有重复的选项")
    if chosen - set(f["options"]):
        raise Bad(f"{quoted(f)}只能从给定的选项中选择", "bad_choice")
    return [o for o in f["options"] if o in chosen]


# Types that point elsewhere (checked in the database after the whole form) ----------------------


def _daterange(f: Field, value: Any, refs: _Refs) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"start", "end", "start_half", "end_half", "days"}:
        raise Bad(f"{quoted(f)}应包含开始日期和结束日期")
    start = _parse_date(f, value.get("start"), "的开始日期")
    end = _parse_date(f, value.get("end"), "的结束日期")
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


def _person(f: Field, value: Any, refs: _Refs) -> int | list[int]:
    if f.get("multiple"):
        ids = _ids(f, value, "人员", limit=MAX_PEOPLE)
    else:
        ids = [_id(value, quoted(f))]
    for i in ids:
        refs.people.setdefault(i, f["key"])
    return ids if f.get("multiple") else ids[0]


def _department(f: Field, value: Any, refs: _Refs) -> int | list[int]:
    if f.get("multiple"):
        ids = _ids(f, value, "部门", limit=MAX_PEOPLE)
    else:
        ids = [_id(value, quoted(f))]
    for i in ids:
        refs.departments.setdefault(i, f["key"])
    return ids if f.get("multiple") else ids[0]


def _attachment(f: Field, value: Any, refs: _Refs) -> list[int]:
    ids = _ids(f, value, "文件", limit=f.get("max_files") or 10)
    for i in ids:
        if i in refs.files:
            raise Bad(f"同一个文件不能同时放在{quoted(f)}和另一个附件字段中")
        refs.files[i] = f["key"]
    return ids


def _link(f: Field, value: Any, refs: _Refs) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"kind", "id", "title"}:
        raise Bad(f"{quoted(f)}应为要关联的申请或公文")
    if value.get("kind") != f["to"]:
        raise Bad(f"{quoted(f)}只能关联{'审批申请' if f['to'] == 'request' else '公文'}")
    target = _id(value.get("id"), quoted(f))
    (refs.requests if f["to"] == "request" else refs.documents)[target] = f["key"]
    return {"kind": f["to"], "id": target}


Cleaner = Callable[[Field, Any, _Refs], Any]
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


# Formulas and tables ------------------------------------------------------------------------------


def _env_value(f: Field, value: Any) -> Decimal:
    """A value as a formula reads it: money in 元, a date range its days; blank is 0."""
    if value is None:
        return formula.ZERO
    kind = f["type"]
    if kind == "money" or (kind == "formula" and f.get("result") == "money"):
        return formula.from_fen(value)
    if kind == "daterange":
        return formula.from_number(value["days"])
    return formula.from_number(value)


Plan = list[tuple[Field, formula.Formula]]


def _plan(fields: list[Field]) -> Plan:
    """The formulas of ``fields`` in dependency order (each after the formulas it reads), parsed."""
    formulas = {
        f["key"]: (f, formula.compile_formula(f["expr"], field=f["key"])) for f in fields if f["type"] == "formula"
    }
    if not formulas:
        return []
    order, _ = formula_order({k: set(parsed.refs) for k, (_, parsed) in formulas.items()})
    return [formulas[key] for key in order]


def _compute(plan: Plan, values: dict[str, Any], env: dict[str, Decimal]) -> None:
    """Evaluate the planned formulas into ``values`` (and ``env``, for the formulas after them); an
    error names the formula's key as its ``field``."""
    for f, parsed in plan:
        key = f["key"]
        result = formula.evaluate(parsed, env, field=key, label=f.get("label", ""))
        if f.get("result") == "money":
            values[key] = formula.to_fen(result)
        else:
            values[key] = formula.to_number(result, f.get("decimals", 2))
        env[key] = _env_value(f, values[key])


def _total(column: Field, cells: list[Any]) -> int | float:
    if column["type"] == "money" or (column["type"] == "formula" and column.get("result") == "money"):
        return sum(c for c in cells if c is not None)
    total = sum((formula.from_number(c) for c in cells if c is not None), formula.ZERO)
    return formula.to_number(total, column.get("decimals", 2))


def _cell_error(table: Field, row: int, column: Field, e: Bad | ValidationError) -> ValidationError:
    message = f"{quoted(table)}第 {row + 1} 行：{e.message}"
    return ValidationError(message, code=e.code, field=table["key"], row=row, column=column["key"])


def _blank_rows(f: Field, value: list[Any]) -> list[bool]:
    """Which rows have no input cell filled (formula cells are the server's, whatever the client sent)."""
    inputs = [c["key"] for c in f["columns"] if c["type"] != "formula"]
    return [isinstance(r, dict) and all(_empty(r.get(k)) for k in inputs) for r in value]


def _blank_table(f: Field, value: Any) -> bool:
    """A table whose every row is blank is a table left empty: a required one is missing (blank rows are
    dropped, so it would otherwise be stored as no rows and pass)."""
    return isinstance(value, list) and all(_blank_rows(f, value))


def _table(f: Field, value: Any, refs: _Refs) -> dict[str, Any]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise Bad(f"{quoted(f)}应为若干行")
    columns: list[Field] = f["columns"]
    inputs = [c for c in columns if c["type"] != "formula"]
    # Blank rows are dropped; errors still give a row's place in what the client sent.
    rows_in = [(i, r) for (i, r), blank in zip(enumerate(value), _blank_rows(f, value), strict=True) if not blank]
    if len(rows_in) > f.get("max_rows", 50):
        raise Bad(f"{quoted(f)}最多 {f.get('max_rows', 50)} 行", "too_many")
    if rows_in and len(rows_in) < f.get("min_rows", 0):
        raise Bad(f"{quoted(f)}至少填写 {f['min_rows']} 行", "too_few")
    plan = _plan(columns)
    rows: list[dict[str, Any]] = []
    for index, raw in rows_in:
        row: dict[str, Any] = {}
        env: dict[str, Decimal] = {}
        for column in inputs:
            cell = raw.get(column["key"])
            try:
                if _empty(cell):
                    if column.get("required") and not refs.partial:
                        raise Bad(f"请填写{quoted(column)}", "required")
                    continue
                row[column["key"]] = CLEANERS[column["type"]](column, cell, refs)
            except Bad as e:
                raise _cell_error(f, index, column, e) from None
            if column["type"] in ("number", "money"):
                env[column["key"]] = _env_value(column, row[column["key"]])
        for column in columns:  # blank numeric cells read as 0
            env.setdefault(column["key"], formula.ZERO)
        try:
            _compute(plan, row, env)
        except ValidationError as e:
            column = next(c for c in columns if c["key"] == e.extra.get("field"))
            raise _cell_error(f, index, column, e) from None
        rows.append(row)
    totals = {c["key"]: _total(c, [r.get(c["key"]) for r in rows]) for c in columns if c.get("total")}
    return {"rows": rows, "totals": totals}


CLEANERS["table"] = _table


def _formula_env(fields: list[Field], values: dict[str, Any]) -> dict[str, Decimal]:
    env: dict[str, Decimal] = {}
    for f in fields:
        kind = f["type"]
        if kind in ("number", "money", "daterange"):
            env[f["key"]] = _env_value(f, values.get(f["key"]))
        elif kind == "table":
            rows = (values.get(f["key"]) or {}).get("rows", [])
            for column in f["columns"]:
                if column["type"] in ("number", "money", "formula"):
                    cells = [_env_value(column, r.get(column["key"])) for r in rows]
                    env[f"{f['key']}.{column['key']}"] = sum(cells, formula.ZERO)
    return env


# The submission check -----------------------------------------------------------------------------


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


def _check_refs(
    session: Session, applicant: Actor, refs: _Refs, request_id: int | None, fields: Mapping[str, Field]
) -> None:
    """Every id met is one the applicant may use; the first field holding one that is not is named."""
    checks: list[tuple[dict[int, str], Callable[[set[int]], set[int]], str, str]] = [
        (
            refs.people,
            lambda ids: field_refs.agency_people(session, applicant.agency_id, ids),
            "中的人员不存在、已停用或不在本单位",
            "bad_person",
        ),
        (
            refs.departments,
            lambda ids: field_refs.agency_departments(session, applicant.agency_id, ids),
            "中的部门不存在或不属于本单位",
            "bad_department",
        ),
        (
            refs.files,
            lambda ids: field_refs.usable_files(session, applicant.user_id, ids, request_id),
            "中的文件不存在、不是您上传的，或已用于其他申请",
            "bad_attachment",
        ),
        (
            refs.requests,
            lambda ids: field_refs.readable_requests(session, applicant, ids - {request_id or 0}),
            "所关联的申请不存在或您无权查看",
            "bad_link",
        ),
        (
            refs.documents,
            lambda ids: field_refs.readable_documents(session, applicant, ids),
            "所关联的公文不存在或您无权查看",
            "bad_link",
        ),
    ]
    for wanted, found_by, message, code in checks:
        if not wanted:
            continue
        missing = set(wanted) - found_by(set(wanted))
        if missing:
            key = wanted[min(missing)]
            raise ValidationError(f"{quoted(fields[key])}{message}", code=code, field=key)


def clean_values(
    session: Session,
    applicant: Actor,
    fields: list[Field],
    raw: Any,
    *,
    request_id: int | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The submission ``raw`` checked against ``fields`` (a validated field list) for ``applicant``:
    the cleaned values by key (blank optional fields left out), with date-range days, table totals
    and formulas computed here (anything the client sent for a formula is ignored). ``request_id``
    is the request being saved again, whose own files and link are allowed. ``partial`` (a preview
    while the form is being filled) skips only the required-field check, in tables too."""
    if not isinstance(raw, dict):
        raise ValidationError("表单内容格式不正确", code="bad_values")
    refs = _Refs(partial=partial)
    values: dict[str, Any] = {}
    labels: dict[str, Field] = {}
    for f in fields:
        kind, key = f["type"], f["key"]
        if kind == "formula":
            continue
        labels[key] = f
        value = raw.get(key)
        if _empty(value) or (kind == "table" and _blank_table(f, value)):
            if f.get("required") and not partial:
                raise ValidationError(f"请填写{quoted(f)}", code="required", field=key)
            continue
        try:
            values[key] = CLEANERS[kind](f, value, refs)
        except Bad as e:
            raise ValidationError(e.message, code=e.code, field=key) from None
    _check_refs(session, applicant, refs, request_id, labels)
    _count_workdays(session, refs, values, labels)
    _compute(_plan(fields), values, _formula_env(fields, values))
    return values


def _count_workdays(session: Session, refs: _Refs, values: dict[str, Any], fields: Mapping[str, Field]) -> None:
    if not refs.ranges:
        return
    calendar = field_refs.calendar_for(session, refs.ranges)
    for key, (start, end) in refs.ranges.items():
        value = values[key]
        days = count_days(calendar, start, end, value.get("start_half", "am"), value.get("end_half", "pm"))
        if days <= 0:
            raise ValidationError(f"{quoted(fields[key])}中没有工作日", code="no_workdays", field=key)
        value["days"] = days
