"""Websockets and their sessions (``office.ws_session``), on a real server: a socket stops acting
when its session expires (frames refused and the socket closed with 4401, by the frame itself or by
the timer), chat frames keep the session alive as the HTTP requests they stand for would, and a
session or user may open only so many sockets (4429)."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import update
from sqlmodel import col, select

from office import session_touch, ws_session
from office.config import Settings
from office.db import utcnow
from office.models import AuthSession
from tests.conftest import LiveServer
from tests.factories import Org
from tests.messaging.helpers import cid, group
from tests.messaging.test_ws import User, recv, recv_type, stored
from tests.office.test_off_the_write_lock import write_lock_held

P = "/api/messages"


@pytest.fixture
def settings(settings: Settings, request: Any) -> Settings:
    # One idle minute as in the report; the timer is off unless a test turns it on.
    base = {"session_idle_minutes": 1, "ws_session_check_seconds": 3600, "ws_max_per_session": 3, "ws_max_per_user": 4}
    return settings.with_overrides(**{**base, **getattr(request, "param", {})})


def with_settings(**changes: Any) -> Any:
    return pytest.mark.parametrize("settings", [changes], indirect=True, ids=[""])


class Login(User):
    """A login over HTTP, and the id of the session it opened."""

    def __init__(self, live: LiveServer, org: Org, username: str) -> None:
        super().__init__(live, username)
        with org.db.read() as s:
            self.session_id = s.exec(
                select(AuthSession.id)
                .where(AuthSession.user_id == org.users[username])
                .order_by(col(AuthSession.id).desc())
            ).first()


def _idle_for(org: Org, user: Login, seconds: float) -> None:
    """Make the session look unused for ``seconds``: its last request that long ago."""
    with org.db.write() as s:
        s.execute(
            update(AuthSession)
            .where(AuthSession.id == user.session_id)  # type: ignore[arg-type]
            .values(last_seen_at=utcnow() - timedelta(seconds=seconds))
        )


def _expires_in(org: Org, user: Login, seconds: float) -> None:
    """Bring the session's absolute expiry (``OFFICE_SESSION_ABSOLUTE_HOURS``) to ``seconds`` from now."""
    with org.db.write() as s:
        s.execute(
            update(AuthSession)
            .where(AuthSession.id == user.session_id)  # type: ignore[arg-type]
            .values(expires_at=utcnow() + timedelta(seconds=seconds))
        )


def _idle(org: Org, user: Login) -> timedelta:
    with org.db.read() as s:
        return utcnow() - s.get(AuthSession, user.session_id).last_seen_at  # type: ignore[union-attr,no-any-return]


def _refreshed(org: Org, user: Login) -> bool:
    """Whether the session's last-seen time is now (give or take 5 s) once the refreshes noted for
    the background writer (``office.session_touch``) are written: flushed here, or by its thread."""
    deadline = time.monotonic() + 10
    while _idle(org, user) > timedelta(seconds=5):
        if time.monotonic() > deadline:
            return False
        session_touch.of(org.db).flush()
        time.sleep(0.02)  # the thread may be writing what it took a moment ago
    return True


async def _closed(ws: Any, timeout: float = 5) -> Any:
    with pytest.raises(websockets.ConnectionClosed) as info:
        while True:
            await recv(ws, timeout)
    assert info.value.rcvd is not None
    return info.value.rcvd


def _me(live: LiveServer, user: User) -> int:
    return httpx.get(f"{live.url}/api/me", headers={"Cookie": user.cookie}).status_code


def test_a_frame_after_the_session_expired_is_refused_not_stored_and_closes_4401(
    live: LiveServer, live_org: Org
) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = Login(live, live_org, "hamlet")

    async def scenario() -> Any:
        _idle_for(live_org, ham, 57)  # three seconds of the idle minute left
        async with ham.ws() as h:
            assert (await recv(h))["type"] == "hello"
            await h.send(
                json.dumps(
                    {"type": "chat.send", "ref": "a", "conversation_id": g, "text": "还来得及", "client_id": cid()}
                )
            )
            assert (await recv_type(h, "chat.ack"))["ref"] == "a"
            await asyncio.sleep(3.5)  # the idle minute is over; the socket has said nothing since
            await h.send(
                json.dumps(
                    {"type": "chat.send", "ref": "b", "conversation_id": g, "text": "过期之后", "client_id": cid()}
                )
            )
            return await _closed(h)

    closed = asyncio.run(scenario())
    assert (closed.code, closed.reason) == (4401, "登录已过期，请重新登录")
    assert [m.body for m in stored(live_org, g)][1:] == ["还来得及"]
    assert _me(live, ham) == 401  # the same verdict as HTTP


@with_settings(ws_session_check_seconds=0.2)
def test_the_timer_closes_a_listening_socket_whose_session_expired(live: LiveServer, live_org: Org) -> None:
    ham, oph = Login(live, live_org, "hamlet"), User(live, "ophelia")

    async def scenario() -> Any:
        _expires_in(live_org, ham, 1.5)  # the absolute limit this time
        async with ham.ws() as h, oph.ws() as o:
            await recv(h)
            await recv(o)
            closed = await _closed(h, timeout=6)  # only listening: no frame of its own
            await o.send(json.dumps({"type": "ping"}))
            assert (await recv_type(o, "pong"))["type"] == "pong"  # a live session's socket stays
            return closed

    closed = asyncio.run(scenario())
    assert (closed.code, closed.reason) == (4401, "登录已过期，请重新登录")


@with_settings(session_idle_minutes=2)
def test_chat_frames_refresh_the_idle_timer_as_http_would_and_pings_do_not(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = Login(live, live_org, "hamlet")

    async def scenario() -> None:
        _idle_for(live_org, ham, 59)  # the handshake comes just before a refresh is due
        async with ham.ws() as h:
            await recv(h)
            await asyncio.sleep(1.5)  # now one is due, as on the next HTTP request
            await h.send(json.dumps({"type": "presence.set", "status": "away"}))
            await h.send(json.dumps({"type": "chat.typing", "conversation_id": g}))
            await h.send(json.dumps({"type": "ping"}))
            await recv_type(h, "pong")
            assert _idle(live_org, ham) > timedelta(seconds=60)  # none of that is the user working
            await h.send(json.dumps({"type": "chat.read", "ref": "r", "conversation_id": g, "seq": 1}))
            await recv_type(h, "chat.read.ack")
            assert _refreshed(live_org, ham)  # (in the background) as POST .../read would have

    asyncio.run(scenario())


def test_an_account_that_must_enrol_2fa_gets_no_socket_as_it_gets_no_http_act(live: LiveServer, live_org: Org) -> None:
    from office import accounts
    from office.actor import SYSTEM
    from office.models import Role

    g = group(live_org, "hamlet", "组", ["ophelia"])
    with live_org.db.write() as s:
        accounts.set_role_policy(s, SYSTEM, Role.staff, require_2fa=True)
    user = User(live, "hamlet")  # signed in; holds 科员 and has not set up two-step verification

    async def scenario() -> None:
        r = await user.http.post(f"{P}/conversations/{g}/messages", json={"text": "未设置两步验证"})
        assert r.status_code == 403 and r.json()["error"] == "2fa_setup_required"
        async with user.ws() as w:
            refused = await _closed(w)
            assert refused.code == 4403 and "两步验证" in refused.reason

    asyncio.run(scenario())


def test_sockets_per_session_and_per_user_are_capped_with_4429(live: LiveServer, live_org: Org) -> None:
    first, second = User(live, "hamlet"), User(live, "hamlet")  # two logins: two sessions
    hub = live.app.state.hub

    async def scenario() -> None:
        async with first.ws() as a1, first.ws() as a2, first.ws() as a3:
            for w in (a1, a2, a3):
                assert (await recv(w))["type"] == "hello"
            async with first.ws() as a4:
                refused = await _closed(a4)
                assert refused.code == 4429 and "本次登录" in refused.reason
            async with second.ws() as b1:
                assert (await recv(b1))["type"] == "hello"
                async with second.ws() as b2:
                    refused = await _closed(b2)
                    assert refused.code == 4429 and "您打开的连接" in refused.reason
            await a1.send(json.dumps({"type": "ping"}))
            assert (await recv(a1))["type"] == "pong"  # the refusals closed nothing else
        for _ in range(100):
            if live_org.users["hamlet"] not in hub.online_user_ids():
                break
            await asyncio.sleep(0.05)
        async with second.ws() as b1, second.ws() as b2:  # closed sockets no longer count
            assert (await recv(b1))["type"] == "hello" and (await recv(b2))["type"] == "hello"

    asyncio.run(scenario())


@with_settings(session_idle_minutes=10)
def test_the_handshake_and_a_recheck_refresh_the_idle_timer_without_waiting_for_the_write_lock(
    live: LiveServer, live_org: Org
) -> None:
    """Clients reconnecting together (after a restart) must not queue behind chat's writer: the
    refresh is noted for the background writer, as an HTTP read's is, and counted at once."""
    ham = Login(live, live_org, "hamlet")
    assert ham.session_id is not None
    _idle_for(live_org, ham, 120)  # due its once-a-minute refresh

    async def opened() -> str:
        async with ham.ws() as h:
            return str((await recv(h))["type"])

    with write_lock_held(live_org.db):
        started = utcnow()
        assert asyncio.run(opened()) == "hello"  # the socket opened while a writer holds the lock
        assert _idle(live_org, ham) > timedelta(seconds=100)  # the refresh is still to be written
        with ThreadPoolExecutor(1) as pool:  # a deadline: it must not wait for the lock
            found = pool.submit(ws_session.recheck, live_org.db, [ham.session_id], touch=[ham.session_id])
            state = found.result(10)[ham.session_id]
        assert state is not None and state[1] >= started  # counted as refreshed at once
    assert _refreshed(live_org, ham)


def test_a_recheck_reads_each_session_and_its_account_in_one_statement(org: Org) -> None:
    """Every active socket is rechecked about once a minute, and the timer's sweep rechecks every due
    socket at once: one joined statement per chunk of sessions, not one per session for its account
    (a sweep of N sessions was N + 1 statements). The answers stay those of ``session_admits``: a live
    session is (live until, last seen), a revoked one or one of a disabled account is None."""
    from sqlalchemy import event

    from office import accounts
    from office.models import User as Account

    names = ["hamlet", "ophelia", "horatio", "polonius"]
    ids: list[int] = []
    with org.db.write() as s:
        for name in names:
            user = s.get(Account, org.users[name])
            assert user is not None
            row = accounts._open_session(s, org.db.settings, user, ip="", user_agent="", mfa_pending=False)[1]
            ids.append(row.id or 0)
        s.execute(update(AuthSession).where(col(AuthSession.id) == ids[2]).values(revoked_at=utcnow()))
        s.execute(update(Account).where(col(Account.id) == org.users["polonius"]).values(is_active=False))
    selects: list[str] = []

    def keep(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            selects.append(sql)

    event.listen(org.db.engine, "before_cursor_execute", keep)
    try:
        found = ws_session.recheck(org.db, ids)
    finally:
        event.remove(org.db.engine, "before_cursor_execute", keep)
    assert len(selects) == 1, selects
    assert found[ids[0]] is not None and found[ids[1]] is not None
    assert found[ids[2]] is None and found[ids[3]] is None
    live_until, last_seen = found[ids[0]]  # type: ignore[misc]
    assert last_seen <= utcnow() < live_until
