"""Fuzzing the websocket frames clients may send on /ws, against a real uvicorn server.

Hypothesis builds frames of every registered type (and unknown ones) with hostile field values:
wrong types, integers beyond any column, NUL and control characters, deep nesting, huge strings,
plus text that is not JSON and binary frames. After each batch a ping must come back as a pong:
the socket survives, no frame ever answers ``server_error``, and the only things stored are the
messages the server acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from messaging.models import Message
from office.errors import OfficeError
from office.jsonin import parse_json
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org
from tests.messaging.helpers import config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TYPES = ["chat.send", "chat.read", "chat.typing", "presence.set", "presence.watch", "ping", "nonsense", ""]
HOSTILE_TEXT = st.sampled_from(
    ["", "a\x00b", "\u202egnp.exe", "<script>alert(1)</script>", "😀" * 50, "x" * 20_000, "\x1b[31m", "' OR 1=1 --"]
)
HOSTILE_INT = st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 10**30, -(10**30)])
SCALAR = st.one_of(
    st.none(), st.booleans(), HOSTILE_INT, st.integers(), st.floats(allow_nan=False), HOSTILE_TEXT, st.text(max_size=40)
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
FIELDS = [
    "conversation_id",
    "text",
    "client_id",
    "seq",
    "status",
    "user_ids",
    "mentions",
    "reply_to_seq",
    "ref",
    "is_ding",
    "attachment_id",
]


@st.composite
def frames(draw: Any, cid: int) -> str | bytes:
    kind = draw(
        st.sampled_from(["frame", "frame", "frame", "send", "send", "send", "not_json", "binary", "deep", "array"])
    )
    if kind == "send":  # nearly right: hostile text in an otherwise well-formed send, sometimes one bad field
        frame = {
            "type": "chat.send",
            "conversation_id": cid,
            "text": draw(st.one_of(HOSTILE_TEXT, st.text(max_size=30))),
            "client_id": draw(st.uuids().map(str)),
            "ref": draw(st.integers(0, 10**6)),
        }
        if draw(st.integers(0, 3)) == 0:
            frame[draw(st.sampled_from(FIELDS))] = draw(VALUE)
        return json.dumps(frame, ensure_ascii=False)
    if kind == "not_json":
        return draw(st.sampled_from(["{", "null", "[]", '"x"', '{"type": }', "\x00", "1e999999"]))
    if kind == "binary":
        return draw(st.binary(min_size=1, max_size=64))
    if kind == "deep":
        return "[" * 5000 + "]" * 5000
    if kind == "array":
        return json.dumps([{"type": "ping"}])
    frame: dict[str, Any] = {"type": draw(st.sampled_from(TYPES))}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        frame[name] = draw(st.one_of(VALUE, st.just(cid))) if name == "conversation_id" else draw(VALUE)
    return json.dumps(frame, ensure_ascii=False, allow_nan=True)


def _login(live: LiveServer, username: str) -> str:
    r = httpx.post(f"{live.url}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return f"tb_session={r.cookies['tb_session']}"


def _department_cid(live: LiveServer, cookie: str) -> int:
    r = httpx.get(f"{live.url}/api/messages/conversations", headers={"Cookie": cookie})
    return next(c["id"] for c in r.json()["items"] if c["kind"] == "department")  # type: ignore[no-any-return]


async def _exchange(live: LiveServer, cookie: str, batch: list[str | bytes]) -> tuple[list[dict[str, Any]], Any]:
    replies: list[dict[str, Any]] = []
    async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}, max_size=2**22) as ws:
        for frame in batch:
            await ws.send(frame)
        await ws.send(json.dumps({"type": "ping"}))
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return replies, closed
            frame = json.loads(raw)
            replies.append(frame)
            if frame["type"] == "pong" and len([f for f in replies if f["type"] == "pong"]) > _pings(batch):
                return replies, None


def _pings(batch: list[str | bytes]) -> int:
    """Pings in the batch the server will answer: parsed by the server's own rules."""
    n = 0
    for frame in batch:
        try:
            parsed = parse_json(frame.encode() if isinstance(frame, str) else b"\xff")
        except OfficeError:
            continue
        n += isinstance(parsed, dict) and parsed.get("type") == "ping"
    return n


async def _drain(live: LiveServer, cookie: str, cid: int) -> None:
    """Sends are committed in order: once a last one is acknowledged, every earlier one is stored."""
    async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
        await ws.send(json.dumps({"type": "chat.send", "conversation_id": cid, "text": "end", "client_id": "drain"}))
        while json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] != "chat.ack":
            pass


def test_hostile_frames_get_errors_never_a_crash(live: LiveServer, live_org: Org) -> None:
    cookie = _login(live, "hamlet")
    cid = _department_cid(live, cookie)
    acks: list[dict[str, Any]] = []
    sent: set[tuple[Any, Any]] = set()
    seen_errors: set[str] = set()
    with live.app.state.db.read() as s:
        before = s.execute(select(func.max(Message.id))).scalar_one() or 0

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(frames(cid), min_size=1, max_size=6))
    def check(batch: list[str | bytes]) -> None:
        for frame in batch:
            try:
                parsed = json.loads(frame)
            except (ValueError, TypeError, RecursionError):
                continue
            if isinstance(parsed, dict) and parsed.get("type") == "chat.send":
                sent.add((str(parsed.get("client_id")), str(parsed.get("text"))))
        replies, closed = asyncio.run(_exchange(live, cookie, batch))
        assert closed is None, f"socket closed ({closed}) by {batch!r:.300}"
        for reply in replies:
            assert reply.get("error") != "server_error", f"{reply} for {batch!r:.300}"
            if reply["type"] == "error":
                assert reply.get("message"), reply  # every error says what was wrong
                seen_errors.add(reply["error"])
            if reply["type"] == "chat.ack":
                acks.append(reply)

    with config(
        live_org.db,
        rate_per_second=10_000.0,
        rate_burst=10_000,
        abuse_rejections=10_000,
        address_rate_per_second=10_000.0,
        address_rate_burst=10_000,
    ):
        check()
    # The fuzzer reached the interesting refusals, not just one kind of error.
    assert {"malformed", "unknown_type", "invalid_field"} <= seen_errors, seen_errors
    # Acks may still be in flight when a batch's socket closes: compare what is stored with what was
    # sent, not with the acks seen.
    asyncio.run(_drain(live, cookie, cid))
    sent.add(("drain", "end"))
    with live.app.state.db.read() as s:
        stored = s.execute(select(Message.client_id, Message.body).where(Message.id > before)).all()
    assert len(stored) >= 6, "no well-formed send got through: the fuzzer never exercised storage"
    assert {(c, b) for c, b in stored} <= sent, "something was stored that no frame asked for"
    assert len({c for c, _b in stored}) == len(stored), "a message was stored twice"
    assert {a["message"]["client_id"] for a in acks} <= {c for c, _b in stored}, "acknowledged but not stored"
