"""Every 办事 table error counts ``row`` from 0, as the client sent the rows, and says 第 n 行 counted
from 1: the form's detail tables (``banshi.fields``, tested in test_fields), the 差旅费 details and the
travel standards table (``banshi.travel``)."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from banshi import travel
from banshi.builtin import ensure_builtin_templates
from banshi.models import FormTemplate
from office.db import Database
from office.errors import ValidationError
from tests.banshi.people_world import as_user, set_offices
from tests.factories import Org

GOOD = {"region": "北京", "start": "2026-03-02", "end": "2026-03-03", "nights": 1, "lodging": 0}


@pytest.mark.parametrize(
    ("second", "code", "column", "says"),
    [
        ({**GOOD, "start": "2026-02-30"}, "bad_date", "start", "第 2 行的日期无效"),
        ({**GOOD, "end": "2026-03-01"}, "bad_range", "end", "第 2 行的返回日期早于出发日期"),
        ({**GOOD, "nights": 5}, "bad_nights", "nights", "第 2 行的住宿天数须在 0–2 之间"),
    ],
)
def test_expense_detail_errors(
    db: Database, org: Org, second: dict[str, object], code: str, column: str, says: str
) -> None:
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        t = s.exec(select(FormTemplate).where(FormTemplate.builtin == "expense")).first()
        assert t is not None
        with pytest.raises(ValidationError) as e:
            travel.ExpenseBehaviour().prepare(
                s, org.actor("hamlet"), t, {"rank": "其他人员", "details": {"rows": [GOOD, second]}}
            )
    assert e.value.code == code and e.value.message == says
    assert e.value.extra == {"field": "details", "row": 1, "column": column}


def test_standards_table_errors(client: TestClient, db: Database, org: Org) -> None:
    set_offices(db, org)
    with db.write() as s:
        travel.ensure_examples(s, org.agencies["A"])
    finance = as_user(client, "laertes")
    items = finance.get("/api/banshi/travel-standards").json()["items"]
    r = finance.put("/api/banshi/travel-standards", json={"items": [items[0], {**items[1], "region": ""}]})
    assert r.status_code == 422
    assert {k: v for k, v in r.json().items() if k != "request_id"} == {  # request_id: per request (office.logs)
        "error": "bad_region",
        "message": "第 2 行的地区不能为空（40 字以内）",
        "field": "region",
        "row": 1,
    }
    r = finance.put("/api/banshi/travel-standards", json={"items": [items[0], items[0]]})
    assert r.json()["error"] == "duplicate" and r.json()["row"] == 1 and r.json()["message"].startswith("第 2 行")
    r = finance.put("/api/banshi/travel-standards", json={"items": [{**items[0], "meal_fen": -1}]})
    assert r.json()["error"] == "bad_amount" and r.json()["row"] == 0 and r.json()["message"].startswith("第 1 行")
