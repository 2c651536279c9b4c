"""A request's values as stored: cleaned on the server from its version's fields
(``banshi.fields.clean_values``) plus what the built-in form's behaviour computes (``banshi.behaviours``),
and what is copied out of them (title, amount, dates, attached files)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from banshi import behaviours
from banshi.fields import clean_values
from banshi.models import ApprovalRequest, FormTemplate, FormVersion
from office.actor import Actor


def clean(
    session: Session,
    actor: Actor,
    template: FormTemplate,
    version: FormVersion,
    raw: Any,
    *,
    request_id: int | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The submission's values as stored: cleaned from the version's fields, then what the built-in
    form's behaviour computes (which may refuse them: annual leave beyond the balance). ``partial``:
    a preview of a form not yet filled, required fields not checked."""
    values = clean_values(session, actor, version.fields, raw, request_id=request_id, partial=partial)
    behaviour = behaviours.behaviour_for(template)
    if behaviour is not None:
        values.update(behaviour.prepare(session, actor, template, values))
    return values


def summarise(req: ApprovalRequest, field_defs: list[dict[str, Any]]) -> None:
    """Copy the amount and the dates out of the values for lists and ledgers: the first money field
    (or money formula) and the first date range."""
    req.amount_fen = req.days = req.start_date = req.end_date = None
    for f in field_defs:
        value = req.values.get(f["key"])
        if value is None:
            continue
        money = f["type"] == "money" or (f["type"] == "formula" and f.get("result") == "money")
        if money and req.amount_fen is None and isinstance(value, int | float):
            req.amount_fen = int(value)
        if f["type"] == "daterange" and req.start_date is None and isinstance(value, dict):
            req.start_date = _date(value.get("start"))
            req.end_date = _date(value.get("end"))
            days = value.get("days")
            req.days = float(days) if isinstance(days, int | float) else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def title_of(actor: Actor, template: FormTemplate, version: FormVersion) -> str:
    """A new request's title: the version's pattern (default 「申请人的表单名」)."""
    pattern = str(version.options.get("title") or "{applicant}的{template}")
    return pattern.replace("{applicant}", actor.name).replace("{template}", template.name)[:200]


def as_raw(field_defs: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """Stored values in the shape a client sends them, to be checked again: a detail table is stored
    as ``{"rows", "totals"}`` and sent as its rows (the rest is sent as stored; computed parts are
    ignored and computed anew)."""
    out = dict(values)
    for f in field_defs:
        value = out.get(f["key"])
        if f["type"] == "table" and isinstance(value, dict):
            out[f["key"]] = value.get("rows", [])
    return out


def attachment_ids(field_defs: list[dict[str, Any]], values: dict[str, Any]) -> list[int]:
    """The file ids the values' attachment fields name."""
    out: list[int] = []
    for f in field_defs:
        if f["type"] == "attachment" and isinstance(values.get(f["key"]), list):
            out += [i for i in values[f["key"]] if isinstance(i, int)]
    return out
