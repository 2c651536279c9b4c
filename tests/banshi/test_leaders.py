"""分管领导, 主要领导 and the agency's 人事处/财务处 (``banshi.leaders``): set by the agency's
administrators only, checked against the agency, audited, and read by routes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, func, select

from banshi import leaders
from banshi.models import AgencyOffices, LeaderAssignment
from office.errors import PermissionDenied, ValidationError
from office.models import AuditEntry, User
from tests.factories import Org


def state(org: Org) -> tuple[Any, ...]:
    with org.db.read() as s:
        rows = s.exec(select(LeaderAssignment.department_id, LeaderAssignment.kind, LeaderAssignment.user_id)).all()
        offices = s.exec(select(AgencyOffices.agency_id, AgencyOffices.personnel_department_id)).all()
        audits = s.exec(select(func.count()).select_from(AuditEntry)).one()
        return sorted(rows), sorted(offices), audits


def test_an_administrator_names_the_leaders_and_the_audit_log_says_so(org: Org) -> None:
    admin = org.actor("prospero")
    with org.db.write() as s:
        view = leaders.set_leaders(
            s,
            admin,
            {
                "principal": org.users["claudius"],
                "supervisors": [{"department_id": org.depts["A2"], "user_id": org.users["claudius"]}],
            },
        )
    assert view == {
        "principal": {"id": org.users["claudius"], "name": "赵刚"},
        "supervisors": [
            {"department_id": org.depts["A2"], "department": "秘书处", "user_id": org.users["claudius"], "name": "赵刚"}
        ],
    }
    with org.db.write() as s:  # the next call replaces the set
        view = leaders.set_leaders(
            s, admin, {"supervisors": [{"department_id": org.depts["A1"], "user_id": org.users["polonius"]}]}
        )
        assert view["principal"] is None and [x["department_id"] for x in view["supervisors"]] == [org.depts["A1"]]
        entry = s.exec(
            select(AuditEntry).where(AuditEntry.action == "banshi.leaders.set").order_by(col(AuditEntry.id).desc())
        ).first()
        assert entry is not None and entry.actor_id == org.users["prospero"]
        assert entry.detail == {"principal": None, "supervisors": {str(org.depts["A1"]): org.users["polonius"]}}
        assert leaders.leaders_view(s, admin) == view


def test_an_administrator_names_the_offices(org: Org) -> None:
    admin = org.actor("prospero")
    with org.db.write() as s:
        view = leaders.set_offices(
            s, admin, {"personnel_department_id": org.depts["A2"], "finance_department_id": org.depts["A1"]}
        )
        assert view == {
            "personnel": {"id": org.depts["A2"], "name": "秘书处"},
            "finance": {"id": org.depts["A1"], "name": "综合处"},
        }
        assert leaders.office_department_id(s, org.agencies["A"], "finance") == org.depts["A1"]
        view = leaders.set_offices(s, admin, {"personnel_department_id": org.depts["A2"]})
        assert view["finance"] is None
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "banshi.offices.set")).all()


@pytest.mark.parametrize("username", ["hamlet", "polonius", "claudius", "iago"])
def test_only_administrators_may_read_or_change_them(org: Org, username: str) -> None:
    actor = org.actor(username)
    before = state(org)
    with org.db.write() as s:
        for call in (
            lambda: leaders.set_leaders(s, actor, {"principal": actor.user_id}),
            lambda: leaders.set_offices(s, actor, {"personnel_department_id": org.depts["A1"]}),
            lambda: leaders.leaders_view(s, actor),
            lambda: leaders.offices_view(s, actor),
        ):
            with pytest.raises(PermissionDenied):
                call()
    assert state(org) == before


def bad_leaders(org: Org) -> list[tuple[Any, str]]:
    a1, b1 = org.depts["A1"], org.depts["B1"]
    polonius = org.users["polonius"]
    return [
        ("x", "bad_leaders"),
        ({"principal": "赵刚"}, "bad_leaders"),
        ({"leaders": []}, "bad_leaders"),
        ({"supervisors": [{"department_id": a1}]}, "bad_leaders"),
        ({"supervisors": [{"department_id": b1, "user_id": polonius}]}, "bad_department"),  # another agency's
        ({"supervisors": [{"department_id": org.agencies["A"], "user_id": polonius}]}, "bad_department"),
        ({"supervisors": [{"department_id": 999_999, "user_id": polonius}]}, "bad_department"),
        ({"supervisors": [{"department_id": a1, "user_id": org.users["iago"]}]}, "bad_user"),
        ({"principal": org.users["desdemona"]}, "bad_user"),  # B's leader
        ({"principal": 999_999}, "bad_user"),
        (
            {"supervisors": [{"department_id": a1, "user_id": polonius}, {"department_id": a1, "user_id": polonius}]},
            "duplicate_department",
        ),
    ]


def test_bad_leaders_are_refused_and_change_nothing(org: Org) -> None:
    admin = org.actor("prospero")
    with org.db.write() as s:
        leaders.set_leaders(s, admin, {"principal": org.users["claudius"]})
    before = state(org)
    for raw, code in bad_leaders(org):
        with pytest.raises(ValidationError) as exc, org.db.write() as s:
            leaders.set_leaders(s, admin, raw)
        assert exc.value.code == code, raw
        assert exc.value.message
    with org.db.write() as s:
        with pytest.raises(ValidationError) as exc:
            leaders.set_offices(s, admin, {"personnel_department_id": org.depts["B1"]})
        assert exc.value.code == "bad_department"
        with pytest.raises(ValidationError):
            leaders.set_offices(s, admin, {"canteen_department_id": org.depts["A1"]})
    assert state(org) == before


def test_a_leader_who_left_is_no_leader(org: Org) -> None:
    admin = org.actor("prospero")
    with org.db.write() as s:
        leaders.set_leaders(
            s,
            admin,
            {
                "principal": org.users["claudius"],
                "supervisors": [{"department_id": org.depts["A1"], "user_id": org.users["polonius"]}],
            },
        )
    with org.db.write() as s:
        found = leaders.leaders_of(s, [org.depts["A1"], org.agencies["A"]])
        assert found == {
            (org.depts["A1"], "supervisor"): org.users["polonius"],
            (org.agencies["A"], "principal"): org.users["claudius"],
        }
        user = s.get(User, org.users["polonius"])
        assert user is not None
        user.is_active = False
        s.add(user)
    with org.db.read() as s:
        assert leaders.leaders_of(s, [org.depts["A1"]]) == {}
