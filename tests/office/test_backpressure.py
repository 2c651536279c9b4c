"""Backpressure (issue #20 part 4): a group-commit writer holds at most ``write_queue_max`` accepted,
unanswered items; past that new work is refused at once (HTTP 503 with ``Retry-After``, a websocket
``error`` frame with ``retry_after``) and changes nothing, while reads, health and /metrics answer.

The writer is held on purpose (``GroupCommit.running`` cleared: it stops before its next batch) and
its queue filled with a few harmless items under a small limit, rather than by generating real load.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from bench import overload_bench
from messaging.models import Message
from office.app import STATIC_DIR as STATIC
from office.config import Settings
from office.db import Database
from office.errors import Overloaded
from office.groupcommit import RETRY_AFTER, RETRY_AFTER_MAX, GroupCommit
from office.models import AuditEntry
from tests.conftest import LiveServer, require_tool
from tests.factories import Org, login, settings_changed
from tests.messaging.helpers import cid, group
from tests.messaging.test_ws import User, recv, recv_type
from tests.office.test_metrics import samples, scrape

LIMIT = 3
WAIT = 10.0  # seconds: far more than any answer here takes when nothing blocks it
P = "/api/messages"


@contextmanager
def saturated(db: Database, writer: GroupCommit) -> Iterator[list[Future[Any]]]:
    """The writer held and its queue full (``LIMIT`` items waiting) until the block ends."""
    with settings_changed(db, write_queue_max=LIMIT):
        writer.running.clear()
        fillers = [writer.submit(lambda _s: None) for _ in range(LIMIT)]
        try:
            yield fillers
        finally:
            writer.running.set()
            for f in fillers:
                f.result(WAIT)  # accepted work is still answered once the writer runs


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as s:
        messages = s.exec(select(func.count()).select_from(Message)).one()
        audit = s.exec(select(func.count()).select_from(AuditEntry)).one()
        return int(messages), int(audit)


def _refused(name: str) -> float:
    return REGISTRY.get_sample_value("office_write_queue_refused_total", {"name": name}) or 0.0


def test_a_full_queue_answers_503_at_once_changes_nothing_and_reads_go_on(client: TestClient, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    login(client, "hamlet")
    db, writer = org.db, client.app.state.chat.batcher  # type: ignore[attr-defined]
    before, refused = _counts(db), _refused(writer.name)
    body = {"text": "排队中", "client_id": cid()}
    with ThreadPoolExecutor(4) as pool, saturated(db, writer):
        # In a thread with a deadline: without the bound the send would wait for the held writer.
        r = pool.submit(client.post, f"{P}/conversations/{g}/messages", json=body).result(WAIT)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == str(RETRY_AFTER)
        assert (r.json()["error"], r.json()["message"]) == ("overloaded", "系统繁忙，请稍后重试")
        assert r.json()["retry_after"] == RETRY_AFTER
        read_mark = pool.submit(client.post, f"{P}/conversations/{g}/read", json={"seq": 1}).result(WAIT)
        assert read_mark.status_code == 503 and read_mark.json()["error"] == "overloaded"
        assert _counts(db) == before  # no message, no audit entry
        assert writer.depth == LIMIT  # the refused were never queued
        # Reads, health and metrics do not pass through the writer.
        history = pool.submit(client.get, f"{P}/conversations/{g}/messages").result(WAIT)
        assert history.status_code == 200
        assert pool.submit(client.get, "/healthz").result(WAIT).status_code == 200
        ready = pool.submit(client.get, "/readyz").result(WAIT)
        assert ready.status_code == 200, ready.text
        scraped = pool.submit(scrape, client.app).result(WAIT)
        assert scraped.status_code == 200
        assert samples(scraped.text)[("office_write_queue_depth", (("name", writer.name),))] == LIMIT
    assert _refused(writer.name) == refused + 2
    # Once the writer catches up, the same send (same client_id) is accepted and stored once.
    r = client.post(f"{P}/conversations/{g}/messages", json=body)
    assert r.status_code == 201 and r.json()["text"] == "排队中"
    assert _counts(db)[0] == before[0] + 1


def test_the_retry_hint_grows_with_the_refusals_for_the_writers_throughput(settings: Settings) -> None:
    """Each refusal of an overload takes the next slot of a schedule that advances one item at the
    writer's throughput: in the overload's first second a full queue (4 items) a second, then what
    it answered (nothing, held: 1 item/s); never under 1 s nor over 30 s, for submit and check_room
    alike. Once the queue drained, the next overload starts at 1 s again."""
    now = [1000.0]
    db = Database(settings)
    writer = GroupCommit(db, name="retry-hint-test", max_queue=4, clock=lambda: now[0])

    def hints(at: float, n: int, ask: Any = None) -> list[int]:
        now[0] = 1000.0 + at
        got = []
        for _ in range(n):
            with pytest.raises(Overloaded) as refused:
                (ask or (lambda: writer.submit(lambda _s: None)))()
            got.append(refused.value.retry_after)
        return got

    def fill() -> list[Future[Any]]:
        writer.running.clear()
        return [writer.submit(lambda _s: None) for _ in range(4)]

    try:
        held = fill()
        assert hints(0, 6) == [RETRY_AFTER, 2, 2, 2, 2, 3]  # four slots a second, from 1 s on
        assert hints(10, 5) == [1, 2, 3, 4, 5]  # those slots are past; now one a second (none answered)
        assert max(hints(10, 40)) == RETRY_AFTER_MAX and hints(10, 1, writer.check_room) == [RETRY_AFTER_MAX]
        assert writer.refused == 52 and writer.depth == 4  # refused, never queued
        writer.running.set()
        for f in held:
            f.result(WAIT)
        held = fill()  # drained to nothing in between: a new overload
        assert hints(20, 1) == [RETRY_AFTER]
    finally:
        writer.running.set()
        writer.stop()
        db.dispose()


def test_a_refused_http_send_spends_no_rate_token_and_a_refused_upload_stores_no_file(
    client: TestClient, org: Org
) -> None:
    """The writer's room is checked before the sender's rate limit and before an upload is stored."""
    g = group(org, "hamlet", "组", ["ophelia"])
    login(client, "hamlet")
    db, rt = org.db, client.app.state.chat  # type: ignore[attr-defined]
    url = f"{P}/conversations/{g}/messages"
    files = sorted(p for p in rt.files.rglob("*") if p.is_file())
    with ThreadPoolExecutor(2) as pool, settings_changed(db, chat_rate_burst=2, chat_rate_per_second=0.001):
        with saturated(db, rt.batcher):
            codes = [
                pool.submit(client.post, url, json={"text": "忙", "client_id": cid()}).result(WAIT) for _ in range(4)
            ]
            assert [(r.status_code, r.json()["error"]) for r in codes] == [(503, "overloaded")] * 4
            up = pool.submit(
                client.post, f"{P}/conversations/{g}/attachments", files={"file": ("a.txt", b"abc", "text/plain")}
            ).result(WAIT)
            assert up.status_code == 503, up.text
            assert sorted(p for p in rt.files.rglob("*") if p.is_file()) == files
        # The sender's two tokens are still there: the refusals spent none.
        assert [client.post(url, json={"text": f"{i}", "client_id": cid()}).status_code for i in range(2)] == [201] * 2


def test_http_writes_waiting_for_a_busy_writer_hold_no_thread_so_reads_go_on(client: TestClient, org: Org) -> None:
    """More sends waiting for a held writer than the threadpool has threads (anyio's 40): each
    waits on the event loop for its commit, not on a thread, so a read still gets one at once."""
    g = group(org, "hamlet", "组", ["ophelia"])
    login(client, "hamlet")
    db, writer = org.db, client.app.state.chat.batcher  # type: ignore[attr-defined]
    waiting = 45
    url = f"{P}/conversations/{g}/messages"
    with ThreadPoolExecutor(waiting + 1) as pool, settings_changed(db, write_queue_max=100, chat_rate_burst=100):
        writer.running.clear()
        try:
            sends = [
                pool.submit(client.post, url, json={"text": f"第{i}条", "client_id": cid()}) for i in range(waiting)
            ]
            deadline = time.monotonic() + WAIT
            while writer.depth < waiting and time.monotonic() < deadline:
                time.sleep(0.01)  # the sends arriving (each is queued the moment it is checked)
            assert pool.submit(client.get, url).result(WAIT).status_code == 200
        finally:
            writer.running.set()
        assert [f.result(WAIT).status_code for f in sends] == [201] * waiting


def test_a_websocket_send_on_a_full_queue_gets_an_error_frame_and_no_ack(live: LiveServer, live_org: Org) -> None:
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = User(live, "hamlet")
    db, writer = live_org.db, live.app.state.chat.batcher
    client_id = cid()
    frame = {"type": "chat.send", "ref": "r1", "conversation_id": g, "text": "忙时发送", "client_id": client_id}

    async def refused() -> None:
        async with ham.ws() as w:
            assert (await recv(w))["type"] == "hello"
            await w.send(json.dumps(frame))
            got = await asyncio.wait_for(recv_type(w, "error"), WAIT)
            assert (got["ref"], got["error"], got["retry_after"]) == ("r1", "overloaded", RETRY_AFTER)
            assert got["message"] == "系统繁忙，请稍后重试"
            await w.send(json.dumps({"type": "ping"}))
            assert (await recv(w))["type"] == "pong"  # answered, and no chat.ack came before it

    async def retried() -> None:
        async with ham.ws() as w:
            assert (await recv(w))["type"] == "hello"
            await w.send(json.dumps({**frame, "ref": "r2"}))
            ack = await recv_type(w, "chat.ack")
            assert ack["ref"] == "r2" and ack["message"]["text"] == "忙时发送" and not ack["message"].get("duplicate")

    before = _counts(db)
    with saturated(db, writer):
        asyncio.run(refused())
        assert _counts(db) == before
    asyncio.run(retried())  # the client's retry after the hint is stored, once
    with db.read() as s:
        assert s.exec(select(func.count()).where(col(Message.client_id) == client_id)).one() == 1


def test_a_refused_frame_is_neither_validated_nor_rate_limited_and_changes_nothing(
    live: LiveServer, live_org: Org
) -> None:
    """While the writer is full a chat.send or chat.read frame is refused before anything else is done
    with it: an invalid one answers overloaded (not its validation error), and refused sends spend
    none of the sender's rate-limit tokens nor count towards closing the socket for abuse."""
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = User(live, "hamlet")
    db = live_org.db

    def send(ref: str, **extra: Any) -> str:
        return json.dumps(
            {"type": "chat.send", "ref": ref, "conversation_id": g, "text": ref, "client_id": cid()} | extra
        )

    async def refused() -> None:
        async with ham.ws() as w:
            assert (await recv(w))["type"] == "hello"
            await w.send(send("bad", conversation_id="第一组", text=7))
            await w.send(json.dumps({"type": "chat.read", "ref": "rd", "conversation_id": g, "seq": -1}))
            for i in range(6):
                await w.send(send(f"s{i}"))
            got = [await recv_type(w, "error") for _ in range(8)]
            assert [(e["ref"], e["error"]) for e in got] == [
                (r, "overloaded") for r in ["bad", "rd"] + [f"s{i}" for i in range(6)]
            ]
            await w.send(json.dumps({"type": "ping"}))
            assert (await recv(w))["type"] == "pong"  # still open, and nothing else came before

    async def accepted() -> None:
        async with ham.ws() as w:
            assert (await recv(w))["type"] == "hello"
            for ref in ("a1", "a2"):
                await w.send(send(ref))
                assert (await recv_type(w, "chat.ack"))["ref"] == ref

    before = _counts(db)
    with settings_changed(db, chat_rate_burst=2, chat_rate_per_second=0.001, chat_abuse_rejections=3):
        with saturated(db, live.app.state.chat.batcher):
            asyncio.run(refused())
            assert _counts(db) == before
        asyncio.run(accepted())  # both of the sender's tokens were left
    assert _counts(db)[0] == before[0] + 2


# The web client (static/js/api.js), run by node against the real server: no browser needed. ---------

CLIENT_CHECK = """
const [source, url, cookie, csrf] = process.argv.slice(1);
globalThis.document = { cookie: `tb_csrf=${csrf}` };
const { request, retryDelay, ApiError } = await import("data:text/javascript;base64," + source);
const body = { text: "网页端发送", client_id: "web-retry-1" };
try {
  await request("POST", url, { body, headers: { Cookie: cookie } });
  console.log(JSON.stringify({ sent: true }));
} catch (err) {
  console.log(JSON.stringify({
    status: err.status, code: err.code, message: err.message, retryAfter: err.retryAfter,
    first: [retryDelay(err, 0, { random: () => 0 }), retryDelay(err, 0, { random: () => 1 })],
    last: retryDelay(err, 8),
    backoff: [1, 4, 30].map((hint) => [0, 0.37, 0.999].map((r) => [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
      retryDelay(new ApiError(503, "overloaded", "x", null, hint), n, { random: () => r })))),
    network: [0, 1, 2, 3].map((n) => retryDelay(new ApiError(0, "network", "x"), n)),
    refused: retryDelay(new ApiError(422, "invalid", "x"), 0),
  }));
}
"""


def test_the_web_client_waits_for_retry_after_before_sending_again(live: LiveServer, live_org: Org) -> None:
    node = require_tool("node")
    g = group(live_org, "hamlet", "组", ["ophelia"])
    ham = User(live, "hamlet")
    source = base64.b64encode((STATIC / "js" / "api.js").read_bytes()).decode()
    url = f"{live.url}{P}/conversations/{g}/messages"
    args = [node, "--input-type=module", "-e", CLIENT_CHECK, source, url, ham.cookie, ham.http.headers["x-csrf-token"]]

    def client() -> dict[str, Any]:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
        got: dict[str, Any] = json.loads(done.stdout)
        return got

    with saturated(live_org.db, live.app.state.chat.batcher):
        refused = client()
    assert (refused["status"], refused["code"], refused["retryAfter"]) == (503, "overloaded", RETRY_AFTER)
    assert refused["message"] == "系统繁忙，请稍后重试"
    wait = RETRY_AFTER * 1000
    assert refused["first"] == [wait, wait * 3 // 2]  # the hint, stretched by up to half at random
    # Refused again and again, it waits twice as long each time (30 s at most), never less than the
    # server's hint; after eight retries the composer shows the message instead.
    by_hint = {hint: table for hint, table in zip((1, 4, 30), refused["backoff"], strict=True)}
    assert by_hint[1][0] == [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, None]
    assert by_hint[4][0] == [4000, 4000, 4000, 8000, 16000, 30000, 30000, 30000, None]
    assert by_hint[30][2] == [44985] * 8 + [None]  # the longest hint, stretched by nearly half
    assert refused["last"] is None
    # The benchmark's simulated crowd (bench/overload_bench.py) retries exactly as this client does.
    for hint, table in by_hint.items():
        for r, row in zip((0, 0.37, 0.999), table, strict=True):
            mirrored = [overload_bench.retry_delay(hint, n, r) for n in range(9)]
            assert row == [None if s is None else round(s * 1000) for s in mirrored], (hint, r)
    assert refused["network"] == [1000, 2000, 3000, None] and refused["refused"] is None
    assert client() == {"sent": True}  # the retry, once the writer has room
