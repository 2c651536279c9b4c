"""Who an approver definition names, for one applicant: the designer's check (``clean_approver``) and
the resolution at submission (``People``).

Resolution reads the organisation once per request, whatever the tree's depth: the applicant's
department gives its ancestors from ``Department.path`` ("/1/4/9/") without a query, then one query
finds every holder of the roles the route asks about in the departments it asks about (and agency
wide where it asks so), one the 分管领导/主要领导 rows of those departments, and one checks named
people. Walking up the tree (direct head, 连续多级主管, 分管领导) is then done in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, or_, union_all
from sqlmodel import Session, col, select

from banshi.leaders import OFFICES, PRINCIPAL, SUPERVISOR, leaders_select
from banshi.models import AgencyOffices
from office.actor import Actor
from office.errors import ValidationError
from office.models import Department, Post, Role, User, UserRole

KINDS = ("users", "role", "head", "heads", "form_department", "chosen", "supervisor", "principal", "offices")
SCOPES = ("applicant_department", "agency", "department")
MAX_USERS = 100
MAX_LEVELS = 20
HEAD = Role.dept_head.value


def _bad(message: str, where: str) -> ValidationError:
    return ValidationError(f"{where}：{message}", code="bad_approver", field="route", where=where)


def _is_id(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def clean_approver(raw: Any, fields: Mapping[str, dict[str, Any]], where: str) -> dict[str, Any]:
    """A checked copy of one approver definition; 422 (``bad_approver``, naming ``where``) otherwise."""
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise _bad(f"审批人类型应为 {'、'.join(KINDS)} 之一", where)
    kind = raw["kind"]
    if kind == "users":
        ids = raw.get("user_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_USERS or not all(_is_id(u) for u in ids):
            raise _bad(f"请指定 1 到 {MAX_USERS} 名审批人", where)
        return {"kind": kind, "user_ids": sorted(set(ids))}
    if kind == "role":
        role, scope = raw.get("role"), raw.get("scope", "applicant_department")
        if role not in {r.value for r in Role} or scope not in SCOPES:
            raise _bad("角色或范围无效（范围：applicant_department、agency、department）", where)
        out: dict[str, Any] = {"kind": kind, "role": role, "scope": scope}
        if scope == "department":
            if not _is_id(raw.get("department_id")):
                raise _bad("请指定部门", where)
            out["department_id"] = raw["department_id"]
        return out
    if kind == "heads":
        levels, stop = raw.get("levels"), raw.get("stop_depth")
        if not isinstance(levels, int) or isinstance(levels, bool) or not 1 <= levels <= MAX_LEVELS:
            raise _bad(f"连续多级主管的层数应为 1 到 {MAX_LEVELS}", where)
        if stop is not None and (not isinstance(stop, int) or isinstance(stop, bool) or not 1 <= stop <= 50):
            raise _bad("终止层级应为正整数", where)
        return {"kind": kind, "levels": levels, "stop_depth": stop}
    if kind in ("form_department", "chosen"):
        key = raw.get("field")
        want = "department" if kind == "form_department" else "person"
        f = fields.get(key) if isinstance(key, str) else None
        if f is None or f["type"] != want:
            label = "部门" if want == "department" else "人员"
            raise _bad(f"应引用表单中的{label}字段", where)
        out = {"kind": kind, "field": key}
        if kind == "form_department":
            role = raw.get("role") or HEAD
            if role not in {r.value for r in Role}:
                raise _bad("角色无效", where)
            out["role"] = role
        return out
    if kind == "offices":
        office, role = raw.get("office"), raw.get("role")
        if office not in OFFICES or role not in (None, HEAD):
            raise _bad("应指定人事处（personnel）或财务处（finance），角色为 dept_head 或空（全体人员）", where)
        return {"kind": kind, "office": office, "role": role}
    return {"kind": kind}


def _ids(value: Any) -> list[int]:
    """The ids a person or department field holds (one or a list)."""
    if isinstance(value, list):
        return [v for v in value if _is_id(v)]
    return [value] if _is_id(value) else []


@dataclass(frozen=True)
class Place:
    """Where the applicant sits: (department id, tree depth) from their (primary) department up to the
    agency, read from its ``path``, and the agency's 人事处/财务处 (department ids or None)."""

    chain: list[tuple[int, int]]
    offices: dict[str, int | None]


@cache
def _place_select() -> Any:
    return (
        select(
            Department.path,
            Department.agency_id,
            AgencyOffices.personnel_department_id,
            AgencyOffices.finance_department_id,
        )
        .outerjoin(AgencyOffices, col(AgencyOffices.agency_id) == Department.agency_id)
        .where(Department.id == bindparam("dept"))
    )


def applicant_place(session: Session, applicant: Actor) -> Place:
    """One query; an applicant without a department in their agency has an empty chain."""
    if not applicant.department_id:
        return Place([], {o: None for o in OFFICES})
    row = session.execute(_place_select(), {"dept": applicant.department_id}).first()
    if row is None or row[1] != applicant.agency_id:
        return Place([], {o: None for o in OFFICES})
    path, _, personnel, finance = row
    ids = [int(p) for p in path.strip("/").split("/") if p.isdigit()] or [applicant.department_id]
    return Place(
        [(d, depth) for depth, d in reversed(list(enumerate(ids, start=1)))],
        {"personnel": personnel, "finance": finance},
    )


@cache
def _posts_select() -> Any:
    return select(Post.title).where(Post.user_id == bindparam("user"))


def post_titles(session: Session, user_id: int) -> frozenset[str]:
    """The titles of a person's posts (职务), for conditions on the applicant's post."""
    return frozenset(t for (t,) in session.execute(_posts_select(), {"user": user_id}).all())


@cache
def _holders_select() -> Any:
    """Role holders (department id, user id, role) among the agency's active people, in the departments
    ``depts`` for the roles ``roles``, or anywhere in it for ``agency_roles``; together with the
    leaders named for ``leader_depts`` (kind in place of role: the two sets of names do not meet)."""
    role = cast(col(UserRole.role), String)
    holders = (
        select(Post.department_id, UserRole.user_id, role)
        .join(User, col(User.id) == UserRole.user_id)
        .join(Post, col(Post.user_id) == UserRole.user_id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(
            Department.agency_id == bindparam("agency"),
            col(User.is_active).is_(True),
            or_(
                and_(
                    role.in_(bindparam("roles", expanding=True)),
                    col(Post.department_id).in_(bindparam("depts", expanding=True)),
                ),
                role.in_(bindparam("agency_roles", expanding=True)),
            ),
        )
    )
    return union_all(holders, leaders_select())


class People:
    """Approvers resolved for one applicant and one set of form values, after one look at the organisation."""

    def __init__(
        self,
        session: Session,
        applicant: Actor,
        place: Place,
        approvers: list[dict[str, Any]],
        values: Mapping[str, Any],
    ) -> None:
        self.applicant = applicant
        self.values = values
        self.agency_id = applicant.agency_id or 0
        self.chain = place.chain
        self.offices = place.offices
        self.holders: dict[tuple[int, str], list[int]] = {}
        self.agency_wide: dict[str, list[int]] = {}
        self.leaders: dict[tuple[int, str], int] = {}
        self._load(session, approvers)
        self.members: dict[int, list[int]] = {}
        for a in approvers:
            if a["kind"] == "offices" and a["role"] is None:
                office = self.offices.get(a["office"])
                if office is not None and office not in self.members:
                    self.members[office] = _office_members(session, self.agency_id, office)
        named = {u for a in approvers if a["kind"] == "users" for u in a["user_ids"]}
        named |= {u for a in approvers if a["kind"] == "chosen" for u in _ids(values.get(a["field"]))}
        self.valid = _agency_people(session, self.agency_id, named)

    def _load(self, session: Session, approvers: list[dict[str, Any]]) -> None:
        """The role holders and the leaders every approver asks about, in one query."""
        wanted: dict[str, set[int]] = {}  # role -> departments
        agency_roles: set[str] = set()
        leader_depts: set[int] = set()
        for a in approvers:
            kind = a["kind"]
            if kind in ("head", "heads"):
                wanted.setdefault(HEAD, set()).update(d for d, _ in self.chain)
            elif kind == "role" and a["scope"] == "agency":
                agency_roles.add(a["role"])
            elif kind == "role":
                dept = a.get("department_id") if a["scope"] == "department" else self.department
                if dept:
                    wanted.setdefault(a["role"], set()).add(dept)
            elif kind == "form_department":
                wanted.setdefault(a["role"], set()).update(_ids(self.values.get(a["field"])))
            elif kind == "offices" and a["role"] == HEAD and self.offices.get(a["office"]):
                wanted.setdefault(HEAD, set()).add(self.offices[a["office"]] or 0)
            elif kind == "supervisor":
                leader_depts.update(d for d, _ in self.chain)
            elif kind == "principal":
                leader_depts.add(self.agency_id)
        if not wanted and not agency_roles and not leader_depts:
            return
        params = {
            "agency": self.agency_id,
            "roles": sorted(wanted),
            "depts": sorted({d for ds in wanted.values() for d in ds}),
            "agency_roles": sorted(agency_roles),
            "leader_depts": sorted(leader_depts),
        }
        for dept_id, uid, what in session.execute(_holders_select(), params).all():
            if what in (SUPERVISOR, PRINCIPAL):
                self.leaders[(dept_id, what)] = uid
                continue
            if dept_id in wanted.get(what, ()):
                self.holders.setdefault((dept_id, what), []).append(uid)
            if what in agency_roles:
                self.agency_wide.setdefault(what, []).append(uid)

    @property
    def department(self) -> int | None:
        return self.chain[0][0] if self.chain else None

    def department_path(self) -> frozenset[int]:
        return frozenset(d for d, _ in self.chain)

    def groups(self, a: dict[str, Any]) -> list[list[int]]:
        """The people ``a`` names, as one group per step (连续多级主管 gives one per level); empty groups
        are left out, so ``[]`` means nobody was found."""
        kind = a["kind"]
        if kind == "heads":
            return self._heads(a["levels"], a["stop_depth"])
        people: list[int] = []
        if kind in ("users", "chosen"):
            ids = a["user_ids"] if kind == "users" else _ids(self.values.get(a["field"]))
            people = [u for u in ids if u in self.valid]
        elif kind == "role":
            if a["scope"] == "agency":
                people = self.agency_wide.get(a["role"], [])
            else:
                dept = a.get("department_id") if a["scope"] == "department" else self.department
                people = self.holders.get((dept or 0, a["role"]), [])
        elif kind == "head":
            found = self._heads(1, None)
            people = found[0] if found else []
        elif kind == "form_department":
            people = [u for d in _ids(self.values.get(a["field"])) for u in self.holders.get((d, a["role"]), [])]
        elif kind == "supervisor":
            people = next(
                ([self.leaders[(d, SUPERVISOR)]] for d, _ in self.chain if (d, SUPERVISOR) in self.leaders), []
            )
        elif kind == "principal":
            leader = self.leaders.get((self.agency_id, PRINCIPAL))
            people = [leader] if leader else []
        elif kind == "offices":
            office = self.offices.get(a["office"])
            if office is not None:
                people = self.holders.get((office, HEAD), []) if a["role"] == HEAD else self.members.get(office, [])
        people = sorted(set(people))
        return [people] if people else []

    def _heads(self, levels: int, stop_depth: int | None) -> list[list[int]]:
        """The heads of the applicant's department and upwards, one group per department that has one:
        the direct head first (the next one up when the applicant heads their own department), at most
        ``levels`` groups, never above tree depth ``stop_depth``."""
        out: list[list[int]] = []
        for i, (dept, depth) in enumerate(self.chain):
            if stop_depth is not None and depth < stop_depth:
                break
            heads = sorted(set(self.holders.get((dept, HEAD), [])))
            if i == 0 and self.applicant.user_id in heads:
                continue  # a head's own head is the next one up
            if heads:
                out.append(heads)
                if len(out) == levels:
                    break
        return out


def _agency_people(session: Session, agency_id: int, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    rows = session.exec(
        select(User.id)
        .join(Post, col(Post.user_id) == User.id)
        .join(Department, col(Department.id) == Post.department_id)
        .where(col(User.id).in_(ids), col(User.is_active).is_(True), Department.agency_id == agency_id)
    ).all()
    return {u for u in rows if u is not None}


def _office_members(session: Session, agency_id: int, office: int) -> list[int]:
    """Active people with a post in the office's department or below it (as ``banshi.office_access``)."""
    return sorted(
        set(
            session.exec(
                select(Post.user_id)
                .join(User, col(User.id) == Post.user_id)
                .join(Department, col(Department.id) == Post.department_id)
                .where(
                    Department.agency_id == agency_id,
                    col(User.is_active).is_(True),
                    or_(col(Department.id) == office, col(Department.path).contains(f"/{office}/")),
                )
            ).all()
        )
    )
