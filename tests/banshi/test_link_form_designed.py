"""A link field may name any of the agency's forms, designed ones included (``link_form``: the form's
code, ``FormTemplate.code``; a built-in's is its key, so "travel" still names 出差审批): the server
then takes a request of that form only, over HTTP as the designer and the form page use it."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select
from starlette.testclient import TestClient

from banshi.models import ApprovalRequest
from office.db import Database
from tests.banshi.svc_helpers import make_template, step
from tests.factories import Org, login, new_client

P = "/api/banshi"


def _as(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c


def _designed(pro: TestClient, org: Org, name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A form designed from scratch and published through the designer's API; its admin listing."""
    made = pro.post(P + "/admin/templates", json={"name": name, "category": "行政"})
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    saved = pro.put(f"{P}/admin/templates/{tid}/draft", json={"fields": fields, "route": route, "options": {}})
    assert saved.status_code == 200, saved.text
    assert pro.post(f"{P}/admin/templates/{tid}/publish").status_code == 200
    return next(t for t in pro.get(P + "/admin/templates").json()["items"] if t["id"] == tid)


def _count(db: Database) -> int:
    with db.read() as s:
        return int(s.exec(select(func.count()).select_from(ApprovalRequest)).one())


def test_a_link_limited_to_a_designed_form_takes_its_requests_only(client: TestClient, db: Database, org: Org) -> None:
    pro, ham = _as(client, "prospero"), _as(client, "hamlet")
    reason = [{"key": "reason", "label": "事由", "type": "text", "required": True}]
    repair = _designed(pro, org, "设备报修", reason)  # form A
    assert repair["builtin"] == "" and repair["code"] != ""
    other = make_template(db, org, name="采购申请")  # another form of the agency
    link = {"key": "ticket", "label": "报修单", "type": "link", "to": "request", "link_form": repair["code"]}
    draft = pro.post(P + "/admin/templates", json={"name": "草稿", "category": "行政"}).json()["id"]
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["polonius"])]}, "cc": {}}
    for code in ("form_99", "Form_1", "出差"):  # no form of the agency, or no code at all: refused at design
        body = {"fields": [*reason, {**link, "link_form": code}], "route": route, "options": {}}
        bad = pro.put(f"{P}/admin/templates/{draft}/draft", json=body)
        assert (bad.status_code, bad.json()["error"], bad.json()["field"]) == (422, "bad_field", "ticket"), bad.text
    check = _designed(pro, org, "维修验收", [*reason, link])  # form B, its link limited to A
    version = ham.get(f"{P}/templates/{check['id']}").json()["version"]  # what the form page reads
    assert version["fields"][1]["link_form"] == repair["code"]

    def submit(template_id: int, values: dict[str, Any]) -> Any:
        return ham.post(P + "/requests", json={"template_id": template_id, "values": values, "submit": True})

    of_a = submit(repair["id"], {"reason": "打印机卡纸"})
    of_other = submit(other, {"reason": "买纸", "amount": 500})
    assert of_a.status_code == of_other.status_code == 201, (of_a.text, of_other.text)
    before = _count(db)
    wrong = submit(check["id"], {"reason": "验收", "ticket": {"kind": "request", "id": of_other.json()["id"]}})
    assert wrong.status_code == 422, wrong.text
    assert (wrong.json()["error"], wrong.json()["field"]) == ("bad_link", "ticket")
    assert wrong.json()["message"] == "“报修单”只能关联「设备报修」申请"
    assert _count(db) == before  # nothing saved
    ok = submit(check["id"], {"reason": "验收", "ticket": {"kind": "request", "id": of_a.json()["id"]}})
    assert ok.status_code == 201, ok.text
    assert _count(db) == before + 1
