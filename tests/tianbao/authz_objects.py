"""数据填报's objects in the authorization matrix's world (``tests/authz_world.py`` calls ``build``;
``tests/test_authz_matrix.py`` calls ``params`` and ``request``).

The fixed callers have no part in any of them. A third agency (省统计局, its 综合统计处 headed by
``tbo``) owns the items: ``tb_item``, 内部 with no other reader (the item routes' object), and a public
one the tasks use. Agency A's 规划处 (head ``tbc``) collects ``tb_task`` from 基层一所 (``tbf1`` fills,
``tbh1`` reviews; not started) and 基层二所 (``tbf2`` / ``tbh2``; waiting for review); A's administrator
prospero may manage it. Calls that only one person may make once (edit, issue, close, withdraw, accept,
return) go to agency B's tasks, collected by its 统计办 (head ``tbd``), which prospero cannot touch: the
draft ``tb_draft`` (to B基层一所) and ``tb_b_task`` (issued to B基层一所 and B基层二所, both submitted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import select

from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.models import DeptKind, Role
from tests.factories import make_user
from tianbao import items, returns, tasks
from tianbao.models import CollectTask, UnitReturn

P = "/api/tianbao"


def build(w: Any) -> None:
    org, db, ids = w.org, w.app.state.db, w.ids
    units: dict[str, int] = {}
    with db.write() as s:
        c = directory.create_department(s, SYSTEM, name="省统计局", kind=DeptKind.agency, code="粤统")
        owner = directory.create_department(s, SYSTEM, name="综合统计处", parent_id=c.id).id or 0
        collectors = {
            "A": directory.create_department(s, SYSTEM, name="规划处", parent_id=org.agencies["A"]).id or 0,
            "B": directory.create_department(s, SYSTEM, name="统计办", parent_id=org.agencies["B"]).id or 0,
        }
        for key, name, agency in (
            ("U1", "基层一所", "A"),
            ("U2", "基层二所", "A"),
            ("V1", "B基层一所", "B"),
            ("V2", "B基层二所", "B"),
        ):
            units[key] = directory.create_department(s, SYSTEM, name=name, parent_id=org.agencies[agency]).id or 0
    head = {Role.staff, Role.dept_head}
    for name, dept in (("tbo", owner), ("tbc", collectors["A"]), ("tbd", collectors["B"])):
        org.users[name] = make_user(db, name, name, dept_id=dept, roles=head)
    for n, key in enumerate(("U1", "U2", "V1", "V2"), start=1):
        org.users[f"tbf{n}"] = make_user(
            db, f"tbf{n}", f"填报员{n}", dept_id=units[key], roles={Role.staff, Role.clerk}
        )
        org.users[f"tbh{n}"] = make_user(db, f"tbh{n}", f"审核人{n}", dept_id=units[key], roles=head)
    ids["tb_owner_dept"], ids["tb_u1"] = owner, units["U1"]
    with db.write() as s:
        number = {"type": "number", "min": 0}
        made = [
            items.create_item(
                s,
                org.actor("tbo"),
                {"code": code, "name": name, "owner_dept_id": owner, "level": level, "spec": number},
            )
            for code, name, level in (("TB.A1", "常住人口", "internal"), ("TB.A2", "地区生产总值", "public"))
        ]
        ids["tb_item_id"], ids["tb_public_item"] = made[0].id, made[1].id
    due = utcnow() + dt.timedelta(days=7)

    def task(by: str, unit_keys: tuple[str, ...], issue: bool) -> int:
        with db.write() as s:
            t = tasks.create_task(
                s,
                org.actor(by),
                {
                    "title": "四季度数据",
                    "period": "2026Q4",
                    "deadline": due,
                    "items": [{"item_id": ids["tb_public_item"]}],
                    "units": [{"unit_id": units[k]} for k in unit_keys],
                },
            )
            if issue:
                tasks.issue(s, org.actor(by), t.id or 0, t.version)
            return t.id or 0

    ids["tb_task"] = task("tbc", ("U1", "U2"), True)
    ids["tb_draft"] = task("tbd", ("V1",), False)
    ids["tb_b_task"] = task("tbd", ("V1", "V2"), True)
    with db.write() as s:
        rets = {r.unit_id: r for r in s.exec(select(UnitReturn)).all()}
        ids["tb_r1"], ids["tb_r2"] = rets[units["U1"]].id, rets[units["U2"]].id
        ids["tb_rb1"], ids["tb_rb2"] = rets[units["V1"]].id, rets[units["V2"]].id
        for key, n, submit in (("U2", 2, False), ("V1", 3, True), ("V2", 4, True)):
            r = rets[units[key]]
            filler = org.actor(f"tbf{n}")
            returns.save_values(s, filler, r, {str(ids["tb_public_item"]): 10}, {}, r.version)
            returns.to_review(s, filler, r, r.version)
            if submit:
                returns.submit(s, org.actor(f"tbh{n}"), r, r.version)


# Which object each route is called on, and as whom it is owned (see the expectations table).
T = P + "/tasks/{task_id:int}"
R = P + "/returns/{return_id:int}"
B_TASK = {("PUT", T): "tb_draft", ("POST", T + "/issue"): "tb_draft", ("POST", T + "/close"): "tb_draft"}
B_TASK[("POST", T + "/withdraw")] = "tb_b_task"
RETURN_OF = {("POST", R + "/submit"): "tb_r2", ("POST", R + "/accept"): "tb_rb1", ("POST", R + "/return"): "tb_rb2"}


def params(w: Any, method: str, path: str, values: dict[str, Any]) -> None:
    if not path.startswith(P + "/"):
        return
    ids = w.ids
    values["item_id"] = ids["tb_item_id"]
    values["task_id"] = ids[B_TASK.get((method, path), "tb_task")]
    values["return_id"] = ids[RETURN_OF.get((method, path), "tb_r1")]


def _version(w: Any, model: Any, key: str) -> int:
    with w.app.state.db.read() as s:
        return s.get(model, w.ids[key]).version  # type: ignore[no-any-return]


def request(w: Any, method: str, path: str) -> dict[str, Any] | None:
    if not path.startswith(P + "/"):
        return None
    ids = w.ids
    if (method, path) in B_TASK:
        key = B_TASK[(method, path)]
        body: dict[str, Any] = {"version": _version(w, CollectTask, key), "reason": "口径调整"}
        if method == "PUT":
            return {"json": {"version": body["version"], "title": "四季度数据（修改）"}}
        return {"json": body}
    version = _version(w, UnitReturn, RETURN_OF.get((method, path), "tb_r1"))
    item, owner = ids["tb_public_item"], ids["tb_owner_dept"]
    spec: dict[tuple[str, str], dict[str, Any]] = {
        ("GET", P + "/tasks"): {"params": {"box": "all"}},
        ("POST", P + "/tasks"): {
            "json": {
                "title": "补充数据",
                "period": "2026Q4",
                "deadline": (utcnow() + dt.timedelta(days=3)).isoformat(),
                "items": [{"item_id": item}],
            }
        },
        ("POST", T + "/urge"): {"json": {"return_ids": [ids["tb_r1"]]}},
        ("PUT", R): {"json": {"version": version, "values": {str(item): 12}}},
        ("POST", R + "/to-review"): {"json": {"version": version}},
        ("POST", R + "/send-back"): {"json": {"version": version, "comment": "请核实"}},
        ("POST", R + "/submit"): {"json": {"version": version}},
        ("POST", R + "/accept"): {"json": {"version": version}},
        ("POST", R + "/return"): {"json": {"version": version, "comments": [{"item_id": item, "text": "偏高"}]}},
        ("POST", R + "/xlsx"): {
            "data": {"version": str(version)},
            "files": {"file": ("填报.xlsx", b"not xlsx")},
        },
        ("GET", P + "/items/{item_id:int}/history"): {"params": {"unit_id": ids["tb_u1"], "period": "2026Q4"}},
        ("POST", P + "/items"): {
            "json": {"code": "TB.NEW", "name": "新指标", "owner_dept_id": owner, "spec": {"type": "number"}}
        },
        ("POST", P + "/items/propose"): {
            "json": {
                "code": "TB.PRO",
                "name": "拟增指标",
                "owner_dept_id": w.org.depts["A1"],
                "spec": {"type": "number"},
            }
        },
        ("PUT", P + "/items/{item_id:int}"): {"json": {"version": 1, "definition": "按常住地统计"}},
        ("POST", P + "/items/{item_id:int}/review"): {"json": {"approve": True, "version": 1}},
        ("PUT", P + "/scopes"): {"json": {"grants": []}},
        ("GET", P + "/burden"): {"params": {"month": "2026-12"}},
        ("GET", P + "/burden/collectors"): {"params": {"month": "2026-12"}},
    }
    return spec.get((method, path))
