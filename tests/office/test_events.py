"""Event hub: after-commit delivery over /ws on a real server, resume by last id, session close."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from office import events
from office.actor import SYSTEM
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org


@pytest.fixture(autouse=True)
def _made_up_events() -> Iterator[None]:
    """These tests publish made-up ``test.*`` events: the bus is under test, not a domain's payloads."""
    with events.unchecked():
        yield


def _login_cookie(live: LiveServer, username: str) -> tuple[str, str]:
    r = httpx.post(f"{live.url}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return f"tb_session={r.cookies['tb_session']}", r.json()["user"]["csrf_token"]


def _publish(org: Org, user: str, n: int, tag: str = "t") -> None:
    for i in range(n):
        with org.db.write() as s:
            events.publish_on_commit(s, "test.ping", {"n": i, "tag": tag}, user_ids=[org.users[user]])


async def _recv(ws: Any, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


def test_events_delivered_after_commit_and_never_on_rollback(live: LiveServer, live_org: Org) -> None:
    cookie, _ = _login_cookie(live, "hamlet")
    other_cookie, _ = _login_cookie(live, "ophelia")

    async def scenario() -> None:
        async with (
            websockets.connect(live.ws_url, additional_headers={"Cookie": cookie, "Origin": live.url}) as ws,
            websockets.connect(live.ws_url, additional_headers={"Cookie": other_cookie}) as other,
        ):
            hello = await _recv(ws)
            assert hello["type"] == "hello"
            await _recv(other)
            with pytest.raises(RuntimeError):
                with live_org.db.write() as s:
                    events.publish_on_commit(s, "test.ping", {"n": -1}, user_ids=[live_org.users["hamlet"]])
                    raise RuntimeError("rolled back")
            await asyncio.to_thread(_publish, live_org, "hamlet", 3)
            got = [await _recv(ws) for _ in range(3)]
            assert [g["n"] for g in got] == [0, 1, 2]
            assert got[0]["id"] < got[1]["id"] < got[2]["id"]
            # ophelia was not a recipient: she receives nothing but her pong.
            await other.send(json.dumps({"type": "ping"}))
            assert (await _recv(other))["type"] == "pong"

    asyncio.run(scenario())


def test_resume_replays_exactly_what_was_missed(live: LiveServer, live_org: Org) -> None:
    cookie, _ = _login_cookie(live, "hamlet")

    async def scenario() -> None:
        async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
            await _recv(ws)
            await asyncio.to_thread(_publish, live_org, "hamlet", 2, "before")
            seen = [await _recv(ws) for _ in range(2)]
        last = seen[-1]["id"]
        await asyncio.to_thread(_publish, live_org, "hamlet", 4, "missed")
        async with websockets.connect(
            f"{live.ws_url}?last_event_id={last}", additional_headers={"Cookie": cookie}
        ) as ws:
            hello = await _recv(ws)
            assert hello["resync"] is False
            replay = [await _recv(ws) for _ in range(4)]
            assert [r["tag"] for r in replay] == ["missed"] * 4
            assert [r["n"] for r in replay] == [0, 1, 2, 3]
            await asyncio.to_thread(_publish, live_org, "hamlet", 1, "live")
            assert (await _recv(ws))["tag"] == "live"
            await ws.send(json.dumps({"type": "ping"}))
            assert (await _recv(ws))["type"] == "pong"  # nothing doubled in between

    asyncio.run(scenario())


def test_unauthenticated_and_foreign_origin_are_closed_with_1008(live: LiveServer, live_org: Org) -> None:
    cookie, _ = _login_cookie(live, "hamlet")

    async def scenario() -> None:
        for headers in ({}, {"Cookie": "tb_session=forged.value"}, {"Cookie": cookie, "Origin": "http://evil.example"}):
            async with websockets.connect(live.ws_url, additional_headers=headers) as ws:
                with pytest.raises(websockets.ConnectionClosed) as info:
                    await _recv(ws)
                assert info.value.rcvd is not None and info.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_logout_closes_that_sessions_sockets_at_once(live: LiveServer, live_org: Org) -> None:
    cookie, csrf = _login_cookie(live, "hamlet")

    async def scenario() -> None:
        async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
            await _recv(ws)
            async with httpx.AsyncClient() as http:
                r = await http.post(f"{live.url}/api/auth/logout", headers={"Cookie": cookie, "x-csrf-token": csrf})
                assert r.status_code == 200
            frame = await _recv(ws)
            assert frame["type"] == "auth.session_ended"
            with pytest.raises(websockets.ConnectionClosed) as info:
                await _recv(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_bad_frames_get_error_frames(live: LiveServer, live_org: Org) -> None:
    cookie, _ = _login_cookie(live, "hamlet")

    async def scenario() -> None:
        async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
            await _recv(ws)
            await ws.send("not json")
            assert (await _recv(ws))["error"] == "malformed"
            await ws.send(b"\x00\x01")
            assert (await _recv(ws))["error"] == "binary_frame"
            await ws.send(json.dumps({"type": "no.such.thing"}))
            assert (await _recv(ws))["error"] == "unknown_type"

    asyncio.run(scenario())


def test_subscribers_run_after_commit(db: Any, org: Org) -> None:
    seen: list[str] = []

    def on_ping(_db: Any, ev: events.Event) -> None:
        seen.append(ev.payload["tag"])

    events.subscribe("test.", on_ping)
    try:
        with db.write() as s:
            events.publish_on_commit(s, "test.ping", {"tag": "a"}, user_ids=[])
            assert seen == []
        assert seen == ["a"]
        with pytest.raises(ValueError), db.write() as s:
            events.publish_on_commit(s, "test.ping", {"tag": "b"})
            raise ValueError
        assert seen == ["a"]
    finally:
        events.unsubscribe(on_ping)
    assert SYSTEM.is_admin
