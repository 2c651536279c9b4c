"""The 用印登记 links each use to its 用印申请 (``#/banshi/r/<id>``). The agency's seal keeper is not on
the request's route but carries out its authorisation, so reads an approved one (every built-in field,
and the file they seal): not while it runs, not a rejected one, never another agency's keeper."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from starlette.testclient import TestClient

from banshi import visibility
from banshi.listing import BOXES, box_cond
from banshi.models import ApprovalRequest
from office.db import Database
from office.models import Role, UserRole
from tests.banshi.svc_helpers import make_template
from tests.banshi.test_listing_plan import _plan
from tests.banshi.test_seal_request import _approve, _submit, _upload, world  # noqa: F401  # ``world``: the fixture
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org, login, new_client

P = "/api/banshi"


def as_user(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c


def test_the_agencys_seal_keeper_reads_an_approved_seal_request(
    client: TestClient,
    org: Org,
    world: dict[str, Any],  # noqa: F811  # the fixture imported above
) -> None:
    with org.db.write() as s:  # othello keeps the seals of agency B
        s.add(UserRole(user_id=org.users["othello"], role=Role.seal_keeper))
    keeper, other_keeper, ophelia = as_user(client, "yorick"), as_user(client, "othello"), as_user(client, "ophelia")
    doc = build_docx()
    fid = _upload(org, "hamlet", doc)
    values = {"seal_id": world["seal_id"], "file": [fid], "times": 2, "purpose": "签订采购合同"}
    rid = _submit(org, world["template_id"], values)
    other_file = _upload(org, "hamlet", doc)
    rejected = _submit(org, world["template_id"], values | {"file": [other_file]})

    def reads(c: TestClient, request_id: int, file_id: int) -> bool:
        page = c.get(f"{P}/requests/{request_id}")
        download = c.get(f"{P}/files/{file_id}")
        assert page.status_code in (200, 404), page.text
        assert download.status_code == page.status_code, download.text  # the file follows the request
        return page.status_code == 200

    assert not reads(keeper, rid, fid)  # running: not yet the keeper's
    _approve(org, rid, "polonius", "claudius")
    pol = as_user(client, "polonius")
    version = pol.get(f"{P}/requests/{rejected}").json()["version"]
    r = pol.post(f"{P}/requests/{rejected}/reject", json={"version": version, "opinion": "不予用印"})
    assert r.status_code == 200, r.text

    assert reads(keeper, rid, fid)
    page = keeper.get(f"{P}/requests/{rid}").json()
    assert page["values"] == values and [f["id"] for f in page["files"]] == [fid]
    assert keeper.get(f"{P}/files/{fid}").content == doc
    assert not reads(keeper, rejected, other_file)  # rejected: nothing to carry out
    assert not reads(other_keeper, rid, fid) and not reads(ophelia, rid, fid)


def test_the_keepers_reading_walks_no_agency(db: Database, org: Org) -> None:
    """The keeper's branch of ``readable_cond`` filters rows the box found (as the agency test does,
    see ``test_listing_plan``); it does not start a walk of the agency's requests."""
    if db.engine.dialect.name != "sqlite":
        return  # the plan is SQLite's; PostgreSQL plans by its statistics
    make_template(db, org, name="用印申请", builtin="seal")
    actor = org.actor("yorick")
    with db.read() as s:
        assert visibility.keeper_template_ids(s, actor)  # the branch is there
        stmts = {
            box: select(ApprovalRequest)
            .where(box_cond(actor, box), visibility.readable_cond(s, actor))
            .order_by(col(ApprovalRequest.id).desc())
            .limit(21)
            for box in BOXES
        }
    for name, stmt in stmts.items():
        plan = _plan(db, stmt)
        assert "ix_bs_request_agency" not in plan and "SCAN bs_request" not in plan, (name, plan)
