"""待我审批 items say whether 批量同意 works for them (``batch``, from the version they were made
with), and a preview of a form still being filled (``partial``) skips only the required-field check."""

from __future__ import annotations

from starlette.testclient import TestClient

from office.db import Database
from tests.banshi.svc_helpers import make_template, step
from tests.banshi.test_routes_http import P, as_user, refused
from tests.factories import Org

FIELDS = [
    {"key": "reason", "label": "事由", "type": "text", "required": True},
    {"key": "amount", "label": "金额", "type": "money", "required": False},
    {
        "key": "items",
        "label": "明细",
        "type": "table",
        "required": True,
        "columns": [
            {"key": "name", "label": "名称", "type": "text", "required": True},
            {"key": "price", "label": "单价", "type": "money", "total": True},
        ],
    },
]


def test_todo_items_carry_whether_they_may_be_batch_approved(client: TestClient, db: Database, org: Org) -> None:
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    batch = make_template(db, org, name="用车", route=route, options={"batch": True})
    single = make_template(db, org, name="采购", route=route)
    ham, pol = as_user(client, "hamlet"), as_user(client, "polonius")
    made = {
        tid: ham.post(P + "/requests", json={"template_id": tid, "values": {"reason": "x"}, "submit": True}).json()[
            "id"
        ]
        for tid in (batch, single)
    }
    items = pol.get(P + "/requests", params={"box": "todo"}).json()["items"]
    assert {i["id"]: i["batch"] for i in items} == {made[batch]: True, made[single]: False}


def test_a_partial_preview_skips_only_the_required_check(client: TestClient, db: Database, org: Org) -> None:
    tid = make_template(db, org, fields=FIELDS)
    ham = as_user(client, "hamlet")
    half = {"items": [{"price": 1200}, {"name": "墨盒", "price": 300}]}  # reason and a row's 名称 not yet filled
    refused(ham.post(P + "/preview", json={"template_id": tid, "values": half}), 422, "required")
    r = ham.post(P + "/preview", json={"template_id": tid, "values": half, "partial": True})
    assert r.status_code == 200, r.text
    assert r.json()["values"]["items"]["totals"] == {"price": 1500}
    assert [s["key"] for s in r.json()["route"]] == ["s1", "s2"]
    assert ham.post(P + "/preview", json={"template_id": tid, "values": {}, "partial": True}).status_code == 200
    bad = {**half, "amount": "十元"}  # every other check stays
    refused(ham.post(P + "/preview", json={"template_id": tid, "values": bad, "partial": True}), 422)
    bad_cell = {"items": [{"name": "纸", "price": -5}]}
    body = refused(ham.post(P + "/preview", json={"template_id": tid, "values": bad_cell, "partial": True}), 422)
    assert body["row"] == 0 and body["column"] == "price"
