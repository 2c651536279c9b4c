"""Shedding by delay (issue #20 part 4): while the event loop runs later than
``Settings.loop_lag_max_ms`` (``office.looplag``), new chat sends are refused as on a full queue (503 ``overloaded`` with ``Retry-After``) and change nothing; reads and health answer;
once the loop keeps up again, the same send is accepted.

The lag is real: a probe of our own ticks on a real loop that the test blocks with ``time.sleep``
inside its callbacks. Between the test's drives that loop does not run, so the probe's value holds
still while the HTTP requests (served on the TestClient's own loop) are made.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from office import looplag
from office.groupcommit import RETRY_AFTER
from tests.factories import Org, login, settings_changed
from tests.messaging.helpers import cid, group
from tests.office.test_backpressure import _counts
from tests.office.test_metrics import samples, scrape

P = "/api/messages"
MAX_MS = 100  # the threshold set for the test
TICK = 0.01


@pytest.fixture
def probe() -> Iterator[tuple[looplag.LoopLag, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    p = looplag.LoopLag(interval=TICK)
    p.start(loop)
    try:
        yield p, loop
    finally:
        p.stop()
        loop.close()


def _block(p: looplag.LoopLag, loop: asyncio.AbstractEventLoop, seconds: float, ticks: int) -> None:
    """Run the loop while each of its turns sleeps ``seconds`` (a busy loop), for ``ticks`` ticks."""

    async def busy() -> None:
        start = p.ticks
        while p.ticks < start + ticks:
            time.sleep(seconds)  # blocking on purpose: the loop's other callbacks wait behind it
            await asyncio.sleep(0)

    loop.run_until_complete(busy())


def _pause(p: looplag.LoopLag, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    """One slow callback, then the loop runs until the probe has ticked."""

    async def after() -> None:
        start = p.ticks
        loop.call_soon(time.sleep, seconds)
        while p.ticks == start:
            await asyncio.sleep(TICK)

    loop.run_until_complete(after())


def _recover(p: looplag.LoopLag, loop: asyncio.AbstractEventLoop, below: float) -> None:
    async def idle() -> None:
        while p.lag >= below:
            await asyncio.sleep(TICK)

    loop.run_until_complete(asyncio.wait_for(idle(), 10))


def _lag_refused(name: str) -> float:
    return REGISTRY.get_sample_value("office_loop_lag_refused_total", {"name": name}) or 0.0


def test_a_late_loop_refuses_new_sends_at_once_changes_nothing_and_reads_go_on(
    client: TestClient, org: Org, probe: tuple[looplag.LoopLag, asyncio.AbstractEventLoop]
) -> None:
    p, loop = probe
    g = group(org, "hamlet", "组", ["ophelia"])
    login(client, "hamlet")
    db, writer = org.db, client.app.state.chat.batcher  # type: ignore[attr-defined]
    body = {"text": "事件循环忙时发送", "client_id": cid()}
    with settings_changed(db, loop_lag_max_ms=MAX_MS):
        _recover(p, loop, below=0.01)
        _pause(p, loop, 0.12)  # one pause (a slow callback) alone is smoothed away
        assert p.last * 1000 > MAX_MS and p.lag * 1000 < MAX_MS
        assert client.post(f"{P}/conversations/{g}/messages", json={**body, "client_id": cid()}).status_code == 201

        _block(p, loop, 0.3, ticks=3)  # a loop late tick after tick is not
        assert looplag.lag() * 1000 > MAX_MS
        before, refused = _counts(db), _lag_refused(writer.name)
        r = client.post(f"{P}/conversations/{g}/messages", json=body)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == str(RETRY_AFTER) and r.json()["retry_after"] == RETRY_AFTER
        assert (r.json()["error"], r.json()["message"]) == ("overloaded", "系统繁忙，请稍后重试")
        assert _counts(db) == before and writer.depth == 0  # no message, no audit entry, nothing queued
        assert _lag_refused(writer.name) == refused + 1
        # Reads, health and metrics are never refused.
        assert client.get(f"{P}/conversations/{g}/messages").status_code == 200
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
        scraped = samples(scrape(client.app).text)
        assert ("office_event_loop_lag_seconds", ()) in scraped  # the app's own loop's value

        _recover(p, loop, below=MAX_MS / 1000)
        r = client.post(f"{P}/conversations/{g}/messages", json=body)  # the same send, accepted once
        assert r.status_code == 201 and r.json()["text"] == body["text"]
    assert _counts(db)[0] == before[0] + 1


def test_the_setting_at_zero_never_sheds(
    client: TestClient, org: Org, probe: tuple[looplag.LoopLag, asyncio.AbstractEventLoop]
) -> None:
    p, loop = probe
    g = group(org, "hamlet", "组", ["ophelia"])
    login(client, "hamlet")
    _block(p, loop, 0.3, ticks=3)
    with settings_changed(org.db, loop_lag_max_ms=0):
        assert looplag.lag() > 0.1
        r = client.post(f"{P}/conversations/{g}/messages", json={"text": "不限", "client_id": cid()})
        assert r.status_code == 201
