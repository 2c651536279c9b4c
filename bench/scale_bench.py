"""Scale-out, measured (#19 part 1): the messaging, directory and 公文 numbering loads against one
process on SQLite, then against 1, 2 and 4 uvicorn workers (``office serve --workers N``) on
PostgreSQL with the Redis hub, each started here (``bench.scale_infra``: a throwaway cluster and a
redis-server, as ``scripts/test`` starts them).

Per configuration, over real sockets:

* chat fan-out: ``GROUPS`` groups of ``SIZE``; each group's sender keeps ``WINDOW`` messages in
  flight; deliveries/s counted at the receivers. With several workers every group's sender is on
  one worker and all its receivers on the others (placed by checking which worker serves each
  connection), so each delivery crosses processes through Redis.
* send→deliver p99 across processes at a steady ``PACED_RATE`` messages/s (same placement).
* durable sends: ``SOLO`` senders, each in its own conversation, each waiting for its ``chat.ack``
  (after commit); connections spread evenly over the workers.
* directory reads: ``/api/directory/search`` over ``HTTP_CONNS`` keep-alive connections.
* 公文 numbering: ``POST /api/docs/numbers`` (预留, through the group-commit ``Numberer``) by clerks
  of ``AGENCIES`` agencies (each its own counter), checked gapless afterwards.

Each PostgreSQL row carries its ratio to 1 worker. "Where the time goes" rows give, per phase, the
cores busy (CPU seconds of workers + PostgreSQL + Redis + this client over the wall time: near 2.0
on a 2-core host means CPU-bound, not lock-bound) and the share of PostgreSQL backends waiting on
each wait event (``Lock:advisory``: the write lock). ``python -m bench --only scale_bench``;
``--quick`` for shorter phases. Without PostgreSQL or redis-server only the SQLite rows are made.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import scale_infra as infra

WINDOW = 4
PACED_RATE = 50.0
HTTP_CONNS = 16
AGENCIES = 8
WORKER_COUNTS = (1, 2, 4)
CONNECTING = 16  # handshakes in flight at once while placing connections


def _sizes(quick: bool) -> dict[str, Any]:
    return {
        "groups": 4 if quick else 8,
        "size": 20 if quick else 40,
        "solo": 48 if quick else 128,
        "people": 400 if quick else 2000,
        "duration": 3.0 if quick else 6.0,
    }


# Seeding ------------------------------------------------------------------------------------------------


def seed(data: Path, secret: str, database_url: str, sz: dict[str, Any]) -> dict[str, Any]:
    """Agencies with a 机关代字 and two clerks each; chat users in groups; solo senders; extra
    directory people; an open session (cookie, CSRF token) for everyone who acts."""
    from messaging import service as chat
    from office import accounts
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.demo import GIVEN, SURNAMES
    from office.directory import service as directory
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import DeptKind, Role
    from office.secrets_box import hash_password
    from office.signing import CookieSigner

    settings = load_settings({}, data_dir=data, secret_key=secret, database_url=database_url)
    db = Database(settings)
    upgrade(db)
    signer = CookieSigner(secret)
    pw = hash_password(settings, secrets.token_urlsafe(12))
    rng = random.Random(19)
    agencies: list[tuple[int, str]] = []
    with db.write() as s:
        for k in range(AGENCIES):
            code = f"粤基{k}"
            agencies.append(
                (
                    directory.create_department(s, SYSTEM, name=f"基准机关{k}", kind=DeptKind.agency, code=code).id
                    or 0,
                    code,
                )
            )
        home = directory.create_department(s, SYSTEM, name="综合处", parent_id=agencies[0][0]).id or 0

    def person(s: Any, username: str, dept: int, roles: set[Role]) -> Any:
        return directory.create_user(
            s,
            SYSTEM,
            username=username,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            password="",
            posts=[PostSpec(department_id=dept)],
            roles=roles | {Role.staff},
            check_password=False,
            password_hash=pw,
        )

    def login(s: Any, user: Any) -> dict[str, str]:
        token, row = accounts._open_session(s, settings, user, ip="127.0.0.1", user_agent="bench", mfa_pending=False)
        return {"Cookie": "tb_session=" + signer.sign_token(token), "X-CSRF-Token": row.csrf_token}

    clerks: list[tuple[dict[str, str], str]] = []
    with db.write() as s:
        for agency, code in agencies:
            for j in range(2):
                clerks.append((login(s, person(s, f"clerk{agency}_{j}", agency, {Role.clerk})), code))
    chatters = sz["groups"] * sz["size"] + sz["solo"]
    users: list[int] = []
    heads: list[dict[str, str]] = []
    for start in range(0, chatters, 100):
        with db.write() as s:
            for i in range(start, min(start + 100, chatters)):
                u = person(s, f"c{i:05d}", home, set())
                users.append(u.id)
                heads.append(login(s, u))
    for start in range(0, sz["people"], 250):
        with db.write() as s:
            for i in range(start, min(start + 250, sz["people"])):
                person(s, f"p{i:05d}", home, set())
    convs: list[int] = []
    for g in range(sz["groups"]):
        members = users[g * sz["size"] : (g + 1) * sz["size"]]
        with db.write() as s:
            owner = accounts.load_actor(s, members[0])
            convs.append(chat.create_group(s, owner, name=f"组{g}", member_ids=members[1:]).id or 0)
    solos: list[int] = []
    with db.write() as s:
        for i in range(sz["groups"] * sz["size"], chatters):
            solos.append(chat.create_group(s, accounts.load_actor(s, users[i]), name=f"独{i}", member_ids=[]).id or 0)
    db.dispose()
    queries = list(SURNAMES[:20]) + [a + b for a in SURNAMES[:10] for b in GIVEN[:8]]
    return {"clerks": clerks, "heads": heads, "convs": convs, "solos": solos, "queries": queries}


def _env(data: Path, secret: str, database_url: str, hub_url: str) -> dict[str, str]:
    return {
        "OFFICE_DATA_DIR": str(data),
        "OFFICE_DATABASE_URL": database_url or f"sqlite:///{data / 'office.db'}",
        "OFFICE_SECRET_KEY": secret,
        "OFFICE_HUB_URL": hub_url,
        # The limiters are measured elsewhere; here they would only measure themselves.
        "OFFICE_CHAT_RATE_PER_SECOND": "1000000",
        "OFFICE_CHAT_RATE_BURST": "1000000",
        "OFFICE_CHAT_ADDRESS_RATE_PER_SECOND": "1000000",
        "OFFICE_CHAT_ADDRESS_RATE_BURST": "1000000",
    }


# Placing connections on workers -------------------------------------------------------------------------


async def place(
    server: infra.Server,
    count: int,
    connect: Callable[[int], Awaitable[tuple[Any, int]]],
    close: Callable[[Any], Awaitable[None]],
    wanted: Callable[[int, list[int | None]], set[int]],
    rounds: int = 60,
) -> tuple[list[Any], list[int | None]]:
    """``count`` connections, the ``i``-th reconnected until the worker serving it is one of
    ``wanted(i, owners)`` (``owners``: where the others are so far). Returns the connections and
    their workers; after ``rounds`` tries a connection stays where it landed."""
    conns: list[Any] = [None] * count
    ports: list[int] = [0] * count
    owners: list[int | None] = [None] * count
    todo = list(range(count))
    gate = asyncio.Semaphore(CONNECTING)

    async def one(i: int) -> tuple[Any, int]:
        async with gate:
            return await connect(i)

    for _ in range(rounds):
        got = await asyncio.gather(*(one(i) for i in todo))
        for i, (conn, port) in zip(todo, got, strict=True):
            conns[i], ports[i] = conn, port
        found = infra.owners_of([ports[i] for i in todo], server.port, server.pids)
        for i in todo:
            owners[i] = found.get(ports[i])
        misplaced = [i for i in todo if owners[i] not in wanted(i, owners)]
        if not misplaced or len(server.pids) == 1:
            return conns, owners
        await asyncio.gather(*(close(conns[i]) for i in misplaced))
        todo = misplaced
    return conns, owners


def _balanced(server: infra.Server) -> Callable[[int, list[int | None]], set[int]]:
    return lambda i, _owners: {server.pids[i % len(server.pids)]}


# Phases -------------------------------------------------------------------------------------------------


async def _ws(server: infra.Server, headers: dict[str, str]) -> tuple[Any, int]:
    import websockets

    ws = await websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws",
        additional_headers={"Cookie": headers["Cookie"]},
        max_queue=None,
        open_timeout=120,  # a handshake is a write transaction: a crowd of them queues on the write lock
    )
    await ws.recv()  # hello: the worker has registered the socket
    return ws, int(ws.local_address[1])


async def _wsclose(ws: Any) -> None:
    await ws.close()


async def fanout(
    watch: infra.Watch, server: infra.Server, seeded: dict[str, Any], sz: dict[str, Any], paced: float | None
) -> dict[str, Any]:
    """Deliveries/s (or, ``paced``, latency at that steady rate); senders and receivers on different
    workers when there are several."""
    import websockets

    groups, size = sz["groups"], sz["size"]
    pids = server.pids

    def wanted(i: int, owners: list[int | None]) -> set[int]:
        g, k = divmod(i, size)
        sender_home = pids[g % len(pids)]
        if k == 0:
            return {sender_home}
        others = [p for p in pids if p != sender_home] or pids
        return {others[k % len(others)]}  # spread each group's receivers over the other workers

    heads = seeded["heads"][: groups * size]
    socks, owners = await place(server, groups * size, lambda i: _ws(server, heads[i]), _wsclose, wanted)
    crossing = sum(
        1 for g in range(groups) for k in range(1, size) if owners[g * size + k] != owners[g * size] or len(pids) == 1
    )
    latencies: list[float] = []
    delivered = 0
    stop = time.monotonic() + sz["duration"]

    async def reader(i: int, back: asyncio.Queue[None] | None) -> None:
        nonlocal delivered
        try:
            async for raw in socks[i]:
                frame = json.loads(raw)
                if frame.get("type") != "chat.message":
                    continue
                if back is not None:
                    back.put_nowait(None)
                    continue
                latencies.append(time.perf_counter() - float(frame["message"]["text"].split("|", 1)[0]))
                delivered += 1
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            return

    sent = 0

    async def sender(g: int, back: asyncio.Queue[None]) -> None:
        nonlocal sent
        ws, n = socks[g * size], 0
        for _ in range(WINDOW):
            back.put_nowait(None)
        interval = groups / paced if paced else 0.0
        next_at = time.monotonic() + g * interval / groups
        while time.monotonic() < stop:
            if paced:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            else:
                await back.get()
            n += 1
            text = f"{time.perf_counter()}|消息{n}"
            await ws.send(json.dumps({"type": "chat.send", "conversation_id": seeded["convs"][g], "text": text}))
            sent += 1

    backs: list[asyncio.Queue[None]] = [asyncio.Queue() for _ in range(groups)]
    readers = [
        asyncio.create_task(reader(g * size + k, backs[g] if k == 0 else None))
        for g in range(groups)
        for k in range(size)
    ]
    with watch.phase() as prof:  # the load only, not the connecting before it
        started = time.monotonic()
        await asyncio.gather(*(sender(g, backs[g]) for g in range(groups)))
        await asyncio.sleep(0.5)  # in-flight messages land
        elapsed = time.monotonic() - started
    for t in readers:
        t.cancel()
    await asyncio.gather(*(ws.close() for ws in socks))
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")  # noqa: E731
    return {
        "rate": delivered / elapsed,
        "ops": sent,
        "profile": prof,
        "delivered": delivered,
        "p50": pick(0.50),
        "p99": pick(0.99),
        "crossing": crossing / max(groups * (size - 1), 1),
    }


async def durable(
    watch: infra.Watch, server: infra.Server, seeded: dict[str, Any], sz: dict[str, Any]
) -> dict[str, Any]:
    first = sz["groups"] * sz["size"]
    heads, solos = seeded["heads"][first:], seeded["solos"]
    socks, _ = await place(server, len(solos), lambda i: _ws(server, heads[i]), _wsclose, _balanced(server))
    stop = time.monotonic() + sz["duration"]
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

    with watch.phase() as prof:  # the load only, not the connecting before it
        started = time.monotonic()
        await asyncio.gather(*(one(ws, c) for ws, c in zip(socks, solos, strict=True)))
        elapsed = time.monotonic() - started
    await asyncio.gather(*(ws.close() for ws in socks))
    return {"rate": acks / elapsed, "ops": acks, "profile": prof}


async def http_load(
    watch: infra.Watch,
    server: infra.Server,
    heads: list[dict[str, str]],
    duration: float,
    request: Callable[[int, int], tuple[str, str, Any]],
    ok: int,
) -> dict[str, Any]:
    """``HTTP_CONNS`` keep-alive connections spread over the workers, each sending
    ``request(conn, n)`` back to back for ``duration`` seconds."""

    async def connect(i: int) -> tuple[Any, int]:
        c = await infra.Http.open(server.port, heads[i % len(heads)])
        return c, c.local_port

    async def close(c: Any) -> None:
        c.close()

    conns, _ = await place(server, HTTP_CONNS, connect, close, _balanced(server))
    stop = time.monotonic() + duration
    done = 0
    failed: list[tuple[int, bytes]] = []

    async def loop(k: int, c: infra.Http) -> None:
        nonlocal done
        n = 0
        while time.monotonic() < stop:
            n += 1
            method, path, body = request(k, n)
            status, got = await c.request(method, path, body)
            if status == ok:
                done += 1
            else:
                failed.append((status, got[:200]))

    with watch.phase() as prof:  # the load only, not the connecting before it
        started = time.monotonic()
        await asyncio.gather(*(loop(k, c) for k, c in enumerate(conns)))
        elapsed = time.monotonic() - started
    for c in conns:
        c.close()
    if failed:
        print(f"   {len(failed)} requests failed, e.g. {failed[0]}", file=sys.stderr)
    return {"rate": done / elapsed, "failed": len(failed), "ops": done, "profile": prof}


def directory_reads(
    watch: infra.Watch, server: infra.Server, seeded: dict[str, Any], sz: dict[str, Any]
) -> dict[str, Any]:
    from urllib.parse import quote

    paths = [f"/api/directory/search?q={quote(q)}" for q in seeded["queries"]]
    heads = seeded["heads"][:HTTP_CONNS]
    return asyncio.run(
        http_load(
            watch, server, heads, sz["duration"], lambda k, n: ("GET", paths[(k * 7 + n) % len(paths)], None), 200
        )
    )


def numbering(watch: infra.Watch, server: infra.Server, seeded: dict[str, Any], sz: dict[str, Any]) -> dict[str, Any]:
    clerks = seeded["clerks"]
    heads = [h for h, _ in clerks]
    codes = [c for _, c in clerks]

    def request(k: int, n: int) -> tuple[str, str, Any]:
        return "POST", "/api/docs/numbers", {"code": codes[k % len(codes)], "reason": f"基准预留{n}"}

    got = asyncio.run(http_load(watch, server, heads, sz["duration"], request, 201))
    return got


def check_gapless(database_url: str, data: Path, secret: str) -> None:
    """Every counter's numbers are exactly 1..last_seq: none lost, none twice."""
    from sqlmodel import func, select

    from docs_flow.models import DocNumber, DocNumberCounter
    from office.config import load_settings
    from office.db import Database

    db = Database(load_settings({}, data_dir=data, secret_key=secret, database_url=database_url))
    try:
        with db.read() as s:
            for counter in s.exec(select(DocNumberCounter)).all():
                n, distinct, top = s.exec(
                    select(func.count(), func.count(func.distinct(DocNumber.seq)), func.max(DocNumber.seq)).where(
                        DocNumber.agency_id == counter.agency_id,
                        DocNumber.code == counter.code,
                        DocNumber.year == counter.year,
                    )
                ).one()
                if not (n == distinct == (top or 0) == counter.last_seq):
                    raise RuntimeError(
                        f"numbers of {counter.code}: {n} rows, {distinct} distinct, max {top}, "
                        f"counter {counter.last_seq}"
                    )
    finally:
        db.dispose()


# One configuration --------------------------------------------------------------------------------------


def measure(
    label: str,
    workers: int,
    data: Path,
    secret: str,
    database_url: str,
    hub_url: str,
    seeded: dict[str, Any],
    sz: dict[str, Any],
    pg: infra.Postgres | None,
    redis: infra.Redis | None,
) -> dict[str, dict[str, Any]]:
    server = infra.Server(workers, _env(data, secret, database_url, hub_url), data / f"server-{label}.log")
    print(f"   {label}: workers {server.pids}", file=sys.stderr, flush=True)
    groups: dict[str, Callable[[], float]] = {"workers": lambda: sum(infra.cpu_seconds(p) for p in server.pids)}
    if pg is not None:
        groups["postgres"] = pg.cpu
    if redis is not None:
        groups["redis"] = lambda: infra.cpu_seconds(redis.pid)
    watch = infra.Watch(groups, pg.url(database_url.rsplit("/", 1)[1]) if pg else None)
    out: dict[str, dict[str, Any]] = {}
    try:
        phases: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("fanout", lambda: asyncio.run(fanout(watch, server, seeded, sz, None))),
            ("paced", lambda: asyncio.run(fanout(watch, server, seeded, sz, PACED_RATE))),
            ("durable", lambda: asyncio.run(durable(watch, server, seeded, sz))),
            ("directory", lambda: directory_reads(watch, server, seeded, sz)),
            ("numbering", lambda: numbering(watch, server, seeded, sz)),
        ]
        for name, phase in phases:
            if sz["phases"] and name not in sz["phases"]:
                continue
            got = phase()
            prof = got.pop("profile")
            out[name] = got | {"profile": prof}
            print(f"   {label} {name}: {_brief(got, prof)}", file=sys.stderr, flush=True)
            _statement_profile(label, name, got.get("ops", 0), prof)
    except BaseException:
        log = (data / f"server-{label}.log").read_bytes()[-4000:].decode(errors="replace")
        print(f"   {label} failed; the server's log ends:\n{log}", file=sys.stderr)
        raise
    finally:
        server.stop()
    check_gapless(database_url, data, secret)
    return out


def _statement_profile(label: str, name: str, ops: float, prof: dict[str, Any]) -> None:
    """The statements the server sent per operation of the phase, most frequent first."""
    stats = prof.get("statements")
    if not stats or not ops:
        return
    total = sum(stats.values())
    print(f"   {label} {name}: {total / ops:.1f} statements per operation; per operation:", file=sys.stderr)
    for query, n in stats.most_common(12):
        print(f"      {n / ops:7.2f}  {query}", file=sys.stderr)


def _brief(got: dict[str, float], prof: dict[str, Any]) -> str:
    cpu = " ".join(f"{k}={v:.2f}s" for k, v in prof["cpu"].items())
    waits = ", ".join(f"{k} {v:.2f}" for k, v in list(prof["waits"].items())[:5])
    figures = " ".join(f"{k}={v:.4g}" for k, v in got.items() if isinstance(v, float | int))
    return f"{figures} | wall {prof['wall']:.1f}s cpu {cpu} | pg backends by wait: {waits or '-'}"


# Rows ---------------------------------------------------------------------------------------------------

METRICS = [
    ("fanout", "rate", "chat fan-out deliveries/s", "msg/s"),
    ("durable", "rate", "durable sends/s (acked after commit)", "msg/s"),
    ("paced", "p99", f"p99 send→deliver at {PACED_RATE:.0f}/s (×1: in process)", "ms"),
    ("directory", "rate", "directory reads/s", "req/s"),
    ("numbering", "rate", "公文 numbering/s (预留, 8 agencies)", "num/s"),
]


def rows(results: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    one = results.get("pg×1")
    for phase, key, title, unit in METRICS:
        for label, got in results.items():
            if phase not in got:
                continue
            value = got[phase][key]
            row: dict[str, Any] = {
                "name": f"scale {label}: {title}",
                "value": round(value, 2 if unit == "ms" else 0),
                "unit": unit,
            }
            if label.startswith("pg×") and one is not None:
                base = one.get(phase, {}).get(key, 0.0)
                row |= {
                    "baseline_value": round(base, 2 if unit == "ms" else 0),
                    "ratio": round(value / base, 2) if base else None,
                }
            out.append(row)
    for label, got in results.items():
        for phase in ("fanout", "durable", "directory", "numbering"):
            if phase not in got:
                continue
            prof = got[phase]["profile"]
            busy = sum(prof["cpu"].values()) / prof["wall"]
            out.append(
                {"name": f"scale {label}: {phase} cores busy (all processes)", "value": round(busy, 2), "unit": "cores"}
            )
            ops = got[phase].get("ops", 0)
            if ops:
                per_op = sum(v for k, v in prof["cpu"].items() if k != "client") / ops * 1000
                out.append(
                    {"name": f"scale {label}: {phase} CPU per op, server side", "value": round(per_op, 3), "unit": "ms"}
                )
            if prof["waits"]:
                top = next(iter(prof["waits"].items()))
                lock = prof["waits"].get("Lock:advisory", 0.0)
                out.append(
                    {
                        "name": f"scale {label}: {phase} pg backends waiting, write lock",
                        "value": round(lock, 2),
                        "unit": "backends",
                    }
                )
                out.append(
                    {"name": f"scale {label}: {phase} pg top: {top[0]}", "value": round(top[1], 2), "unit": "backends"}
                )
    return out


def run(
    quick: bool, *, sqlite: bool = True, workers: tuple[int, ...] = WORKER_COUNTS, only: str = ""
) -> list[dict[str, Any]]:
    """All configurations (``python -m bench``); ``python -m bench.scale_bench`` can choose some:
    ``--no-sqlite``, ``--workers 1,4``, ``--phases durable,numbering``."""
    sz = _sizes(quick) | {"phases": set(only.split(",")) if only else set()}
    results: dict[str, dict[str, dict[str, Any]]] = {}
    print(f"   load before: {os.getloadavg()}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="tongban-scale-") as tmp:
        secret = secrets.token_urlsafe(40)
        if sqlite:
            data = Path(tmp) / "sqlite"
            seeded = seed(data, secret, "", sz)
            results["sqlite×1"] = measure("sqlite×1", 1, data, secret, "", "memory://", seeded, sz, None, None)
        missing = infra.missing_tools()
        if missing:
            print(f"   skipped PostgreSQL + Redis: missing {', '.join(missing)}", file=sys.stderr)
            return rows(results)
        pg, redis = infra.Postgres(), infra.Redis()
        try:
            url = pg.create_database("tongban_scale")
            data = Path(tmp) / "pg"
            seeded = seed(data, secret, url, sz)
            for n in workers:
                label = f"pg×{n}"
                results[label] = measure(label, n, data, secret, url, redis.url, seeded, sz, pg, redis)
        finally:
            redis.stop()
            pg.stop()
    print(f"   load after: {os.getloadavg()}", file=sys.stderr, flush=True)
    return rows(results)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.scale_bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", default=",".join(map(str, WORKER_COUNTS)))
    parser.add_argument("--phases", default="", help="fanout,paced,durable,directory,numbering (default: all)")
    args = parser.parse_args()
    got = run(
        args.quick,
        sqlite=not args.no_sqlite,
        workers=tuple(int(n) for n in args.workers.split(",")),
        only=args.phases,
    )
    from bench.__main__ import format_table

    print(format_table(got))
