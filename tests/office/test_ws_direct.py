"""Frames written straight to the socket (office.ws_direct) under the uvicorn we ship with: the fast
path is really taken, and a reader that stops reading makes frames queue behind it, so order,
resume ids and the slow-client limit hold exactly as on the ASGI path."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx
import websockets
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from office.hub import Connection, Encoded
from office.ws_direct import text_frame
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org

FIRST = 10**6  # above any stored event id, so the connection has not "already sent" them


def _login(live: LiveServer, username: str) -> str:
    r = httpx.post(f"{live.url}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return f"tb_session={r.cookies['tb_session']}"


def _conn(live: LiveServer, user_id: int) -> Connection:
    (conn,) = live.app.state.hub.by_user[user_id]
    return conn  # type: ignore[no-any-return]


def _publish(live: LiveServer, user_id: int, ids: range, pad: int) -> None:
    hub = live.app.state.hub
    events = [
        {
            "id": i,
            "type": "test.frame",
            "payload": {"n": i, "pad": secrets.token_urlsafe(pad)},
            "text": None,
            "user_ids": [user_id],
        }
        for i in ids
    ]
    hub.loop.call_soon_threadsafe(hub._receive, {"kind": "events", "events": events})


async def _frames(ws: Any, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < count:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "test.frame":
            out.append(frame)
    return out


def test_frames_take_the_direct_path(live: LiveServer, live_org: Org) -> None:
    uid = live_org.users["hamlet"]

    async def main() -> None:
        async with websockets.connect(live.ws_url, additional_headers={"Cookie": _login(live, "hamlet")}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            conn = _conn(live, uid)
            assert conn.direct is not None, "uvicorn's websocket protocol changed shape: no direct writes"
            _publish(live, uid, range(FIRST, FIRST + 50), pad=10)
            got = await _frames(ws, 50)
            assert [f["n"] for f in got] == list(range(FIRST, FIRST + 50))
            assert conn.direct_writes >= 50 and conn.last_sent == FIRST + 49

    asyncio.run(main())


def test_a_reader_that_stalls_gets_everything_in_order_through_the_queue(live: LiveServer, live_org: Org) -> None:
    uid = live_org.users["hamlet"]
    # then 60 small ones. 18 MB, incompressible: past even autotuned loopback socket buffers;
    # under the 1000-frame limit
    count = 900

    async def main() -> None:
        async with websockets.connect(
            live.ws_url, additional_headers={"Cookie": _login(live, "hamlet")}, max_queue=1
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            conn = _conn(live, uid)
            for start in range(FIRST, FIRST + count, 20):  # as commits arrive: in many loop iterations
                _publish(live, uid, range(start, start + 20), pad=15000)
                await asyncio.sleep(0.02)  # not reading: the server's transport fills and pauses
            assert conn.direct_writes < count, "a paused transport must send the rest through the queue"
            # Read while more frames keep arriving: none may overtake those still queued.
            reader = asyncio.create_task(_frames(ws, count + 60))
            for start in range(FIRST + count, FIRST + count + 60, 5):
                _publish(live, uid, range(start, start + 5), pad=10)
                await asyncio.sleep(0.01)
            got = await reader
            assert [f["n"] for f in got] == list(range(FIRST, FIRST + count + 60))
            assert not conn.closed

    asyncio.run(main())


class _Writer:
    """Stands in for the socket in the ordering rules below (the live tests above use the real one)."""

    def __init__(self) -> None:
        self.open = True
        self.written: list[bytes] = []

    def ready(self) -> bool:
        return self.open

    def write(self, data: bytes) -> None:
        self.written.append(data)


def test_direct_writes_never_overtake_anything_queued_or_in_flight() -> None:
    writer = _Writer()
    conn = Connection(ws=None, user_id=1, session_id=None, direct=writer)  # type: ignore[arg-type]
    conn.replaying = False

    def frame(i: int) -> Encoded:
        return Encoded(i, f'{{"id":{i}}}')

    conn.offer(frame(1))
    assert len(writer.written) == 1 and conn.queue.empty() and conn.last_sent == 1
    conn.offer(frame(1))
    assert len(writer.written) == 1  # an id already sent is not sent twice
    writer.open = False  # transport paused
    conn.offer(frame(2))
    writer.open = True  # resumed, but frame 2 is still queued: 3 must queue behind it
    conn.offer(frame(3))
    assert [f.id for f in conn.queue._queue] == [2, 3] and len(writer.written) == 1  # type: ignore[attr-defined]
    conn.queue.get_nowait(), conn.queue.get_nowait()
    conn.sending = True  # the relay is writing one: the next frame must wait for it
    conn.offer(frame(4))
    assert [f.id for f in conn.queue._queue] == [4]  # type: ignore[attr-defined]
    conn.queue.get_nowait()
    conn.sending, conn.replaying = False, True  # resuming: stored events wait for the replay
    conn.offer(frame(5))
    assert conn.held and conn.queue.empty() and len(writer.written) == 1


def test_the_shared_frame_is_a_plain_text_frame_any_client_parses() -> None:
    for size in (0, 1, 125, 126, 127, 65535, 65536, 70000):
        payload = ("文" * (size // 3) + "x" * (size % 3)).encode()
        assert len(payload) == size
        reader = StreamReader()
        reader.feed_data(text_frame(payload))
        reader.feed_eof()
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
            raise AssertionError("the frame was incomplete")
        except StopIteration as done:
            frame = done.value
        assert (frame.opcode, frame.fin, frame.rsv1, frame.data) == (Opcode.TEXT, True, False, payload)
        assert not reader.buffer  # nothing left over
