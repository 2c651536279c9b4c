"""Finding people: directory search (the in-memory index's answer, and its SQL equivalent), a
department's members, and the administrators' list of accounts. Changes to people and
departments are in ``office.directory.service``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, true
from sqlmodel import Session, col, select

from office import policy
from office.actor import Actor
from office.db import settings_of
from office.directory import index as directory_index
from office.directory import visibility
from office.directory.service import get_department, person_public, posts_of
from office.models import DirectoryKey, Post, Role, User, UserRole

CANDIDATES = 400


def search_json(
    session: Session, actor: Actor, q: str, *, department_id: int | None = None, limit: int = 20
) -> bytes | None:
    """``search``'s answer as JSON bytes from the in-memory index; None while it is being built."""
    policy.require(actor, "directory.read")
    index = directory_index.ensure(session)
    scope = visibility.scope_of(settings_of(session), actor)
    return None if index is None else search_body(index, q, department_id=department_id, limit=limit, scope=scope)


def search_body(
    index: directory_index.DirectoryIndex, q: str, *, department_id: int | None, limit: int, scope: visibility.Scope
) -> bytes:
    return index.answer(normal_query(q), department_id=department_id, limit=min(max(limit, 1), 100), scope=scope)


def normal_query(q: str | None) -> str:
    return (q or "").strip().lower()[:50]


def search(
    session: Session, actor: Actor, q: str, *, department_id: int | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Find people by name, pinyin (full or initials), title or department; best matches first.

    A prefix range scan over the key index: any suffix of a name is a key, so 伟 finds 张伟. The
    API answers from the in-memory index (``search_json``) once built; this is the SQL equivalent.
    """
    policy.require(actor, "directory.read")
    q = normal_query(q)
    limit = min(max(limit, 1), 100)
    if not q:
        return []
    upper = q + "\U0010ffff"
    # Bounded candidate set: an index range scan in key order (the exact key and its shortest
    # extensions come first), then ranked by match kind and closeness. Short prefixes like "z"
    # would otherwise group every matching key in the directory.
    rows = session.exec(
        select(DirectoryKey.user_id, DirectoryKey.key, DirectoryKey.weight)
        .where(DirectoryKey.key >= q, DirectoryKey.key < upper)
        .order_by(DirectoryKey.key)
        .limit(CANDIDATES)
    ).all()
    best: dict[int, tuple[int, int, str]] = {}
    for uid, key, weight in rows:
        score = (weight, len(key), key)  # the index's order too
        if uid not in best or score < best[uid]:
            best[uid] = score
    scope = visibility.scope_of(settings_of(session), actor)
    ranked = sorted(best, key=lambda u: (best[u], u))
    ranked = visibility.visible(session, scope, ranked)[: limit * 3 if department_id else limit]
    if not ranked:
        return []
    active = select(User).where(col(User.id).in_(ranked), User.is_active == True)  # noqa: E712
    users = {u.id: u for u in session.exec(active).all() if u.id is not None}
    posts = posts_of(session, users)
    results = []
    for uid in ranked:
        user = users.get(uid)
        if user is None:
            continue
        if department_id is not None and not any(p["department_id"] == department_id for p in posts[uid]):
            continue
        results.append(person_public(user, posts[uid]))
    return results[:limit]


def department_members(
    session: Session, actor: Actor, dept_id: int, *, offset: int = 0, limit: int = 100
) -> dict[str, Any]:
    policy.require(actor, "directory.read")
    dept = get_department(session, dept_id)
    base = (
        select(Post.user_id)
        .join(User, col(User.id) == Post.user_id)
        .where(Post.department_id == dept_id, User.is_active == true())
    )
    scope = visibility.scope_of(settings_of(session), actor)
    ordered = base.order_by(col(Post.rank), col(Post.user_id))
    if scope is not None and dept.agency_id not in scope:
        # Another agency's department: only those ``visibility.sees`` admits (its leaders, 收发员).
        shown = visibility.visible(session, scope, list(session.exec(ordered).all()))
        total, ids = len(shown), shown[max(offset, 0) : max(offset, 0) + min(limit, 500)]
    else:
        total = session.exec(select(func.count()).select_from(base.subquery())).one()
        ids = list(session.exec(ordered.offset(offset).limit(min(limit, 500))).all())
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}
    posts = posts_of(session, ids)
    return {"total": total, "items": [person_public(users[i], posts[i]) for i in ids if i in users]}


def list_users(
    session: Session, actor: Actor, *, q: str = "", offset: int = 0, limit: int = 50, include_inactive: bool = True
) -> dict[str, Any]:
    policy.require(actor, "user.manage")
    stmt = select(User)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(col(User.name).like(like), col(User.username).like(like), col(User.pinyin).like(like)))
    if not include_inactive:
        stmt = stmt.where(User.is_active == True)  # noqa: E712
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    users = session.exec(stmt.order_by(User.id).offset(max(offset, 0)).limit(min(max(limit, 1), 200))).all()  # type: ignore[arg-type]
    ids = [u.id for u in users if u.id is not None]
    posts = posts_of(session, ids)
    roles: dict[int, set[Role]] = {i: set() for i in ids}
    for uid, role in session.exec(
        select(UserRole.user_id, col(UserRole.role)).where(col(UserRole.user_id).in_(ids))
    ).all():
        roles[uid].add(role)
    return {"total": total, "items": [person_public(u, posts[u.id], roles[u.id]) for u in users if u.id]}
