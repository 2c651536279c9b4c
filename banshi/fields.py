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

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from banshi import field_refs, formula
from banshi.field_defs import Field, formula_order, quoted, validate_fields
from banshi.field_display import display_value, money_in_words, referenced_ids, visible_fields, visible_values
from banshi.field_values import CLEANERS, Bad, Refs, count_days, empty
from office.actor import Actor
from office.errors import ValidationError

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
    return [isinstance(r, dict) and all(empty(r.get(k)) for k in inputs) for r in value]


def _blank_table(f: Field, value: Any) -> bool:
    """A table whose every row is blank is a table left empty: a required one is missing (blank rows are
    dropped, so it would otherwise be stored as no rows and pass)."""
    return isinstance(value, list) and all(_blank_rows(f, value))


def _table(f: Field, value: Any, refs: Refs) -> dict[str, Any]:
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
                if empty(cell):
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


def _check_refs(
    session: Session, applicant: Actor, refs: Refs, request_id: int | None, fields: Mapping[str, Field]
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
    _check_link_forms(session, applicant, refs, fields)


def _check_link_forms(session: Session, applicant: Actor, refs: Refs, fields: Mapping[str, Field]) -> None:
    """A link naming a form (``link_form``: 差旅费报销's 出差审批单) holds a request of that form only;
    the request picker offers only those, and this is the rule it mirrors."""
    by_form: dict[str, set[int]] = {}
    for target, key in refs.request_forms.items():
        by_form.setdefault(fields[key]["link_form"], set()).add(target)
    for code, ids in sorted(by_form.items()):
        wrong = ids - field_refs.requests_of_form(session, ids, applicant.agency_id, code)
        if wrong:
            key = refs.request_forms[min(wrong)]
            name = field_refs.form_name(session, applicant.agency_id, code)
            raise ValidationError(f"{quoted(fields[key])}只能关联「{name}」申请", code="bad_link", field=key)


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
    refs = Refs(partial=partial)
    values: dict[str, Any] = {}
    labels: dict[str, Field] = {}
    for f in fields:
        kind, key = f["type"], f["key"]
        if kind == "formula":
            continue
        labels[key] = f
        value = raw.get(key)
        if empty(value) or (kind == "table" and _blank_table(f, value)):
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


def _count_workdays(session: Session, refs: Refs, values: dict[str, Any], fields: Mapping[str, Field]) -> None:
    if not refs.ranges:
        return
    calendar = field_refs.calendar_for(session, refs.ranges)
    for key, (start, end) in refs.ranges.items():
        value = values[key]
        days = count_days(calendar, start, end, value.get("start_half", "am"), value.get("end_half", "pm"))
        if days <= 0:
            raise ValidationError(f"{quoted(fields[key])}中没有工作日", code="no_workdays", field=key)
        value["days"] = days
