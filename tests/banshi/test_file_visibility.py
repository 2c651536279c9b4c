"""Files follow the visibility of the field they were attached through: a file of a field kept for
some steps (``visible_to``) is neither listed on the request's page nor served by
``GET /api/banshi/files/{id}`` to a reader who may not see that field (404, as for anything one may
not see). Files attached to a step's opinion stay every reader's."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from office.db import Database
from tests.banshi.svc_helpers import make_template, two_steps
from tests.factories import Org, login, new_client

P = "/api/banshi"
FIELDS: list[dict[str, Any]] = [
    {"key": "reason", "label": "事由", "type": "text", "required": True},
    {"key": "invoices", "label": "发票", "type": "attachment", "required": False, "max_files": 5},
    {
        "key": "medical",
        "label": "病历",
        "type": "attachment",
        "required": False,
        "max_files": 5,
        "visible_to": {"steps": ["s2"]},
    },
]


def as_user(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c


def upload(c: TestClient, name: str, data: bytes) -> int:
    r = c.post(P + "/files", params={"name": name}, content=data)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def listed(c: TestClient, rid: int) -> list[int]:
    r = c.get(f"{P}/requests/{rid}")
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["files"]]


def test_a_hidden_fields_files_are_neither_listed_nor_served(client: TestClient, db: Database, org: Org) -> None:
    tid = make_template(db, org, fields=FIELDS, route=two_steps(org))
    ham, pol, cla = as_user(client, "hamlet"), as_user(client, "polonius"), as_user(client, "claudius")
    invoice = upload(ham, "发票.pdf", b"%PDF-1.4 invoice")
    medical = upload(ham, "病历.pdf", b"%PDF-1.4 medical")
    values = {"reason": "报销", "invoices": [invoice], "medical": [medical]}
    made = ham.post(P + "/requests", json={"template_id": tid, "values": values, "submit": True})
    assert made.status_code == 201, made.text
    rid, version = made.json()["id"], made.json()["version"]

    # polonius (step s1) sees neither the field nor its file; 病历 answers 404 like a missing id.
    page = pol.get(f"{P}/requests/{rid}").json()
    assert "medical" not in page["values"] and "medical" not in [f["key"] for f in page["fields"]]
    assert listed(pol, rid) == [invoice]
    assert pol.get(f"{P}/files/{invoice}").content == b"%PDF-1.4 invoice"
    hidden = pol.get(f"{P}/files/{medical}")
    assert hidden.status_code == 404 and hidden.json()["error"], hidden.text
    hidden_body, missing_body = pol.get(f"{P}/files/{medical}").json(), pol.get(f"{P}/files/999999").json()
    assert hidden_body.pop("request_id") != missing_body.pop("request_id") and hidden_body == missing_body

    # His opinion's file is every reader's: the applicant and the next step read it.
    note = upload(pol, "意见.txt", "同意报销".encode())
    r = pol.post(f"{P}/requests/{rid}/approve", json={"version": version, "file_ids": [note]})
    assert r.status_code == 200, r.text
    assert listed(pol, rid) == [invoice, note]

    # claudius (step s2) and the applicant see the field, so its file too.
    for c in (cla, ham):
        assert listed(c, rid) == [invoice, medical, note]
        assert c.get(f"{P}/files/{medical}").content == b"%PDF-1.4 medical"
        assert c.get(f"{P}/files/{note}").content == "同意报销".encode()
    assert pol.get(f"{P}/files/{medical}").status_code == 404  # still not polonius's


def test_a_file_taken_out_of_a_hidden_field_stays_hidden(client: TestClient, db: Database, org: Org) -> None:
    """退回, the applicant replaces the 病历: the old file keeps its request but no field names it any
    more. It was a hidden field's, so it must not become every reader's (only an approver's opinion
    files are)."""
    tid = make_template(db, org, fields=FIELDS, route=two_steps(org))
    ham, pol = as_user(client, "hamlet"), as_user(client, "polonius")
    old = upload(ham, "病历.pdf", b"%PDF-1.4 old")
    made = ham.post(
        P + "/requests", json={"template_id": tid, "values": {"reason": "病假", "medical": [old]}, "submit": True}
    ).json()
    rid = made["id"]
    r = pol.post(
        f"{P}/requests/{rid}/return", json={"version": made["version"], "opinion": "请补充", "target": "draft"}
    )
    assert r.status_code == 200, r.text
    new = upload(ham, "病历2.pdf", b"%PDF-1.4 new")
    version = ham.get(f"{P}/requests/{rid}").json()["version"]
    r = ham.put(f"{P}/requests/{rid}", json={"values": {"reason": "病假", "medical": [new]}, "version": version})
    assert r.status_code == 200, r.text
    r = ham.post(f"{P}/requests/{rid}/submit", json={"version": r.json()["version"]})
    assert r.status_code == 200, r.text
    assert listed(pol, rid) == []
    for fid in (old, new):
        assert pol.get(f"{P}/files/{fid}").status_code == 404, fid
    assert listed(ham, rid) == [old, new]  # the applicant still has both
