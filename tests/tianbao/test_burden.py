"""The burden report (基层减负): per unit and month, tasks received, items asked, prefilled versus
typed, open→submit minutes, and the items more than one collector asked for; the leaders' ranking
of collectors; and who sees which units."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from office import demo as office_demo
from office.db import Database
from office.errors import PermissionDenied, ValidationError
from tests.factories import Org, login
from tests.tianbao import report_world as rw
from tianbao import board, burden, demo, returns, summary, tasks
from tianbao.models import UnitReturn

WHY = {"GDP": "新", "KIND": "新", "NOTE": "新"}


def _world(org: Org) -> tuple[rw.World, int, int]:
    w = rw.build(org)
    rw.store(w, "U1", "POP", "2026Q4", 12.5)  # reported before: the forms open with it
    first = rw.issue(w, "polonius", ["POP", "GDP", "NOTE"], ["U1", "U2"])  # 综合处
    second = rw.issue(w, "laertes", ["POP", "KIND"], ["U1"])  # 秘书处 asks 基层一所 for 常住人口 again
    rw.fill_and_submit(w, first, "U1", {"GDP": "100", "NOTE": "说明"}, WHY)  # 常住人口 left as prefilled
    rw.fill_and_submit(w, second, "U1", {"KIND": "城市"}, WHY)
    with org.db.write() as s:  # 基层二所 opened its return and has not submitted it
        ret = s.get(UnitReturn, rw.the_return(w, first, "U2").id)
        assert ret is not None
        returns.open_return(s, w.actor("filler2"), ret)
    for task_id, minutes in ((first, 30), (second, 120)):
        with org.db.write() as s:  # the unit took this long between opening and submitting
            ret = s.get(UnitReturn, rw.the_return(w, task_id, "U1").id)
            assert ret is not None and ret.submitted_at is not None
            ret.opened_at = ret.submitted_at - dt.timedelta(minutes=minutes)
            s.add(ret)
    return w, first, second


def _burden(w: rw.World, who: str, **kw: Any) -> dict[str, Any]:
    with w.org.db.read() as s:
        return burden.burden(s, w.actor(who), month=kw.pop("month", burden.this_month()), **kw)


def _units(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["unit_name"]: u for u in data["units"]}


def test_a_units_month_prefilled_typed_time_and_repeated_items(org: Org) -> None:
    w, _, _ = _world(org)
    u1 = _units(_burden(w, "claudius"))["基层一所"]
    assert u1["tasks"] == 2 and u1["submitted"] == 2
    assert u1["items_asked"] == 5
    assert u1["prefilled"] == 2 and u1["typed"] == 3  # 常住人口 twice from the registry; 总值, 备注, 类型 typed
    assert u1["prefilled_pct"] == 40.0
    assert u1["open_to_submit_minutes"] == {"median": 75.0, "average": 75.0}
    assert [(d["code"], d["collectors"]) for d in u1["duplicates"]] == [("POP", ["秘书处", "综合处"])]
    u2 = _units(_burden(w, "claudius"))["基层二所"]
    assert u2["tasks"] == 1 and u2["submitted"] == 0 and u2["items_asked"] == 3
    assert u2["prefilled"] == 0 and u2["typed"] == 0 and u2["duplicates"] == []
    assert u2["open_to_submit_minutes"] == {"median": None, "average": None}  # opened, not submitted
    assert _burden(w, "claudius", month="2020-01")["units"] == []
    with pytest.raises(ValidationError):
        _burden(w, "claudius", month="2026-13")


def test_who_sees_which_units(org: Org) -> None:
    w, _, _ = _world(org)
    assert set(_units(_burden(w, "filler1"))) == {"基层一所"}  # the unit's own staff
    assert set(_units(_burden(w, "head2"))) == {"基层二所"}
    assert set(_units(_burden(w, "claudius"))) == {"基层一所", "基层二所"}  # the agency's leader
    secretary = _units(_burden(w, "horatio"))  # a member of 秘书处: the returns of its own task only
    assert set(secretary) == {"基层一所"} and secretary["基层一所"]["tasks"] == 1
    assert _burden(w, "othello")["units"] == []  # another agency
    assert set(_units(_burden(w, "claudius", unit_id=w.units["U2"]))) == {"基层二所"}
    assert _burden(w, "filler1", unit_id=w.units["U2"])["units"] == []


def test_leaders_rank_collectors_by_the_typing_they_cause(org: Org) -> None:
    w, _, _ = _world(org)
    with org.db.read() as s:
        ranking = burden.collectors(s, w.actor("claudius"), month=burden.this_month())["collectors"]
        with pytest.raises(PermissionDenied):
            burden.collectors(s, w.actor("polonius"), month=burden.this_month())
    assert [(c["rank"], c["name"]) for c in ranking] == [(1, "综合处"), (2, "秘书处")]
    by = {c["name"]: c for c in ranking}
    assert by["综合处"]["typed"] == 2 and by["综合处"]["units"] == 2 and by["综合处"]["items_asked"] == 6
    assert by["秘书处"]["typed"] == 1 and by["秘书处"]["units"] == 1 and by["秘书处"]["items_asked"] == 2
    assert by["综合处"]["duplicate_items"] == 1 and by["秘书处"]["duplicate_items"] == 1  # 常住人口 of 基层一所


def test_http(client: TestClient, org: Org) -> None:
    w, _, _ = _world(org)
    login(client, "claudius")
    r = client.get(f"/api/tianbao/burden?month={burden.this_month()}")
    assert r.status_code == 200 and {u["unit_name"] for u in r.json()["units"]} == {"基层一所", "基层二所"}
    assert client.get("/api/tianbao/burden").json()["month"] == burden.this_month()
    assert client.get("/api/tianbao/burden?month=bad").status_code == 422
    r = client.get("/api/tianbao/burden/collectors")
    assert r.status_code == 200 and r.json()["collectors"][0]["rank"] == 1
    login(client, "filler1")
    assert client.get("/api/tianbao/burden/collectors").status_code == 403
    assert [u["unit_name"] for u in client.get("/api/tianbao/burden").json()["units"]] == ["基层一所"]


def test_units_of_several_agencies_are_told_apart_and_seeded_returns_have_no_time(db: Database) -> None:
    """The demo: each city's 统计科 reports to 规划处. The report named all three "统计科", and showed
    the seeded 第3季度 returns (opened and submitted in the same instant) as taking 0 minutes."""
    with db.write() as s:
        office_demo.seed(s, password="demo-password-2026")
    with db.write() as s:
        demo.seed(s, password="demo-password-2026")
    with db.read() as s:
        data = burden.burden(s, demo._head(s, demo.COLLECTOR), month=burden.this_month())
    assert [u["display_name"] for u in data["units"]] == ["广州市 统计科", "深圳市 统计科", "珠海市 统计科"]
    assert {u["unit_name"] for u in data["units"]} == {"统计科"}
    assert {u["agency_name"] for u in data["units"]} == {"广州市人民政府", "深圳市人民政府", "珠海市人民政府"}
    assert all(u["submitted"] == 1 for u in data["units"])  # the 第3季度 return, seeded
    assert {str(u["open_to_submit_minutes"]) for u in data["units"]} == {"{'median': None, 'average': None}"}
    # The task's summary names its units by the board's rule too (the page built its own names).
    with db.read() as s:
        head = demo._head(s, demo.COLLECTOR)
        task_ids = {r.task_id for r in s.exec(select(UnitReturn)).all()}
        for task_id in task_ids:
            task = tasks.get_task_for_collector(s, head, task_id)
            shown = {u["unit_id"]: u["display_name"] for u in summary.summary(s, task)["units"]}
            on_board = {u["unit_id"]: u["display_name"] for u in board.board(s, head, task_id)["units"]}
            assert shown == on_board and "广州市 统计科" in shown.values(), shown


def test_the_board_names_units_by_the_same_rule() -> None:
    assert board.unit_display_name("统计科", "广州市人民政府") == "广州市 统计科"
    assert board.unit_display_name("规划处", "广东省发展和改革委员会") == "广东省发展和改革委员会 规划处"
    assert board.unit_display_name("珠海市人民政府", "珠海市人民政府") == "珠海市人民政府"  # the agency itself
