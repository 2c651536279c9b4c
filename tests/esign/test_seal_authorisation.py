"""用印授权: a seal the keeper marked ``requires_authorisation`` is applied only under an approved 用印申请,
for the very file it approved, as many times as it allows; a 公文's 用印 is authorised by its 签发."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from esign import authorisations, service
from esign.models import LogLeaf, SealAuthorisation, SealUse
from office.errors import OfficeError
from office.models import AuditEntry
from tests.docs_flow.conftest import Clients
from tests.esign.svc import PIN, enrol, make_seal, seal_doc
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org, login, new_client

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _grant(org: Org, seal_id: int, doc: bytes, *, times: int = 1, reference: str = "banshi:7") -> int:
    with org.db.write() as s:
        row = authorisations.grant(
            s,
            None,
            seal_id=seal_id,
            reference=reference,
            title="用印申请 202612070001：合同",
            link="#/banshi/r/7",
            document_sha256=hashlib.sha256(doc).hexdigest(),
            times=times,
            applicant_id=org.users["hamlet"],
        )
        return row.id  # type: ignore[return-value]


def _apply(c: TestClient, seal_id: int, doc: bytes, authorisation_id: int | None = None) -> Any:
    data = {"pin": PIN, "reference": "合同 2026-1"}
    if authorisation_id is not None:
        data["authorisation_id"] = str(authorisation_id)
    return c.post(f"/api/esign/seals/{seal_id}/apply", data=data, files={"file": ("合同.docx", doc, DOCX)})


@pytest.fixture
def keeper(client: TestClient, org: Org) -> TestClient:
    enrol(org, "yorick")
    c = new_client(client.app)
    login(c, "yorick")
    return c


def _require(c: TestClient, seal_id: int, on: bool = True) -> dict[str, Any]:
    r = c.put(f"/api/esign/seals/{seal_id}/policy", json={"requires_authorisation": on})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_seal_that_requires_authorisation_refuses_a_use_without_a_valid_one(keeper: TestClient, org: Org) -> None:
    sid = make_seal(org)
    doc, other = build_docx(), build_docx(2)
    # Without the rule the keeper seals as before.
    assert _apply(keeper, sid, doc).status_code == 200
    assert _require(keeper, sid)["requires_authorisation"] is True
    with org.db.read() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "esign.seal_policy")).one()
        assert entry.detail == {"requires_authorisation": True}

    r = _apply(keeper, sid, doc)
    assert r.status_code == 409 and r.json()["error"] == "authorisation_required", r.text
    assert "用印申请" in r.json()["message"]

    grant = _grant(org, sid, doc)
    r = _apply(keeper, sid, other, grant)  # an authorisation for another file
    assert r.status_code == 422 and r.json()["error"] == "authorisation_file_mismatch", r.text
    other_seal = make_seal(org, seal_type="合同专用章")
    r = _apply(keeper, sid, doc, _grant(org, other_seal, doc))  # for another seal
    assert r.status_code == 422 and r.json()["error"] == "authorisation_other_seal"
    assert _apply(keeper, sid, doc, 999_999).status_code == 404

    r = _apply(keeper, sid, doc, grant)
    assert r.status_code == 200, r.text
    r = _apply(keeper, sid, doc, grant)  # the one approved use is spent
    assert r.status_code == 409 and r.json()["error"] == "authorisation_used_up"

    with org.db.read() as s:
        row = s.get(SealAuthorisation, grant)
        assert row is not None and row.times_used == 1
        uses = s.exec(select(SealUse).where(SealUse.seal_id == sid)).all()
        assert [u.authorisation_id for u in uses] == [None, grant]  # refused calls left nothing
    # 用印登记 names the approval and links back to it.
    items = keeper.get(f"/api/esign/seals/{sid}/uses").json()["items"]
    assert items[0]["authorisation"]["reference"] == "banshi:7"
    assert items[0]["authorisation"]["link"] == "#/banshi/r/7" and items[1]["authorisation"] is None
    listed = keeper.get(f"/api/esign/seals/{sid}/authorisations").json()["items"]
    assert [(a["id"], a["times_used"], a["open"]) for a in listed] == [(grant, 1, False)]
    assert keeper.get(f"/api/esign/seals/{sid}/authorisations?open=1").json()["items"] == []


def test_an_authorisation_for_several_uses_counts_each(keeper: TestClient, org: Org) -> None:
    sid = make_seal(org)
    doc = build_docx()
    _require(keeper, sid)
    grant = _grant(org, sid, doc, times=2)
    assert _apply(keeper, sid, doc, grant).status_code == 200
    assert _apply(keeper, sid, doc, grant).status_code == 200
    assert _apply(keeper, sid, doc, grant).json()["error"] == "authorisation_used_up"
    with org.db.read() as s:
        assert s.get(SealAuthorisation, grant).times_used == 2  # type: ignore[union-attr]


def test_the_service_refuses_too_and_the_policy_is_the_keepers(client: TestClient, org: Org) -> None:
    enrol(org, "yorick")
    enrol(org, "claudius")
    sid = make_seal(org, users=("claudius",))
    with org.db.write() as s:
        authorisations.set_required(s, org.actor("yorick"), sid, required=True)
    with pytest.raises(OfficeError) as err:
        seal_doc(org, "claudius", sid)
    assert err.value.code == "authorisation_required"
    # A user of the seal who is not its keeper cannot turn the rule off.
    leader = new_client(client.app)
    login(leader, "claudius")
    r = leader.put(f"/api/esign/seals/{sid}/policy", json={"requires_authorisation": False})
    assert r.status_code == 403
    # Bad grants are refused with a reason.
    with org.db.write() as s, pytest.raises(OfficeError) as err:
        authorisations.grant(
            s,
            None,
            seal_id=sid,
            reference="banshi:1",
            title="",
            link="",
            document_sha256="xyz",
            times=1,
            applicant_id=None,
        )
    assert err.value.code == "bad_document_sha256"


def test_a_revoked_authorisation_is_refused(keeper: TestClient, org: Org) -> None:
    sid = make_seal(org)
    doc = build_docx()
    _require(keeper, sid)
    grant = _grant(org, sid, doc, times=3, reference="banshi:9")
    assert _apply(keeper, sid, doc, grant).status_code == 200
    with org.db.write() as s:
        assert authorisations.revoke_reference(s, None, "banshi:9") == 1
    r = _apply(keeper, sid, doc, grant)
    assert r.status_code == 409 and r.json()["error"] == "authorisation_revoked"
    with org.db.read() as s:
        row = s.get(SealAuthorisation, grant)
        assert row is not None and row.times_used == 1 and row.revoked_at is not None
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "esign.seal_authorisation_revoked")).one()


def test_a_grant_is_logged_and_audited(keeper: TestClient, org: Org) -> None:
    sid = make_seal(org)
    grant = _grant(org, sid, build_docx())
    with org.db.read() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "esign.seal_authorised")).one()
        assert entry.detail["authorisation_id"] == grant and entry.actor_name == "系统"
        assert "seal.authorised" in s.exec(select(LogLeaf.kind)).all()


def test_a_document_is_sealed_under_its_sign_off_on_a_seal_that_requires_authorisation(
    client: TestClient, org: Org
) -> None:
    """A 公文's 用印 (Word, PDF and OFD) passes on a seal requiring 用印申请: its 签发 authorises it."""
    from tests.docs_flow.test_routes import advance, create

    users = Clients(client.app)
    try:
        enrol(org, "claudius")
        enrol(org, "yorick")
        sid = make_seal(org, users=("yorick",))
        _require(users["yorick"], sid)
        doc = create(users, org, main_recipients=["省财政厅"])
        doc = advance(users, doc, "核发/分发")
        assert doc["status"] == "sealed"
        with org.db.read() as s:
            uses = s.exec(select(SealUse).where(SealUse.seal_id == sid)).all()
            assert len(uses) >= 2 and all(u.authorisation_id is None for u in uses)
    finally:
        users.close()


def test_issued_is_not_reachable_over_http(keeper: TestClient, org: Org) -> None:
    """The keeper's endpoint takes an id: a text value is refused, never read as a 签发."""
    sid = make_seal(org)
    _require(keeper, sid)
    r = keeper.post(
        f"/api/esign/seals/{sid}/apply",
        data={"pin": PIN, "reference": "x", "authorisation_id": "issued"},
        files={"file": ("a.docx", build_docx(), DOCX)},
    )
    assert r.status_code == 422 and r.json()["field"] == "authorisation_id"
    assert service.Issued("x") != 1
