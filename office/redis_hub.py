"""Hub backend over Redis pub/sub (``OFFICE_HUB_URL=redis://host:port/db``): every process
publishes committed events, ephemeral frames and control messages to one channel and delivers
what it receives (its own included) to its local sockets.

Ordering: a process publishes synchronously, in the thread that committed, while it still holds
the write lock (``Database.write`` delivers before releasing it), so one process's events reach
Redis in commit order, and Redis keeps per-connection order. On PostgreSQL the write lock is an
advisory lock across processes, so all processes publish in global commit order.

Delivery is at-most-once (pub/sub keeps nothing), but events are stored first: if the
subscription drops, every local socket is closed with 1012 and clients resume from their last
event id, replayed from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio as aredis

from office.hub import Backend, Hub

log = logging.getLogger("office.redis_hub")
CHANNEL = "tongban:hub"
RETRY_SECONDS = 1.0


class RedisBackend(Backend):
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._pub = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._receive: Callable[[dict[str, Any]], None] | None = None
        self._ready = asyncio.Event()

    async def start(self, receive: Callable[[dict[str, Any]], None]) -> None:
        self._receive = receive
        self._task = asyncio.create_task(self._listen())
        # Don't report started before we are subscribed, or the first events could be missed.
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    def publish(self, message: dict[str, Any], hub: Hub) -> None:
        data = json.dumps(message, ensure_ascii=False, default=str)
        with self._lock:
            self._pub.publish(self.channel, data)

    async def _listen(self) -> None:
        first = True
        while True:
            client = aredis.Redis.from_url(self.url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not first:
                    self._reset_sockets()
                first = False
                self._ready.set()
                async for msg in pubsub.listen():
                    if msg.get("type") != "message":
                        continue
                    try:
                        data = json.loads(msg["data"])
                    except ValueError:
                        log.warning("ignored a malformed hub message")
                        continue
                    if self._receive is not None:
                        self._receive(data)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis subscription lost; retrying")
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _reset_sockets(self) -> None:
        """Events may have been published while we were not subscribed: make every local client
        resume from the database."""
        hub = getattr(self._receive, "__self__", None)
        if isinstance(hub, Hub):
            for conns in list(hub.by_user.values()):
                for conn in list(conns):
                    conn.close(1012, "事件通道已重连，请重新连接")

    def ping(self) -> None:
        """For ``/readyz``: raises unless Redis answers now."""
        with self._lock:
            self._pub.ping()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            self._pub.close()
