"""Websocket frames clients may send on /ws: ``chat.send`` (acked with ``chat.ack`` after the
commit), ``chat.read``, ``chat.typing``, ``presence.set`` and ``presence.watch``. Errors come back as ``error`` frames
carrying the client's ``ref``; a sender who keeps hitting the rate limit is closed with 1008. While
chat's writer is full, ``chat.send`` and ``chat.read`` are refused (``overloaded``, with the writer's
``retry_after``) before the frame is validated or rate-limited: a refusal costs a comparison."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from messaging.presence import STATUSES, visible_to
from messaging.ratelimit import AbuseCounter
from messaging.readbatch import ReadOp
from messaging.schemas import FrameReadBody, FrameSendBody
from messaging.sendbatch import SendOp
from messaging.timeline import member_ids
from office.errors import OfficeError, RateLimited, ValidationError
from office.hub import Connection
from office.web import validate_body

if TYPE_CHECKING:
    from messaging.startup import ChatRuntime

TYPING_INTERVAL = 1.0
log = logging.getLogger("messaging.frames")


class Completions:
    """Runs ``fn(future)`` on the event loop once a batcher future completes, for a whole batch at once.

    A task plus ``asyncio.wrap_future`` per send costs a task, two futures and one self-pipe wakeup
    each; here the batcher thread only appends to a deque, and one loop callback drains everything
    that completed since the last drain, in completion order (so one client's acks keep their order).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.done: deque[tuple[Callable[[Future[Any]], None], Future[Any]]] = deque()
        self.scheduled = False
        self.lock = threading.Lock()

    def add(self, fut: Future[Any], fn: Callable[[Future[Any]], None]) -> None:
        fut.add_done_callback(lambda f: self._finished(fn, f))

    def _finished(self, fn: Callable[[Future[Any]], None], fut: Future[Any]) -> None:  # any thread
        self.done.append((fn, fut))
        with self.lock:
            if self.scheduled:
                return
            self.scheduled = True
        self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self.lock:
            self.scheduled = False  # anything appended from here on schedules another drain
        done = self.done
        while done:
            fn, fut = done.popleft()
            try:
                fn(fut)
            except Exception:  # one bad callback must not strand the acks queued behind it
                log.exception("completion callback failed")


class FrameHandlers:
    def __init__(self, rt: ChatRuntime) -> None:
        self.rt = rt
        self.abuse: weakref.WeakKeyDictionary[Connection, AbuseCounter] = weakref.WeakKeyDictionary()
        self.typing_at: weakref.WeakKeyDictionary[Connection, dict[int, float]] = weakref.WeakKeyDictionary()
        self.tasks: set[asyncio.Task[None]] = set()
        # Sends submitted on a connection and not acked yet (a flooding client is closed after them).
        self.inflight: weakref.WeakKeyDictionary[Connection, set[Future[Any]]] = weakref.WeakKeyDictionary()
        self._completions: Completions | None = None

    @property
    def completions(self) -> Completions:
        if self._completions is None:
            self._completions = Completions(asyncio.get_running_loop())
        return self._completions

    def register(self) -> None:
        hub = self.rt.hub
        hub.frame_handlers.update(
            {
                "chat.send": self.send,
                "chat.read": self.read,
                "chat.typing": self.typing,
                "presence.set": self.presence,
                "presence.watch": self.watch,
            }
        )
        # The websocket forms of POST .../messages and POST .../read: they keep the session alive as
        # those requests would. Typing and presence do not (office.ws_session).
        hub.activity_frames.update({"chat.send", "chat.read"})

    def _fields(self, frame: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in frame.items() if k not in ("type", "ref")}

    def _rate(self, conn: Connection) -> None:
        if self.rt.buckets.allow(conn.user_id, conn.actor.ip):
            return
        if self.abuse.setdefault(conn, AbuseCounter(self.rt.db)).hit():
            self._spawn(self._close_after_acks(conn))
        raise RateLimited("发送过于频繁，请稍后再试")

    async def _close_after_acks(self, conn: Connection) -> None:
        # Sends already accepted get their acks first, so the client knows exactly what was stored.
        pending = self.inflight.get(conn, set())
        if pending:
            # Each future's ack drain was scheduled before the wakeup this wait gets, so by the time
            # it returns the acks are queued ahead of the close.
            await asyncio.wait([asyncio.wrap_future(f) for f in pending])
        conn.close(1008, "发送过于频繁，连接已关闭")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def send(self, conn: Connection, frame: dict[str, Any]) -> None:
        # Room first (the hub has already checked the session): under overload most frames are
        # refused, and a refusal then costs no validation, no rate-limit token and no item.
        self.rt.batcher.check_room()
        body: FrameSendBody = validate_body(FrameSendBody, self._fields(frame))
        self._rate(conn)
        actor, ref = conn.actor, frame.get("ref")
        fields = body.model_dump(exclude={"conversation_id"})
        fut = self.rt.batcher.submit(SendOp(actor, body.conversation_id, fields))
        # Submitted in frame order (so one client's sends keep their order); acked after commit.
        mine = self.inflight.get(conn)
        if mine is None:
            mine = self.inflight[conn] = set()
        mine.add(fut)
        self.completions.add(fut, lambda f: self._ack(conn, ref, f, mine))

    @staticmethod
    def _ack(conn: Connection, ref: Any, fut: Future[Any], mine: set[Future[Any]]) -> None:
        mine.discard(fut)
        exc = fut.exception()
        if exc is None:
            conn.offer({"type": "chat.ack", "ref": ref, "message": fut.result()})
        elif isinstance(exc, OfficeError):
            conn.offer({"type": "error", "ref": ref, **exc.to_dict()})
        else:
            conn.offer({"type": "error", "ref": ref, "error": "server_error", "message": "服务器内部错误，消息未保存"})

    async def read(self, conn: Connection, frame: dict[str, Any]) -> None:
        self.rt.batcher.check_room()  # as for send: a refusal before any work
        body: FrameReadBody = validate_body(FrameReadBody, self._fields(frame))
        actor = conn.actor
        fut = self.rt.batcher.submit(ReadOp(actor, body.conversation_id, body.seq))
        ref = frame.get("ref")
        self.completions.add(fut, lambda f: self._ack_read(conn, ref, f))

    @staticmethod
    def _ack_read(conn: Connection, ref: Any, fut: Future[Any]) -> None:
        exc = fut.exception()
        if exc is None:
            if ref is not None:
                conn.offer({"type": "chat.read.ack", "ref": ref, **fut.result()})
        elif isinstance(exc, OfficeError):
            conn.offer({"type": "error", "ref": ref, **exc.to_dict()})
        else:
            conn.offer({"type": "error", "ref": ref, "error": "server_error", "message": "服务器内部错误"})

    async def typing(self, conn: Connection, frame: dict[str, Any]) -> None:
        cid = frame.get("conversation_id")
        if not isinstance(cid, int) or isinstance(cid, bool):
            raise ValidationError("conversation_id 必须是整数", code="invalid_field")
        now = time.monotonic()
        seen = self.typing_at.setdefault(conn, {})
        if now - seen.get(cid, 0.0) < TYPING_INTERVAL:
            return  # throttled silently: typing is best effort
        seen[cid] = now
        members = await asyncio.get_running_loop().run_in_executor(None, self._members, cid)
        if conn.user_id not in members:
            raise OfficeError("会话不存在或你不是成员", code="conversation_not_found")
        others = [u for u in members if u != conn.user_id]
        self.rt.hub.send_ephemeral(
            others, {"type": "chat.typing", "conversation_id": cid, "user_id": conn.user_id, "name": conn.actor.name}
        )

    def _members(self, cid: int) -> list[int]:
        with self.rt.db.read() as s:
            return member_ids(s, cid)

    async def presence(self, conn: Connection, frame: dict[str, Any]) -> None:
        status = frame.get("status")
        if status not in STATUSES:
            raise ValidationError("status 只能是 online 或 away", code="invalid_field")
        self.rt.presence.set(conn, status)

    async def watch(self, conn: Connection, frame: dict[str, Any]) -> None:
        ids = frame.get("user_ids")
        if not isinstance(ids, list) or not all(isinstance(u, int) and not isinstance(u, bool) for u in ids):
            raise ValidationError("user_ids 必须是整数列表", code="invalid_field")
        with self.rt.db.read() as s:
            ids = visible_to(s, conn.actor, ids)
        self.rt.presence.watch(conn, ids)
