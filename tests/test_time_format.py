"""One time format in every JSON answer and event: ISO 8601 in UTC with "Z" (``office.timefmt``).

A world with data in every domain (``tests/authz_world.py``, built through HTTP and the services)
records every JSON body the app sends while it is built, then every GET route is read as the owner
and as an administrator; every event committed meanwhile is recorded too. Any string that looks
like a moment must be written the one way."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from office import events
from office.timefmt import PATTERN
from tests.authz_world import build_world
from tests.test_authz_matrix import fill, params, request_for

# A whole string that is a date and a time of day, however written ("2026-03-02T09:00",
# "2026-03-02 09:00:00.5+08:00"); prose that mentions one ("2026-12-07 10:12 至 ...") is not a value.
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


class Recorder:
    """ASGI middleware that keeps every JSON response body with the request that got it."""

    def __init__(self, app: ASGIApp, bodies: list[tuple[str, Any]]) -> None:
        self.app, self.bodies = app, bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        is_json = False

        async def record(message: Message) -> None:
            nonlocal is_json
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                is_json = headers.get(b"content-type", b"").startswith(b"application/json")
            elif message["type"] == "http.response.body" and is_json:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append((f"{scope['method']} {scope['path']}", json.loads(b"".join(chunks) or b"null")))
            await send(message)

        await self.app(scope, receive, record)


def strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, with its path."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{where}[{i}]")


def test_every_moment_in_json_answers_and_events_is_utc_with_z(app: Any) -> None:
    bodies: list[tuple[str, Any]] = []
    app.add_middleware(Recorder, bodies=bodies)
    committed: list[events.Event] = []
    record = events.subscribe("", lambda _db, ev: committed.append(ev))
    try:
        with TestClient(app) as main:
            w = build_world(app)
            w.main = main
            w.org.users["osric"] = w.org.users["horatio"]  # the matrix's spare people: any will do for a GET
            w.ids["spare_session_id"], w.ids["docx"] = 0, b""
            for method, path in [(m, r.path) for r in app.routes if isinstance(r, Route) for m in r.methods or ()]:
                if method == "GET":
                    url = fill(path, params(w, method, path))
                    for user in ("hamlet", "prospero", "gertrude", "yorick", "claudius", "polonius"):
                        w.client(user).get(url, **(request_for(w, method, path) or {}))
            w.close()
    finally:
        events.unsubscribe(record)
    bodies += [(f"event {ev.type}", json.loads(ev.text) if ev.text else ev.payload) for ev in committed]
    wrong = sorted(
        {f"{source} {where}: {text}" for source, body in bodies for where, text in strings(body) if _wrong(where, text)}
    )
    assert len(bodies) > 150, len(bodies)
    assert not wrong, f"{len(wrong)} moments not written as {PATTERN.pattern}:\n" + "\n".join(wrong[:80])


def _wrong(where: str, text: str) -> bool:
    # ``local_*`` fields are wall-clock times in a meeting's own zone, offset included (the meeting
    # form edits them as a local date and time), not moments: the one exception, by name.
    local = where.rsplit(".", 1)[-1].startswith("local_")
    return bool(MOMENT.fullmatch(text)) and not local and not PATTERN.fullmatch(text)
