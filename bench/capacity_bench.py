"""Capacity (#20 part 6): how many staff one server process carries on SQLite, ramped in steps.

The staff model (the issue's "heavy" one, about six times Rocket.Chat's default load-test rate):

* N staff of one agency, in departments of ``DEPT`` people (made through the real services; session
  cookies opened directly with ``office.accounts._open_session``, since N Argon2 logins would take
  minutes). Each department has its group conversation (``DEPT`` members) and every person one direct
  conversation with a colleague; each person has drafted ``DOCS_EACH`` 公文 they can see.
* Every staff member keeps a websocket open to one server process started as ``office serve`` starts
  it (uvicorn with its options, the JSON request log; SQLite, ``synchronous=FULL``, a data folder in a
  temporary directory) and, each action a Poisson process (exponential gaps):
  - about once a minute (``Model``) sends a chat message (``chat.send`` with a client_id) to their
    group or their direct conversation, half and half;
  - marks what arrives as read (``chat.read``), after a reading pause of 0.5–3 s, one mark per
    conversation for whatever arrived meanwhile, as the open conversation in the web client does;
  - every two minutes lists their 公文 (``GET /api/docs?box=all``) and opens the first
    (``GET /api/docs/{id}``);
  - every three minutes searches the directory (``GET /api/directory/search``, part of a colleague's
    name).
  The client sends no pings of its own (a browser sends none). The server runs without the
  official-copy converters (nothing here makes an official copy).
* Ramp: ``STEPS`` staff online (500 … 3,000), each step held ``hold`` seconds once its new sockets are
  open (``--quick``: 25 s; else 60 s). Per step: HTTP p95 (lists, opens, searches), chat send→ack p95,
  delivery p95 (send to each online member's copy), errors % (HTTP failures, error frames, sends not
  acked and copies not delivered within ``GRACE`` s of the window's end, sockets that failed to open or
  dropped), the server's CPU % (``/proc/<pid>/stat``, all its threads; 100 % is one core), its RSS and
  the growth of RSS per online user over the server with no socket, and the client's own CPU %
  (this process: one asyncio loop for every socket and request; near 100 % means the client, not the
  server, limits the step).
* A step passes with HTTP p95 < 500 ms, delivery p95 < 1 s and errors < 1 %; the ramp stops after the
  first failing step and one more, so a collapse ends in bounded time. The last row is the largest
  number of staff that passed (issue #20's target: 3,000 on this 2-core machine, client included).

``python -m bench --only capacity_bench`` (``--quick`` for 25 s steps), or ``python -m
bench.capacity_bench [--quick] [--steps 500,1000] [--hold S] [--profile DIR] [--memory DIR]``
(``--profile``: py-spy records the server's interpreter-lock holder during each step's window into DIR,
when py-spy is installed; ``--memory``: the server runs under tracemalloc and the allocations that grew
most per online user are printed after each step).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.messaging_bench import _pct, _rss_kib, _start_server

STEPS = (500, 1000, 1500, 2000, 2500, 3000)
DEPT = 10
DOCS_EACH = 2
GRACE = 10.0  # seconds after a window for its sends and copies to arrive before they count as errors
HTTP_P95_MS = 500.0
DELIVERY_P95_MS = 1000.0
ERRORS_PCT = 1.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌海波宁亮晨雪琳"


@dataclass(frozen=True)
class Model:
    """Mean seconds between one person's actions of each kind (exponential gaps)."""

    chat: float = 60.0
    docs: float = 120.0
    search: float = 180.0


@dataclass
class Staff:
    uid: int
    name: str
    cookie: str
    group: int = 0
    direct: int = 0


@dataclass
class World:
    staff: list[Staff]
    members: dict[int, list[int]]  # conversation -> member user ids


# Setup ------------------------------------------------------------------------------------------------


def _seed(data: Path, secret: str, n: int) -> World:
    """The agency, its departments, N staff with sessions, their conversations and 公文 drafts."""
    from docs_flow import service as docs
    from docs_flow.schemas import DocumentCreate
    from messaging import service as chat
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
    from typeset.layout import DocType

    settings = load_settings({}, data_dir=data, secret_key=secret)
    db = Database(settings)
    upgrade(db)
    signer = CookieSigner(secret)
    pw = hash_password(settings, secrets.token_urlsafe(16))
    rng = random.Random(20)
    staff: list[Staff] = []
    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="基准市人民政府", kind=DeptKind.agency, code="基府").id
        depts = [
            directory.create_department(s, SYSTEM, name=f"第{d + 1}科", parent_id=agency).id or 0
            for d in range((n + DEPT - 1) // DEPT)
        ]
    for start in range(0, n, 200):
        with db.write() as s:
            for i in range(start, min(start + 200, n)):
                name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
                u = directory.create_user(
                    s,
                    SYSTEM,
                    username=f"s{i:05d}",
                    name=name,
                    password="",
                    posts=[PostSpec(department_id=depts[i // DEPT], title="科员")],
                    roles={Role.staff},
                    check_password=False,
                    password_hash=pw,
                )
                token, _ = accounts._open_session(s, settings, u, ip="127.0.0.1", user_agent="bench", mfa_pending=False)
                staff.append(Staff(u.id or 0, name, "tb_session=" + signer.sign_token(token)))
    members: dict[int, list[int]] = {}
    for d in range(len(depts)):
        team = staff[d * DEPT : (d + 1) * DEPT]
        with db.write() as s:
            owner = accounts.load_actor(s, team[0].uid)
            conv = chat.create_group(s, owner, name=f"第{d + 1}科工作群", member_ids=[p.uid for p in team[1:]]).id or 0
            members[conv] = [p.uid for p in team]
            for p in team:
                p.group = conv
            # A direct conversation each: the first half of the department with the second half (a
            # department of one has none; they send to the group only).
            half = len(team) // 2
            for a, b in zip(team[:half], team[half : 2 * half], strict=True):
                direct = chat.open_direct(s, accounts.load_actor(s, a.uid), user_id=b.uid).id or 0
                members[direct] = [a.uid, b.uid]
                a.direct = b.direct = direct
            for p in team:
                actor = accounts.load_actor(s, p.uid)
                for k in range(DOCS_EACH):
                    title = f"关于{p.name}第{k + 1}项工作的请示"
                    docs.check_create_document(s, actor, DocumentCreate(doc_type=DocType.qingshi, title=title))
    db.dispose()
    return World(staff, members)


# The client ---------------------------------------------------------------------------------------------


@dataclass
class Window:
    """One step's samples; an action is counted in the window open when it started."""

    http_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    actions: int = 0  # requests, sends, expected copies, read marks, sockets opened
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


@dataclass
class Sent:
    at: float
    window: Window
    expected: set[int]
    acked: bool = False


class Client:
    def __init__(self, port: int, world: World, model: Model) -> None:
        self.port = port
        self.world = world
        self.every = {"chat": model.chat, "docs": model.docs, "search": model.search}
        self.window = Window()  # outside a measured window, samples go to a scratch window
        self.sent: dict[str, Sent] = {}
        self.online: set[int] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.sockets: list[Any] = []
        self.http: Any = None
        self.rng = random.Random(1)

    async def start(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", limits=limits, timeout=30)

    async def stop(self) -> None:
        """Everything ended within a bounded time: a collapsed server may never answer a close
        handshake, and a socket with a send stuck behind a full buffer waits for it before closing."""
        for t in self.tasks:
            t.cancel()
        await asyncio.wait(self.tasks, timeout=10) if self.tasks else None
        closing = [asyncio.ensure_future(ws.close()) for ws in self.sockets]
        _done, late = await asyncio.wait(closing, timeout=15) if closing else (set(), set())
        for t in late:
            t.cancel()
        for ws in self.sockets:
            if ws.transport is not None and not ws.transport.is_closing():
                ws.transport.abort()
        try:
            await asyncio.wait_for(self.http.aclose(), 15)
        except TimeoutError:
            pass

    async def bring_online(self, people: list[Staff], within: float) -> None:
        """Open the sockets of ``people``, 50 handshakes at a time; those not open ``within`` seconds
        (a server past its capacity) are given up and counted as errors, so a step ends in bounded time."""
        gate = asyncio.Semaphore(50)

        async def one(p: Staff) -> None:
            import websockets

            async with gate:
                w = self.window
                w.actions += 1
                try:
                    ws = await websockets.connect(
                        f"ws://127.0.0.1:{self.port}/ws",
                        additional_headers={"Cookie": p.cookie},
                        max_queue=None,
                        open_timeout=None,  # bounded by ``within``
                        ping_interval=None,  # a browser sends no pings (it answers the server's)
                    )
                    await ws.recv()  # hello
                except asyncio.CancelledError:
                    raise
                except Exception:
                    w.error("connect")
                    return
            self.sockets.append(ws)
            self.online.add(p.uid)
            self.tasks.append(asyncio.create_task(self._reader(p, ws)))
            self.tasks.append(asyncio.create_task(self._actor(p, ws)))

        pending = [asyncio.ensure_future(one(p)) for p in people]
        _done, late = await asyncio.wait(pending, timeout=within)
        for t in late:
            t.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for _ in late:
            self.window.error("connect")

    async def _actor(self, p: Staff, ws: Any) -> None:
        rng = random.Random(p.uid)
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = {k: now + rng.expovariate(1 / every) for k, every in self.every.items()}
        refs = 0
        while True:
            kind = min(due, key=due.__getitem__)
            await asyncio.sleep(max(0.0, due[kind] - loop.time()))
            due[kind] = loop.time() + rng.expovariate(1 / self.every[kind])
            if kind == "chat":
                refs += 1
                conv = p.direct if p.direct and rng.random() < 0.5 else p.group
                token = uuid.uuid4().hex
                w = self.window
                expected = {u for u in self.world.members[conv] if u != p.uid and u in self.online}
                w.actions += 1 + len(expected)
                self.sent[token] = Sent(time.perf_counter(), w, expected)
                frame = {"type": "chat.send", "ref": token, "conversation_id": conv, "text": token, "client_id": token}
                try:
                    await ws.send(json.dumps(frame))
                except Exception:
                    w.error("socket")
                    return
            elif kind == "docs":
                listed = await self._get(p, "/api/docs", {"box": "all", "limit": 20})
                if listed and listed.get("items"):
                    await self._get(p, f"/api/docs/{listed['items'][0]['id']}", None)
            else:
                other = rng.choice(self.world.staff).name
                await self._get(p, "/api/directory/search", {"q": other[: rng.choice((1, 2, len(other)))]})

    async def _get(self, p: Staff, path: str, params: dict[str, Any] | None) -> Any:
        w = self.window
        w.actions += 1
        started = time.perf_counter()
        try:
            # One deadline for the whole request (httpx's apply to each phase: waiting for a pooled
            # connection, then connecting, then reading).
            r = await asyncio.wait_for(self.http.get(path, params=params, headers={"Cookie": p.cookie}), 30)
        except Exception:
            w.http_ms.append((time.perf_counter() - started) * 1000)  # what the person waited, counted too
            w.error("http_timeout")
            return None
        w.http_ms.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            w.error(f"http_{r.status_code}")
            return None
        return r.json()

    async def _reader(self, p: Staff, ws: Any) -> None:
        unread: dict[int, int] = {}  # conversation -> newest seq not yet marked read
        loop = asyncio.get_running_loop()
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "chat.message":
                    msg = frame["message"]
                    sent = self.sent.get(msg.get("text", ""))
                    if sent is not None and p.uid in sent.expected:
                        sent.expected.discard(p.uid)
                        sent.window.delivery_ms.append((time.perf_counter() - sent.at) * 1000)
                        self._settle(msg["text"], sent)
                    conv = msg["conversation_id"]
                    if conv not in unread:
                        loop.call_later(random.uniform(0.5, 3.0), self._mark, p, ws, unread, conv)
                    unread[conv] = max(unread.get(conv, 0), msg["seq"])
                elif kind == "chat.ack":
                    sent = self.sent.get(frame.get("ref", ""))
                    if sent is not None and not sent.acked:
                        sent.acked = True
                        sent.window.ack_ms.append((time.perf_counter() - sent.at) * 1000)
                        self._settle(frame["ref"], sent)
                elif kind == "error":
                    ref = frame.get("ref")
                    sent = self.sent.pop(ref, None) if isinstance(ref, str) else None
                    (sent.window if sent else self.window).error(f"frame_{frame.get('error')}")
        except asyncio.CancelledError:
            raise
        except Exception:
            self.window.error("socket_closed")

    def _settle(self, token: str, sent: Sent) -> None:
        if sent.acked and not sent.expected:
            self.sent.pop(token, None)

    def _mark(self, p: Staff, ws: Any, unread: dict[int, int], conv: int) -> None:
        seq = unread.pop(conv, None)
        if seq is None:
            return
        self.window.actions += 1
        frame = {"type": "chat.read", "conversation_id": conv, "seq": seq}  # no ref: no ack, errors still come
        asyncio.ensure_future(ws.send(json.dumps(frame))).add_done_callback(self._sent)

    def _sent(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.window.error("socket")

    async def settle(self, w: Window) -> None:
        """Wait up to ``GRACE`` s for the window's sends and copies; what is still missing is an error."""
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline and any(s.window is w for s in self.sent.values()):
            await asyncio.sleep(0.25)
        for token, s in list(self.sent.items()):
            if s.window is w:
                if not s.acked:
                    w.error("not_acked")
                for _ in s.expected:
                    w.error("not_delivered")
                del self.sent[token]


# The ramp ---------------------------------------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))


# The server's heap under tracemalloc (``--memory DIR``): a sitecustomize on the server's path installs
# a SIGUSR1 handler (the server's code is not changed for the measurement). The first signal starts
# tracing (after start-up, which tracing would slow past the bench's patience), the others dump a
# snapshot: the growth between two of them is what the sockets and their work allocated.
_TRACER = """
import os, signal, tracemalloc
_dir = os.environ.get("CAPACITY_TRACEMALLOC_DIR")
if _dir:
    def _dump(signum, frame):
        name = os.path.join(_dir, open(os.path.join(_dir, "want")).read().strip())
        if not tracemalloc.is_tracing():
            tracemalloc.start(8)
            open(name, "w").close()
            return
        tracemalloc.take_snapshot().dump(name + ".tmp")
        os.rename(name + ".tmp", name)
    signal.signal(signal.SIGUSR1, _dump)
"""


async def _snapshot(pid: int, memory: Path, name: str) -> Path:
    import signal

    (memory / "want").write_text(name)
    os.kill(pid, signal.SIGUSR1)
    while not (memory / name).exists():
        await asyncio.sleep(0.2)
    return memory / name


def _heap_growth(before: Path, after: Path, online: int) -> None:
    """The allocations that grew most between two snapshots, per online user, to stderr."""
    import tracemalloc

    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    stats = new.compare_to(old, "traceback")
    total = sum(st.size_diff for st in stats)
    per_user = total / max(1, online) / 1024
    print(f"   heap growth {total / 1024 / 1024:.1f} MB, {per_user:.1f} KiB per user:", file=sys.stderr)
    for st in stats[:15]:
        frames = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in list(st.traceback)[::-1][:6])
        print(f"   {st.size_diff / max(1, online):9.0f} B/user {st.count_diff:+8d}  {frames}", file=sys.stderr)


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("   (py-spy not installed: no profile)", file=sys.stderr)
        return None
    # --gil: only the thread holding the interpreter lock is sampled, i.e. where the Python CPU goes.
    cmd = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "50", "-f", "raw", "-o", str(out)]
    # --nonblocking: without it py-spy stops the server for every sample, which a loaded server feels.
    cmd += ["--gil", "--threads", "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _ramp(
    port: int,
    pid: int,
    world: World,
    steps: tuple[int, ...],
    hold: float,
    model: Model,
    profile: Path | None,
    memory: Path | None,
) -> list[dict[str, Any]]:
    client = Client(port, world, model)
    await client.start()
    tick = os.sysconf("SC_CLK_TCK")
    base_kib = await _warm(client, world.staff[-1], pid)
    base_heap = None
    if memory:
        await _snapshot(pid, memory, "started")
        base_heap = await _snapshot(pid, memory, "base.snap")
    results: list[dict[str, Any]] = []
    failed_at: int | None = None
    try:
        for n in steps:
            if n > len(world.staff):
                break
            w = Window()
            client.window = w
            t0 = time.perf_counter()
            await client.bring_online(world.staff[len(client.online) : n], within=max(30.0, hold))
            opened = time.perf_counter() - t0
            await asyncio.sleep(min(5.0, hold / 5))  # the new sockets' first actions, outside the window
            w = Window()
            client.window = w
            spy = _profile(pid, hold, profile / f"step-{n}.txt") if profile else None
            wall0, cpu0, own0 = time.perf_counter(), _cpu_ticks(pid), time.process_time()
            await asyncio.sleep(hold)
            wall = time.perf_counter() - wall0
            server_cpu = (_cpu_ticks(pid) - cpu0) / tick / wall * 100
            client_cpu = (time.process_time() - own0) / wall * 100
            rss = _rss_kib(pid)
            if memory and base_heap:
                _heap_growth(base_heap, await _snapshot(pid, memory, f"step-{n}.snap"), len(client.online))
            client.window = Window()
            await client.settle(w)
            if spy is not None:
                try:
                    spy.wait(60)
                except subprocess.TimeoutExpired:
                    spy.kill()
            row = _step_row(n, w, opened, server_cpu, client_cpu, rss, base_kib, len(client.online))
            results.append(row)
            print(f"   {_describe(row)}", file=sys.stderr, flush=True)
            if failed_at is None and not row["passed"]:
                failed_at = n
            elif failed_at is not None:
                break  # the failing step and one more
    finally:
        await client.stop()
    return results


async def _warm(client: Client, p: Staff, pid: int) -> int:
    """The server's resident set with no socket open, once each kind of action has loaded its code (by
    the last staff member, who comes online last)."""
    import websockets

    cookie = {"Cookie": p.cookie}
    listed = (await client.http.get("/api/docs", params={"box": "all"}, headers=cookie)).json()
    await client.http.get(f"/api/docs/{listed['items'][0]['id']}", headers=cookie)
    await client.http.get("/api/directory/search", params={"q": p.name[:1]}, headers=cookie)
    async with websockets.connect(f"ws://127.0.0.1:{client.port}/ws", additional_headers=cookie) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "chat.send", "ref": 1, "conversation_id": p.group, "text": "预热"}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 60))).get("type") != "chat.ack":
            if frame.get("type") == "error":
                raise RuntimeError(f"the warm-up send was refused: {frame}")
    # Start-up work still running in the background (the OFD font faces, tens of MB) would be counted
    # as the sockets' memory: wait until the resident set holds still for three seconds (at most 90).
    rss, still, deadline = _rss_kib(pid), 0, time.monotonic() + 90
    while still < 3 and time.monotonic() < deadline:
        await asyncio.sleep(1)
        now = _rss_kib(pid)
        still = still + 1 if abs(now - rss) < 1024 else 0
        rss = now
    return rss


def _step_row(
    n: int, w: Window, opened: float, server_cpu: float, client_cpu: float, rss: int, base: int, online: int
) -> dict[str, Any]:
    errors = 100 * w.errors / max(1, w.actions)
    http, delivery = _pct(w.http_ms, 95), _pct(w.delivery_ms, 95)
    return {
        "staff": n,
        "online": online,
        "http_p95": http,
        "ack_p95": _pct(w.ack_ms, 95),
        "delivery_p95": delivery,
        "errors_pct": errors,
        "error_kinds": dict(w.kinds),
        "actions": w.actions,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "rss_mb": rss / 1024,
        "per_user_mb": (rss - base) / 1024 / max(1, online),
        "open_s": opened,
        # nan (no sample) fails: a step that measured nothing did not pass
        "passed": http < HTTP_P95_MS and delivery < DELIVERY_P95_MS and errors < ERRORS_PCT,
    }


def _describe(r: dict[str, Any]) -> str:
    return (
        f"{r['staff']:>5} staff: http p95 {r['http_p95']:.0f} ms, ack p95 {r['ack_p95']:.0f} ms, "
        f"delivery p95 {r['delivery_p95']:.0f} ms, errors {r['errors_pct']:.2f}% {r['error_kinds'] or ''} "
        f"of {r['actions']}, server cpu {r['server_cpu']:.0f}%, client cpu {r['client_cpu']:.0f}%, "
        f"rss {r['rss_mb']:.0f} MB ({r['per_user_mb']:.3f} MB/user), sockets opened in {r['open_s']:.1f} s"
        f" -> {'pass' if r['passed'] else 'FAIL'}"
    )


def measure(
    steps: tuple[int, ...] = STEPS,
    hold: float = 60.0,
    model: Model = Model(),
    profile: Path | None = None,
    memory: Path | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Seed max(steps) staff, start the server, ramp; the per-step results and the load average."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * max(steps) + 1000))  # a socket each, and the HTTP pool
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    secret = secrets.token_urlsafe(40)
    load = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="tongban-capacity-") as tmp:
        data = Path(tmp) / "data"
        started = time.perf_counter()
        world = _seed(data, secret, max(steps))
        print(f"   seeded {len(world.staff)} staff in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        saved = dict(os.environ)
        # No LibreOffice converters (nor the OFD fonts they warm): the model makes no official copy,
        # and their start-up work would be counted against the first step.
        os.environ["OFFICE_OFFICIAL_COPY_WORKERS"] = "0"
        if memory:
            memory.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / "sitecustomize.py").write_text(_TRACER)
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")]))
            os.environ["CAPACITY_TRACEMALLOC_DIR"] = str(memory)
        try:
            # As production runs it (office serve's uvicorn options and request log); a loaded machine
            # imports slowly.
            server, port = _start_server(data, secret, wait=180, serve=True)
        except RuntimeError:
            _stop_children()  # the server that did not open its port in time
            raise
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            if profile:
                profile.mkdir(parents=True, exist_ok=True)
            results = asyncio.run(_ramp(port, server.pid, world, steps, hold, model, profile, memory))
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:  # a collapsed server still draining: bounded all the same
                server.kill()
                server.wait(30)
    return results, " ".join(load)


def _stop_children() -> None:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            os.kill(int(stat.parent.name), 15)


def rows_of(results: list[dict[str, Any]], load: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in results:

        def row(what: str, value: float, unit: str, target: str = "", n: int = r["staff"]) -> dict[str, Any]:
            out = {"name": f"capacity {n:>5} staff: {what}", "value": round(value, 3), "unit": unit}
            return {**out, "target": target} if target else out

        rows += [
            row("HTTP p95 (公文 list/open, search)", r["http_p95"], "ms", f"< {HTTP_P95_MS:.0f}"),
            row("chat send→ack p95", r["ack_p95"], "ms"),
            row("chat delivery p95", r["delivery_p95"], "ms", f"< {DELIVERY_P95_MS:.0f}"),
            row("errors", r["errors_pct"], "%", f"< {ERRORS_PCT:g}"),
            row("server CPU (100 = one core)", r["server_cpu"], "%"),
            row("client CPU (this process)", r["client_cpu"], "%"),
            row("server RSS", r["rss_mb"], "MB"),
            row("RSS growth per online user", r["per_user_mb"], "MB"),
        ]
    passed = [r["staff"] for r in results if r["passed"]]
    rows.append(
        {
            "name": f"capacity: most staff passing (load {load})",
            "value": max(passed, default=0),
            "unit": "staff",
            "target": ">= 3000",
        }
    )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    results, load = measure(STEPS, 25.0 if quick else 60.0)
    return rows_of(results, load)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.capacity_bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", default=",".join(map(str, STEPS)))
    parser.add_argument("--hold", type=float)
    parser.add_argument("--profile", type=Path, help="py-spy records the server in each window into DIR")
    parser.add_argument("--memory", type=Path, help="the server under tracemalloc: its heap growth per user")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    hold = args.hold if args.hold is not None else (25.0 if args.quick else 60.0)
    steps = tuple(int(s) for s in args.steps.split(","))
    results, load = measure(steps, hold, profile=args.profile, memory=args.memory)
    for row in rows_of(results, load):
        print(json.dumps(row, ensure_ascii=False))
