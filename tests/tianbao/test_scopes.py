"""数据采集关系: an agency collects from its own subtree and from the subtrees its scope rows name;
a row is a grant by an administrator of the agency that owns its root (the unit side consents; a
collector cannot reach another agency by itself), audited; a unit outside the scope is a 422 naming
it and nothing changes."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from office.actor import SYSTEM
from office.audit import AuditEntry
from office.db import Database
from office.directory import service
from office.errors import PermissionDenied, ValidationError
from office.models import DeptKind, Role
from tests.factories import Org, login, make_user
from tests.tianbao.registry_helpers import define  # noqa: F401  # registers the policy rules
from tianbao import scopes
from tianbao.models import CollectScope


def check(db: Database, agency: int, *units: int) -> list[int]:
    with db.read() as s:
        return list(scopes.check_units(s, agency, units))


def city(db: Database, name: str, parent: int | None = None) -> tuple[int, int]:
    """A city agency (its own tree unless ``parent``) with a 统计科."""
    with db.write() as s:
        agency = service.create_department(s, SYSTEM, name=name, kind=DeptKind.agency, parent_id=parent)
        office = service.create_department(s, SYSTEM, name="统计科", parent_id=agency.id)
        return agency.id or 0, office.id or 0


def grant(db: Database, agency: int, *pairs: tuple[int, int]) -> list[dict]:
    """The administrator of ``agency`` (the unit side) grants ``pairs`` [(collector, root)]."""
    with db.write() as s:
        return scopes.set_grants(s, dataclasses.replace(SYSTEM, agency_id=agency), list(pairs))


def b_admin(db: Database, org: Org) -> str:
    org.users["bsadmin"] = make_user(db, "bsadmin", "钱进", dept_id=org.depts["B1"], roles={Role.staff, Role.admin})
    return "bsadmin"


def test_own_subtree_only_until_a_scope_names_more(db: Database, org: Org) -> None:
    a, b = org.agencies["A"], org.agencies["B"]
    below, below_office = city(db, "省政府办公厅下属中心", parent=a)  # an agency inside A's tree
    assert check(db, a, a, org.depts["A1"], org.depts["A2"], below, below_office) == [
        a,
        org.depts["A1"],
        org.depts["A2"],
        below,
        below_office,
    ]
    for unit in (b, org.depts["B1"]):
        with pytest.raises(ValidationError) as e:
            check(db, a, org.depts["A1"], unit)
        assert e.value.code == "unit_out_of_scope" and e.value.extra["unit_id"] == unit
    with pytest.raises(ValidationError) as e:
        check(db, a, org.depts["B1"])
    assert "“办公室”不在本机关的数据采集范围内" == e.value.message
    with pytest.raises(ValidationError) as e:
        check(db, a, 999999)
    assert e.value.code == "unit_out_of_scope" and "999999" in e.value.message
    with pytest.raises(ValidationError):  # A's own tree is not B's
        check(db, b, org.depts["A1"])
    b_adm = org.actor(b_admin(db, org))
    with db.write() as s:
        scopes.set_grants(s, b_adm, [(a, b)])  # B's administrator consents
    assert check(db, a, b, org.depts["B1"]) == [b, org.depts["B1"]]
    with pytest.raises(ValidationError):  # the scope is A's, not B's: B still cannot reach A
        check(db, b, org.depts["A1"])


def test_only_the_agencys_administrator_grants(db: Database, org: Org) -> None:
    a, b = org.agencies["A"], org.agencies["B"]
    for username in ("polonius", "gertrude", "claudius", "hamlet", "othello", "iago"):
        actor = org.actor(username)
        with db.write() as s, pytest.raises(PermissionDenied):
            scopes.set_grants(s, actor, [(b if username in ("othello", "iago") else a, a)])
    with db.read() as s:
        assert s.exec(select(CollectScope)).all() == []


def test_a_collector_cannot_give_itself_another_agencys_units(client: TestClient, db: Database, org: Org) -> None:
    """The hole this rule closes: A's administrator alone used to add B's tree to A's scope."""
    a, b, b1 = org.agencies["A"], org.agencies["B"], org.depts["B1"]
    login(client, "prospero")
    for body in ({"root_ids": [b]}, {"grants": [{"collector_agency_id": a, "root_id": b1}]}):
        assert client.put("/api/tianbao/scopes", json=body).status_code == 422
    admin = org.actor("prospero")
    for root in (b, b1):
        with db.write() as s, pytest.raises(ValidationError) as e:
            scopes.set_grants(s, admin, [(a, root)])
        assert e.value.code == "root_out_of_agency" and e.value.extra["root_id"] == root
    with db.read() as s:
        assert s.exec(select(CollectScope)).all() == []
    with pytest.raises(ValidationError):  # A still cannot reach B
        check(db, a, b1)


def test_grants_replace_the_agencys_own_audit_and_refuse_bad_pairs(db: Database, org: Org) -> None:
    a, b = org.agencies["A"], org.agencies["B"]
    gz, gz_office = city(db, "广州市人民政府")
    sz, _ = city(db, "深圳市人民政府")
    shown = grant(db, gz, (a, gz), (b, gz_office), (a, gz))
    assert [(r["collector_name"], r["name"]) for r in shown] == [
        ("省政府办公厅", "广州市人民政府"),
        ("省财政厅", "统计科"),
    ]
    grant(db, sz, (a, sz))
    for pair, code in (
        ((a, sz), "root_out_of_agency"),  # 深圳's unit: not 广州's to grant
        ((a, 999999), "root_out_of_agency"),
        ((999999, gz), "collector_not_found"),
        ((gz_office, gz), "collector_not_found"),  # a department is not a collector
        ((gz, gz), "collector_not_found"),  # its own tree needs no grant
    ):
        with pytest.raises(ValidationError) as e:
            grant(db, gz, (b, gz), pair)
        assert e.value.code == code
    with db.read() as s:  # the refused changes changed nothing; 深圳's grant is not 广州's to replace
        assert [(r["collector_agency_id"], r["root_id"]) for r in scopes.list_grants(s, gz)] == [
            (a, gz),
            (b, gz_office),
        ]
        assert [r["root_id"] for r in scopes.list_held(s, a)] == [gz, sz]
    grant(db, gz, (b, gz))
    with db.read() as s:
        assert [r["root_id"] for r in scopes.list_held(s, a)] == [sz]
        logged = s.exec(select(AuditEntry).where(AuditEntry.action == "tianbao.scope_set")).all()
    assert [e.detail["after"] for e in logged] == [[[a, gz], [b, gz_office]], [[a, sz]], [[b, gz]]]
    assert logged[2].detail["before"] == [[a, gz], [b, gz_office]] and logged[2].target_id == str(gz)


def test_the_unit_tree_follows_the_same_rule(db: Database, org: Org) -> None:
    gz, gz_office = city(db, "广州市人民政府")
    city(db, "深圳市人民政府")
    grant(db, gz, (org.agencies["A"], gz))
    with db.read() as s:
        tree = scopes.collectable_units(s, org.agencies["A"])
    assert [t["name"] for t in tree] == ["省政府办公厅", "广州市人民政府"]
    assert [c["name"] for c in tree[0]["children"]] == ["综合处", "秘书处"]
    assert tree[1]["children"][0]["id"] == gz_office and tree[1]["children"][0]["agency_name"] == "广州市人民政府"
    grant(db, gz)
    b_adm = org.actor(b_admin(db, org))
    with db.write() as s:  # a department of another agency as a root: named with its agency
        scopes.set_grants(s, b_adm, [(org.agencies["A"], org.depts["B1"])])
    with db.read() as s:
        tree = scopes.collectable_units(s, org.agencies["A"])
    assert [(t["name"], t["agency_name"]) for t in tree] == [("省政府办公厅", "省政府办公厅"), ("办公室", "省财政厅")]


# Over HTTP ----------------------------------------------------------------------------------------------


def test_scopes_and_units_over_http(client: TestClient, db: Database, org: Org) -> None:
    a, b, a1 = org.agencies["A"], org.agencies["B"], org.depts["A1"]
    body = {"grants": [{"collector_agency_id": b, "root_id": a1}]}
    login(client, "polonius")
    assert client.put("/api/tianbao/scopes", json=body).status_code == 403
    assert client.get("/api/tianbao/scopes").status_code == 403
    login(client, "othello")
    assert [u["name"] for u in client.get("/api/tianbao/units").json()["units"]] == ["省财政厅"]
    login(client, "prospero")  # A's administrator lets B collect from A's 综合处
    r = client.put("/api/tianbao/scopes", json=body)
    assert r.status_code == 200, r.text
    assert [(g["collector_name"], g["name"]) for g in r.json()["grants"]] == [("省财政厅", "综合处")]
    assert client.get("/api/tianbao/scopes").json() == r.json() and r.json()["held"] == []
    bad = {"grants": [*body["grants"], {"collector_agency_id": b, "root_id": 999999}]}
    r = client.put("/api/tianbao/scopes", json=bad)
    assert r.status_code == 422 and r.json()["error"] == "root_out_of_agency" and "999999" in r.json()["message"]
    assert [g["root_id"] for g in client.get("/api/tianbao/scopes").json()["grants"]] == [a1]
    login(client, b_admin(db, org))  # B sees what it holds, and gives nothing
    got = client.get("/api/tianbao/scopes").json()
    assert got["grants"] == [] and [(h["root_id"], h["agency_id"]) for h in got["held"]] == [(a1, a)]
    login(client, "othello")
    assert [u["name"] for u in client.get("/api/tianbao/units").json()["units"]] == ["省财政厅", "综合处"]
