"""Test data built with the real service functions.

``make_org`` builds two agencies with every role, so permission tests can ask "same department",
"other department", "other agency". Everyone's password is ``PASSWORD`` (hashed once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from sqlmodel import Session
from starlette.testclient import TestClient

from office.accounts import load_actor
from office.actor import SYSTEM, Actor
from office.config import Settings
from office.db import Database
from office.directory import service
from office.directory.service import PostSpec
from office.models import DeptKind, Role
from office.secrets_box import password_hasher

PASSWORD = "correct-horse-battery-staple"


def password_hash(settings: Settings) -> str:
    """``PASSWORD`` hashed with the parameters of ``settings`` (cheap under ``testing``)."""
    return _password_hash(password_hasher(settings))


@lru_cache(maxsize=2)
def _password_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(PASSWORD)


@dataclass
class Org:
    db: Database
    agencies: dict[str, int] = field(default_factory=dict)
    depts: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def actor(self, username: str) -> Actor:
        with self.db.read() as s:
            return load_actor(s, self.users[username])


def make_user(
    db: Database, username: str, name: str, *, dept_id: int | None, title: str = "科员", roles: set[Role] | None = None
) -> int:
    with db.write() as s:
        return _create_user(s, db.settings, username, name, dept_id=dept_id, title=title, roles=roles)


def _create_user(
    s: Session,
    settings: Settings,
    username: str,
    name: str,
    *,
    dept_id: int | None,
    title: str,
    roles: set[Role] | None,
) -> int:
    posts = [PostSpec(department_id=dept_id, title=title)] if dept_id else []
    user = service.create_user(
        s,
        SYSTEM,
        username=username,
        name=name,
        password=PASSWORD,
        posts=posts,
        roles=roles or {Role.staff},
        check_password=False,
        password_hash=password_hash(settings),
    )
    return user.id  # type: ignore[return-value]


def make_org(db: Database) -> Org:
    """Agency A (粤府办) with 综合处 and 秘书处; agency B (粤财) with 办公室. Shakespearean usernames.
    One transaction: a commit per person was half its time (fastest of 8: 0.23 -> 0.09 s on SQLite,
    0.26 -> 0.16 s on PostgreSQL), and two tests in five make it."""
    org = Org(db)
    with db.write() as s:
        a = service.create_department(s, SYSTEM, name="省政府办公厅", kind=DeptKind.agency, code="粤府办")
        b = service.create_department(s, SYSTEM, name="省财政厅", kind=DeptKind.agency, code="粤财")
        org.agencies = {"A": a.id, "B": b.id}  # type: ignore[dict-item]
        for key, name, parent in (("A1", "综合处", a.id), ("A2", "秘书处", a.id), ("B1", "办公室", b.id)):
            org.depts[key] = service.create_department(s, SYSTEM, name=name, parent_id=parent).id  # type: ignore[assignment]
        for username, name, dept, roles, title in PEOPLE:
            org.users[username] = _create_user(
                s, db.settings, username, name, dept_id=org.depts[dept], title=title, roles=roles
            )
    return org


PEOPLE: list[tuple[str, str, str, set[Role], str]] = [
    ("hamlet", "张伟", "A1", {Role.staff}, "科员"),
    ("ophelia", "李娜", "A1", {Role.staff}, "科员"),
    ("polonius", "王强", "A1", {Role.staff, Role.dept_head}, "处长"),
    ("horatio", "刘洋", "A2", {Role.staff}, "科员"),
    ("laertes", "陈静", "A2", {Role.staff, Role.dept_head}, "处长"),
    ("claudius", "赵刚", "A1", {Role.staff, Role.leader}, "副秘书长"),
    ("gertrude", "孙丽", "A1", {Role.staff, Role.clerk}, "收发员"),
    ("yorick", "周敏", "A1", {Role.staff, Role.seal_keeper}, "印章管理员"),
    ("prospero", "吴磊", "A1", {Role.staff, Role.admin}, "系统管理员"),
    ("othello", "郑军", "B1", {Role.staff}, "科员"),
    ("iago", "冯涛", "B1", {Role.staff, Role.dept_head}, "主任"),
    ("desdemona", "何芳", "B1", {Role.staff, Role.leader}, "厅长"),
]


def login(client: TestClient, username: str, password: str = PASSWORD, *, totp_secret: str = "") -> dict[str, Any]:
    """Log in on ``client`` and set its CSRF header; returns the user payload. With ``totp_secret``
    the second step is done too, with the code the account's authenticator would show now."""
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    if totp_secret and body.get("totp_required"):
        import pyotp

        r = client.post(
            "/api/auth/totp",
            json={"code": pyotp.TOTP(totp_secret).now()},
            headers={"x-csrf-token": client.cookies.get("tb_csrf") or ""},
        )
        assert r.status_code == 200, r.text
        body = r.json()
    if not body.get("totp_required"):
        client.headers["x-csrf-token"] = body["user"]["csrf_token"]
    else:
        client.headers["x-csrf-token"] = client.cookies.get("tb_csrf") or ""
    return body


def new_client(app: Any) -> TestClient:
    return TestClient(app, base_url="http://testserver")


@contextmanager
def settings_changed(db: Database, **changes: Any) -> Iterator[None]:
    """Run with some of a running app's settings changed, then put them back. Services read their
    settings through the session's ``Database`` (``office.db.settings_of``), so the change applies
    to the next call, in every thread."""
    saved = db.settings
    db.settings = replace(saved, **changes)
    try:
        yield
    finally:
        db.settings = saved
