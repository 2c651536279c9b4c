"""Real-time chat over /ws against a real uvicorn server: delivery to every device of every member,
acks after commit, resume after a drop with nothing missing or doubled, idempotent retry across
WS and HTTP, recall, typing, receipts, non-members, removal, floods."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from messaging.models import Message
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org
from tests.messaging.helpers import cid, config, group

P = "/api/messages"


class User:
    def __init__(self, live: LiveServer, username: str) -> None:
        r = httpx.post(f"{live.url}/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.live = live
        self.cookie = f"tb_session={r.cookies['tb_session']}"
        self.http = httpx.AsyncClient(
            base_url=live.url, headers={"Cookie": self.cookie, "x-csrf-token": r.json()["user"]["csrf_token"]}
        )

    def ws(self, last: int | None = None) -> Any:
        url = self.live.ws_url + (f"?last_event_id={last}" if last is not None else "")
        return websockets.connect(url, additional_headers={"Cookie": self.cookie})


async def recv(ws: Any, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def recv_type(ws: Any, prefix: str, timeout: float = 5) -> dict[str, Any]:
    """Next frame of the given type, skipping others (presence and the like)."""
    while True:
        frame = await recv(ws, timeout)
        if frame["type"].startswith(prefix):
            return frame


async def silent(ws: Any, prefix: str = "chat.", wait: float = 0.4) -> bool:
    """True when no frame of the type arrives (pinged afterwards to flush the pipe)."""
    await asyncio.sleep(wait)
    await ws.send(json.dumps({"type": "ping"}))
    while True:
        frame = await recv(ws)
        if frame["type"] == "pong":
            return True
        if frame["type"].startswith(prefix):
            return False


def stored(org: Org, conversation_id: int) -> list[Message]:
    with org.db.read() as s:
        return list(
            s.exec(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)).all()
        )  # type: ignore[arg-type]


def test_message_reaches_every_device_of_every_member_and_ack_follows_commit(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oph, oth = User(live, "hamlet"), User(live, "ophelia"), User(live, "othello")

    async def scenario() -> None:
        async with ham.ws() as h1, ham.ws() as h2, oph.ws() as o1, oth.ws() as x:
            for w in (h1, h2, o1, x):
                assert (await recv(w))["type"] == "hello"
            await h1.send(
                json.dumps(
                    {"type": "chat.send", "ref": "r1", "conversation_id": g, "text": "大家好", "client_id": cid()}
                )
            )
            ack = await recv_type(h1, "chat.ack")
            assert ack["ref"] == "r1" and ack["message"]["seq"] == 2
            assert [m.body for m in stored(live_org, g)][-1] == "大家好"  # durable before the ack
            for w in (h2, o1):
                ev = await recv_type(w, "chat.message")
                assert (ev["conversation_id"], ev["seq"], ev["message"]["text"]) == (g, 2, "大家好")
            assert await silent(x)  # not a member: nothing
            await o1.send(json.dumps({"type": "chat.read", "conversation_id": g, "seq": 2}))
            receipt = await recv_type(h2, "chat.read")
            assert (receipt["user_id"], receipt["seq"]) == (live_org.users["ophelia"], 2)
            await o1.send(json.dumps({"type": "chat.typing", "conversation_id": g}))
            typing = await recv_type(h1, "chat.typing")
            assert typing["name"] == "李娜"
            assert await silent(x)

    asyncio.run(scenario())


def test_resume_after_drop_replays_missed_in_order_without_doubles(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oph = User(live, "hamlet"), User(live, "ophelia")

    async def scenario() -> None:
        async with oph.ws() as o:
            await recv(o)
            r = await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "掉线前"})
            assert r.status_code == 201
            last = (await recv_type(o, "chat.message"))["id"]
        for i in range(5):  # while her laptop sleeps
            assert (
                await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": f"错过{i}"})
            ).status_code == 201
        async with oph.ws(last) as o:
            hello = await recv(o)
            assert hello["type"] == "hello" and hello["resync"] is False
            missed = [await recv_type(o, "chat.message") for _ in range(5)]
            assert [m["message"]["text"] for m in missed] == [f"错过{i}" for i in range(5)]
            assert [m["seq"] for m in missed] == [3, 4, 5, 6, 7]
            await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "实时"})
            assert (await recv_type(o, "chat.message"))["message"]["text"] == "实时"
            assert await silent(o)  # nothing doubled

    asyncio.run(scenario())


def test_retry_after_lost_ack_over_ws_then_http_stores_once(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = User(live, "hamlet")
    key = cid()

    async def scenario() -> None:
        async with ham.ws() as h:
            await recv(h)
            await h.send(
                json.dumps({"type": "chat.send", "ref": 1, "conversation_id": g, "text": "只一次", "client_id": key})
            )
        # the socket died before the ack was read; retry over a new socket, then over HTTP
        await asyncio.sleep(0.3)
        async with ham.ws() as h:
            await recv(h)
            await h.send(
                json.dumps({"type": "chat.send", "ref": 2, "conversation_id": g, "text": "只一次", "client_id": key})
            )
            ack = await recv_type(h, "chat.ack")
        r = await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "只一次", "client_id": key})
        assert ack["message"]["id"] == r.json()["id"] and r.json()["duplicate"] is True
        assert [m.body for m in stored(live_org, g)].count("只一次") == 1

    asyncio.run(scenario())


def test_recall_reaches_everyone_and_window_is_enforced(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oph = User(live, "hamlet"), User(live, "ophelia")

    async def scenario() -> None:
        async with oph.ws() as o:
            await recv(o)
            m = (await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "发错了"})).json()
            await recv_type(o, "chat.message")
            assert (await ham.http.post(f"{P}/conversations/{g}/messages/{m['seq']}/recall")).status_code == 200
            ev = await recv_type(o, "chat.recall")
            assert (ev["seq"], ev["notice"]) == (m["seq"], "张伟撤回了一条消息")
            page = (await oph.http.get(f"{P}/conversations/{g}/messages")).json()
            assert page["items"][-1]["recalled"] and page["items"][-1]["text"] == ""
            with config(live_org.db, recall_seconds=0):
                m2 = (await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "太晚"})).json()
                await asyncio.sleep(0.05)
                r = await ham.http.post(f"{P}/conversations/{g}/messages/{m2['seq']}/recall")
                assert r.status_code == 409 and r.json()["error"] == "recall_window"

    asyncio.run(scenario())


def test_non_member_frames_get_errors_and_leak_nothing(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham, oth = User(live, "hamlet"), User(live, "othello")

    async def scenario() -> None:
        async with oth.ws() as x, ham.ws() as h:
            await recv(x)
            await recv(h)
            for frame in (
                {"type": "chat.send", "ref": "a", "conversation_id": g, "text": "闯入"},
                {"type": "chat.read", "ref": "b", "conversation_id": g, "seq": 1},
                {"type": "chat.typing", "ref": "c", "conversation_id": g},
                {"type": "chat.send", "ref": "d", "conversation_id": g, "text": "x", "extra": 1},
                {"type": "chat.send", "ref": "e", "conversation_id": "1; drop table"},
            ):
                await x.send(json.dumps(frame))
                err = await recv_type(x, "error")
                assert err["ref"] == frame["ref"] and err["error"] in ("conversation_not_found", "invalid_field")
            assert await silent(h)  # the member heard nothing
        assert [m.body for m in stored(live_org, g)] == ["张伟创建了群聊“组”"]

    asyncio.run(scenario())


def test_removed_member_stops_receiving_at_once(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia", "horatio"])
    ham, hor = User(live, "hamlet"), User(live, "horatio")

    async def scenario() -> None:
        async with hor.ws() as w:
            await recv(w)
            r = await ham.http.delete(f"{P}/conversations/{g}/members/{live_org.users['horatio']}")
            assert r.status_code == 204
            ev = await recv_type(w, "chat.conversation")
            assert ev["op"] == "remove" and ev["conversation_id"] == g
            await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "他听不到"})
            assert await silent(w, "chat.message")

    asyncio.run(scenario())


def test_flood_is_limited_then_closed_with_1008_and_only_acked_messages_stored(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = User(live, "hamlet")

    async def scenario() -> int:
        acks = 0
        async with ham.ws() as h:
            await recv(h)
            for i in range(60):
                await h.send(json.dumps({"type": "chat.send", "ref": i, "conversation_id": g, "text": f"刷屏{i}"}))
            with pytest.raises(websockets.ConnectionClosed) as info:
                while True:
                    frame = await recv(h)
                    acks += frame["type"] == "chat.ack"
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008
        return acks

    with config(live_org.db, rate_burst=5, rate_per_second=0.01, abuse_rejections=20):
        acks = asyncio.run(scenario())
    assert acks == 5
    assert len(stored(live_org, g)) == 1 + 5


def test_ding_ack_over_http_reaches_sender(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia", "horatio"])
    ham, oph = User(live, "hamlet"), User(live, "ophelia")

    async def scenario() -> None:
        async with ham.ws() as h:
            await recv(h)
            m = (await ham.http.post(f"{P}/conversations/{g}/messages", json={"text": "速回", "ding": True})).json()
            assert (await oph.http.post(f"{P}/conversations/{g}/messages/{m['seq']}/ding/ack")).status_code == 200
            ev = await recv_type(h, "chat.ding_ack")
            assert ev["user_id"] == live_org.users["ophelia"] and ev["pending"] == 1
            st = (await ham.http.get(f"{P}/conversations/{g}/messages/{m['seq']}/ding")).json()
            assert [p["name"] for p in st["pending"]] == ["刘洋"]

    asyncio.run(scenario())


def test_presence_over_the_socket_follows_the_directorys_rule_across_agencies(live: LiveServer, live_org: Org) -> None:
    """hamlet (省政府办公厅) watches 郑军 (othello, 省财政厅's 科员), 何芳 (desdemona, its 厅长) and 李娜
    (ophelia, his own 处): 郑军 is left out of the snapshot and of every later change
    (``office.directory.visibility``, ``messaging.presence.visible_to``), the others are not."""
    u = live_org.users
    ham, oth, des = User(live, "hamlet"), User(live, "othello"), User(live, "desdemona")

    async def scenario() -> None:
        async with ham.ws() as h:
            await recv_type(h, "hello")
            ids = [u["othello"], u["desdemona"], u["ophelia"]]
            await h.send(json.dumps({"type": "presence.watch", "user_ids": ids}))
            snapshot = await recv_type(h, "presence.snapshot")
            assert set(snapshot["statuses"]) == {str(u["desdemona"]), str(u["ophelia"])}
            async with oth.ws() as o:
                await recv_type(o, "hello")
                assert await silent(h, "presence")  # 郑军 came online: not told
                async with des.ws() as d:
                    await recv_type(d, "hello")
                    frame = await recv_type(h, "presence")
                    assert frame == {"type": "presence", "user_id": u["desdemona"], "status": "online"}

    asyncio.run(scenario())
