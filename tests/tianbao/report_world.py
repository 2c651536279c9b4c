"""A small 数据填报 world for the xlsx, summary and burden tests, built with the real services.

On ``make_org``: 综合处 (A1, head polonius) owns the items and collects; 秘书处 (A2, head laertes)
collects too. Two base units under agency A receive: 基层一所 (clerk ``filler1``, head ``head1``) and
基层二所 (clerk ``filler2``, head ``head2``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.models import Role
from tests.factories import Org, make_user
from tianbao import items, returns, tasks, values
from tianbao.models import CollectTask, DataItem, UnitReturn, ValueOrigin

SPECS: dict[str, dict[str, Any]] = {
    "POP": {"type": "number", "min": 0, "max": 100000, "decimals": 2},
    "GDP": {"type": "money", "min": 0},
    "KIND": {"type": "select", "options": ["城市", "农村"]},
    "DAY": {"type": "date"},
    "NOTE": {"type": "text", "max_length": 50},
    "PROJ": {
        "type": "table",
        "columns": [
            {"key": "name", "label": "项目名称", "type": "text", "required": True},
            {"key": "invest", "label": "总投资", "type": "number", "min": 0},
        ],
        "max_rows": 5,
    },
}


@dataclass
class World:
    org: Org
    units: dict[str, int] = field(default_factory=dict)
    items: dict[str, DataItem] = field(default_factory=dict)

    def actor(self, username: str) -> Any:
        return self.org.actor(username)


def build(org: Org, *, sensitive: bool = False) -> World:
    w = World(org)
    with org.db.write() as s:
        for key, name in (("U1", "基层一所"), ("U2", "基层二所")):
            w.units[key] = directory.create_department(s, SYSTEM, name=name, parent_id=org.agencies["A"]).id or 0
    for n in ("1", "2"):
        unit = w.units["U" + n]
        org.users["filler" + n] = make_user(
            org.db, "filler" + n, "填报员" + n, dept_id=unit, roles={Role.staff, Role.clerk}
        )
        org.users["head" + n] = make_user(
            org.db, "head" + n, "审核人" + n, dept_id=unit, roles={Role.staff, Role.dept_head}
        )
    owner = org.actor("polonius")
    with org.db.write() as s:
        for code, spec in SPECS.items():
            data: dict[str, Any] = {
                "code": code,
                "name": {"POP": "常住人口", "GDP": "地区生产总值", "KIND": "类型", "DAY": "统计日", "NOTE": "备注"}.get(
                    code, "重点项目"
                ),
                "unit_label": "万人" if code == "POP" else "",
                "spec": spec,
                "owner_dept_id": org.depts["A1"],
                "cycle": "quarter",
                "level": "sensitive" if sensitive and code == "GDP" else "internal",
            }
            item = items.create_item(s, owner, data)
            s.flush()
            s.expunge(item)
            w.items[code] = item
    return w


def store(w: World, unit: str, code: str, period: str, value: Any) -> None:
    with w.org.db.write() as s:
        item = s.get(DataItem, w.items[code].id)
        assert item is not None
        values.store(
            s,
            unit_id=w.units[unit],
            rows=[(item, period, value, ValueOrigin.owner, "")],
            task_id=None,
            return_id=None,
            author_id=None,
        )


def issue(w: World, collector: str, codes: list[str], units: list[str], *, period: str = "2026Q4") -> int:
    actor = w.actor(collector)
    with w.org.db.write() as s:
        task = tasks.create_task(
            s,
            actor,
            {
                "title": f"{period}经济数据",
                "period": period,
                "deadline": utcnow() + dt.timedelta(days=7),
                "items": [{"item_id": w.items[c].id, "section": "基本情况", "required": False} for c in codes],
                "units": [{"unit_id": w.units[u]} for u in units],
            },
        )
        tasks.issue(s, actor, task.id or 0, task.version)
        return task.id or 0


def the_return(w: World, task_id: int, unit: str) -> UnitReturn:
    with w.org.db.read() as s:
        from sqlmodel import select

        ret = s.exec(select(UnitReturn).where(UnitReturn.task_id == task_id, UnitReturn.unit_id == w.units[unit])).one()
        s.expunge(ret)
        return ret


def fill_and_submit(
    w: World, task_id: int, unit: str, vals: dict[str, Any], reasons: dict[str, str] | None = None
) -> None:
    n = unit[1:]
    ret = the_return(w, task_id, unit)
    with w.org.db.write() as s:
        r = s.get(UnitReturn, ret.id)
        assert r is not None
        filler = w.actor("filler" + n)
        r = returns.save_values(
            s,
            filler,
            r,
            {str(w.items[c].id): v for c, v in vals.items()},
            {str(w.items[c].id): t for c, t in (reasons or {}).items() if c in vals},
            r.version,
        )
        r = returns.to_review(s, filler, r, r.version)
        returns.submit(s, w.actor("head" + n), r, r.version)


def task(w: World, task_id: int) -> CollectTask:
    with w.org.db.read() as s:
        t = s.get(CollectTask, task_id)
        assert t is not None
        s.expunge(t)
        return t
