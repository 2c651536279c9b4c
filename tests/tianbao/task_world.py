"""A world for the task and return tests, built with the real services.

On ``make_org``: 综合处 (A1) owns the items and collects (polonius heads it, gertrude is its clerk,
hamlet and ophelia are plain members). Two base units under agency A receive: 基层一所 (clerk
``filler1``, head ``head1``, staff ``staff1``) and 基层二所 (clerk ``filler2``, head ``head2``). Agency
B's 办公室 (B1: othello, iago heads it) is outside A's scope until a scope row adds it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select
from starlette.testclient import TestClient

import tianbao.rules  # noqa: F401  # the policy rules (office.app.load_rules imports them too)
from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.models import Role
from tests.factories import Org, login, make_user, new_client
from tianbao import items, returns, tasks
from tianbao.models import CollectTask, DataItem, UnitReturn

P = "/api/tianbao"
NUMBER = {"type": "number", "min": 0, "max": 1_000_000, "decimals": 2}
ITEMS: dict[str, dict[str, Any]] = {
    "POP": {"name": "常住人口", "spec": NUMBER, "cycle": "year", "unit_label": "万人"},
    "GDP": {"name": "地区生产总值", "spec": NUMBER, "cycle": "quarter", "unit_label": "亿元"},
    "NOTE": {"name": "情况说明", "spec": {"type": "text", "max_length": 50}, "cycle": "quarter"},
    "STAFF": {
        "name": "在编人数",
        "spec": {"type": "number", "min": 0},
        "cycle": "year",
        "source": "directory.staff_count",
    },
}


@dataclass
class World:
    org: Org
    units: dict[str, int] = field(default_factory=dict)
    items: dict[str, DataItem] = field(default_factory=dict)

    @property
    def db(self) -> Any:
        return self.org.db

    def actor(self, username: str) -> Any:
        return self.org.actor(username)

    def item_id(self, code: str) -> int:
        return self.items[code].id or 0


def build(org: Org) -> World:
    w = World(org)
    with org.db.write() as s:
        for key, name in (("U1", "基层一所"), ("U2", "基层二所")):
            w.units[key] = directory.create_department(s, SYSTEM, name=name, parent_id=org.agencies["A"]).id or 0
    w.units["B1"] = org.depts["B1"]
    for n in ("1", "2"):
        unit = w.units["U" + n]
        org.users["filler" + n] = make_user(
            org.db, "filler" + n, "填报员" + n, dept_id=unit, roles={Role.staff, Role.clerk}
        )
        org.users["head" + n] = make_user(
            org.db, "head" + n, "审核人" + n, dept_id=unit, roles={Role.staff, Role.dept_head}
        )
    org.users["staff1"] = make_user(org.db, "staff1", "科员一", dept_id=w.units["U1"], roles={Role.staff})
    with org.db.write() as s:
        for code, spec in ITEMS.items():
            item = items.create_item(s, org.actor("polonius"), {"code": code, "owner_dept_id": org.depts["A1"], **spec})
            s.flush()
            s.expunge(item)
            w.items[code] = item
    return w


def task_data(
    w: World, *, codes: tuple[str, ...] = ("POP", "GDP", "NOTE"), units: tuple[str, ...] = ("U1", "U2"), **extra: Any
) -> dict[str, Any]:
    return {
        "title": "2026年第4季度经济运行数据",
        "period": "2026Q4",
        "deadline": utcnow() + dt.timedelta(days=7),
        "items": [{"item_id": w.item_id(c), "section": "基本情况", "required": c == "POP"} for c in codes],
        "units": [{"unit_id": w.units[u]} for u in units],
        **extra,
    }


def issued(w: World, by: str = "polonius", **kw: Any) -> int:
    actor = w.actor(by)
    with w.db.write() as s:
        task = tasks.create_task(s, actor, task_data(w, **kw))
        tasks.issue(s, actor, task.id or 0, task.version)
        return task.id or 0


def ret_of(w: World, task_id: int, unit: str) -> UnitReturn:
    with w.db.read() as s:
        ret = s.exec(select(UnitReturn).where(UnitReturn.task_id == task_id, UnitReturn.unit_id == w.units[unit])).one()
        s.expunge(ret)
        return ret


def task_of(w: World, task_id: int) -> CollectTask:
    with w.db.read() as s:
        t = s.get(CollectTask, task_id)
        assert t is not None
        s.expunge(t)
        return t


def set_deadline(w: World, task_id: int, deadline: dt.datetime) -> None:
    """Move a task's deadline (into the past, to make its units late) as time would."""
    with w.db.write() as s:
        t = s.get(CollectTask, task_id)
        assert t is not None
        t.deadline = deadline
        s.add(t)


def fill(w: World, task_id: int, unit: str, vals: dict[str, Any], reasons: dict[str, str] | None = None) -> None:
    """The unit's filler fills and passes it on; its head submits it."""
    n = unit[1:]
    with w.db.write() as s:
        r = s.get(UnitReturn, ret_of(w, task_id, unit).id)
        assert r is not None
        filler = w.actor("filler" + n)
        ids = {str(w.item_id(c)): v for c, v in vals.items()}
        returns.save_values(s, filler, r, ids, {str(w.item_id(c)): t for c, t in (reasons or {}).items()}, r.version)
        returns.to_review(s, filler, r, r.version)
        returns.submit(s, w.actor("head" + n), r, r.version)


def as_user(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c


def refused(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    out = error_of(r)
    assert out["error"] and out["message"], out
    if code:
        assert out["error"] == code, out
    return out


def error_of(r: Any) -> dict[str, Any]:
    """An error's body without what differs per request (its ``request_id``)."""
    return {k: v for k, v in r.json().items() if k != "request_id"}
