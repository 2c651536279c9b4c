"""用印申请: an approved request grants the 用印授权 for its one file; the keeper applies the seal through
the esign endpoint citing it, and the 用印登记 links back to the request."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

import banshi.seal_request  # noqa: F401  # registers the ``seal`` behaviour
from banshi import actions, builtin, files, submission
from banshi.models import ApprovalRequest, FormTemplate, RequestStatus
from banshi.seal_request import BEHAVIOUR
from esign import seals
from esign.models import SealAuthorisation, SealStatus
from office.db import Database
from office.errors import OfficeError
from tests.banshi.svc_helpers import make_template, two_steps
from tests.esign.svc import PIN, enrol, make_seal
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org, login, new_client

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def seal_fields() -> list[dict[str, Any]]:
    """The built-in 用印申请's fields, as ``banshi.builtin`` defines them."""
    return next(b for b in builtin.definitions() if b.builtin == "seal").fields


def _upload(org: Org, who: str, data: bytes) -> int:
    with org.db.write() as s:
        return files.upload(s, org.actor(who), name="合同.docx", content_type=DOCX, data=data).id  # type: ignore[return-value]


def _submit(org: Org, template_id: int, values: dict[str, Any]) -> int:
    with org.db.write() as s:
        req = submission.create_request(s, org.actor("hamlet"), template_id=template_id, values=values, submit=True)
        return req.id  # type: ignore[return-value]


def _approve(org: Org, request_id: int, *who: str) -> ApprovalRequest:
    for name in who:
        with org.db.write() as s:
            req = s.get(ApprovalRequest, request_id)
            assert req is not None
            actions.act(s, org.actor(name), request_id, "approve", version=req.version, opinion="同意")
    with org.db.read() as s:
        req = s.get(ApprovalRequest, request_id)
        assert req is not None
        return req


@pytest.fixture
def world(db: Database, org: Org) -> dict[str, Any]:
    enrol(org, "yorick")
    seal_id = make_seal(org)
    template_id = make_template(db, org, name="用印申请", builtin="seal", fields=seal_fields(), route=two_steps(org))
    return {"seal_id": seal_id, "template_id": template_id}


def test_an_approved_seal_request_authorises_the_keeper_to_seal_that_file(
    client: TestClient, org: Org, world: dict[str, Any]
) -> None:
    keeper = new_client(client.app)
    login(keeper, "yorick")
    sid = world["seal_id"]
    r = keeper.put(f"/api/esign/seals/{sid}/policy", json={"requires_authorisation": True})
    assert r.status_code == 200, r.text
    doc = build_docx()
    fid = _upload(org, "hamlet", doc)
    rid = _submit(org, world["template_id"], {"seal_id": sid, "file": [fid], "times": 1, "purpose": "签订采购合同"})

    # Before the approval ends, there is nothing to cite.
    with org.db.read() as s:
        assert s.exec(select(SealAuthorisation)).all() == []
    req = _approve(org, rid, "polonius", "claudius")
    assert req.status == RequestStatus.approved
    with org.db.read() as s:
        (grant,) = s.exec(select(SealAuthorisation)).all()
    assert grant.document_sha256 == hashlib.sha256(doc).hexdigest()
    assert (grant.seal_id, grant.times_allowed, grant.times_used) == (sid, 1, 0)
    assert grant.reference == f"banshi:{rid}" and grant.link == f"#/banshi/r/{rid}"
    assert grant.applicant_id == org.users["hamlet"] and req.serial in grant.title

    # The keeper sees it among the seal's open grants and seals the very file with it.
    listed = keeper.get(f"/api/esign/seals/{sid}/authorisations?open=1").json()["items"]
    assert [a["id"] for a in listed] == [grant.id]
    r = keeper.post(
        f"/api/esign/seals/{sid}/apply",
        data={"pin": PIN, "reference": f"用印申请 {req.serial}", "authorisation_id": str(grant.id)},
        files={"file": ("合同.docx", doc, DOCX)},
    )
    assert r.status_code == 200, r.text
    uses = keeper.get(f"/api/esign/seals/{sid}/uses").json()["items"]
    assert uses[0]["authorisation"]["link"] == f"#/banshi/r/{rid}"
    assert uses[0]["authorisation"]["reference"] == f"banshi:{rid}"

    # The request's page shows the grant and the use made under it.
    with org.db.read() as s:
        req = s.get(ApprovalRequest, rid)
        info = BEHAVIOUR.info(s, org.actor("hamlet"), req)["seal_authorisation"]  # type: ignore[arg-type]
    assert info["seal"]["id"] == sid
    (shown,) = info["authorisations"]
    assert (shown["times_used"], shown["open"]) == (1, False)
    assert [u["user_name"] for u in shown["uses"]] == ["周敏"]


def test_a_seal_request_names_an_active_seal_of_the_agency_and_one_file(org: Org, world: dict[str, Any]) -> None:
    sid = world["seal_id"]
    fid = _upload(org, "hamlet", build_docx())
    values = {"seal_id": sid, "file": [fid], "times": 1, "purpose": "x"}
    with org.db.read() as s:
        template = s.get(FormTemplate, world["template_id"])
        assert template is not None
        hamlet, othello = org.actor("hamlet"), org.actor("othello")
        assert BEHAVIOUR.prepare(s, hamlet, template, values) == {}
        for bad, code, field in (
            ({"seal_id": 999_999}, "bad_seal", "seal_id"),
            ({"seal_id": True}, "bad_seal", "seal_id"),
            ({"file": []}, "one_file_required", "file"),
            ({"file": [fid, fid]}, "one_file_required", "file"),
            ({"times": 0}, "bad_times", "times"),
        ):
            with pytest.raises(OfficeError) as err:
                BEHAVIOUR.prepare(s, hamlet, template, values | bad)
            assert (err.value.code, err.value.extra.get("field")) == (code, field), bad
        with pytest.raises(OfficeError) as err:  # a seal of another agency
            BEHAVIOUR.prepare(s, othello, template, values)
        assert err.value.code == "bad_seal"
    with org.db.write() as s:
        seals.set_status(s, org.actor("yorick"), sid, status=SealStatus.suspended)
    with org.db.write() as s, pytest.raises(OfficeError) as err:  # through the service: nothing is made
        submission.create_request(s, org.actor("hamlet"), template_id=world["template_id"], values=values, submit=True)
    assert err.value.code == "bad_seal"
