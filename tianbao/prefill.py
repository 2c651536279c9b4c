"""What a unit's form opens with: every item's value already in the registry for a period still valid
(the item's own cycle period containing the end of the task's, ``periods.item_period``), else what a
computed source knows (the directory). Each prefilled cell is marked with where it came from and
when, so the unit sees "2026年第3季度 · 统计科填报" or "通讯录" beside it.

Built for the bench's 200-item form over millions of stored values: the items (one query), their
current values (one query on ``tb_value_current``'s primary key), the departments of the people who
typed them (one query); computed sources run only for the items that name one. A source's answer
is preferred to a value it gave before (fresher), never to a value a person stored (a correction).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from office.db import utcnow
from office.models import Department, Post
from tianbao import periods, sources, values
from tianbao.models import CollectTask, DataItem, DataValue, ValueOrigin

ORIGIN_WORDS = {
    "typed": "填报",
    "xlsx": "表格导入",
    "computed": "自动计算",
    "corrected": "更正",
    "owner": "数源部门登记",
}


def _author_depts(session: Session, value_ids: list[int]) -> dict[int, str]:
    """For each history row, the primary department of the person who stored it."""
    if not value_ids:
        return {}
    rows = session.exec(
        select(DataValue.id, Department.name)
        .join(Post, (col(Post.user_id) == col(DataValue.author_id)) & col(Post.is_primary))
        .join(Department, col(Department.id) == col(Post.department_id))
        .where(col(DataValue.id).in_(value_ids))
    ).all()
    return {value_id or 0: name for value_id, name in rows}


def _label(period: str, who: str, origin: str) -> str:
    return " ".join(p for p in (periods.label(period), f"{who}{ORIGIN_WORDS.get(origin, '填报')}") if p)


def prefill(
    session: Session, task: CollectTask, unit_id: int, loaded: list[DataItem] | None = None
) -> dict[str, dict[str, Any]]:
    """{str(item_id): {"value", "source": "registry" | "computed", "origin", "period", "at", "label"}}
    for each of the task's items the registry or a computed source can fill for ``unit_id``
    (``loaded``: the task's items when the caller has read them already)."""
    item_ids = [int(entry["item_id"]) for entry in task.items]
    if not item_ids:
        return {}
    items = loaded if loaded is not None else session.exec(select(DataItem).where(col(DataItem.id).in_(item_ids))).all()
    wanted = {(item.id or 0, periods.item_period(item.cycle, task.period)): item for item in items}
    have = values.current_rows(session, unit_id, wanted)
    who = _author_depts(session, [cur.value_id for cur in have.values()])
    out: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for key, item in wanted.items():
        cur = have.get(key)
        # A computed source is asked afresh unless a person stored the value (a unit's correction
        # stands for everyone); a value it gave earlier is older than what it gives now.
        if item.source and (cur is None or cur.origin == ValueOrigin.computed.value):
            value = sources.compute(session, item.source, unit_id, key[1])
            if value is not None:
                out[str(key[0])] = {
                    "value": value,
                    "source": "computed",
                    "origin": ValueOrigin.computed.value,
                    "period": key[1],
                    "at": _iso(now),
                    "label": sources.label(item.source),
                }
                continue
        if cur is not None and cur.value is not None:
            out[str(key[0])] = {
                "value": cur.value,
                "source": "registry",
                "origin": cur.origin,
                "period": key[1],
                "at": _iso(cur.updated_at),
                "label": _label(key[1], who.get(cur.value_id, ""), cur.origin),
            }
    return out


def _iso(at: dt.datetime) -> str:
    return at.isoformat()
