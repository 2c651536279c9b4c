"""办事 benchmarks. Route resolution (``banshi.routing.resolve``): a request by someone at the bottom of a
10-level department tree, on a route whose first branch holds (amount, a date range's days and the
applicant's department) and asks 连续多级主管 up 10 levels, the 分管领导 and the 主要领导, with 抄送 to
the personnel office and 去重 of everything. Target: under 1 ms. The baseline, measured in the same
run, is one indexed single-row query through the same session (the ratio says how many such queries
a resolution costs). Runs on a fresh SQLite database migrated like production.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LEVELS = 10  # departments below the agency, one inside the other
SIBLINGS = 4  # other departments at each level, each with a head and staff
STAFF = 5

FIELDS: list[dict[str, Any]] = [
    {"key": "amount", "label": "金额", "type": "money"},
    {"key": "dates", "label": "时间", "type": "daterange"},
    {"key": "kind", "label": "类型", "type": "select", "options": ["会议", "培训", "其他"]},
]


def _route(top_department: int) -> dict[str, Any]:
    def step(key: str, approvers: dict[str, Any]) -> dict[str, Any]:
        return {"key": key, "name": key, "approvers": approvers}

    return {
        "branches": [
            {
                "name": "培训",
                "when": {"field": "kind", "op": "==", "value": "培训"},
                "steps": [step("head", {"kind": "head"})],
            },
            {
                "name": "大额",
                "when": {
                    "all": [
                        {"field": "amount", "op": ">=", "value": 5_000_000},
                        {
                            "any": [
                                {"field": "dates.days", "op": ">", "value": 3},
                                {"field": "kind", "op": "==", "value": "会议"},
                            ]
                        },
                        {"applicant": "department", "op": "in", "value": [top_department]},
                    ]
                },
                "steps": [
                    step("heads", {"kind": "heads", "levels": LEVELS, "stop_depth": 2}),
                    step("sup", {"kind": "supervisor"}),
                    step("top", {"kind": "principal"}),
                ],
            },
        ],
        "default": {"steps": [step("head", {"kind": "head"})]},
        "cc": {"submit": [], "end": [{"kind": "offices", "office": "personnel", "role": "dept_head"}]},
    }


def _timed(fn: Callable[[], Any], repeat: int, before: Callable[[], Any]) -> float:
    """Median wall time of ``fn`` in milliseconds (``before`` runs untimed before each call)."""
    samples = []
    for _ in range(repeat):
        before()
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def _setup(folder: Path) -> tuple[Any, Any, int, int]:
    """The database, the applicant (deepest level), the level-1 department and a user id to read."""
    from sqlmodel import SQLModel

    from banshi import leaders
    from office.accounts import load_actor
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.directory import service as directory
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import DeptKind, Role
    from office.secrets_box import hash_password

    db = Database(load_settings({}, data_dir=folder, testing=True))
    upgrade(db)
    SQLModel.metadata.create_all(db.engine)  # the 办事 tables, until their migration exists
    pw = hash_password(db.settings, "bench-password-123456")
    n = 0

    def person(dept: int, roles: set[Role]) -> int:
        nonlocal n
        n += 1
        user = directory.create_user(
            s,
            SYSTEM,
            username=f"u{n:05d}",
            name=f"用户{n}",
            password="x",
            posts=[PostSpec(department_id=dept, title="科员")],
            roles=roles,
            check_password=False,
            password_hash=pw,
        )
        return user.id or 0

    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="基准机关", kind=DeptKind.agency).id or 0
        parent, chain = agency, []
        for level in range(LEVELS):
            for k in range(SIBLINGS):
                other = directory.create_department(s, SYSTEM, name=f"第{level + 1}层{k}", parent_id=parent).id or 0
                person(other, {Role.staff, Role.dept_head})
                for _ in range(STAFF):
                    person(other, {Role.staff})
            parent = directory.create_department(s, SYSTEM, name=f"第{level + 1}层", parent_id=parent).id or 0
            chain.append(parent)
            person(parent, {Role.staff, Role.dept_head})
            for _ in range(STAFF):
                person(parent, {Role.staff})
        applicant_id = person(chain[-1], {Role.staff})
        admin = person(chain[0], {Role.staff, Role.admin})
        supervisor = person(chain[0], {Role.staff, Role.leader})
        principal = person(chain[0], {Role.staff, Role.leader})
    with db.write() as s:
        actor = load_actor(s, admin)
        leaders.set_leaders(
            s,
            actor,
            {"principal": principal, "supervisors": [{"department_id": chain[2], "user_id": supervisor}]},
        )
        leaders.set_offices(s, actor, {"personnel_department_id": chain[1], "finance_department_id": None})
    with db.read() as s:
        applicant = load_actor(s, applicant_id)
    return db, applicant, chain[0], principal


def run(quick: bool) -> list[dict[str, Any]]:
    from sqlmodel import select

    from banshi import routing
    from banshi.models import FormVersion
    from office.models import User

    repeat = 300 if quick else 3000
    with tempfile.TemporaryDirectory() as tmp:
        db, applicant, top, some_user = _setup(Path(tmp))
        route = routing.validate_route(_route(top), FIELDS)
        version = FormVersion(
            template_id=0, no=1, fields=FIELDS, route=route, options={"dedupe": "all", "skip_applicant": True}
        )
        values = {
            "amount": 6_000_000,
            "dates": {"start": "2026-12-01", "end": "2026-12-08", "days": 5.0},
            "kind": "其他",
        }
        with db.read() as s:
            found = routing.resolve(s, applicant, version, values)
            assert found.branch == "大额" and len(found.steps) == LEVELS + 2, found  # a step per level, then two

            def resolution() -> None:
                routing.resolve(s, applicant, version, values)

            def one_query() -> None:
                s.exec(select(User.name).where(User.id == some_user)).one()

            # Each call starts with an empty identity map, as a request's session does.
            base = _timed(one_query, repeat, s.expunge_all)
            value = _timed(resolution, repeat, s.expunge_all)
        db.dispose()
    return [
        {
            "name": f"banshi.route_resolution_ms (conditions + 连续多级主管, {LEVELS}-level tree)",
            "value": round(value, 3),
            "unit": "ms",
            "baseline_value": round(base, 3),
            "ratio": round(value / base, 2),
            "target": "< 1 ms",
        }
    ]


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--full" not in sys.argv), ensure_ascii=False, indent=2))
