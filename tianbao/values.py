"""Stored values: the append-only history (``tb_value``) and the current row of each (item, unit,
period) (``tb_value_current``).

``current`` is the read a prefilled form makes: one query for any number of keys of one unit, on
the current table's primary key (unit_id, item_id, period). ``store`` is the one way a value enters
the registry: it appends a history row naming who, when, which task and the row it replaced, and
moves the current row to it; a value equal to the current one is not stored again, so submitting
a prefilled form unchanged leaves the history as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from office.db import utcnow
from office.models import User
from tianbao.models import CurrentValue, DataItem, DataValue, ValueOrigin

Key = tuple[int, str]  # (item_id, period)
Row = tuple[DataItem, str, Any, ValueOrigin, str]  # (item, period, value, origin, reason)
REASON_MAX = 200


def current(session: Session, unit_id: int, keys: Iterable[Key]) -> dict[Key, CurrentValue]:
    """The current value of each (item_id, period) of ``unit_id`` that has one, in ONE query.

    The keys are grouped by period (a form has a few: one per item cycle) into
    ``(unit_id = ? AND period = ? AND item_id IN (..)) OR ...``, so each key is one exact probe of
    the primary key (unit_id, item_id, period) whatever else is stored (SQLite: MULTI-INDEX OR, with
    or without ANALYZE's statistics; ``unit_id`` outside the OR made it search by unit_id alone). An
    ``item_id IN .. AND period IN ..`` form would also read every item's other wanted periods."""
    where = _where(unit_id, keys)
    if where is None:
        return {}
    rows = session.exec(select(CurrentValue).where(where)).all()
    return {(r.item_id, r.period): r for r in rows}


def current_rows(session: Session, unit_id: int, keys: Iterable[Key]) -> dict[Key, Any]:
    """``current`` as plain rows (``value_id``, ``value``, ``origin``, ``updated_at`` by name), for a
    read that changes nothing: a 200-item form's prefill built 200 ORM objects it never kept."""
    where = _where(unit_id, keys)
    if where is None:
        return {}
    columns = [col(CurrentValue.item_id), col(CurrentValue.period), col(CurrentValue.value_id)]
    columns += [col(CurrentValue.value), col(CurrentValue.origin), col(CurrentValue.updated_at)]
    rows = session.execute(sa_select(*columns).where(where)).all()
    return {(r.item_id, r.period): r for r in rows}


def _where(unit_id: int, keys: Iterable[Key]) -> Any:
    """The probes of ``current`` (None for no keys)."""
    by_period: dict[str, set[int]] = {}
    for item_id, period in keys:
        by_period.setdefault(period, set()).add(item_id)
    if not by_period:
        return None
    return or_(
        *(
            and_(
                col(CurrentValue.unit_id) == unit_id,
                col(CurrentValue.period) == period,
                col(CurrentValue.item_id).in_(sorted(ids)),
            )
            for period, ids in sorted(by_period.items())
        )
    )


def store(
    session: Session,
    *,
    unit_id: int,
    rows: list[Row],
    task_id: int | None,
    return_id: int | None,
    author_id: int | None,
) -> list[DataValue]:
    """Append each (item, period, value, origin, reason) to the history of ``unit_id`` and make it the
    current value; a value equal to the current one is skipped. Returns the rows appended."""
    now = utcnow()
    have = current(session, unit_id, ((item.id or 0, period) for item, period, *_ in rows))
    added: list[tuple[DataValue, CurrentValue | None, Key]] = []
    for item, period, value, origin, reason in rows:
        key = (item.id or 0, period)
        before = have.get(key)
        if before is not None and before.value == value:
            continue
        row = DataValue(
            item_id=key[0],
            unit_id=unit_id,
            period=period,
            value=value,
            origin=origin,
            reason=(reason or "")[:REASON_MAX],
            task_id=task_id,
            assignment_id=return_id,
            previous_id=before.value_id if before is not None else None,
            author_id=author_id,
            created_at=now,
        )
        session.add(row)
        added.append((row, before, key))
    if not added:
        return []
    session.flush()  # the history rows get their ids
    for row, before, key in added:
        if before is None:
            before = CurrentValue(unit_id=unit_id, item_id=key[0], period=key[1], value_id=0)
            have[key] = before
        before.value_id = row.id or 0
        before.value = row.value
        before.origin = row.origin.value
        before.updated_at = now
        session.add(before)
    session.flush()
    return [row for row, _, _ in added]


def history(session: Session, item_id: int, unit_id: int, period: str) -> list[DataValue]:
    """Every value (item, unit, period) has had, newest first."""
    return list(
        session.exec(
            select(DataValue)
            .where(DataValue.item_id == item_id, DataValue.unit_id == unit_id, DataValue.period == period)
            .order_by(col(DataValue.id).desc())
        ).all()
    )


def history_dicts(session: Session, rows: list[DataValue]) -> list[dict[str, Any]]:
    """``history`` for the API: who (by name), when, which task, the value and the value it replaced."""
    authors = {r.author_id for r in rows if r.author_id}
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(authors))).all()) if authors else {}
    by_id = {r.id: r for r in rows}
    return [
        {
            "id": r.id,
            "value": r.value,
            "previous_value": by_id[r.previous_id].value if r.previous_id in by_id else None,
            "previous_id": r.previous_id,
            "origin": r.origin.value,
            "reason": r.reason,
            "task_id": r.task_id,
            "return_id": r.assignment_id,
            "author_id": r.author_id,
            "author_name": names.get(r.author_id or 0, "系统" if not r.author_id else ""),
            "at": r.created_at.isoformat(),
        }
        for r in rows
    ]
