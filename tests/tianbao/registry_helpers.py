"""Helpers for the registry tests: items defined through the real service by their owner department
(make_org's 综合处, A1, headed by polonius), and values stored through ``values.store``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

import tianbao.rules  # noqa: F401  # the policy rules (office.app.load_rules imports them too)
from office.db import Database
from tests.factories import Org
from tianbao import items, values
from tianbao.models import DataItem, ValueOrigin

NUMBER = {"type": "number", "min": 0, "max": 100000, "decimals": 2}


def define(db: Database, org: Org, code: str, *, by: str = "polonius", dept: str = "A1", **fields: Any) -> DataItem:
    data: dict[str, Any] = {
        "code": code,
        "name": fields.pop("name", f"数据项{code}"),
        "owner_dept_id": org.depts[dept],
        "spec": fields.pop("spec", NUMBER),
        **fields,
    }
    with db.write() as s:
        return items.create_item(s, org.actor(by), data)


def put(
    db: Database,
    item: DataItem,
    unit_id: int,
    period: str,
    value: Any,
    *,
    author_id: int | None = None,
    task_id: int | None = None,
    origin: ValueOrigin = ValueOrigin.typed,
    reason: str = "",
) -> None:
    with db.write() as s:
        values.store(
            s,
            unit_id=unit_id,
            rows=[(item, period, value, origin, reason)],
            task_id=task_id,
            return_id=None,
            author_id=author_id,
        )


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):  # not BEGIN or PRAGMA
            seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
