"""Two uvicorn processes sharing one SQLite database and one Redis: a message sent through one
reaches websocket clients of the other, with receipts and unread counts consistent everywhere."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from office.config import load_settings
from office.db import Database
from office.migrate import upgrade
from tests.conftest import PG_URL, require_tool
from tests.factories import PASSWORD, make_org
from tests.messaging.helpers import group

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(bool(PG_URL), reason="this test shares one SQLite file between processes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = require_tool("redis-server")
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    try:
        _wait(lambda: redis.Redis(port=port).ping(), "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def cluster_env() -> dict[str, str]:
    return {}


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str, cluster_env: dict[str, str]) -> Iterator[tuple[list[str], Any]]:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "OFFICE_DATA_DIR": str(data),
        "OFFICE_DATABASE_URL": f"sqlite:///{data / 'office.db'}",
        "OFFICE_HUB_URL": redis_url,
        "OFFICE_SECRET_KEY": secrets.token_urlsafe(40),
        "PYTHONPATH": str(ROOT),
        # No warm LibreOffice converters: nothing here makes an official copy, and two per process
        # starting beside the test took CPU from it.
        "OFFICE_OFFICIAL_COPY_WORKERS": "0",
        **cluster_env,
    }
    settings = load_settings(env)
    db = Database(settings)
    upgrade(db)
    org = make_org(db)
    procs, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            procs.append(
                subprocess.Popen(
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
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            # A process starting beside the other test pass (and LibreOffice) on 2 cores can take well over 20 s.
            _wait(lambda url=url: httpx.get(url + "/api/openapi.json").status_code == 200, url, timeout=90)
        yield urls, org
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)
        db.dispose()


def _login(url: str, username: str) -> tuple[str, httpx.AsyncClient]:
    r = httpx.post(f"{url}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookie = f"tb_session={r.cookies['tb_session']}"
    return cookie, httpx.AsyncClient(
        base_url=url, headers={"Cookie": cookie, "x-csrf-token": r.json()["user"]["csrf_token"]}
    )


async def _next(ws: Any, prefix: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"].startswith(prefix):
            return frame  # type: ignore[no-any-return]


def test_message_sent_on_one_process_reaches_sockets_on_the_other(cluster: tuple[list[str], Any]) -> None:
    (one, two), org = cluster
    g = group(org, "hamlet", "跨进程", ["ophelia"])
    ham_cookie, ham = _login(one, "hamlet")
    oph_cookie, oph = _login(two, "ophelia")

    async def scenario() -> None:
        ws_one, ws_two = (u.replace("http://", "ws://") + "/ws" for u in (one, two))
        async with (
            websockets.connect(ws_two, additional_headers={"Cookie": oph_cookie}) as o2,
            websockets.connect(ws_one, additional_headers={"Cookie": oph_cookie}) as o1,
            websockets.connect(ws_one, additional_headers={"Cookie": ham_cookie}) as h1,
        ):
            for w in (o2, o1, h1):
                await _next(w, "hello")
            r = await ham.post(f"/api/messages/conversations/{g}/messages", json={"text": "跨进程消息"})
            assert r.status_code == 201
            for w in (o2, o1):  # both of her devices, on both processes
                ev = await _next(w, "chat.message")
                assert (ev["seq"], ev["message"]["text"]) == (2, "跨进程消息")
            assert (await oph.get("/api/messages/unread")).json()["conversations"][str(g)] == 2  # + "created the group"
            await o2.send(json.dumps({"type": "chat.read", "conversation_id": g, "seq": 2}))
            receipt = await _next(h1, "chat.read")  # process 2's receipt reaches process 1
            assert (receipt["user_id"], receipt["seq"]) == (org.users["ophelia"], 2)
            assert (await _next(o1, "chat.read"))["unread"] == 0  # her other device, other process
            reads = (await ham.get(f"/api/messages/conversations/{g}/messages/2/reads")).json()
            assert [p["name"] for p in reads["read"]] == ["李娜"]
            unread_one = (
                await httpx.AsyncClient(base_url=one, headers={"Cookie": oph_cookie}).get("/api/messages/unread")
            ).json()
            unread_two = (await oph.get("/api/messages/unread")).json()
            assert unread_one == unread_two and unread_one["conversations"][str(g)] == 0
            await h1.send(json.dumps({"type": "chat.typing", "conversation_id": g}))
            assert (await _next(o2, "chat.typing"))["user_id"] == org.users["hamlet"]  # ephemeral frames cross too

    asyncio.run(scenario())


@pytest.mark.parametrize("cluster_env", [{"OFFICE_CHAT_RATE_BURST": "4", "OFFICE_CHAT_RATE_PER_SECOND": "0.01"}])
def test_send_limits_are_shared_by_the_processes(cluster: tuple[list[str], Any]) -> None:
    """With two workers a user still gets one burst, not one per worker."""
    (one, two), org = cluster
    g = group(org, "hamlet", "限流", ["ophelia"])
    clients = [_login(url, "hamlet")[1] for url in (one, two)]

    async def scenario() -> list[int]:
        codes = []
        for i in range(6):
            r = await clients[i % 2].post(f"/api/messages/conversations/{g}/messages", json={"text": f"m{i}"})
            codes.append(r.status_code)
        return codes

    assert asyncio.run(scenario()) == [201, 201, 201, 201, 429, 429]


def test_redis_buckets_fall_back_to_the_process_when_redis_is_down() -> None:
    from office.ratelimit import make_buckets

    buckets = make_buckets(f"redis://127.0.0.1:{_free_port()}/0", "t", lambda: (0.01, 2.0))
    assert [buckets.allow("k") for _ in range(3)] == [True, True, False]
