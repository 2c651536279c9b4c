"""Organisation directory: departments, people, posts, roles, search.

Every state change takes the acting user, is authorised with ``office.policy`` and appended to
the audit log in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from office import actor_cache, audit, events, policy
from office.actor import Actor
from office.db import settings_of
from office.directory import visibility
from office.directory.pinyin import full_and_initials, search_keys
from office.errors import Conflict, NotFound, ValidationError
from office.models import (
    ROLE_LABELS,
    Department,
    DeptKind,
    DirectoryKey,
    Post,
    Role,
    User,
    UserRole,
)
from office.secrets_box import hash_password, password_problem

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


# Departments ---------------------------------------------------------------------------------


def get_department(session: Session, dept_id: int) -> Department:
    dept = session.get(Department, dept_id)
    if dept is None:
        raise NotFound("部门不存在", code="department_not_found")
    return dept


def create_department(
    session: Session,
    actor: Actor,
    *,
    name: str,
    parent_id: int | None = None,
    kind: DeptKind = DeptKind.department,
    code: str | None = None,
    sort_order: int = 0,
) -> Department:
    policy.require(actor, "org.manage")
    name = _clean_name(name, "部门名称")
    parent = get_department(session, parent_id) if parent_id is not None else None
    if parent is None and kind != DeptKind.agency:
        raise ValidationError("处室/科室必须属于某个机关", code="parent_required")
    _check_sibling_name(session, parent_id, name)
    dept = Department(name=name, kind=kind, parent_id=parent_id, code=code or None, sort_order=sort_order)
    session.add(dept)
    session.flush()
    dept.agency_id = dept.id if kind == DeptKind.agency else (parent.agency_id if parent else None)
    dept.path = f"{parent.path if parent else '/'}{dept.id}/"
    audit.record(
        session,
        actor,
        "department.create",
        target_type="department",
        target_id=dept.id,
        detail={"name": name, "parent_id": parent_id, "kind": kind.value},
    )
    return dept


def update_department(
    session: Session,
    actor: Actor,
    dept_id: int,
    *,
    name: str | None = None,
    code: str | None = None,
    sort_order: int | None = None,
    parent_id: int | None = None,
) -> Department:
    policy.require(actor, "org.manage")
    dept = get_department(session, dept_id)
    changes: dict[str, Any] = {}
    if name is not None and name != dept.name:
        dept.name = _clean_name(name, "部门名称")
        _check_sibling_name(session, dept.parent_id, dept.name, exclude=dept.id)
        changes["name"] = dept.name
    if code is not None:
        dept.code = code or None
        changes["code"] = dept.code
    if sort_order is not None:
        dept.sort_order = sort_order
        changes["sort_order"] = sort_order
    if parent_id is not None and parent_id != dept.parent_id:
        _move(session, dept, get_department(session, parent_id))
        changes["parent_id"] = parent_id
    session.add(dept)
    if "name" in changes:
        for user_id in session.exec(select(Post.user_id).where(Post.department_id == dept.id)).all():
            reindex_user(session, user_id)
    audit.record(session, actor, "department.update", target_type="department", target_id=dept.id, detail=changes)
    return dept


def _move(session: Session, dept: Department, new_parent: Department) -> None:
    if new_parent.path.startswith(dept.path):
        raise ValidationError("不能把部门移动到它自己的下级", code="cycle")
    if dept.kind == DeptKind.department and new_parent.agency_id != dept.agency_id:
        raise ValidationError("处室不能跨机关移动", code="cross_agency_move")
    old_path, new_path = dept.path, f"{new_parent.path}{dept.id}/"
    for d in session.exec(select(Department).where(col(Department.path).startswith(old_path))).all():
        d.path = new_path + d.path[len(old_path) :]
        session.add(d)
    dept.parent_id = new_parent.id


def delete_department(session: Session, actor: Actor, dept_id: int) -> None:
    policy.require(actor, "org.manage")
    dept = get_department(session, dept_id)
    if session.exec(select(func.count()).select_from(Department).where(Department.parent_id == dept_id)).one():
        raise Conflict("该部门下还有下级部门，不能删除", code="department_not_empty")
    if session.exec(select(func.count()).select_from(Post).where(Post.department_id == dept_id)).one():
        raise Conflict("该部门下还有人员，不能删除", code="department_not_empty")
    audit.record(
        session, actor, "department.delete", target_type="department", target_id=dept_id, detail={"name": dept.name}
    )
    session.delete(dept)


def department_tree(session: Session) -> list[dict[str, Any]]:
    depts = session.exec(select(Department).order_by(col(Department.sort_order), col(Department.id))).all()
    counts = dict(session.exec(select(Post.department_id, func.count()).group_by(col(Post.department_id))).all())
    nodes: dict[int | None, dict[str, Any]] = {
        d.id: {
            "id": d.id,
            "name": d.name,
            "kind": d.kind.value,
            "code": d.code,
            "parent_id": d.parent_id,
            "agency_id": d.agency_id,
            "member_count": counts.get(d.id, 0),  # type: ignore[arg-type]  # stored rows have ids
            "children": [],
        }
        for d in depts
    }
    for d in depts:  # so a people-and-department picker finds 综合处 by "zonghechu" or "zhc" too
        nodes[d.id]["pinyin"], nodes[d.id]["initials"] = full_and_initials(d.name)
    roots: list[dict[str, Any]] = []
    for d in depts:
        node = nodes[d.id]
        parent = nodes.get(d.parent_id) if d.parent_id else None
        (parent["children"] if parent else roots).append(node)
    return roots


def _clean_name(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{label}不能为空", code="required")
    if len(value) > 100:
        raise ValidationError(f"{label}不能超过 100 个字符", code="too_long")
    return value


def _check_sibling_name(session: Session, parent_id: int | None, name: str, exclude: int | None = None) -> None:
    stmt = select(Department.id).where(Department.parent_id == parent_id, Department.name == name)
    if parent_id is None:
        stmt = select(Department.id).where(col(Department.parent_id).is_(None), Department.name == name)
    found = [i for i in session.exec(stmt).all() if i != exclude]
    if found:
        raise Conflict(f"同级已有名为“{name}”的部门", code="duplicate_department")


# People ---------------------------------------------------------------------------------------


@dataclass
class PostSpec:
    department_id: int
    title: str = ""
    is_primary: bool = True
    rank: int = 100


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("人员不存在", code="user_not_found")
    return user


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    name: str,
    password: str,
    posts: Iterable[PostSpec] = (),
    roles: Iterable[Role] = (Role.staff,),
    phone: str = "",
    office: str = "",
    email: str = "",
    staff_no: str = "",
    check_password: bool = True,
    password_hash: str | None = None,
) -> User:
    """Create an account. ``password_hash`` lets bulk seeding hash one shared password once."""
    policy.require(actor, "user.manage")
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationError("用户名只能由小写字母、数字和 . _ - 组成，2 到 64 位", code="bad_username")
    if get_user_by_username(session, username):
        raise Conflict(f"用户名 {username} 已被使用", code="duplicate_username")
    if check_password and (problem := password_problem(password, username=username)):
        raise ValidationError(problem, code="weak_password")
    name = _clean_name(name, "姓名")
    pinyin, initials = full_and_initials(name)
    user = User(
        username=username,
        name=name,
        pinyin=pinyin,
        initials=initials,
        phone=phone.strip(),
        office=office.strip(),
        email=email.strip(),
        staff_no=staff_no.strip(),
        password_hash=password_hash or hash_password(settings_of(session), password),
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    _replace_posts(session, user.id, list(posts))
    _replace_roles(session, user.id, set(roles) or {Role.staff})
    reindex_user(session, user.id)
    audit.record(
        session,
        actor,
        "user.create",
        target_type="user",
        target_id=user.id,
        detail={"username": username, "name": name, "roles": sorted(r.value for r in roles)},
    )
    return user


def update_user(session: Session, actor: Actor, user_id: int, **fields: Any) -> User:
    """Update contact fields and name; posts and roles have their own functions."""
    policy.require(actor, "user.manage")
    user = get_user(session, user_id)
    allowed = {"name", "phone", "office", "email", "staff_no"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"不能修改字段：{', '.join(sorted(unknown))}", code="unknown_field")
    changes = {}
    for key, value in fields.items():
        if value is None:
            continue
        value = _clean_name(value, "姓名") if key == "name" else str(value).strip()[:200]
        if getattr(user, key) != value:
            setattr(user, key, value)
            changes[key] = value
    if "name" in changes:
        user.pinyin, user.initials = full_and_initials(user.name)
        reindex_user(session, user_id)
    session.add(user)
    audit.record(session, actor, "user.update", target_type="user", target_id=user_id, detail=changes)
    return user


def set_posts(session: Session, actor: Actor, user_id: int, posts: list[PostSpec]) -> None:
    policy.require(actor, "user.manage")
    get_user(session, user_id)
    _replace_posts(session, user_id, posts)
    reindex_user(session, user_id)
    audit.record(
        session,
        actor,
        "user.posts",
        target_type="user",
        target_id=user_id,
        detail={"posts": [p.__dict__ for p in posts]},
    )
    events.publish_on_commit(session, "directory.posts_changed", {"user_id": user_id}, user_ids=[user_id])


def set_roles(session: Session, actor: Actor, user_id: int, roles: Iterable[Role]) -> None:
    policy.require(actor, "role.assign")
    get_user(session, user_id)
    wanted = set(roles)
    if user_id == actor.user_id and Role.admin in actor.roles and Role.admin not in wanted:
        raise ValidationError("不能撤销自己的系统管理员角色", code="self_demote")
    _replace_roles(session, user_id, wanted)
    audit.record(
        session,
        actor,
        "user.roles",
        target_type="user",
        target_id=user_id,
        detail={"roles": sorted(r.value for r in wanted)},
    )


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Enable or disable an account; disabling ends its sessions and closes its sockets at once."""
    policy.require(actor, "user.manage")
    user = get_user(session, user_id)
    if user_id == actor.user_id and not active:
        raise ValidationError("不能停用自己的账号", code="self_disable")
    user.is_active = active
    actor_cache.record(session, [user_id])
    session.add(user)
    audit.record(session, actor, "user.enable" if active else "user.disable", target_type="user", target_id=user_id)
    if not active:
        from office.accounts import end_all_sessions

        end_all_sessions(session, user_id, reason="账号已停用")
    return user


def _replace_posts(session: Session, user_id: int, posts: list[PostSpec]) -> None:
    actor_cache.record(session, [user_id])
    if posts and sum(1 for p in posts if p.is_primary) != 1:
        raise ValidationError("必须有且只有一个主要职务", code="primary_post")
    seen = set()
    for p in posts:
        if p.department_id in seen:
            raise ValidationError("同一部门不能重复任职", code="duplicate_post")
        seen.add(p.department_id)
        get_department(session, p.department_id)
    session.execute(delete(Post).where(Post.user_id == user_id))  # type: ignore[arg-type]
    for p in posts:
        session.add(
            Post(
                user_id=user_id,
                department_id=p.department_id,
                title=p.title.strip()[:50],
                is_primary=p.is_primary,
                rank=p.rank,
            )
        )
    session.flush()


def _replace_roles(session: Session, user_id: int, roles: set[Role]) -> None:
    actor_cache.record(session, [user_id])
    session.execute(delete(UserRole).where(UserRole.user_id == user_id))  # type: ignore[arg-type]
    for r in sorted(roles, key=lambda r: r.value):
        session.add(UserRole(user_id=user_id, role=r))
    session.flush()


def reindex_user(session: Session, user_id: int) -> None:
    user = get_user(session, user_id)
    rows = session.exec(
        select(Post.title, Department.name)
        .join(Department, Department.id == Post.department_id)  # type: ignore[arg-type]
        .where(Post.user_id == user_id)
    ).all()
    title = next((t for t, _ in rows if t), "")
    actor_cache.record(session, [user_id])  # the directory index reloads this person
    session.execute(delete(DirectoryKey).where(DirectoryKey.user_id == user_id))  # type: ignore[arg-type]
    for key, weight in search_keys(user.name, title, [d for _, d in rows]):
        session.add(DirectoryKey(user_id=user_id, key=key, weight=weight))


# Reading ---------------------------------------------------------------------------------------


def roles_of(session: Session, user_id: int) -> set[Role]:
    return set(session.exec(select(col(UserRole.role)).where(UserRole.user_id == user_id)).all())


def posts_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    ids = list(set(user_ids))
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        sa_select(
            col(Post.user_id),
            col(Post.department_id),
            col(Department.name),
            col(Department.agency_id),
            col(Post.title),
            col(Post.is_primary),
            col(Post.rank),
        )
        .join(Department, col(Department.id) == Post.department_id)
        .where(col(Post.user_id).in_(ids))
        .order_by(col(Post.is_primary).desc(), col(Post.rank))
    ).all()
    for uid, dept_id, dept_name, agency_id, title, is_primary, rank in rows:
        out[uid].append(
            {
                "department_id": dept_id,
                "department": dept_name,
                "agency_id": agency_id,
                "title": title,
                "is_primary": is_primary,
                "rank": rank,
            }
        )
    return out


def person_public(user: User, posts: list[dict[str, Any]], roles: set[Role] | None = None) -> dict[str, Any]:
    primary = next((p for p in posts if p["is_primary"]), posts[0] if posts else None)
    out: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "pinyin": user.pinyin,
        "title": primary["title"] if primary else "",
        "department": primary["department"] if primary else "",
        "department_id": primary["department_id"] if primary else None,
        "agency_id": primary["agency_id"] if primary else None,
        "phone": user.phone,
        "office": user.office,
        "email": user.email,
        "staff_no": user.staff_no,
        "is_active": user.is_active,
        "posts": posts,
    }
    if roles is not None:
        out["roles"] = sorted(r.value for r in roles)
        out["role_labels"] = [ROLE_LABELS[r] for r in sorted(roles, key=lambda r: list(Role).index(r))]
    return out


def person_card(session: Session, actor: Actor, user_id: int) -> dict[str, Any]:
    """A colleague as the 通讯录 shows them: posts with their titles (副秘书长, 处长). Roles are
    system permissions, not titles, and only administrators (who assign them) are shown them."""
    policy.require(actor, "directory.read")
    user = get_user(session, user_id)
    if not visibility.sees_user(session, actor, user_id):  # hidden answers as missing: no existence leak
        raise NotFound("人员不存在", code="user_not_found")
    roles = roles_of(session, user_id) if policy.can(actor, "user.manage") else None
    return person_public(user, posts_of(session, [user_id])[user_id], roles)


def users_with_role(
    session: Session, role: Role, *, agency_id: int | None = None, department_id: int | None = None
) -> list[int]:
    """Active users holding ``role`` with a post in ``department_id`` or in any department of ``agency_id``."""
    stmt = (
        select(UserRole.user_id)
        .join(User, User.id == UserRole.user_id)  # type: ignore[arg-type]
        .where(UserRole.role == role, User.is_active == true())
    )
    if department_id is not None or agency_id is not None:
        stmt = stmt.join(Post, Post.user_id == UserRole.user_id).join(Department, Department.id == Post.department_id)  # type: ignore[arg-type]
        if department_id is not None:
            stmt = stmt.where(Post.department_id == department_id)
        if agency_id is not None:
            stmt = stmt.where(Department.agency_id == agency_id)
    return sorted(set(session.exec(stmt).all()))


def department_member_ids(session: Session, dept_id: int) -> list[int]:
    return sorted(
        set(
            session.exec(
                select(Post.user_id)
                .join(User, User.id == Post.user_id)  # type: ignore[arg-type]
                .where(Post.department_id == dept_id, User.is_active == True)  # noqa: E712
            ).all()
        )
    )
