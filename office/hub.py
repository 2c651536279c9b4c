"""Per-user websocket fan-out with resume.

Each socket gets a bounded ``asyncio.Queue`` and a relay task (websockets' "per-client queues"):
publishing never awaits a socket, and a client whose queue is full is closed (it resumes from its
last event id, so nothing is lost). Committed events arrive from worker threads through
``Database.event_sinks``; the backend carries them to every process (in-process by default, Redis
pub/sub with ``OFFICE_HUB_URL=redis://``), and each process delivers to its own sockets.

Control messages (close a session's sockets, close a user's sockets) travel the same way, so
logging out or disabling an account closes sockets in every process at once. Expiry, which sends no
message, and the number of sockets a session or user may open are ``office.ws_session``'s.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from office import metrics
from office.errors import OfficeError
from office.events import Event
from office.jsonin import parse_json
from office.ws_direct import DirectWriter, text_frame
from office.ws_session import CLOSE_TOO_MANY, SessionGuard

if TYPE_CHECKING:
    from office.db import Database

log = logging.getLogger("office.hub")
QUEUE_SIZE = 1000
FrameHandler = Callable[["Connection", dict[str, Any]], Awaitable[None]]


class Encoded:
    """A frame serialised once, to be queued on any number of connections.

    ``id`` is the stored event id (None for frames that are not stored events: acks, errors,
    typing, hello); the relay uses it to skip what a resume already replayed.
    """

    __slots__ = ("_wire", "id", "text")

    def __init__(self, id: int | None, text: str) -> None:
        self.id = id
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The whole websocket frame, built once however many sockets it is written to (see
        ``office.ws_direct.text_frame``)."""
        if self._wire is None:
            self._wire = text_frame(self.text.encode())
        return self._wire


def encode(frame: dict[str, Any] | Encoded) -> Encoded:
    if isinstance(frame, Encoded):
        return frame
    fid = frame.get("id") if frame.get("type") != "hello" else None
    return Encoded(fid, json.dumps(frame, ensure_ascii=False, default=str))


@dataclass(eq=False)
class Connection:
    ws: WebSocket
    user_id: int
    session_id: int | None
    actor: Any = None
    queue: asyncio.Queue[Encoded | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    last_sent: int = 0
    closed: bool = False
    close_code: int = 1000
    close_reason: str = ""
    replaying: bool = True
    held: list[Encoded] = field(default_factory=list)
    direct: DirectWriter | None = None  # see office.ws_direct
    sending: bool = False  # the relay holds a frame it has not finished writing
    direct_writes: int = 0
    live_until: datetime | None = None  # when the session stops being live (office.ws_session)
    seen_at: datetime | None = None  # the session's last-seen time as last read

    def offer(self, frame: dict[str, Any] | Encoded) -> None:
        """Queue a frame without waiting; a full queue closes this (slow) client.

        Pass an ``Encoded`` frame when the same frame goes to many connections: it is then
        serialised once, not once per connection.
        """
        if self.closed:
            return
        out = encode(frame)
        if self.replaying and out.id is not None:
            self.held.append(out)
            return
        direct = self.direct
        if direct is not None and not self.sending and self.queue.empty() and direct.ready():
            # Nothing is ahead of this frame, so writing it now keeps the order the queue would.
            if out.id is not None:
                if out.id <= self.last_sent:
                    return
                self.last_sent = out.id
            try:
                direct.write(out.wire)
                self.direct_writes += 1
            except Exception:  # the socket is going away; the client resumes from its last id
                self.closed = True
                with contextlib.suppress(asyncio.QueueFull):
                    self.queue.put_nowait(None)
            return
        try:
            self.queue.put_nowait(out)
        except asyncio.QueueFull:
            metrics.SLOW_CLOSES.inc()
            self.close(1013, "客户端接收过慢，请重新连接")

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code, self.close_reason = code, reason
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        if self.queue.full():
            # Make room for the close marker: the client will resume from its last id anyway.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Hub:
    def __init__(self, db: Database, backend: Backend | None = None) -> None:
        self.db = db
        self.backend: Backend = backend or MemoryBackend()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.by_user: dict[int, set[Connection]] = defaultdict(set)
        self.frame_handlers: dict[str, FrameHandler] = {}
        self.on_connect: list[Callable[[Connection], Awaitable[None]]] = []
        self.on_disconnect: list[Callable[[Connection], Awaitable[None]]] = []
        # Frame types that count as the user working: they refresh the session's idle timer as the
        # HTTP request doing the same would (office.ws_session).
        self.activity_frames: set[str] = set()
        self.sessions = SessionGuard(db)
        self._sweeper: asyncio.Task[None] | None = None
        self.delivered = 0

    # lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.backend.start(self._receive)
        self.db.event_sinks.append(self._sink)
        self._sweeper = asyncio.create_task(self.sessions.sweep(self))

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._sink in self.db.event_sinks:
            self.db.event_sinks.remove(self._sink)
        for conns in list(self.by_user.values()):
            for conn in list(conns):
                conn.close(1001, "服务器正在重启")
        await self.backend.stop()

    # publishing (any thread) ----------------------------------------------------------------
    def _sink(self, events: list[Event]) -> None:
        message = {
            "kind": "events",
            "events": [
                {"id": e.id, "type": e.type, "payload": e.payload, "text": e.text, "user_ids": list(e.user_ids)}
                for e in events
            ],
        }
        self.backend.publish(message, self)

    def close_sessions(self, session_ids: list[int], reason: str = "会话已结束") -> None:
        self.backend.publish({"kind": "close_sessions", "session_ids": session_ids, "reason": reason}, self)

    def close_users(self, user_ids: list[int], reason: str = "账号已停用") -> None:
        self.backend.publish({"kind": "close_users", "user_ids": user_ids, "reason": reason}, self)

    def send_ephemeral(self, user_ids: list[int], frame: dict[str, Any]) -> None:
        """Deliver a frame that is not stored (typing, presence) to users' sockets everywhere."""
        self.backend.publish({"kind": "ephemeral", "user_ids": user_ids, "frame": frame}, self)

    # receiving (event loop thread) ----------------------------------------------------------
    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "events":
            by_user = self.by_user
            for ev in message["events"]:
                frame: Encoded | None = None  # serialised once, and only if someone here is listening
                for uid in ev["user_ids"]:
                    conns = by_user.get(uid)
                    if not conns:
                        continue
                    if frame is None:
                        text = ev.get("text")
                        frame = (
                            Encoded(ev["id"], text)
                            if text is not None
                            else encode({"id": ev["id"], "type": ev["type"], **ev["payload"]})
                        )
                    for conn in conns:
                        conn.offer(frame)
                        self.delivered += 1
                if ev["type"] == "auth.session_ended":
                    ended = set(ev["payload"].get("session_ids", ()))
                    for uid in ev["user_ids"]:
                        for conn in list(self.by_user.get(uid, ())):
                            if conn.session_id in ended:
                                conn.close(1008, ev["payload"].get("reason", "会话已结束"))
        elif kind == "ephemeral":
            eframe = encode(message["frame"])
            for uid in message["user_ids"]:
                for conn in self.by_user.get(uid, ()):
                    conn.offer(eframe)
        elif kind == "close_sessions":
            wanted = set(message["session_ids"])
            for conns in self.by_user.values():
                for conn in list(conns):
                    if conn.session_id in wanted:
                        conn.close(1008, message.get("reason", "会话已结束"))
        elif kind == "close_users":
            for uid in message["user_ids"]:
                for conn in list(self.by_user.get(uid, ())):
                    conn.close(1008, message.get("reason", "账号已停用"))

    # connections ----------------------------------------------------------------------------
    def online_user_ids(self) -> set[int]:
        return {uid for uid, conns in self.by_user.items() if conns}

    async def serve(self, conn: Connection, last_event_id: int | None) -> None:
        """Register, replay what was missed, then relay live events until the socket closes."""
        # Counted and registered in one step of the loop, so simultaneous handshakes cannot all pass.
        refusal = self.sessions.refusal(conn, self.by_user.get(conn.user_id, ()))
        if refusal is not None:
            with contextlib.suppress(Exception):
                await conn.ws.close(CLOSE_TOO_MANY, refusal)
            return
        self.by_user[conn.user_id].add(conn)
        relay = asyncio.create_task(self._relay(conn))
        try:
            await self._replay(conn, last_event_id)
            for cb in self.on_connect:
                await cb(conn)
            await self._read_loop(conn)
        finally:
            conn.closed = True
            self.by_user[conn.user_id].discard(conn)
            if not self.by_user[conn.user_id]:
                self.by_user.pop(conn.user_id, None)
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.put_nowait(None)
            await relay
            for cb in self.on_disconnect:
                with contextlib.suppress(Exception):
                    await cb(conn)

    async def _replay(self, conn: Connection, last_event_id: int | None) -> None:
        from office import eventstore

        assert self.loop is not None
        if last_event_id is None:
            last = await self.loop.run_in_executor(None, eventstore.last_event_id, self.db, conn.user_id)
            missed: list[dict[str, Any]] = []
            resync = False
        else:
            last = last_event_id
            result = await self.loop.run_in_executor(
                None, eventstore.events_after, self.db, conn.user_id, last_event_id
            )
            resync, missed = result
        conn.last_sent = last
        conn.queue.put_nowait(
            encode({"type": "hello", "last_event_id": max([last] + [f["id"] for f in missed]), "resync": resync})
        )
        through = last
        for frame in missed:
            await conn.queue.put(encode(frame))
            through = frame["id"]
        conn.replaying = False
        held, conn.held = conn.held, []
        for out in held:
            if out.id is not None and out.id > through:
                conn.offer(out)

    async def _relay(self, conn: Connection) -> None:
        try:
            while True:
                frame = await conn.queue.get()
                if frame is None:
                    break
                if conn.ws.application_state != WebSocketState.CONNECTED:
                    break
                fid = frame.id
                if fid is not None:
                    if fid <= conn.last_sent:
                        continue  # already replayed
                    conn.last_sent = fid
                conn.sending = True
                await conn.ws.send_text(frame.text)
                conn.sending = False
        except Exception:  # the socket went away mid-send
            conn.closed = True
        if conn.close_code != 1000 or conn.close_reason:
            with contextlib.suppress(Exception):
                await conn.ws.close(conn.close_code, conn.close_reason)

    async def _read_loop(self, conn: Connection) -> None:
        while not conn.closed:
            try:
                message = await conn.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                conn.offer({"type": "error", "error": "binary_frame", "message": "不支持二进制帧"})
                continue
            try:
                # The same checks as an HTTP body: depth, integers a column can hold, no NUL.
                frame = parse_json(text.encode("utf-8", "surrogatepass"))
            except OfficeError as exc:
                conn.offer({"type": "error", "error": "malformed", "message": f"消息格式错误：{exc.message}"})
                continue
            if not isinstance(frame, dict):
                conn.offer({"type": "error", "error": "malformed", "message": "消息格式错误：需要 JSON 对象"})
                continue
            ftype = frame.get("type")
            if not await self.sessions.allow(conn, activity=ftype in self.activity_frames):
                return  # the session is over: the socket is closed and the frame not handled
            if ftype == "ping":
                conn.offer({"type": "pong"})
                continue
            handler = self.frame_handlers.get(ftype) if isinstance(ftype, str) else None
            if handler is None:
                conn.offer({"type": "error", "error": "unknown_type", "message": f"未知的消息类型：{str(ftype)[:40]}"})
                continue
            try:
                await handler(conn, frame)
            except Exception as exc:  # a handler's error goes back as a frame
                if isinstance(exc, OfficeError):
                    conn.offer({"type": "error", "ref": frame.get("ref"), **exc.to_dict()})
                else:
                    log.exception("frame handler %s failed", ftype)
                    conn.offer(
                        {"type": "error", "ref": frame.get("ref"), "error": "server_error", "message": "服务器内部错误"}
                    )


class Backend(abc.ABC):
    """Carries hub messages to every process's hub."""

    @abc.abstractmethod
    async def start(self, receive: Callable[[dict[str, Any]], None]) -> None: ...

    @abc.abstractmethod
    def publish(self, message: dict[str, Any], hub: Hub) -> None: ...

    async def stop(self) -> None:
        return None


class MemoryBackend(Backend):
    """One process: hand the message to the event loop, in order."""

    def __init__(self) -> None:
        self._receive: Callable[[dict[str, Any]], None] | None = None

    async def start(self, receive: Callable[[dict[str, Any]], None]) -> None:
        self._receive = receive

    def publish(self, message: dict[str, Any], hub: Hub) -> None:
        if self._receive is None or hub.loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is hub.loop:
            self._receive(message)
        else:
            hub.loop.call_soon_threadsafe(self._receive, message)


def make_backend(url: str) -> Backend:
    if url.startswith("redis://"):
        from office.redis_hub import RedisBackend

        return RedisBackend(url)
    return MemoryBackend()
