"""Who is who for 办事 in an agency: the 分管领导 of each department and the agency's 主要领导
(``bs_leader``), and its personnel and finance offices (``bs_offices``). Routes name them by kind
(``supervisor``, ``principal``, ``offices``: ``banshi.routing``); the agency's administrators set
them (``banshi.leaders.manage``), and every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from banshi.models import AgencyOffices, LeaderAssignment
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import ValidationError
from office.models import Department, DeptKind, Post, User

SUPERVISOR = "supervisor"  # 分管领导 of a department (and, unless one is named lower, of its subtree)
PRINCIPAL = "principal"  # the agency's 主要领导; ``department_id`` is the agency's own id
OFFICES = {"personnel": "人事处", "finance": "财务处"}
MAX_SUPERVISORS = 2000


# Reading (for routes: a few rows at a time) -----------------------------------------------------


@cache
def leaders_select() -> Any:
    """SELECT (department id, user id, kind) of the leaders named for the departments bound to the
    expanding parameter ``leader_depts``. A leader no longer active is left out, as if none were
    named. Built once: routes run it (``banshi.route_people``) on every resolution."""
    return (
        select(LeaderAssignment.department_id, LeaderAssignment.user_id, LeaderAssignment.kind)
        .join(User, col(User.id) == LeaderAssignment.user_id)
        .where(
            col(LeaderAssignment.department_id).in_(bindparam("leader_depts", expanding=True)),
            col(User.is_active).is_(True),
        )
    )


def leaders_of(session: Session, department_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """(department id, kind) -> user id for the given departments (an agency's id for its 主要领导)."""
    ids = sorted(set(department_ids))
    if not ids:
        return {}
    rows = session.execute(leaders_select(), {"leader_depts": ids}).all()
    return {(d, k): u for d, u, k in rows}


def office_department_id(session: Session, agency_id: int, office: str) -> int | None:
    row = session.get(AgencyOffices, agency_id)
    if row is None:
        return None
    return row.personnel_department_id if office == "personnel" else row.finance_department_id


# The administrator's page -----------------------------------------------------------------------


def leaders_view(session: Session, actor: Actor) -> dict[str, Any]:
    """``{"principal": {id, name} | null, "supervisors": [{department_id, department, user_id, name}]}``."""
    agency_id = _agency(actor)
    rows = session.exec(
        select(LeaderAssignment, Department.name, User.name)
        .join(Department, col(Department.id) == LeaderAssignment.department_id)
        .join(User, col(User.id) == LeaderAssignment.user_id)
        .where(Department.agency_id == agency_id)
        .order_by(col(Department.path))
    ).all()
    principal = None
    supervisors = []
    for row, dept_name, user_name in rows:
        if row.kind == PRINCIPAL and row.department_id == agency_id:
            principal = {"id": row.user_id, "name": user_name}
        elif row.kind == SUPERVISOR:
            supervisors.append(
                {"department_id": row.department_id, "department": dept_name, "user_id": row.user_id, "name": user_name}
            )
    return {"principal": principal, "supervisors": supervisors}


def set_leaders(session: Session, actor: Actor, raw: Any) -> dict[str, Any]:
    """Replace the agency's 主要领导 and 分管领导: ``{"principal": user id | null, "supervisors":
    [{"department_id", "user_id"}, ...]}``. Departments are the agency's own (not the agency itself);
    leaders are active people with a post in it. 422 naming the entry otherwise; nothing changes."""
    agency_id = _agency(actor)
    if not isinstance(raw, dict) or set(raw) - {"principal", "supervisors"}:
        raise ValidationError("请提交 principal（主要领导）和 supervisors（分管领导）", code="bad_leaders")
    principal = raw.get("principal")
    entries = raw.get("supervisors") or []
    if principal is not None and not _is_id(principal):
        raise ValidationError("主要领导无效", code="bad_leaders", field="principal")
    if not isinstance(entries, list) or len(entries) > MAX_SUPERVISORS:
        raise ValidationError("分管领导应为列表", code="bad_leaders", field="supervisors")
    wanted: dict[int, int] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not _is_id(e.get("department_id")) or not _is_id(e.get("user_id")):
            raise ValidationError(f"第 {i + 1} 条分管领导格式错误", code="bad_leaders", field="supervisors", index=i)
        if e["department_id"] in wanted:
            raise ValidationError(f"第 {i + 1} 条：一个部门只能有一位分管领导", code="duplicate_department", index=i)
        wanted[e["department_id"]] = e["user_id"]
    _check_departments(session, agency_id, wanted, "supervisors")
    members = _agency_members(session, agency_id, set(wanted.values()) | ({principal} if principal else set()))
    if principal is not None and principal not in members:
        raise ValidationError("主要领导必须是本机关在职人员", code="bad_user", field="principal")
    for i, uid in enumerate(wanted.values()):
        if uid not in members:
            raise ValidationError(f"第 {i + 1} 条：分管领导必须是本机关在职人员", code="bad_user", index=i)
    ours = select(Department.id).where(Department.agency_id == agency_id)
    session.exec(delete(LeaderAssignment).where(col(LeaderAssignment.department_id).in_(ours)))
    now = utcnow()
    rows = [(d, SUPERVISOR, u) for d, u in wanted.items()] + ([(agency_id, PRINCIPAL, principal)] if principal else [])
    for dept_id, kind, uid in rows:
        session.add(
            LeaderAssignment(department_id=dept_id, kind=kind, user_id=uid, updated_by=actor.user_id, updated_at=now)
        )
    session.flush()
    audit.record(
        session,
        actor,
        "banshi.leaders.set",
        target_type="agency",
        target_id=agency_id,
        detail={"principal": principal, "supervisors": {str(d): u for d, u in wanted.items()}},
    )
    return leaders_view(session, actor)


def offices_view(session: Session, actor: Actor) -> dict[str, Any]:
    """``{"personnel": {id, name} | null, "finance": {id, name} | null}``: the departments."""
    agency_id = _agency(actor)
    row = session.get(AgencyOffices, agency_id)
    ids = {o: getattr(row, f"{o}_department_id") if row else None for o in OFFICES}
    names = dict(
        session.exec(
            select(Department.id, Department.name).where(col(Department.id).in_([i for i in ids.values() if i]))
        ).all()
    )
    return {o: ({"id": i, "name": names.get(i, "")} if i else None) for o, i in ids.items()}


def set_offices(session: Session, actor: Actor, raw: Any) -> dict[str, Any]:
    """Name the agency's 人事处 and 财务处: ``{"personnel_department_id", "finance_department_id"}``
    (each a department of the agency, or null)."""
    agency_id = _agency(actor)
    keys = {f"{o}_department_id" for o in OFFICES}
    if not isinstance(raw, dict) or set(raw) - keys:
        raise ValidationError("请提交 personnel_department_id 和 finance_department_id", code="bad_offices")
    chosen: dict[str, int | None] = {}
    for key in sorted(keys):
        value = raw.get(key)
        if value is not None and not _is_id(value):
            raise ValidationError("部门无效", code="bad_offices", field=key)
        chosen[key] = value
    for key, value in chosen.items():
        if value is not None:
            _check_departments(session, agency_id, {value: 0}, key)
    row = session.get(AgencyOffices, agency_id) or AgencyOffices(agency_id=agency_id)
    row.personnel_department_id = chosen["personnel_department_id"]
    row.finance_department_id = chosen["finance_department_id"]
    row.updated_by, row.updated_at = actor.user_id, utcnow()
    session.add(row)
    session.flush()
    audit.record(session, actor, "banshi.offices.set", target_type="agency", target_id=agency_id, detail=chosen)
    return offices_view(session, actor)


# Checks --------------------------------------------------------------------------------------------


def _agency(actor: Actor) -> int:
    policy.require(actor, "banshi.leaders.manage")
    assert actor.agency_id is not None  # the rule asks for one
    return actor.agency_id


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_departments(session: Session, agency_id: int, by_dept: dict[int, int], field: str) -> None:
    found = {
        d.id: d
        for d in session.exec(select(Department).where(col(Department.id).in_(list(by_dept)))).all()
        if d.agency_id == agency_id and d.kind == DeptKind.department
    }
    missing = [d for d in by_dept if d not in found]
    if missing:
        raise ValidationError("只能选择本机关的部门", code="bad_department", field=field, department_id=missing[0])


def _agency_members(session: Session, agency_id: int, user_ids: set[int]) -> set[int]:
    if not user_ids:
        return set()
    rows = session.exec(
        select(User.id)
        .join(Post, col(Post.user_id) == User.id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(col(User.id).in_(user_ids), col(User.is_active).is_(True), Department.agency_id == agency_id)
    ).all()
    return {u for u in rows if u is not None}
