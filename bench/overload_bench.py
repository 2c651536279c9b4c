"""Chat past its capacity (#20 part 4): bounded writer queues against unbounded ones, on SQLite with
``synchronous=FULL`` and a real uvicorn, over websockets.

* Capacity: ``PAIRS`` senders, each keeping ``WINDOW`` sends in flight to a conversation with one
  receiver; the acks per second they get is this machine's chat capacity C (client included).
* Overload: the same senders offer 1.5 x C sends per second for ``seconds``, paced (open loop: they
  do not slow down when the answers are late), as the web client sends: each with a client_id, and
  one refused ``overloaded`` goes again with the same client_id as ``static/js/api.js`` retries:
  ``retry_delay`` applies that file's ``RETRY_POLICY`` (exponential backoff with jitter, the
  server's ``retry_after`` as the floor, at most ``busyTries`` retries), read from the file itself,
  and ``tests/office/test_backpressure.py`` checks both give the same waits.
  Rows: the attempts refused (and per second of the offered load), send->ack and send->delivery p95
  of the accepted sends (timed from the accepted attempt: the work the server took on), send->written
  p95 (to the ``created_at`` the writer stamps, on the wall clock client and server share: the wait
  in the socket, the event loop and the writer's queue; the bound limits only the last), delivery
  p95 from the first attempt (what a person waits, retries included), the server's CPU per offered
  send (user + system time of its process over the phase: on a shared machine a better measure of
  the cost than wall time), the client's own CPU (one Python process: near one core, its own lag
  is in the latencies), and acknowledged sends missing from the database afterwards.
  The refusals include those for the event loop's lag (``OFFICE_LOOP_LAG_MAX_MS``, office/looplag.py),
  counted apart from the server's /metrics.
  Baseline: the same offered load with the bound lifted (``OFFICE_WRITE_QUEUE_MAX`` 10**9) and no
  shedding by the loop's lag, where the writer's queue grows instead.

Issue #20's targets: delivery p95 of accepted work under 2 s, nothing acknowledged lost. This is
chat alone; the issue's staff model (公文 lists, directory searches) waits for the capacity
benchmark. ``python -m bench --only overload_bench`` (``--quick``: shorter phases).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import sqlite3
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.messaging_bench import ROOT, _pct, _prepare, _start_server
from office.groupcommit import RETRY_AFTER_MAX

PAIRS = 40
WINDOW = 8
OVER = 1.5


def retry_policy() -> dict[str, float]:
    """``RETRY_POLICY`` of ``static/js/api.js``: the web client's numbers, so both retry alike."""
    src = (ROOT / "static" / "js" / "api.js").read_text(encoding="utf-8")
    found = re.search(r"RETRY_POLICY = Object\.freeze\(\{([^}]*)\}\)", src)
    assert found, "static/js/api.js has no RETRY_POLICY"
    return {k: float(v) for k, v in re.findall(r"(\w+): ([\d.]+)", found.group(1))}


POLICY = retry_policy()


def retry_delay(retry_after: float, attempt: int, rand: float) -> float | None:
    """api.js ``retryDelay`` for an ``overloaded`` refusal, in seconds: the wait before try number
    ``attempt + 1`` (``attempt`` from 0), ``rand`` in [0, 1) its jitter; None: give up."""
    if attempt >= POLICY["busyTries"]:
        return None
    backoff = min(POLICY["cap"], POLICY["base"] * 2**attempt)
    return round(max(retry_after * 1000, backoff) * (1 + rand * POLICY["jitter"])) / 1000


async def _connect(port: int, cookie: str) -> Any:
    import websockets

    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers={"Cookie": cookie}, max_queue=None)
    await ws.recv()  # hello
    return ws


async def _drain(ws: Any, stop: asyncio.Event) -> None:
    """A receiver that only reads (its deliveries are timed in ``_overload``)."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            continue


async def _capacity(port: int, cookies: list[str], convs: list[int], seconds: float) -> float:
    senders = [await _connect(port, cookies[2 * i]) for i in range(len(convs))]
    receivers = [await _connect(port, cookies[2 * i + 1]) for i in range(len(convs))]
    stop = asyncio.Event()
    acks = 0
    deadline = time.monotonic() + seconds

    async def one(ws: Any, conv: int) -> None:
        nonlocal acks
        n = 0

        async def send() -> None:
            nonlocal n
            n += 1
            await ws.send(json.dumps({"type": "chat.send", "ref": n, "conversation_id": conv, "text": f"容量{n}"}))

        for _ in range(WINDOW):
            await send()
        outstanding = WINDOW
        while outstanding:
            frame = json.loads(await ws.recv())
            if frame.get("type") in ("chat.ack", "error"):
                outstanding -= 1
                acks += frame["type"] == "chat.ack"
                if time.monotonic() < deadline:
                    await send()
                    outstanding += 1

    drains = [asyncio.ensure_future(_drain(ws, stop)) for ws in receivers]
    started = time.monotonic()
    await asyncio.gather(*(one(ws, c) for ws, c in zip(senders, convs, strict=True)))
    rate = acks / (time.monotonic() - started)
    stop.set()
    await asyncio.gather(*drains)
    for ws in senders + receivers:
        await ws.close()
    return rate


async def _overload(port: int, cookies: list[str], convs: list[int], rate: float, seconds: float) -> dict[str, Any]:
    senders = [await _connect(port, cookies[2 * i]) for i in range(len(convs))]
    receivers = [await _connect(port, cookies[2 * i + 1]) for i in range(len(convs))]
    first: dict[str, float] = {}  # client_id -> its first attempt
    latest: dict[str, float] = {}  # client_id -> its latest attempt (the accepted one, once acked)
    latest_wall: dict[str, float] = {}  # the same on the wall clock, which the server shares
    attempt: dict[tuple[int, int], tuple[str, int]] = {}  # (sender, ref) -> (client_id, attempts so far)
    acked: dict[str, int] = {}  # client_id -> stored message id
    ack_ms: list[float] = []
    written_ms: list[float] = []
    delivered_ms: list[float] = []
    waited_ms: list[float] = []
    counts = {"attempts": 0, "refused": 0, "given_up": 0, "other_errors": 0}
    refs = [0] * len(senders)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def send(k: int, client_id: str, tries: int) -> None:
        if stop.is_set():
            return  # a retry due after the measurement ended
        refs[k] += 1
        attempt[(k, refs[k])] = (client_id, tries)
        latest[client_id], latest_wall[client_id] = time.perf_counter(), time.time()
        first.setdefault(client_id, latest[client_id])
        counts["attempts"] += 1
        frame = {"type": "chat.send", "ref": refs[k], "conversation_id": convs[k], "text": client_id}
        await senders[k].send(json.dumps({**frame, "client_id": client_id}))

    async def pace(k: int, deadline: float) -> None:
        interval = len(senders) / rate
        next_at = time.monotonic() + k * interval / len(senders)
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            await send(k, uuid.uuid4().hex, 1)

    async def answers(k: int) -> None:
        ws = senders[k]
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            key = (k, frame.get("ref"))
            if key not in attempt:
                continue
            client_id, tries = attempt.pop(key)
            if frame["type"] == "chat.ack":
                acked[client_id] = frame["message"]["id"]
                ack_ms.append((time.perf_counter() - latest[client_id]) * 1000)
                # The writer stamps created_at as it writes the batch: the time before that is the
                # frame's wait in the socket and the event loop, then in the writer's queue.
                written = datetime.fromisoformat(frame["message"]["created_at"].replace("Z", "+00:00"))
                written_ms.append((written.timestamp() - latest_wall[client_id]) * 1000)
            elif frame.get("error") == "overloaded":
                counts["refused"] += 1
                wait = retry_delay(frame.get("retry_after", 1), tries - 1, random.random())
                if wait is None:
                    counts["given_up"] += 1
                else:
                    loop.call_later(wait, _later, send(k, client_id, tries + 1))
            else:
                counts["other_errors"] += 1

    async def deliveries(ws: Any) -> None:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if frame.get("type") == "chat.message":
                client_id, now = frame["message"]["text"], time.perf_counter()
                if client_id in latest:
                    delivered_ms.append((now - latest[client_id]) * 1000)
                    waited_ms.append((now - first[client_id]) * 1000)

    readers = [asyncio.ensure_future(answers(k)) for k in range(len(senders))]
    readers += [asyncio.ensure_future(deliveries(ws)) for ws in receivers]
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(pace(k, deadline) for k in range(len(senders))))
    offered = len(first)
    # Let every send be answered (retries included): as long as the policy's longest retries take.
    longest = POLICY["busyTries"] * max(POLICY["cap"] / 1000, RETRY_AFTER_MAX) * (1 + POLICY["jitter"])
    drain_until = time.monotonic() + 30 + longest
    while (attempt or len(acked) + counts["given_up"] + counts["other_errors"] < offered) and time.monotonic() < (
        drain_until
    ):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the last deliveries
    stop.set()
    await asyncio.gather(*readers)
    for ws in senders + receivers:
        await ws.close()
    return {
        "offered": offered,
        "acked": acked,
        "ack_p95": _pct(ack_ms, 95),
        "written_p95": _pct(written_ms, 95),
        "delivery_p95": _pct(delivered_ms, 95),
        "waited_p95": _pct(waited_ms, 95),
        **counts,
    }


def _later(coro: Any) -> None:
    asyncio.ensure_future(coro)


def _missing(data: Path, ids: list[int]) -> int:
    conn = sqlite3.connect(data / "office.db")
    try:
        found = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found += conn.execute(f"SELECT count(*) FROM chat_message WHERE id IN ({marks})", chunk).fetchone()[0]
        return len(ids) - found
    finally:
        conn.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads (Linux ``/proc``; else 0)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loop_lag(port: int) -> tuple[float, float]:
    """The server's refusals for its event loop's lag so far, and the loop's highest smoothed lag
    (ms), from its /metrics (read from loopback)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    refused = sum(float(m) for m in re.findall(r"^office_loop_lag_refused_total\{[^}]*\} (\S+)$", text, re.M))
    peak = re.search(r"^office_event_loop_lag_peak_seconds (\S+)$", text, re.M)
    return refused, float(peak.group(1)) * 1000 if peak else 0.0


def _phase(
    data: Path, secret: str, setup: dict[str, Any], queue_max: int, rate: float | None, seconds: float, lag_max: int
) -> Any:
    """Start a server with ``queue_max`` and ``lag_max`` (ms; 0: no shedding by the loop's lag);
    measure the capacity (``rate`` None) or offer ``rate``."""
    env = {"OFFICE_WRITE_QUEUE_MAX": str(queue_max), "OFFICE_LOOP_LAG_MAX_MS": str(lag_max)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        server, port = _start_server(data, secret)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        cookies, convs = setup["cookies"], setup["convs"]
        if rate is None:
            return asyncio.run(_capacity(port, cookies, convs, seconds))
        cpu, mine, wall = _cpu_seconds(server.pid), time.process_time(), time.monotonic()
        got = asyncio.run(_overload(port, cookies, convs, rate, seconds))
        wall = time.monotonic() - wall
        got["server_cpu"] = _cpu_seconds(server.pid) - cpu
        # Cores the client itself used: near 1, its own lag is in the latencies it reports.
        got["client_cores"] = (time.process_time() - mine) / wall
        got["lag_refused"], got["lag_peak"] = _loop_lag(port)
    finally:
        server.terminate()
        server.wait(30)
    got["lost"] = _missing(data, list(got["acked"].values()))
    return got


def run(quick: bool) -> list[dict[str, Any]]:
    from office.config import load_settings

    settings = load_settings({})
    bound, lag_max = settings.write_queue_max, settings.loop_lag_max_ms
    capacity_s, seconds = (5.0, 10.0) if quick else (10.0, 30.0)
    secret = secrets.token_urlsafe(40)
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        data = Path(tmp) / "data"
        setup = _prepare(data, secret, PAIRS, 2, 0)
        capacity = _phase(data, secret, setup, bound, None, capacity_s, lag_max)
        offered = OVER * capacity
        ours = _phase(data, secret, setup, bound, offered, seconds, lag_max)
        unbounded = _phase(data, secret, setup, 10**9, offered, seconds, 0)
    label = f"at {OVER}x capacity ({offered:.0f}/s, {seconds:.0f} s)"
    for got in (ours, unbounded):
        got["refused_per_s"] = got["refused"] / seconds
        got["cpu_per_send"] = got["server_cpu"] * 1e6 / max(1, got["offered"])

    def pair(name: str, key: str, unit: str, target: str = "") -> dict[str, Any]:
        value, base = ours[key], unbounded[key]
        places = 2 if abs(value) < 10 else 1
        row = {"name": name, "value": round(value, places), "unit": unit, "baseline_value": round(base, places)}
        if base:
            row["ratio"] = round(value / base, 2)
        if target:
            row["target"] = target
        return row

    return [
        {"name": f"chat capacity, {PAIRS} senders x {WINDOW} in flight", "value": round(capacity), "unit": "msg/s"},
        pair(f"send attempts refused {label}", "refused", "count"),
        pair(f"of which for the event loop's lag (> {lag_max} ms)", "lag_refused", "count"),
        pair("refusals per second of the offered load", "refused_per_s", "1/s"),
        pair("the server's event loop lag, highest smoothed (office/looplag.py)", "lag_peak", "ms"),
        pair("server CPU per offered send (user + system, refusals included)", "cpu_per_send", "us"),
        pair("the benchmark client's own CPU over the phase", "client_cores", "cores"),
        pair("accepted sends: delivery p95 (from the accepted attempt)", "delivery_p95", "ms", "< 2000"),
        pair("accepted sends: send->ack p95", "ack_p95", "ms"),
        pair("accepted sends: send->written p95 (socket, event loop, writer queue)", "written_p95", "ms"),
        pair("delivery p95 from the first attempt (retries included)", "waited_p95", "ms"),
        pair("sends given up after retries", "given_up", "count"),
        pair("acknowledged sends missing from the database", "lost", "count", "0"),
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
