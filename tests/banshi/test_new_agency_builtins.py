"""An agency created after start-up gets its built-in forms the first time a form list is opened
(staff's 发起申请 or the administrator's 表单管理); an agency that already has forms is left alone,
and a list that finds the forms there writes nothing."""

from __future__ import annotations

from sqlmodel import func, select
from starlette.testclient import TestClient

from banshi.builtin import BUILTIN_KEYS
from banshi.models import FormTemplate
from office.db import Database
from office.directory import service as directory
from office.models import DeptKind, Role
from tests.banshi.svc_helpers import make_template
from tests.banshi.test_routes_http import P, as_user
from tests.factories import SYSTEM, Org, make_user


def forms_of(db: Database, agency_id: int) -> int:
    with db.read() as s:
        return int(
            s.exec(select(func.count()).select_from(FormTemplate).where(FormTemplate.agency_id == agency_id)).one()
        )


def new_agency(db: Database, code: str, *people: tuple[str, set[Role]]) -> int:
    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name=f"新机关{code}", kind=DeptKind.agency, code=code)
        dept = directory.create_department(s, SYSTEM, name="办公室", parent_id=agency.id)
    for username, roles in people:
        make_user(db, username, username, dept_id=dept.id, roles=roles)
    return agency.id or 0


def test_staff_of_a_new_agency_find_the_built_in_forms(client: TestClient, db: Database, org: Org) -> None:
    agency = new_agency(db, "新1", ("xinren", {Role.staff}))
    assert forms_of(db, agency) == 0
    groups = as_user(client, "xinren").get(P + "/templates").json()["groups"]
    with db.read() as s:
        builtins = set(s.exec(select(FormTemplate.builtin).where(FormTemplate.agency_id == agency)).all())
    assert builtins == set(BUILTIN_KEYS)
    assert sum(len(g["items"]) for g in groups) == len(BUILTIN_KEYS)
    as_user(client, "xinren").get(P + "/templates")
    assert forms_of(db, agency) == len(BUILTIN_KEYS)  # given once


def test_the_administrators_list_gives_them_too(client: TestClient, db: Database, org: Org) -> None:
    agency = new_agency(db, "新2", ("xinadmin", {Role.staff, Role.admin}))
    items = as_user(client, "xinadmin").get(P + "/admin/templates").json()["items"]
    assert len(items) == len(BUILTIN_KEYS) == forms_of(db, agency)


def test_an_agency_with_forms_is_left_as_it_is(client: TestClient, db: Database, org: Org) -> None:
    tid = make_template(db, org)
    groups = as_user(client, "hamlet").get(P + "/templates").json()["groups"]
    assert [i["id"] for g in groups for i in g["items"]] == [tid]
    assert forms_of(db, org.agencies["A"]) == 1
