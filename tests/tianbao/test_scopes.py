"""数据采集关系: an agency collects from its own subtree and from the subtrees its scope rows name;
only its administrators set those rows (audited); a unit outside the scope is a 422 naming it and
nothing changes."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from office.actor import SYSTEM
from office.audit import AuditEntry
from office.db import Database
from office.directory import service
from office.errors import PermissionDenied, ValidationError
from office.models import DeptKind
from tests.factories import Org, login
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
    with db.write() as s:
        scopes.set_scopes(s, org.actor("prospero"), [b])
    assert check(db, a, b, org.depts["B1"]) == [b, org.depts["B1"]]
    with pytest.raises(ValidationError):  # the scope is A's, not B's: B still cannot reach A
        check(db, b, org.depts["A1"])


def test_only_the_agencys_administrator_sets_scopes(db: Database, org: Org) -> None:
    for username in ("polonius", "gertrude", "claudius", "hamlet"):
        with db.write() as s, pytest.raises(PermissionDenied):
            scopes.set_scopes(s, org.actor(username), [org.agencies["B"]])
    with db.read() as s:
        assert s.exec(select(CollectScope)).all() == []


def test_set_scopes_replaces_audits_and_refuses_unknown_roots(db: Database, org: Org) -> None:
    gz, _ = city(db, "广州市人民政府")
    sz, _ = city(db, "深圳市人民政府")
    admin = org.actor("prospero")
    with db.write() as s:
        shown = scopes.set_scopes(s, admin, [gz, sz, gz])
    assert [(r["root_id"], r["name"]) for r in shown] == [(gz, "广州市人民政府"), (sz, "深圳市人民政府")]
    with db.write() as s, pytest.raises(ValidationError) as e:
        scopes.set_scopes(s, admin, [sz, 999999])
    assert e.value.code == "unit_not_found"
    with db.read() as s:  # the refused change changed nothing
        assert [r["root_id"] for r in scopes.list_scopes(s, org.agencies["A"])] == [gz, sz]
    with db.write() as s:
        scopes.set_scopes(s, admin, [sz])
    with db.read() as s:
        assert [r["root_id"] for r in scopes.list_scopes(s, org.agencies["A"])] == [sz]
        logged = s.exec(select(AuditEntry).where(AuditEntry.action == "tianbao.scope_set")).all()
    assert [e.detail["after"] for e in logged] == [[gz, sz], [sz]]
    assert logged[1].detail["before"] == [gz, sz]


def test_the_unit_tree_follows_the_same_rule(db: Database, org: Org) -> None:
    gz, gz_office = city(db, "广州市人民政府")
    city(db, "深圳市人民政府")
    with db.write() as s:
        scopes.set_scopes(s, org.actor("prospero"), [gz, org.depts["A1"]])  # A1 is inside A's own tree already
    with db.read() as s:
        tree = scopes.collectable_units(s, org.agencies["A"])
    assert [t["name"] for t in tree] == ["省政府办公厅", "广州市人民政府"]
    assert [c["name"] for c in tree[0]["children"]] == ["综合处", "秘书处"]
    assert tree[1]["children"][0]["id"] == gz_office and tree[1]["children"][0]["agency_name"] == "广州市人民政府"
    with db.write() as s:  # a department of another agency as a root: named with its agency
        scopes.set_scopes(s, org.actor("prospero"), [org.depts["B1"]])
    with db.read() as s:
        tree = scopes.collectable_units(s, org.agencies["A"])
    assert [(t["name"], t["agency_name"]) for t in tree] == [("省政府办公厅", "省政府办公厅"), ("办公室", "省财政厅")]


# Over HTTP ----------------------------------------------------------------------------------------------


def test_scopes_and_units_over_http(client: TestClient, db: Database, org: Org) -> None:
    gz, gz_office = city(db, "广州市人民政府")
    login(client, "polonius")
    assert client.put("/api/tianbao/scopes", json={"root_ids": [gz]}).status_code == 403
    assert client.get("/api/tianbao/scopes").status_code == 403
    units = client.get("/api/tianbao/units").json()["units"]
    assert [u["name"] for u in units] == ["省政府办公厅"]
    login(client, "prospero")
    r = client.put("/api/tianbao/scopes", json={"root_ids": [gz]})
    assert r.status_code == 200, r.text
    assert client.get("/api/tianbao/scopes").json()["scopes"][0]["name"] == "广州市人民政府"
    r = client.put("/api/tianbao/scopes", json={"root_ids": [999999]})
    assert r.status_code == 422 and r.json()["error"] == "unit_not_found"
    assert [s["root_id"] for s in client.get("/api/tianbao/scopes").json()["scopes"]] == [gz]
    login(client, "polonius")
    assert [u["name"] for u in client.get("/api/tianbao/units").json()["units"]] == ["省政府办公厅", "广州市人民政府"]
