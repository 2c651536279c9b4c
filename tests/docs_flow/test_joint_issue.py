"""联合行文 through HTTP: a 通知 of two agencies from draft to 归档 and to a receiving agency.

The drafter names the co-issuer (validated, kept through edits); the lead's keeper seals at 用印, the
step waits; the co-issuer's keeper, told on the 工作台 and allowed to read that one document, seals with
the co-issuer's own 公章, key and PIN; then the step finishes. The same sealed bytes, carrying both
seals, are in the downloads, the archive package and the receiving agency's 收文; every signature of
every format verifies (and the PDF's in pdfsig and pyHanko too)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from docs_flow.models import OutgoingDocument
from docs_flow.todo import SOURCES
from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.models import AuditEntry, DeptKind, Role
from tests.docs_flow.conftest import Clients, act
from tests.docs_flow.test_routes import advance, create, get, ok
from tests.esign.svc import PIN, enrol, make_seal
from tests.esign.test_pdf_sig import _pdfsig, _pyhanko, _root
from tests.factories import Org, make_user

JOINT = "docs_joint_seal"


def _verify(users: Clients, who: str, data: bytes, name: str = "d") -> dict[str, Any]:
    r = users[who].post("/api/esign/verify", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def joint_org(org: Org, users: Clients) -> Org:
    """B (省财政厅) gets a seal keeper (caliban) and its 公章; C (省民政厅) receives, read by its clerk."""
    org.users["caliban"] = make_user(
        org.db, "caliban", "钱进", dept_id=org.depts["B1"], roles={Role.staff, Role.seal_keeper}
    )
    enrol(org, "caliban")
    make_seal(org, keeper="caliban", users=("caliban",))
    with org.db.write() as s:
        c = directory.create_department(s, SYSTEM, name="省民政厅", kind=DeptKind.agency, code="粤民")
        org.agencies["C"] = c.id  # type: ignore[assignment]
        org.depts["C1"] = directory.create_department(s, SYSTEM, name="办公室", parent_id=c.id).id  # type: ignore[assignment]
    org.users["miranda"] = make_user(org.db, "miranda", "林芳", dept_id=org.depts["C1"], roles={Role.staff, Role.clerk})
    return org


def _todo(org: Org, username: str) -> list[str]:
    source = next(s for s in SOURCES if s.kind == JOINT)
    with org.db.read() as s:
        return [i.key for i in source.items(s, org.actor(username), box="todo", now=utcnow(), limit=10)]


def test_a_joint_notice_carries_every_seal_from_draft_to_archive_and_the_receiving_agency(
    users: Clients, joint_org: Org, tmp_path: Path
) -> None:
    org = joint_org
    b = org.agencies["B"]
    doc = create(
        users, org, main_recipients=["省民政厅"], title="关于联合开展预算绩效评价工作的通知", joint_issuers=[b]
    )
    assert doc["joint_issuers"] == [{"agency_id": b, "name": "省财政厅"}]
    # Kept through later edits of other fields (and of the text: a new version).
    doc = ok(users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "note": "此件公开发布"}))
    body = [{"kind": "paragraph", "text": "请各地按照本通知要求认真组织实施。"}]
    doc = ok(users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "body": body}))
    assert doc["joint_issuers"] == [{"agency_id": b, "name": "省财政厅"}] and doc["body_version_no"] == 2

    # The co-issuer's keeper sees nothing before the lead has sealed.
    assert users["caliban"].get(f"/api/docs/{doc['id']}").status_code == 404
    doc = advance(users, doc, "用印")
    assert users["caliban"].get(f"/api/docs/{doc['id']}").status_code == 404

    # The lead's keeper seals; the step stays at 用印, waiting for 省财政厅.
    doc = ok(act(users["yorick"], doc, "approve", opinion="用印", pin=PIN))
    assert doc["route"]["steps"][doc["route"]["current_step"]]["name"] == "用印" and doc["status"] == "signed"
    assert [s["agency"] for s in doc["joint_seal"]["seals"]] == ["省政府办公厅"]
    assert [p["name"] for p in doc["joint_seal"]["pending"]] == ["省财政厅"]
    r = act(users["yorick"], doc, "approve", opinion="完成", pin=PIN)
    assert r.status_code == 409 and r.json()["error"] == "joint_seals_pending", r.text

    # 省财政厅's keeper: a 待办 on the 工作台, may read this document, and seals with its own seal.
    assert _todo(org, "caliban") == [str(doc["id"])] and _todo(org, "yorick") == []
    seen = get(users, "caliban", doc)
    assert seen["joint_seal"]["my_turn"] and not seen["allowed_actions"].count("approve")
    r = users["caliban"].post(f"/api/docs/{doc['id']}/joint-seal", json={"version": seen["version"], "pin": "000000"})
    assert r.status_code in (401, 403, 422), r.text  # a wrong PIN changes nothing
    assert get(users, "caliban", doc)["version"] == seen["version"]
    doc = ok(users["caliban"].post(f"/api/docs/{doc['id']}/joint-seal", json={"version": seen["version"], "pin": PIN}))
    assert [s["agency"] for s in doc["joint_seal"]["seals"]] == ["省政府办公厅", "省财政厅"]
    assert doc["joint_seal"]["pending"] == [] and _todo(org, "caliban") == []
    r = users["caliban"].post(f"/api/docs/{doc['id']}/joint-seal", json={"version": doc["version"], "pin": PIN})
    assert r.status_code == 409 and r.json()["error"] == "already_joint_sealed"
    with org.db.read() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "docs.joint_seal")).one()
        assert entry.actor_id == org.users["caliban"]

    # The lead finishes 用印; 核发 delivers, 归档 files.
    doc = ok(act(users["yorick"], get(users, "yorick", doc), "approve", opinion="用印完成"))
    assert doc["status"] == "sealed"
    sealed = users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content
    pdf = users["hamlet"].get(f"/api/docs/{doc['id']}/pdf").content
    ofd = users["hamlet"].get(f"/api/docs/{doc['id']}/ofd").content
    assert doc["sealed_sha256"] == hashlib.sha256(sealed).hexdigest()
    assert doc["official_pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert doc["official_ofd_sha256"] == hashlib.sha256(ofd).hexdigest()
    for data, fmt in ((sealed, "docx"), (pdf, "pdf"), (ofd, "ofd")):
        report = _verify(users, "hamlet", data, f"d.{fmt}")
        assert report["valid"] and report.get("format", "docx") == fmt, report
        assert [s["seal_name"] for s in report["signatures"]] == ["省政府办公厅公章", "省财政厅公章"]
        assert [s["organization"] for s in report["signatures"]] == ["省政府办公厅", "省财政厅"]
        assert all(s["valid"] for s in report["signatures"])
    root = _root(org)
    out = _pdfsig(pdf, root, tmp_path)
    assert out.count("Signature is Valid.") == 2 and out.count("Certificate is Trusted.") == 2, out
    assert all(_pyhanko(pdf, root, i).bottom_line for i in (0, 1))  # type: ignore[attr-defined]

    doc = advance(users, get(users, "gertrude", doc), "end")
    assert doc["status"] == "archived"
    assert users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content == sealed
    assert users["caliban"].get(f"/api/docs/{doc['id']}/pdf").content == pdf  # the co-issuer reads the record
    packages = ok(users["gertrude"].get("/api/archive?kind=outgoing"))["items"]
    package = next(p for p in packages if p["doc_id"] == doc["id"])
    with zipfile.ZipFile(io.BytesIO(users["gertrude"].get(f"/api/archive/{package['id']}/download").content)) as z:
        assert z.read("document.docx") == sealed and z.read("document.pdf") == pdf and z.read("document.ofd") == ofd
    assert ok(users["gertrude"].get(f"/api/archive/{package['id']}/verify"))["ok"]

    item = next(i for i in ok(users["miranda"].get("/api/incoming?box=all"))["items"] if i["title"] == doc["title"])
    received = ok(users["miranda"].get(f"/api/incoming/{item['id']}"))
    for ext, data in ((".docx", sealed), (".pdf", pdf), (".ofd", ofd)):
        main = next(f for f in received["files"] if f["role"] == "main" and f["name"].endswith(ext))
        copy = users["miranda"].get(f"/api/incoming/{received['id']}/files/{main['id']}").content
        assert copy == data
    assert len(_verify(users, "miranda", sealed)["signatures"]) == 2


def test_only_the_co_issuers_seal_keepers_read_a_joint_document(users: Clients, joint_org: Org) -> None:
    """The cross-agency rule both ways: 省财政厅's keeper reads the lead's joint document once it is sealed;
    nobody else of 省财政厅 does (its leader, its staff), and no keeper of an agency not named does."""
    org = joint_org
    doc = create(users, org, joint_issuers=[org.agencies["B"]])
    doc = advance(users, doc, "用印")
    doc = ok(act(users["yorick"], doc, "approve", opinion="用印", pin=PIN))
    org.users["trinculo"] = make_user(
        org.db, "trinculo", "严明", dept_id=org.depts["C1"], roles={Role.staff, Role.seal_keeper}
    )
    assert users["caliban"].get(f"/api/docs/{doc['id']}").status_code == 200
    for outsider in ("desdemona", "othello", "iago", "trinculo"):
        assert users[outsider].get(f"/api/docs/{doc['id']}").status_code == 404, outsider
        assert users[outsider].get(f"/api/docs/{doc['id']}/docx").status_code == 404, outsider
        listed = ok(users[outsider].get("/api/docs?box=all"))["items"]
        assert doc["id"] not in [d["id"] for d in listed], outsider
    assert doc["id"] in [d["id"] for d in ok(users["caliban"].get("/api/docs?box=all"))["items"]]
    # A document 省财政厅 is not named on: its keeper does not see it.
    other = advance(users, create(users, org, title="关于做好单独发文工作的通知"), "用印")
    other = ok(act(users["yorick"], other, "approve", opinion="用印", pin=PIN))
    assert users["caliban"].get(f"/api/docs/{other['id']}").status_code == 404
    assert other["id"] not in [d["id"] for d in ok(users["caliban"].get("/api/docs?box=all"))["items"]]
    # Returned before 用印: the seals are void and the reading right with them.
    doc = get(users, "yorick", doc)
    returned = act(users["yorick"], doc, "return", target="draft", reason="重新拟稿")
    assert returned.status_code == 200, returned.text
    assert users["caliban"].get(f"/api/docs/{doc['id']}").status_code == 404


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("own", "own_agency_joint"),
        ("dup", "duplicate_joint_issuer"),
        ("dept", "bad_joint_issuer"),
        ("missing", "bad_joint_issuer"),
        ("six", "too_many_joint_issuers"),
    ],
)
def test_bad_joint_issuers_are_refused_and_change_nothing(
    users: Clients, joint_org: Org, value: str, code: str
) -> None:
    org = joint_org
    b = org.agencies["B"]
    ids = {
        "own": [org.agencies["A"]],
        "dup": [b, b],
        "dept": [org.depts["B1"]],
        "missing": [999_999],
        "six": [b, org.agencies["C"], *range(900_001, 900_005)],
    }[value]
    with org.db.read() as s:
        before = len(s.exec(select(OutgoingDocument)).all())
    r = users["hamlet"].post(
        "/api/docs", json={"doc_type": "通知", "title": "联合通知", "body": [], "joint_issuers": ids}
    )
    assert r.status_code == 422 and r.json()["error"] == code, r.text
    assert "联合发文机关" in r.json()["message"]
    with org.db.read() as s:
        assert len(s.exec(select(OutgoingDocument)).all()) == before
    doc = create(users, org, joint_issuers=[b])
    r = users["hamlet"].put(f"/api/docs/{doc['id']}", json={"version": doc["version"], "joint_issuers": ids})
    assert r.status_code == 422 and r.json()["error"] == code, r.text
    after = get(users, "hamlet", doc)
    assert after["version"] == doc["version"] and after["joint_issuers"] == [{"agency_id": b, "name": "省财政厅"}]
