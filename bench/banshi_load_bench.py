"""办事 under load, on SQLite with ``synchronous=FULL`` (every commit an fsync), against a real uvicorn.

* Submit → 待办: an applicant POSTs ``/api/banshi/requests`` (``submit: true``) and the time runs until
  the first approver's websocket receives ``banshi.task`` (``op`` ``add``), the event the route
  engine publishes after the commit that gave them the task. p50 and p99, one request at a time.
  Baseline: a chat message sent by the same applicant to the same approver, send to receive, in the
  same run on the same server. Both are "a stored change reaches another person's screen after an
  fsync", so the ratio says what 办事's work (cleaning the values, resolving the route, the case, the
  task, the serial, audit) costs beyond the durable-delivery path chat already pays; the bare
  endpoint would leave out the websocket leg the target is about.
* Throughput: 100 applicants, each with its own session, submitting over HTTP concurrently; requests
  acknowledged (201) per second. Baseline: the one-transaction-per-request path, the same
  ``submission.create_request(submit=True)`` each in its own ``db.write()`` from 100 threads in the
  bench process (no HTTP; messaging's 工作通知 subscriber on, as in the server), on the same database:
  what group commit buys.
* Lists at scale: 待我审批 and 我发起的 (``banshi.listing.list_requests``) with 1,000,000 requests and
  100,000 staff bulk-seeded straight into the tables (``--quick``: 20,000 requests, 2,000 staff), p99
  per page for heavy and ordinary approvers and applicants. Baseline: a single-row primary-key read
  of ``bs_request`` through the same session.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.messaging_bench import _pct, _start_server

CONCURRENT = 100


# Setup for the HTTP rows ------------------------------------------------------------------------------


def _prepare(data: Path, secret: str, applicants: int) -> dict[str, Any]:
    """An agency, one approver, ``applicants`` applicants with sessions, and a published template whose
    route is one step to the approver (made through the real services)."""
    from banshi import templates
    from messaging import service as messaging
    from office import accounts
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.directory import service as directory
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import DeptKind, Role
    from office.secrets_box import hash_password
    from office.signing import CookieSigner

    settings = load_settings({}, data_dir=data, secret_key=secret)
    db = Database(settings)
    upgrade(db)
    signer = CookieSigner(secret)
    pw = hash_password(settings, secrets.token_urlsafe(16))
    sessions: list[tuple[int, str, str]] = []  # (user id, cookie, csrf)

    def person(s: Any, username: str, dept: int, roles: set[Role]) -> tuple[int, str, str]:
        u = directory.create_user(
            s,
            SYSTEM,
            username=username,
            name=f"用户{username}",
            password="",
            posts=[PostSpec(department_id=dept, title="科员")],
            roles=roles,
            check_password=False,
            password_hash=pw,
        )
        token, row = accounts._open_session(s, settings, u, ip="127.0.0.1", user_agent="bench", mfa_pending=False)
        return u.id or 0, "tb_session=" + signer.sign_token(token), row.csrf_token

    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="基准机关", kind=DeptKind.agency).id or 0
        dept = directory.create_department(s, SYSTEM, name="办公室", parent_id=agency).id or 0
        admin = person(s, "admin", dept, {Role.staff, Role.admin})
        approver = person(s, "approver", dept, {Role.staff, Role.dept_head})
        for i in range(applicants):
            sessions.append(person(s, f"a{i:04d}", dept, {Role.staff}))
    with db.write() as s:
        actor = accounts.load_actor(s, admin[0])
        t = templates.create_template(s, actor, name="用品申领", category="行政")
        templates.save_draft(
            s,
            actor,
            t.id or 0,
            fields_raw=[{"key": "reason", "label": "事由", "type": "text", "required": True}],
            route_raw={
                "branches": [],
                "default": {
                    "steps": [
                        {
                            "key": "s1",
                            "name": "负责人审批",
                            "mode": "any",
                            "approvers": {"kind": "users", "user_ids": [approver[0]]},
                        }
                    ]
                },
            },
            options_raw={},
        )
        templates.publish(s, actor, t.id or 0)
        template_id = t.id or 0
    with db.write() as s:
        conv = messaging.create_group(
            s, accounts.load_actor(s, sessions[0][0]), name="基准对话", member_ids=[approver[0]]
        ).id
    db.dispose()
    return {"approver": approver, "applicants": sessions, "template_id": template_id, "conv": conv}


# Submit → 待办 latency -----------------------------------------------------------------------------------


async def _next(ws: Any, want: Any) -> dict[str, Any]:
    while True:
        frame = json.loads(await ws.recv())
        if want(frame):
            return frame
        if frame.get("type") == "error":
            raise RuntimeError(frame)


async def _arrival(ws: Any, want: Any) -> float:
    """When the wanted frame arrived (it may come before the HTTP answer: the event goes out at commit)."""
    await _next(ws, want)
    return time.perf_counter()


async def _latency(port: int, setup: dict[str, Any], count: int) -> dict[str, list[float]]:
    import httpx
    import websockets

    _uid, cookie, csrf = setup["applicants"][0]
    url = f"ws://127.0.0.1:{port}/ws"
    approver = await websockets.connect(url, additional_headers={"Cookie": setup["approver"][1]}, max_queue=None)
    applicant = await websockets.connect(url, additional_headers={"Cookie": cookie}, max_queue=None)
    await approver.recv()
    await applicant.recv()
    out: dict[str, list[float]] = {"todo": [], "ack": [], "chat": []}
    headers = {"Cookie": cookie, "x-csrf-token": csrf}
    body = {"template_id": setup["template_id"], "values": {"reason": "基准"}, "submit": True}

    def is_todo(f: dict[str, Any]) -> bool:
        return f.get("type") == "banshi.task" and f.get("op") == "add"

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
        for n in range(count + 10):  # the first ten warm up
            t0 = time.perf_counter()
            got = asyncio.create_task(_arrival(approver, is_todo))
            r = await client.post("/api/banshi/requests", json=body)
            ack = time.perf_counter()
            if r.status_code != 201:
                raise RuntimeError(r.text)
            done = await got
            if n >= 10:
                out["todo"].append((done - t0) * 1000)
                out["ack"].append((ack - t0) * 1000)
        for n in range(count + 10):
            t0 = time.perf_counter()
            await applicant.send(
                json.dumps({"type": "chat.send", "conversation_id": setup["conv"], "text": f"基准{n}"})
            )
            await _next(approver, lambda f: f.get("type") == "chat.message")
            if n >= 10:
                out["chat"].append((time.perf_counter() - t0) * 1000)
    await approver.close()
    await applicant.close()
    return out


# Throughput ------------------------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """The process's user + system CPU time so far (Linux ``/proc``; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _throughput(port: int, setup: dict[str, Any], duration: float) -> tuple[float, int]:
    """Acknowledged submissions per second, and how many."""
    import httpx

    body = {"template_id": setup["template_id"], "values": {"reason": "并发"}, "submit": True}
    stop = time.monotonic() + duration
    acked = 0

    async def applicant(cookie: str, csrf: str) -> None:
        nonlocal acked
        headers = {"Cookie": cookie, "x-csrf-token": csrf}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            while time.monotonic() < stop:
                r = await client.post("/api/banshi/requests", json=body)
                if r.status_code != 201:
                    raise RuntimeError(r.text)
                acked += 1

    started = time.monotonic()
    await asyncio.gather(*(applicant(c, x) for _u, c, x in setup["applicants"][:CONCURRENT]))
    return acked / (time.monotonic() - started), acked


def _one_transaction_each(data: Path, secret: str, setup: dict[str, Any], duration: float) -> float:
    """The same service call, each request in its own write transaction (one fsync each), 100 threads."""
    from banshi import case_kind, submission
    from messaging import subscribers
    from office import accounts, events
    from office.config import load_settings
    from office.db import Database

    case_kind.register_kind()  # as the app's start-up does
    # And the 工作通知 each submission sends becomes a chat message, as in the server (messaging.startup):
    # without it the baseline skipped a write transaction a submission that the server pays.
    notices = events.subscribe("notify.", subscribers.on_notify)
    db = Database(load_settings({}, data_dir=data, secret_key=secret))
    with db.read() as s:
        actors = [accounts.load_actor(s, uid) for uid, _c, _x in setup["applicants"][:CONCURRENT]]
    stop = time.monotonic() + duration
    counts = [0] * len(actors)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            while time.monotonic() < stop:
                with db.write() as s:
                    submission.create_request(
                        s, actors[i], template_id=setup["template_id"], values={"reason": "逐个提交"}, submit=True
                    )
                counts[i] += 1
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(actors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = sum(counts) / (time.monotonic() - started)
    events.unsubscribe(notices)
    if errors:
        raise errors[0]
    db.dispose()
    return rate


def _http_rows(quick: bool) -> list[dict[str, Any]]:
    count = 100 if quick else 500
    duration = 5.0 if quick else 15.0
    secret = secrets.token_urlsafe(40)
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        data = Path(tmp) / "data"
        setup = _prepare(data, secret, CONCURRENT)
        server, port = _start_server(data, secret)
        try:
            lat = asyncio.run(_latency(port, setup, count))
            # The server's CPU per acknowledged submission (all its threads: HTTP, sessions, prepare, the
            # writer, the 工作通知): on a shared machine the rate follows the others' load, this much less.
            cpu0 = _cpu_seconds(server.pid)
            rate, acked = asyncio.run(_throughput(port, setup, duration))
            cpu1 = _cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=20)
        base_rate = _one_transaction_each(data, secret, setup, duration)
    p = {k: (_pct(v, 50), _pct(v, 99)) for k, v in lat.items()}
    rows = []
    for i, which in enumerate(("p50", "p99")):
        rows.append(
            {
                "name": f"banshi submit → approver's 待办 event {which} (HTTP→ws, durable)",
                "value": round(p["todo"][i], 2),
                "unit": "ms",
                "baseline_value": round(p["chat"][i], 2),
                "ratio": round(p["todo"][i] / p["chat"][i], 2),
                "target": "< 20 ms" if which == "p50" else "",
            }
        )
    rows.append(
        {
            "name": "banshi submit: HTTP 201 (ack after commit) p50",
            "value": round(p["ack"][0], 2),
            "unit": "ms",
        }
    )
    rows.append(
        {
            "name": f"banshi submits acknowledged/s, {CONCURRENT} concurrent applicants",
            "value": round(rate),
            "unit": "req/s",
            "baseline_value": round(base_rate),
            "ratio": round(rate / base_rate, 2),
            "target": ">= 500/s",
        }
    )
    if cpu0 is not None and cpu1 is not None and acked:
        rows.append(
            {
                "name": f"banshi submit: server CPU per acknowledged request ({CONCURRENT} applicants)",
                "value": round((cpu1 - cpu0) * 1000 / acked, 2),
                "unit": "ms",
                "target": "<= 2 ms (500/s on one core)",
            }
        )
    return rows


# Lists at scale -------------------------------------------------------------------------------------------------


def run(quick: bool) -> list[dict[str, Any]]:
    from bench.banshi_lists import list_rows

    rows = _http_rows(quick)
    rows += list_rows(quick)
    return rows


if __name__ == "__main__":
    import sys

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row, ensure_ascii=False))
