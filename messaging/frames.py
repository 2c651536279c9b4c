"""Websocket frames clients may send on /ws: ``chat.send`` (acked with ``chat.ack`` after the
commit), ``chat.read``, ``chat.typing``, ``presence.set`` and ``presence.watch``. Errors come back as ``error`` frames
carrying the client's ``ref``; a sender who keeps hitting the rate limit is closed with 1008."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from office.errors import OfficeError, RateLimited, ValidationError
from office.hub import Connection
from office.web import validate_body
from messaging import messages
from messaging.presence import STATUSES
from messaging.ratelimit import AbuseCounter
from messaging.schemas import FrameReadBody, FrameSendBody
from messaging.sendbatch import SendOp
from messaging.timeline import member_ids

if TYPE_CHECKING:
    from messaging.startup import ChatRuntime

TYPING_INTERVAL = 1.0


class FrameHandlers:
    def __init__(self, rt: ChatRuntime) -> None:
        self.rt = rt
        self.abuse: weakref.WeakKeyDictionary[Connection, AbuseCounter] = weakref.WeakKeyDictionary()
        self.typing_at: weakref.WeakKeyDictionary[Connection, dict[int, float]] = weakref.WeakKeyDictionary()
        self.tasks: set[asyncio.Task[None]] = set()
        self.inflight: weakref.WeakKeyDictionary[Connection, set[asyncio.Task[None]]] = weakref.WeakKeyDictionary()

    def register(self) -> None:
        hub = self.rt.hub
        hub.frame_handlers.update({"chat.send": self.send, "chat.read": self.read, "chat.typing": self.typing,
                                   "presence.set": self.presence,
                                   "presence.watch": self.watch})

    def _fields(self, frame: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in frame.items() if k not in ("type", "ref")}

    def _rate(self, conn: Connection) -> None:
        if self.rt.buckets.allow(conn.user_id, conn.actor.ip):
            return
        if self.abuse.setdefault(conn, AbuseCounter()).hit():
            self._spawn(self._close_after_acks(conn))
        raise RateLimited("发送过于频繁，请稍后再试")

    async def _close_after_acks(self, conn: Connection) -> None:
        # Sends already accepted get their acks first, so the client knows exactly what was stored.
        pending = self.inflight.get(conn, set())
        if pending:
            await asyncio.wait(pending)
        conn.close(1008, "发送过于频繁，连接已关闭")

    def _spawn(self, coro: Coroutine[Any, Any, None], conn: Connection | None = None) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if conn is not None:
            mine = self.inflight.setdefault(conn, set())
            mine.add(task)
            task.add_done_callback(mine.discard)

    async def send(self, conn: Connection, frame: dict[str, Any]) -> None:
        body: FrameSendBody = validate_body(FrameSendBody, self._fields(frame))
        self._rate(conn)
        actor, ref = conn.actor, frame.get("ref")
        fields = body.model_dump(exclude={"conversation_id"})
        fut = self.rt.batcher.submit(SendOp(actor, body.conversation_id, fields))
        # Submitted in frame order (so one client's sends keep their order); acked after commit.
        self._spawn(self._ack(conn, ref, fut), conn)

    async def _ack(self, conn: Connection, ref: Any, fut: Any) -> None:
        try:
            message = await asyncio.wrap_future(fut)
        except OfficeError as exc:
            conn.offer({"type": "error", "ref": ref, **exc.to_dict()})
        except Exception:
            conn.offer({"type": "error", "ref": ref, "error": "server_error", "message": "服务器内部错误，消息未保存"})
        else:
            conn.offer({"type": "chat.ack", "ref": ref, "message": message})

    async def read(self, conn: Connection, frame: dict[str, Any]) -> None:
        body: FrameReadBody = validate_body(FrameReadBody, self._fields(frame))
        actor = conn.actor
        fut = self.rt.batcher.submit(
            lambda s: messages.mark_read(s, actor, conversation_id=body.conversation_id, seq=body.seq))
        self._spawn(self._ack_read(conn, frame.get("ref"), fut))

    async def _ack_read(self, conn: Connection, ref: Any, fut: Any) -> None:
        try:
            result = await asyncio.wrap_future(fut)
        except OfficeError as exc:
            conn.offer({"type": "error", "ref": ref, **exc.to_dict()})
        else:
            if ref is not None:
                conn.offer({"type": "chat.read.ack", "ref": ref, **result})

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
        self.rt.hub.send_ephemeral(others, {"type": "chat.typing", "conversation_id": cid,
                                            "user_id": conn.user_id, "name": conn.actor.name})

    def _members(self, cid: int) -> list[int]:
        with self.rt.db.read() as s:
            return member_ids(s, cid)

    async def presence(self, conn: Connection, frame: dict[str, Any]) -> None:
        status = frame.get("status")
        if status not in STATUSES:
            raise ValidationError("status 只能是 online 或 away", code="invalid_field")
        self.rt.presence.set(conn, status)  # type: ignore[arg-type]

    async def watch(self, conn: Connection, frame: dict[str, Any]) -> None:
        ids = frame.get("user_ids")
        if not isinstance(ids, list) or not all(isinstance(u, int) and not isinstance(u, bool) for u in ids):
            raise ValidationError("user_ids 必须是整数列表", code="invalid_field")
        self.rt.presence.watch(conn, ids)
