"""``office demo`` shows 数据填报 working: three cities the provincial agencies may collect from, a
registry of items, a 第3季度 round filled, submitted and accepted, and the 第4季度 task issued, whose
forms open prefilled from it; the cities' people log in with the demo password."""

from __future__ import annotations

from sqlmodel import col, func, select
from starlette.testclient import TestClient

from office import demo as office_demo
from office.db import Database
from office.models import Department, DeptKind
from tests.factories import new_client
from tianbao import demo
from tianbao.models import CollectScope, CollectTask, DataItem, DataValue, ReturnStatus, TaskStatus, UnitReturn

PASSWORD = "demo-password-2026"


def test_the_demo_issues_the_fourth_quarter_to_three_cities_prefilled(client: TestClient, db: Database) -> None:
    with db.write() as s:
        office_demo.seed(s, password=PASSWORD)
    with db.write() as s:
        demo.seed(s, password=PASSWORD)
    with db.write() as s:
        demo.seed(s, password=PASSWORD)  # a second run adds nothing
    with db.read() as s:
        cities = s.exec(select(Department).where(col(Department.name).in_([c[0] for c in demo.CITIES]))).all()
        assert len(cities) == 3 and {c.kind for c in cities} == {DeptKind.agency}
        assert s.exec(select(func.count()).select_from(CollectScope)).one() == 9  # three agencies × three cities
        assert s.exec(select(func.count()).select_from(DataItem)).one() == len(demo.ITEMS) == 12
        q3, q4 = s.exec(select(CollectTask).order_by(col(CollectTask.id))).all()
        assert (q3.title, q3.status, q4.title, q4.status) == (
            demo.Q3_TITLE,
            TaskStatus.closed,
            demo.Q4_TITLE,
            TaskStatus.issued,
        )
        assert {r.status for r in s.exec(select(UnitReturn).where(UnitReturn.task_id == q3.id))} == {
            ReturnStatus.accepted
        }
        assert {r.status for r in s.exec(select(UnitReturn).where(UnitReturn.task_id == q4.id))} == {
            ReturnStatus.not_started
        }
        assert s.exec(select(func.count()).select_from(DataValue)).one() > 20
    c = new_client(client.app)
    r = c.post("/api/auth/login", json={"username": "gz_filler", "password": PASSWORD})
    assert r.status_code == 200, r.text
    todo = c.get("/api/tianbao/returns").json()["items"]
    assert [i["title"] for i in todo] == [demo.Q4_TITLE]
    form = c.get(f"/api/tianbao/returns/{todo[0]['id']}").json()
    shown = {i["code"]: i for sec in form["sections"] for i in sec["items"]}
    assert shown["GD.A01.001"]["value"] == 1882.7 and shown["GD.A01.001"]["prefill"]["source"] == "registry"
    assert shown["GD.A01.004"]["value"] == 2778  # a standing figure
    assert shown["GD.A01.002"]["prefill"]["source"] == "computed" and shown["GD.A01.002"]["value"] == 3
    assert shown["GD.B01.001"]["value"] is None  # a new quarter's figure is typed
    assert [s["name"] for s in form["sections"]] == ["人口与机构", "经济运行", "财政", "重点项目"]
    collector = new_client(client.app)
    with db.read() as s:
        head = demo._head(s, demo.COLLECTOR)
    assert collector.post("/api/auth/login", json={"username": head.username, "password": PASSWORD}).status_code == 200
    b = collector.get(f"/api/tianbao/tasks/{q4.id}/board").json()
    assert b["counts"]["filling"] == 1 and b["counts"]["not_started"] == 2
