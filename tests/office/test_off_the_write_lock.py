"""Work that must not wait for the database's single write lock (issue #20): the password check
of a login, and the once-a-minute refresh of a session's idle timer by a read.

Each test holds the write lock itself (``Database.write()``, as a busy writer would) and shows the
request gets on with its work meanwhile; the guarantees around that work (lockout counted exactly,
a locked account refused, an idle session expiring) are checked as well.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from office import accounts, session_touch
from office.db import Database, utcnow
from office.errors import Unauthenticated
from office.models import AuthSession, LoginFailure, User
from office.secrets_box import hash_password
from tests.factories import PASSWORD, Org, login, new_client

WAIT = 10.0  # seconds: far more than any of these requests takes when nothing blocks it


@contextmanager
def write_lock_held(db: Database) -> Iterator[None]:
    """Hold the write lock on another thread (a long writer) until the block ends."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write():
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(WAIT)
    try:
        yield
    finally:
        release.set()
        holder.join(WAIT)


# Login --------------------------------------------------------------------------------------------


def test_login_verifies_the_password_before_taking_the_write_lock(
    client: TestClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = threading.Event()
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, stored: Any, password: Any) -> Any:
        try:
            return real_verify(self, stored, password)
        finally:
            verified.set()

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    with ThreadPoolExecutor(1) as pool, write_lock_held(org.db):
        answer = pool.submit(client.post, "/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
        # The Argon2 verification runs while another writer holds the lock ...
        assert verified.wait(WAIT), "the password was not verified until the write lock was free"
        assert not answer.done()  # ... and the login itself (its session, audit entry) waits for it
    r = answer.result(WAIT)
    assert r.status_code == 200 and r.json()["user"]["name"] == "张伟"


def _failures(db: Database, key: str) -> int:
    with db.read() as s:
        return int(s.exec(select(func.count()).where(col(LoginFailure.key) == key)).one())


def test_concurrent_wrong_passwords_lock_out_at_exactly_the_limit(client: TestClient, org: Org, app: Any) -> None:
    limit = app.state.settings.login_max_failures_account
    wrong = {"username": "ophelia", "password": "wrong-wrong-wrong"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: new_client(app).post("/api/auth/login", json=wrong), range(3 * limit)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [401] * limit + [423] * (2 * limit)  # exactly ``limit`` guesses were checked
    assert _failures(org.db, "pair:testclient|ophelia") == limit
    assert _failures(org.db, "user:ophelia") == limit
    # The right password after the lockout is still refused, and counts nothing more.
    r = new_client(app).post("/api/auth/login", json={"username": "ophelia", "password": PASSWORD})
    assert r.status_code == 423 and r.json()["error"] == "account_locked"
    assert _failures(org.db, "pair:testclient|ophelia") == limit


def test_a_password_changed_meanwhile_is_checked_against_the_new_hash(org: Org, app: Any) -> None:
    """The answer verified ahead belongs to the hash it was verified against: the transaction
    verifies again when the stored hash is another by then."""
    settings = app.state.settings
    with org.db.read() as s:
        ahead = accounts.password_checked_ahead(s, settings, username="hamlet", password=PASSWORD, ip="")
    assert ahead is not None
    with org.db.write() as s:  # an administrator resets the password before the login's transaction
        user = s.exec(select(User).where(User.username == "hamlet")).one()
        user.password_hash = hash_password(settings, "another-password-2026")
        s.add(user)
    with ahead, org.db.write() as s, pytest.raises(Unauthenticated):
        accounts.authenticate(s, settings, username="hamlet", password=PASSWORD, ip="", user_agent="")


# Session refresh ------------------------------------------------------------------------------------


def _set_last_seen(db: Database, ago: timedelta) -> Any:
    with db.write() as s:
        row = s.exec(select(AuthSession).where(col(AuthSession.revoked_at).is_(None))).one()
        row.last_seen_at = utcnow() - ago
        s.add(row)
        return row.last_seen_at


def _last_seen(db: Database) -> Any:
    with db.read() as s:
        return s.exec(select(AuthSession.last_seen_at).where(col(AuthSession.revoked_at).is_(None))).one()


def test_a_read_due_its_refresh_answers_while_a_writer_holds_the_lock(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    stale = _set_last_seen(org.db, timedelta(minutes=5))  # due its once-a-minute refresh
    with ThreadPoolExecutor(1) as pool, write_lock_held(org.db):
        started = utcnow()
        answer = pool.submit(client.get, "/api/me")
        r = answer.result(WAIT)  # answered with no write before it
        assert r.status_code == 200 and r.json()["username"] == "hamlet"
        assert _last_seen(org.db) == stale  # the refresh is still to be written
    session_touch.of(org.db).flush()  # (the background thread may have done it already)
    assert started <= _last_seen(org.db) <= utcnow()  # the time the request found the session live


def test_a_background_refresh_keeps_the_session_live_and_never_moves_it_back(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    _set_last_seen(org.db, timedelta(minutes=29))
    assert client.get("/api/me").status_code == 200
    session_touch.of(org.db).flush()
    refreshed = _last_seen(org.db)
    assert utcnow() - refreshed < timedelta(minutes=1)
    with org.db.read() as s:
        sid = s.exec(select(AuthSession.id).where(col(AuthSession.revoked_at).is_(None))).one()
    touches = session_touch.of(org.db)
    touches.note(sid, refreshed - timedelta(minutes=10))  # a late, older refresh changes nothing
    touches.flush()
    assert _last_seen(org.db) == refreshed


def test_an_idle_session_is_refused_and_not_refreshed(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    idle = _set_last_seen(org.db, timedelta(minutes=31))
    assert client.get("/api/me").status_code == 401
    assert session_touch.of(org.db).flush() == 0
    assert _last_seen(org.db) == idle
    assert client.get("/api/me").status_code == 401
