"""One JSON line per request and per important event, and the request id that ties them together.

``RequestLog`` is the app's outermost middleware. It gives every request an id (``X-Request-ID``:
an incoming one is kept only when the peer is one of ``OFFICE_TRUSTED_PROXIES``, which set it; from
anyone else it is replaced, so a client cannot write into another request's log lines), returns it
in the answer's header and in every JSON error body (``{"error", "message", "request_id"}``), counts
the request for ``/metrics`` by its route template, and writes one line to the ``office.access``
logger. It sees the peer before uvicorn's proxy handling would hide it, which is why the proxy
headers are applied here (``ProxyHeadersMiddleware`` inside this one) and not by uvicorn.

What a line holds is chosen, never copied from the request: the method, the route template (not
the raw path or query, which may carry names or tokens), status, duration, user id, client address.
No header, cookie, body or query text is ever logged, so no password, token, PIN or document text
can be (tests/office/test_logs.py searches the output of calls that use every kind of secret).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from office import metrics

access = logging.getLogger("office.access")
events = logging.getLogger("office.event")
HEADER = b"x-request-id"
# Request ids: this process's random prefix and a counter (unique across workers and restarts, and
# cheaper than a uuid4's system call per request).
_PREFIX = secrets.token_hex(6)
_SEQ = itertools.count(1)
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def line(kind: str, **fields: Any) -> str:
    return json.dumps(
        {"ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), "kind": kind, **fields},
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def event(name: str, request: Any = None, **fields: Any) -> None:
    """An important event (a login, a lockout …) as one JSON line; ``fields`` are ids and codes the
    caller chose, never a secret or a document's text."""
    if events.isEnabledFor(logging.INFO):
        state = request.scope.get("state", {}) if request is not None else {}
        events.info(line("event", event=name, request_id=state.get("request_id"), **fields))


def note_user(scope: Scope, user_id: int | None) -> None:
    """The acting user of this request, for its access line."""
    scope.setdefault("state", {})["user_id"] = user_id


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path", "?")
    from office.hotpath import _HOT  # answered before routing: those paths are their own templates

    return scope["path"] if scope["path"] in _HOT else "<unmatched>"  # an unmatched path stays out of labels


class RequestLog:
    def __init__(self, app: ASGIApp, *, trusted_proxies: tuple[str, ...] = ()) -> None:
        # uvicorn's middleware, typed with its own ASGI types; it is the same protocol as Starlette's.
        proxy = ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=list(trusted_proxies)) if trusted_proxies else None
        self.hosts = proxy.trusted_hosts if proxy else None
        self.app: ASGIApp = cast(ASGIApp, proxy) if proxy else app

    def request_id(self, scope: Scope) -> str:
        client = scope.get("client")
        if self.hosts is not None and client and client[0] in self.hosts:
            for name, value in scope["headers"]:
                if name == HEADER and _SANE.fullmatch(value):
                    return value.decode()
        return f"{_PREFIX}{next(_SEQ):012x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = self.request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status = 101 if kind == "websocket" else 500
        held: Message | None = None  # an error answer's start, kept until its JSON body is amended
        parts: list[bytes] = []

        async def send_with_id(message: Message) -> None:
            nonlocal status, held
            mtype = message["type"]
            if mtype == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((HEADER, rid.encode()))
                if status >= 400 and (b"content-type", b"application/json") in message["headers"]:
                    held = message
                    return
            elif mtype == "http.response.body" and held is not None:
                parts.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                start_msg, held = held, None
                body = _with_request_id(b"".join(parts), rid)
                start_msg["headers"] = [(k, v) for k, v in start_msg["headers"] if k != b"content-length"]
                start_msg["headers"].append((b"content-length", str(len(body)).encode()))
                await send(start_msg)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id if kind == "http" else send)
        finally:
            elapsed = time.perf_counter() - start
            route = route_of(scope)
            method = scope.get("method", "WS")
            metrics.request_done(method, route, status, elapsed)
            if access.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access.info(
                    line(
                        "request",
                        request_id=rid,
                        user_id=state.get("user_id"),
                        method=method,
                        route=route,
                        status=status,
                        ms=round(elapsed * 1000, 2),
                        client=client[0] if client else None,
                    )
                )


def _with_request_id(body: bytes, rid: str) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and "error" in data:
        data["request_id"] = rid
        return json.dumps(data, ensure_ascii=False).encode()
    return body


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration plus the JSON lines, one per line on stderr. ``office serve``
    passes it to uvicorn, which applies it in every worker process. (A bare ``uvicorn office.asgi:app``,
    as the benchmarks and tests start, writes none: their stderr is often a pipe nobody reads.)"""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["office_json"] = {"format": "%(message)s"}
    config["handlers"]["office_json"] = {
        "class": "logging.StreamHandler",
        "formatter": "office_json",
        "stream": "ext://sys.stderr",
    }
    for name in (access.name, events.name):
        config["loggers"][name] = {"handlers": ["office_json"], "level": "INFO", "propagate": False}
    return config
