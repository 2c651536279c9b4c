"""How ``office serve`` runs uvicorn: proxy headers left to the app, and a deadline for request headers.

uvicorn has no header-read timeout (its issue #157 lists ``--timeout-request-start`` as still to do).
Its keep-alive timer is cancelled by any byte received, so a client that sends one header byte every
few seconds holds a connection, and its memory, for as long as it likes; a few thousand such clients
exhaust the server (slowloris). ``HeaderDeadline`` closes a connection whose request line and
headers have not all arrived ``header_timeout_seconds`` after it opened, or after the previous
response on a kept-alive connection. The deadline stops as soon as the head is complete: a slow
upload or a long response is not cut, and a websocket is not either (the upgrade hands the transport
to another protocol object, which the timer checks).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, cast

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from office import logs
from office.config import Settings


class HeaderDeadline:
    """Mixin for uvicorn's HTTP protocols (httptools and h11 keep the same ``cycle``, ``transport``
    and ``on_response_complete``). ``cycle`` is replaced when a request's head has been parsed."""

    transport: asyncio.Transport
    cycle: Any
    loop: asyncio.AbstractEventLoop

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_after: Any = None  # the cycle that was current when the deadline was armed

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _owns_transport(self) -> bool:
        """False once a websocket upgrade has handed the transport to the websocket protocol."""
        return self.transport.get_protocol() is cast(asyncio.BaseProtocol, self)

    def _expired(self) -> None:
        self._deadline = None
        if self._owns_transport() and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._deadline is not None and (self.cycle is not self._waiting_after or not self._owns_transport()):
            self._disarm()  # the head is complete (a request started, or the connection was upgraded)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        # Wait for the next request's head, unless a pipelined request is already being answered.
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class HeaderTimeoutProtocol(HeaderDeadline, AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's default HTTP protocol (httptools when installed, else h11) with the header deadline."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn.Config keywords ``office serve`` uses (tests start their servers with the same)."""
    return {
        # A partial of a module-level class: picklable, so ``--workers`` processes get it too.
        "http": functools.partial(HeaderTimeoutProtocol, header_timeout=settings.header_timeout_seconds),
        # X-Forwarded-For and -Proto are believed only from OFFICE_TRUSTED_PROXIES (loopback unless
        # set; `none`: no one). The app applies them itself (office.logs.RequestLog), after noting the
        # peer for X-Request-ID, so the rule holds however the app is started; uvicorn's own handling
        # stays off.
        "proxy_headers": False,
        "forwarded_allow_ips": list(settings.trusted_proxies),
        "ws_max_size": 1024 * 1024,
        # No permessage-deflate: it kept a compressor and a decompressor for every open socket (51 KB
        # per online user under tracemalloc, bench/capacity_bench.py --memory) and inflated every
        # frame a client sent, while the frames the server sends go out uncompressed anyway
        # (office.ws_direct writes events and acks as plain frames). Chat frames are a few hundred
        # bytes on an office network.
        "ws_per_message_deflate": False,
        # One JSON line per request and event (office.logs) replaces uvicorn's own access line.
        "log_config": logs.uvicorn_log_config(),
        "access_log": False,
    }
