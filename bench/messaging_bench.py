"""Messaging benchmark: fan-out through the real server vs a bare websockets broadcast server,
durable sends with group commit, and idle connection memory.

``run(quick)`` returns entries ``{"name", "value", "unit", "baseline_value"?, "ratio"?}``.

* fan-out: ``groups`` x ``size`` websocket clients; one sender per group keeps ``WINDOW`` messages
  in flight (it waits for its own copy to come back). Through Tongban each message is stored
  (seq, events, audit) before it fans out; the baseline relays the frame without storage.
  Reported: delivered messages/s and send-to-receive latency p50/p99, with ratio to baseline.
  Then both again at a steady ``PACED_RATE`` (100 messages/s over all groups), the load at which
  the issue compares p99 latency: there every message waits for its own fsync before fan-out.
* durable sends: 200 concurrent senders (each in its own conversation, so fan-out is out of the
  picture), each waiting for its ``chat.ack`` (sent only after commit, ``synchronous=FULL``).
* idle memory: server RSS growth per idle authenticated websocket.
* where the time goes: the server's CPU time per delivered message in the sending phase, ours and
  the bare server's; and the floor under any stored message's latency, one fsync on the same disk.
* read marks (``read_marks``, in process): the writer's rate and CPU per mark, multi-row and
  coalesced (``messaging.readbatch``) against the one-by-one ORM path.
* a login storm (``login_storm``): chat send→ack p95 at a steady 100 msg/s while 500 password
  logins (Argon2id, deployment parameters, 20 at a time) run, against the same chat alone.

``python -m bench.messaging_bench --read-marks`` or ``--login-storm`` runs one part alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 2
PACED_RATE = 100.0  # messages/s for the latency comparison the issue asks for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pythonpath() -> str:
    """This checkout first, then whatever the caller had (so a worktree is measured as itself)."""
    extra = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([str(ROOT)] + ([extra] if extra else []))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


# Setup ------------------------------------------------------------------------------------------------


def _prepare(data: Path, secret: str, groups: int, size: int, solo: int, plain: int = 0) -> dict[str, Any]:
    """Users, sessions (cookies) and conversations, created directly with the services; ``plain``
    more users after those, with no conversation (the login storm's), all with one password."""
    sys.path.insert(0, str(ROOT))
    from messaging import service
    from office import accounts
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.directory import service as directory
    from office.migrate import upgrade
    from office.models import DeptKind
    from office.secrets_box import hash_password
    from office.signing import CookieSigner

    settings = load_settings({}, data_dir=data, secret_key=secret)
    db = Database(settings)
    upgrade(db)
    signer = CookieSigner(secret)
    password = secrets.token_urlsafe(16)
    pw = hash_password(settings, password)
    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="测试机关", kind=DeptKind.agency).id
    total = groups * size + solo + plain
    users: list[int] = []
    cookies: list[str] = []
    for start in range(0, total, 100):
        with db.write() as s:
            for i in range(start, min(start + 100, total)):
                u = directory.create_user(
                    s,
                    SYSTEM,
                    username=f"u{i:05d}",
                    name=f"用户{i}",
                    password="",
                    check_password=False,
                    password_hash=pw,
                )
                token, _ = accounts._open_session(s, settings, u, ip="127.0.0.1", user_agent="bench", mfa_pending=False)
                users.append(u.id)  # type: ignore[arg-type]
                cookies.append("tb_session=" + signer.sign_token(token))
    convs = []
    for g in range(groups):
        members = users[g * size : (g + 1) * size]
        with db.write() as s:
            owner = accounts.load_actor(s, members[0])
            convs.append(service.create_group(s, owner, name=f"组{g}", member_ids=members[1:]).id)
    solos = []
    for i in range(groups * size, groups * size + solo):
        with db.write() as s:
            solos.append(service.create_group(s, accounts.load_actor(s, users[i]), name=f"独{i}", member_ids=[]).id)
    db.dispose()
    _ = agency
    usernames = [f"u{i:05d}" for i in range(groups * size + solo, total)]
    return {
        "settings": settings,
        "cookies": cookies,
        "convs": convs,
        "solos": solos,
        "logins": usernames,
        "password": password,
    }


def _start_server(
    data: Path, secret: str, wait: float = 30, *, serve: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """uvicorn with the app on a free port; ``serve``: started as ``office serve`` starts it in
    production instead (its uvicorn options, one JSON log line per request, into ``data``/serve.log)."""
    port = _free_port()
    env = {
        **os.environ,
        "OFFICE_DATA_DIR": str(data),
        "OFFICE_DATABASE_URL": f"sqlite:///{data / 'office.db'}",
        "OFFICE_SECRET_KEY": secret,
        "OFFICE_HUB_URL": "memory://",
        "PYTHONPATH": _pythonpath(),
        # The limiter is tested elsewhere; here it would only measure itself.
        "OFFICE_CHAT_RATE_PER_SECOND": "1000000",
        "OFFICE_CHAT_RATE_BURST": "1000000",
        "OFFICE_CHAT_ADDRESS_RATE_PER_SECOND": "1000000",
        "OFFICE_CHAT_ADDRESS_RATE_BURST": "1000000",
    }
    if serve:
        with open(data / "serve.log", "ab") as log:
            cmd = [sys.executable, "-m", "office", "serve", "--host", "127.0.0.1", "--port", str(port)]
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_port(port, wait)
        return proc, port
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "office.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--ws-max-size",
            "1048576",
        ],
        cwd=ROOT,
        env=env,
    )
    _wait_port(port, wait)
    return proc, port


def _start_baseline() -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.messaging_bench", "--baseline-server", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": _pythonpath()},
    )
    _wait_port(port)
    return proc, port


async def _baseline_server(port: int) -> None:
    """A bare websockets server doing the same fan-out: each text frame goes to its group."""
    from websockets.asyncio.server import broadcast, serve

    groups: dict[str, set[Any]] = {}

    async def handler(ws: Any) -> None:
        group = ws.request.path.split("g=")[-1]
        members = groups.setdefault(group, set())
        members.add(ws)
        try:
            async for frame in ws:
                broadcast(members, frame)
        finally:
            members.discard(ws)

    async with serve(handler, "127.0.0.1", port, max_size=1 << 20):
        await asyncio.Future()


# Load ---------------------------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _fanout(
    connect: Any,
    groups: int,
    size: int,
    duration: float,
    *,
    tongban: bool,
    convs: list[int],
    paced: float | None = None,
    server_pid: int | None = None,
) -> dict[str, float]:
    """Each group's first client sends with WINDOW messages in flight (or, with ``paced``, at that
    many messages per second across all groups); everyone records latency. With ``server_pid``,
    also the server's CPU time per delivered message over the sending phase (connecting excluded)."""
    import websockets

    latencies: list[float] = []
    delivered = 0
    socks: list[list[Any]] = []
    for g in range(groups):
        row = []
        for i in range(size):
            row.append(await connect(g, i))
        socks.append(row)
    if tongban:
        for row in socks:
            for ws in row:
                await ws.recv()  # hello
    stop = time.monotonic() + duration
    done = asyncio.Event()

    async def reader(ws: Any, sender: asyncio.Queue[None] | None) -> None:
        nonlocal delivered
        try:
            while True:
                raw = await ws.recv()
                frame = json.loads(raw)
                if tongban:
                    if frame.get("type") != "chat.message":
                        continue
                    sent_at = float(frame["message"]["text"].split("|", 1)[0])
                else:
                    sent_at = float(frame["t"])
                now = time.perf_counter()
                if sender is not None:
                    sender.put_nowait(None)
                    continue
                latencies.append(now - sent_at)
                delivered += 1
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            return

    async def sender(g: int, ws: Any, back: asyncio.Queue[None]) -> None:
        n = 0
        for _ in range(WINDOW):
            back.put_nowait(None)
        interval = groups / paced if paced else 0.0
        next_at = time.monotonic() + g * interval / groups  # the groups' sends interleave evenly
        while time.monotonic() < stop:
            if paced:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            else:
                await back.get()
            n += 1
            t = time.perf_counter()
            if tongban:
                await ws.send(json.dumps({"type": "chat.send", "conversation_id": convs[g], "text": f"{t}|消息{n}"}))
            else:
                await ws.send(json.dumps({"t": t, "text": f"消息{n}"}))

    queues = [asyncio.Queue() for _ in range(groups)]  # type: ignore[var-annotated]
    readers = [
        asyncio.create_task(reader(ws, queues[g] if i == 0 else None))
        for g, row in enumerate(socks)
        for i, ws in enumerate(row)
    ]
    started = time.monotonic()
    cpu_start = _cpu_seconds(server_pid) if server_pid else 0.0
    await asyncio.gather(*(sender(g, socks[g][0], queues[g]) for g in range(groups)))
    await asyncio.sleep(0.5)  # let in-flight messages land
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds(server_pid) - cpu_start if server_pid else float("nan")
    done.set()
    for t in readers:
        t.cancel()
    for row in socks:
        for ws in row:
            await ws.close()
    return {
        "rate": delivered / elapsed,
        "p50": _pct(latencies, 50) * 1000,
        "p99": _pct(latencies, 99) * 1000,
        "cpu_us": cpu / max(delivered, 1) * 1e6,
    }


def _fsync_latency(folder: Path, count: int = 300) -> tuple[float, float]:
    """What every stored message waits for at least once: a 4 KiB append and fsync, as a WAL
    commit does. At a steady 100 msg/s each message has its own commit, so this bounds the p99."""
    times = []
    fd = os.open(folder / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"\0" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - t) * 1000)
            time.sleep(0.005)
    finally:
        os.close(fd)
        os.unlink(folder / "fsync-probe")
    return _pct(times, 50), _pct(times, 99)


async def _durable(port: int, cookies: list[str], solos: list[int], duration: float) -> tuple[float, int]:
    import websockets

    socks = [await websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers={"Cookie": c}) for c in cookies]
    for ws in socks:
        await ws.recv()
    stop = time.monotonic() + duration
    acks = 0

    async def one(ws: Any, conv: int) -> None:
        nonlocal acks
        n = 0
        while time.monotonic() < stop:
            n += 1
            await ws.send(json.dumps({"type": "chat.send", "ref": n, "conversation_id": conv, "text": f"持久{n}"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "chat.ack" and frame.get("ref") == n:
                    acks += 1
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(frame)

    started = time.monotonic()
    await asyncio.gather(*(one(ws, c) for ws, c in zip(socks, solos, strict=True)))
    elapsed = time.monotonic() - started
    for ws in socks:
        await ws.close()
    return acks / elapsed, len(socks)


async def _acks_while(
    port: int, cookies: list[str], convs: list[int], rate: float, until: Any, *, reads: bool = False
) -> list[float]:
    """Send→ack latencies (ms) of paced ``chat.send`` frames (``rate`` per second over all the
    senders, each in its own conversation) until the awaitable ``until`` completes. With ``reads``,
    each ack is followed by a ``chat.read`` of the message, as a client that shows it does."""
    import websockets

    socks = [await websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers={"Cookie": c}) for c in cookies]
    for ws in socks:
        await ws.recv()
    latencies: list[float] = []
    finished = asyncio.ensure_future(until)

    async def one(k: int, ws: Any, conv: int) -> None:
        interval = len(socks) / rate
        next_at = time.monotonic() + k * interval / len(socks)
        n = 0
        while not finished.done():
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            n += 1
            t = time.perf_counter()
            await ws.send(json.dumps({"type": "chat.send", "ref": n, "conversation_id": conv, "text": f"风暴{n}"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "chat.ack" and frame.get("ref") == n:
                    latencies.append((time.perf_counter() - t) * 1000)
                    if reads:
                        seq = frame["message"]["seq"]
                        await ws.send(json.dumps({"type": "chat.read", "conversation_id": conv, "seq": seq}))
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(frame)

    await asyncio.gather(*(one(k, ws, c) for k, (ws, c) in enumerate(zip(socks, convs, strict=True))), finished)
    for ws in socks:
        await ws.close()
    return latencies


async def _login_storm(port: int, usernames: list[str], password: str, logins: int, concurrency: int) -> float:
    """``logins`` password logins over HTTP, ``concurrency`` at a time; returns the seconds taken."""
    started = time.monotonic()
    todo = iter(range(logins))
    failures = 0

    async def worker(http: Any) -> None:
        nonlocal failures
        for i in todo:
            r = await http.post(
                "/api/auth/login", json={"username": usernames[i % len(usernames)], "password": password}
            )
            failures += r.status_code != 200

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    if failures:
        raise RuntimeError(f"{failures} of {logins} logins failed")
    return time.monotonic() - started


def read_marks(quick: bool) -> list[dict[str, Any]]:
    """The chat writer's cost per read mark, in process: every member of ``groups`` groups marks
    the newest three messages read one by one (as a client showing them does), all queued at once
    on a group-commit writer, through ``messaging.readbatch`` (multi-row, coalesced per reader)
    against the one-by-one ORM path (``messages.mark_read`` in a SAVEPOINT each), the baseline."""
    from sqlalchemy import text

    from messaging import messages
    from messaging.batcher import GroupCommit
    from messaging.readbatch import ReadOp
    from office import accounts
    from office.db import Database

    groups, size = (5, 40) if quick else (20, 50)
    secret = secrets.token_urlsafe(40)
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        data = Path(tmp) / "data"
        setup = _prepare(data, secret, groups, size, 0)
        db = Database(setup["settings"])
        try:
            with db.read() as s:
                members = [
                    (cid, uid, accounts.load_actor(s, uid))
                    for cid, uid in s.execute(text("SELECT conversation_id, user_id FROM chat_member")).all()
                ]
            last: dict[int, int] = {}
            for cid in setup["convs"]:
                owner = next(a for c, _, a in members if c == cid)
                for n in range(3):
                    with db.write() as s:
                        last[cid] = messages.send_message(s, owner, conversation_id=cid, text=f"读{n}")["seq"]

            def measure(make: Any) -> tuple[float, float]:
                with db.write() as s:
                    s.execute(text("UPDATE chat_member SET last_read_seq = 0"))
                ops = [make(a, c, last[c] - k) for c, _, a in members for k in (2, 1, 0)]
                writer = GroupCommit(db, max_queue=len(ops))  # all queued at once, past the served bound
                try:
                    cpu, started = time.process_time(), time.perf_counter()
                    for fut in [writer.submit(op) for op in ops]:
                        fut.result(300)
                    return len(ops) / (time.perf_counter() - started), (time.process_time() - cpu) / len(ops) * 1e6
                finally:
                    writer.stop()

            def orm(actor: Any, cid: int, seq: int) -> Any:
                return lambda s: messages.mark_read(s, actor, conversation_id=cid, seq=seq)

            base_rate, base_cpu = measure(orm)
            rate, cpu = measure(ReadOp)
        finally:
            db.dispose()
    marks = groups * size * 3
    return [
        {
            "name": f"read marks written, {marks} queued at once (3 per member)",
            "value": round(rate),
            "unit": "marks/s",
            "baseline_value": round(base_rate),
            "ratio": round(rate / base_rate, 2),
        },
        {
            "name": "CPU per read mark (writer and the waiting caller)",
            "value": round(cpu, 1),
            "unit": "us",
            "baseline_value": round(base_cpu, 1),
            "ratio": round(cpu / base_cpu, 2),
        },
    ]


def login_storm(quick: bool) -> list[dict[str, Any]]:
    """Send→ack p95 of chat at a steady rate, first alone for ``quiet`` seconds (the in-run
    baseline), then while a storm of password logins (argon2id, production parameters) runs."""
    senders, rate = 50, 100.0
    logins, concurrency = (100 if quick else 500), 20
    quiet = 5.0 if quick else 15.0
    secret = secrets.token_urlsafe(40)
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        data = Path(tmp) / "data"
        setup = _prepare(data, secret, 0, 0, senders, plain=min(logins, 500))
        server, port = _start_server(data, secret)
        try:
            cookies, solos = setup["cookies"][:senders], setup["solos"]
            alone = asyncio.run(_acks_while(port, cookies, solos, rate, asyncio.sleep(quiet)))
            took: list[float] = []

            async def storm() -> None:
                took.append(await _login_storm(port, setup["logins"], setup["password"], logins, concurrency))

            during = asyncio.run(_acks_while(port, cookies, solos, rate, storm()))
        finally:
            server.terminate()
            server.wait(timeout=20)
    p95_alone, p95_storm = _pct(alone, 95), _pct(during, 95)
    return [
        {
            "name": f"chat send→ack p95 during a storm of {logins} logins ({rate:.0f} msg/s)",
            "value": round(p95_storm, 1),
            "unit": "ms",
            "baseline_value": round(p95_alone, 1),
            "ratio": round(p95_storm / p95_alone, 2),
            "target": "<= 100 ms",
        },
        {
            "name": "chat send→ack p50 during the login storm",
            "value": round(_pct(during, 50), 1),
            "unit": "ms",
            "baseline_value": round(_pct(alone, 50), 1),
            "ratio": round(_pct(during, 50) / _pct(alone, 50), 2),
        },
        {
            "name": f"login storm: {logins} logins, {concurrency} at a time, while chat runs",
            "value": round(logins / took[0], 1),
            "unit": "logins/s",
        },
    ]


async def _idle_memory(pid: int, port: int, cookies: list[str]) -> float:
    import websockets

    await asyncio.sleep(1.0)
    before = _rss_kib(pid)
    socks = [await websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers={"Cookie": c}) for c in cookies]
    for ws in socks:
        await ws.recv()
    await asyncio.sleep(1.0)
    after = _rss_kib(pid)
    for ws in socks:
        await ws.close()
    return (after - before) / len(socks)


def run(quick: bool) -> list[dict[str, Any]]:
    return _fanout_and_durable(quick) + read_marks(quick) + login_storm(quick)


def _fanout_and_durable(quick: bool) -> list[dict[str, Any]]:
    import websockets

    groups, size = 10, (20 if quick else 100)
    solo = 200
    duration = 5.0 if quick else 15.0
    secret = secrets.token_urlsafe(40)
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        data = Path(tmp) / "data"
        setup = _prepare(data, secret, groups, size, solo)
        cookies, convs, solos = setup["cookies"], setup["convs"], setup["solos"]
        server, port = _start_server(data, secret)
        base, bport = _start_baseline()
        try:

            async def tb_connect(g: int, i: int) -> Any:
                return await websockets.connect(
                    f"ws://127.0.0.1:{port}/ws", additional_headers={"Cookie": cookies[g * size + i]}, max_queue=None
                )

            async def base_connect(g: int, i: int) -> Any:
                return await websockets.connect(f"ws://127.0.0.1:{bport}/?g={g}", max_queue=None)

            baseline = asyncio.run(
                _fanout(base_connect, groups, size, duration, tongban=False, convs=convs, server_pid=base.pid)
            )
            ours = asyncio.run(
                _fanout(tb_connect, groups, size, duration, tongban=True, convs=convs, server_pid=server.pid)
            )
            fsync = _fsync_latency(data)
            # The latency condition: p99 at a steady 100 messages/s, ours against bare.
            base_paced = asyncio.run(
                _fanout(base_connect, groups, size, duration, tongban=False, convs=convs, paced=PACED_RATE)
            )
            ours_paced = asyncio.run(
                _fanout(tb_connect, groups, size, duration, tongban=True, convs=convs, paced=PACED_RATE)
            )
            rate, senders = asyncio.run(_durable(port, cookies[groups * size : groups * size + solo], solos, duration))
            idle = asyncio.run(_idle_memory(server.pid, port, cookies[: groups * size]))
        finally:
            for p in (server, base):
                p.terminate()
                p.wait(timeout=20)
    clients = groups * size
    return [
        {
            "name": f"chat fan-out delivered msgs/s ({clients} clients, {groups} groups, stored)",
            "value": round(ours["rate"]),
            "unit": "msg/s",
            "baseline_value": round(baseline["rate"]),
            "ratio": round(ours["rate"] / baseline["rate"], 3),
            "target": "ratio >= 0.5",
        },
        {
            "name": "server CPU per delivered message (sending phase)",
            "value": round(ours["cpu_us"], 1),
            "unit": "us",
            "baseline_value": round(baseline["cpu_us"], 1),
            "ratio": round(ours["cpu_us"] / baseline["cpu_us"], 2),
        },
        {
            "name": "chat send-to-receive latency p50",
            "value": round(ours["p50"], 2),
            "unit": "ms",
            "baseline_value": round(baseline["p50"], 2),
            "ratio": round(ours["p50"] / baseline["p50"], 2),
        },
        {
            "name": "chat send-to-receive latency p99",
            "value": round(ours["p99"], 2),
            "unit": "ms",
            "baseline_value": round(baseline["p99"], 2),
            "ratio": round(ours["p99"] / baseline["p99"], 2),
        },
        {
            "name": f"chat latency p50 at a steady {PACED_RATE:.0f} msg/s",
            "value": round(ours_paced["p50"], 2),
            "unit": "ms",
            "baseline_value": round(base_paced["p50"], 2),
            "ratio": round(ours_paced["p50"] / base_paced["p50"], 2),
        },
        {
            "name": f"chat latency p99 at a steady {PACED_RATE:.0f} msg/s",
            "value": round(ours_paced["p99"], 2),
            "unit": "ms",
            "baseline_value": round(base_paced["p99"], 2),
            "ratio": round(ours_paced["p99"] / base_paced["p99"], 2),
            "target": "ratio <= 2",
        },
        {"name": "floor: one fsync on the data folder's disk, p50", "value": round(fsync[0], 2), "unit": "ms"},
        {"name": "floor: one fsync on the data folder's disk, p99", "value": round(fsync[1], 2), "unit": "ms"},
        {
            "name": f"durable sends, {senders} concurrent senders, synchronous=FULL",
            "value": round(rate),
            "unit": "msg/s",
            "baseline_value": 2000,
            "ratio": round(rate / 2000, 3),
            "target": ">= 2,000",
        },
        {
            "name": "idle websocket memory per connection",
            "value": round(idle, 1),
            "unit": "KiB",
            "baseline_value": 25,
            "ratio": round(idle / 25, 3),
        },
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-server":
        asyncio.run(_baseline_server(int(sys.argv[2])))
    elif "--read-marks" in sys.argv:
        for row in read_marks(quick="--quick" in sys.argv):
            print(json.dumps(row, ensure_ascii=False))
    elif "--login-storm" in sys.argv:
        for row in login_storm(quick="--quick" in sys.argv):
            print(json.dumps(row, ensure_ascii=False))
    else:
        for row in run(quick="--quick" in sys.argv):
            print(json.dumps(row, ensure_ascii=False))
