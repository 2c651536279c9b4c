"""Who fills and who reviews each unit's return. Named by the collector, or by default: the filler a
``clerk`` with a post in the unit (else any staff member there), the reviewer the unit's ``dept_head``
(for an agency, a ``leader`` of it). A named person must hold a post in the unit's subtree; the
filler is never the reviewer (the four-eyes rule of 审核). Read in three queries for any number of
units, so 2,000 units resolve in one pass."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from office.errors import ValidationError
from office.models import Department, DeptKind, Post, Role, User, UserRole


def _people(session: Session, depts: dict[int, Department]) -> dict[int, list[tuple[int, int, bool]]]:
    """unit id -> [(post rank, user id, post directly in the unit)] for the active staff of its subtree."""
    agencies = sorted({d.agency_id for d in depts.values() if d.agency_id is not None})
    stmt = (
        select(Post.user_id, Post.rank, Department.id, Department.path)
        .join(Department, col(Department.id) == Post.department_id)
        .join(User, col(User.id) == Post.user_id)
        .where(col(Department.agency_id).in_(agencies), col(User.is_active).is_(True))
    )
    out: dict[int, list[tuple[int, int, bool]]] = {}
    for user_id, rank, dept_id, path in session.exec(stmt).all():
        for ancestor in (int(x) for x in path.strip("/").split("/") if x):
            if ancestor in depts:
                out.setdefault(ancestor, []).append((rank, user_id, ancestor == dept_id))
    for people in out.values():
        people.sort(key=lambda p: (not p[2], p[0], p[1]))
    return out


def _roles(session: Session, user_ids: set[int]) -> dict[int, set[Role]]:
    out: dict[int, set[Role]] = {}
    if user_ids:
        stmt = select(UserRole.user_id, UserRole.role).where(col(UserRole.user_id).in_(sorted(user_ids)))
        for user_id, role in session.exec(stmt).all():
            out.setdefault(user_id, set()).add(Role(role))
    return out


def _pick(people: list[tuple[int, int, bool]], roles: dict[int, set[Role]], role: Role | None, *, not_: int = 0) -> int:
    for _rank, user_id, _direct in people:
        if user_id != not_ and (role is None or role in roles.get(user_id, set())):
            return user_id
    return 0


def resolve(session: Session, depts: dict[int, Department], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` [{unit_id, filler_id?, reviewer_id?}] (units already checked against the scope) ->
    [{unit_id, agency_id, filler_id, reviewer_id}], or 422 naming the unit."""
    people = _people(session, depts)
    roles = _roles(session, {u for ps in people.values() for _, u, _ in ps})
    out = []
    for row in rows:
        unit = depts[int(row["unit_id"])]
        staff = people.get(unit.id or 0, [])
        members = {u for _, u, _ in staff}
        filler = _named(row.get("filler_id"), members, unit, "填报人", "filler_id")
        reviewer = _named(row.get("reviewer_id"), members, unit, "审核人", "reviewer_id")
        head = Role.leader if unit.kind == DeptKind.agency else Role.dept_head
        if not reviewer:
            reviewer = _pick(staff, roles, head, not_=filler)
        if not filler:
            filler = _pick(staff, roles, Role.clerk, not_=reviewer) or _pick(staff, roles, None, not_=reviewer)
        if not filler:
            raise ValidationError(f"「{unit.name}」没有可以填报的人员，请指定填报人", code="no_filler", field="units")
        if not reviewer:
            raise ValidationError(
                f"「{unit.name}」没有可以审核的负责人，请指定审核人", code="no_reviewer", field="units"
            )
        if filler == reviewer:
            raise ValidationError(f"「{unit.name}」的填报人和审核人不能是同一人", code="same_person", field="units")
        out.append({"unit_id": unit.id, "agency_id": unit.agency_id, "filler_id": filler, "reviewer_id": reviewer})
    return out


def _named(user_id: Any, members: set[int], unit: Department, label: str, field: str) -> int:
    if user_id in (None, 0):
        return 0
    if int(user_id) not in members:
        raise ValidationError(f"{label}须是「{unit.name}」的在岗人员", code=f"bad_{field}", field="units")
    return int(user_id)
