"""Who works in an agency's personnel office (人事处) or finance office (财务处), as ``bs_offices``
names them: they keep leave balances and personnel records, travel standards, and read the ledgers.

A member is anyone with a post (primary or concurrent) in the office's department or below it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from banshi.models import AgencyOffices
from office.actor import Actor
from office.errors import NotFound, PermissionDenied
from office.models import Department, Post, User

OFFICE_NAMES = {"personnel": "人事处", "finance": "财务处"}


def office_department(session: Session, agency_id: int | None, office: str) -> int | None:
    if agency_id is None:
        return None
    row = session.get(AgencyOffices, agency_id)
    if row is None:
        return None
    return row.personnel_department_id if office == "personnel" else row.finance_department_id


def in_office(session: Session, actor: Actor, office: str) -> bool:
    dept_id = office_department(session, actor.agency_id, office)
    if dept_id is None or not actor.department_ids:
        return False
    if dept_id in actor.department_ids:
        return True
    paths = session.exec(select(Department.path).where(col(Department.id).in_(actor.department_ids))).all()
    return any(f"/{dept_id}/" in p for p in paths)


def require_office(session: Session, actor: Actor, *offices: str) -> str:
    """The first of ``offices`` the actor works in; 403 naming them otherwise."""
    for office in offices:
        if in_office(session, actor, office):
            return office
    names = "或".join(OFFICE_NAMES[o] for o in offices)
    raise PermissionDenied(f"仅本机关{names}的工作人员可以进行此操作", code="not_office_staff")


def agency_of(session: Session, user_id: int) -> int | None:
    """The agency of a person's primary post."""
    row = session.exec(
        select(Department.agency_id)
        .join(Post, col(Post.department_id) == Department.id)
        .where(Post.user_id == user_id, col(Post.is_primary).is_(True))
    ).first()
    return row


def require_same_agency(session: Session, actor: Actor, user_id: int) -> User:
    """The person, when they belong to the actor's agency; 404 otherwise (as if missing)."""
    user = session.get(User, user_id)
    if user is None or actor.agency_id is None or agency_of(session, user_id) != actor.agency_id:
        raise NotFound("人员不存在或无权查看", code="person_not_found")
    return user


def agency_people(session: Session, agency_id: int) -> list[dict[str, Any]]:
    """Active people whose primary post is in the agency: id, name, department (id and name)."""
    rows = session.exec(
        select(User.id, User.name, Department.id, Department.name)
        .join(Post, col(Post.user_id) == User.id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(Department.agency_id == agency_id, col(Post.is_primary).is_(True), col(User.is_active).is_(True))
        .order_by(col(Department.sort_order), col(Department.id), col(User.id))
    ).all()
    return [{"id": uid, "name": name, "department_id": did, "department": dname} for uid, name, did, dname in rows]
