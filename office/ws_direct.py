"""Event frames written straight to the socket, the way ``websockets.broadcast`` writes them.

Through ASGI each delivered frame wakes the connection's relay task and passes a chain of awaited
send wrappers (Starlette's, then uvicorn's) before the ``websockets`` protocol frames it. With a
message going to 100 people that overhead was the larger part of the server's time. uvicorn's
default websocket implementation (``websockets-sansio``) holds a sans-I/O ``websockets``
``ServerProtocol`` and an asyncio transport; on it the hub frames and writes each event directly
from the event loop, exactly as that protocol's own ``send`` does for ``websocket.send``.

The hub uses this only while nothing is queued or being sent for the connection and the transport
is not paused (see ``office.hub.Connection.offer``); otherwise frames take the queue and the relay
as before, so order, resume and the slow-client limit are unchanged. On any other server, or if
uvicorn's internals change shape, ``direct_writer`` answers None and everything takes the ASGI path
(``tests/office/test_ws_direct.py`` fails if that happens under the uvicorn we ship with).

Direct frames are built once per event and the same bytes go to every socket: an unmasked,
uncompressed text frame. That is allowed even where permessage-deflate was negotiated (RFC 7692
section 6: a message without RSV1 is not compressed) and leaves each connection's compressor
untouched, so frames the protocol itself compresses later still decode. Compressing a ~400-byte
chat frame separately for each of a hundred members was the largest single cost of a fan-out, for
a saving that does not matter on an office network.
"""

from __future__ import annotations

import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

try:
    from websockets.protocol import OPEN as _OPEN
except ImportError:  # another websockets layout: direct_writer answers None
    _OPEN = None  # type: ignore[assignment]  # then direct_writer declines and frames go the normal way

RAW_SEND = "office.raw_send"


class RawSend:
    """Remembers the server's own ``send`` for websocket scopes. It must sit before any middleware
    that wraps ``send`` (``office.app`` puts it right after ``HotPaths``, which passes websockets
    through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


class DirectWriter:
    __slots__ = ("_proto",)

    def __init__(self, proto: Any) -> None:
        self._proto = proto

    def ready(self) -> bool:
        """Open, handshake done, and the transport is taking data without pausing us."""
        p = self._proto
        return (
            p.handshake_complete
            and p.writable.is_set()
            and not p.close_sent
            and not p.disconnected
            and not p.transport.is_closing()
        )

    def write(self, frame: bytes) -> None:
        """One complete frame from ``text_frame``; raises if the connection is no longer open or a
        fragmented message of the protocol's own is under way (neither happens while ``ready``)."""
        p = self._proto
        conn = p.conn
        if conn.state is not _OPEN or conn.expect_continuation_frame:
            raise ConnectionError("websocket not open for a whole frame")
        pending = conn.data_to_send()  # normally empty: uvicorn flushes after each of its sends
        if pending:
            p.transport.write(b"".join(pending))
        p.transport.write(frame)


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (RFC 6455 section 5.2) around UTF-8 ``payload``."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


_NEEDED = ("conn", "transport", "writable", "handshake_complete", "close_sent", "disconnected")


def direct_writer(scope: Scope) -> DirectWriter | None:
    send = scope.get(RAW_SEND)
    proto = getattr(send, "__self__", None)
    if proto is None or type(proto).__name__ != "WebSocketsSansIOProtocol":
        return None
    if not all(hasattr(proto, name) for name in _NEEDED):
        return None
    conn = proto.conn
    if _OPEN is None or not (
        callable(getattr(conn, "data_to_send", None))
        and hasattr(conn, "state")
        and hasattr(conn, "expect_continuation_frame")
    ):
        return None
    return DirectWriter(proto)
