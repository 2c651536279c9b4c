"""``office serve`` as a real process: which proxy headers it believes, the header-read deadline, and
websockets without per-message compression."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from office.config import ConfigError, load_settings
from office.db import Database
from office.models import AuditEntry, LoginFailure
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="runs `office serve` on its embedded SQLite")
PASSWORD = "serving-test-password-26"
FORGED = "203.0.113.9"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def office_serve(data: Path, **env: str) -> Iterator[str]:
    """``python -m office serve`` with these OFFICE_* settings and one user, hamlet; yields its URL."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OFFICE_", "FORWARDED_ALLOW_IPS"))}
    # No warm LibreOffice converters: nothing here makes an official copy, and two starting with each
    # server took a second or two of CPU from the test (and half a second to stop).
    clean |= {"OFFICE_OFFICIAL_COPY_WORKERS": "0"} | env
    subprocess.run(
        [
            sys.executable,
            "-m",
            "office",
            "user",
            "create",
            "hamlet",
            "--name",
            "张伟",
            "--password",
            PASSWORD,
            "--data",
            str(data),
        ],
        env=clean,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    log = data / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "office",
                "serve",
                "--port",
                str(port),
                "--data",
                str(data),
                "--log-level",
                "warning",
            ],
            env=clean,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _seen_addresses(url: str, data: Path) -> dict[str, object]:
    """A wrong password, then a login, both with a forged X-Forwarded-For; the address each record
    the server keeps names: the session, the audit entries, the login-failure counters, the log."""
    with httpx.Client(base_url=url, timeout=30) as c:  # Argon2 logins wait for a core
        wrong = {"username": "hamlet", "password": "wrong-password"}
        assert c.post("/api/auth/login", json=wrong, headers={"x-forwarded-for": FORGED}).status_code == 401
        r = c.post(
            "/api/auth/login", json={"username": "hamlet", "password": PASSWORD}, headers={"x-forwarded-for": FORGED}
        )
        assert r.status_code == 200, r.text
        session_ip = c.get("/api/me/sessions").json()["items"][0]["ip"]
    db = Database(load_settings({}, data_dir=data))
    try:
        with db.read() as s:
            audit = {e.action: e.ip for e in s.exec(select(AuditEntry)) if e.action.startswith("auth.login")}
            failures = sorted(f.key for f in s.exec(select(LoginFailure)) if f.key.startswith("ip:"))
    finally:
        db.dispose()
    return {"session": session_ip, "audit": audit, "failures": failures}


def _logged_clients(data: Path) -> set[str]:
    lines = [json.loads(x) for x in (data / "serve.log").read_text().splitlines() if x.startswith("{")]
    return {x["client"] for x in lines if x.get("kind") == "request" and x.get("route") == "/api/auth/login"}


def _closed_after(url: str, *, trickle_every: float, limit: float) -> float | None:
    """Send a request head one header every ``trickle_every`` seconds: when the server closes the
    connection, how many seconds after it opened; None if it was still open after ``limit``."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        start = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(trickle_every)
        n = 0
        while time.monotonic() - start < limit:
            try:
                if s.recv(1024) == b"":
                    return time.monotonic() - start
            except TimeoutError:
                pass
            except ConnectionError:
                return time.monotonic() - start
            try:
                s.sendall(b"X-Slow-%d: a\r\n" % n)
            except (BrokenPipeError, ConnectionError):
                return time.monotonic() - start
            n += 1
    return None


def test_forged_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(tmp_path: Path) -> None:
    # The test's connections come from 127.0.0.1. With a proxy listed elsewhere, 127.0.0.1 is a client
    # like any other: its header is ignored by the login limits, the audit log, the session and the log.
    elsewhere = tmp_path / "elsewhere"
    with office_serve(elsewhere, OFFICE_TRUSTED_PROXIES="10.0.0.5") as url:
        seen = _seen_addresses(url, elsewhere)
    real = {"auth.login_failed": "127.0.0.1", "auth.login": "127.0.0.1"}
    assert seen == {"session": "127.0.0.1", "audit": real, "failures": ["ip:127.0.0.1"]}
    assert _logged_clients(elsewhere) == {"127.0.0.1"}
    # By default loopback is trusted: a proxy on the same host (docs/deploy.md) names the client.
    local = tmp_path / "local"
    with office_serve(local) as url:
        seen = _seen_addresses(url, local)
    forged = {"auth.login_failed": FORGED, "auth.login": FORGED}
    assert seen == {"session": FORGED, "audit": forged, "failures": [f"ip:{FORGED}"]}
    assert _logged_clients(local) == {FORGED}
    assert load_settings({"OFFICE_TRUSTED_PROXIES": "none"}, data_dir=tmp_path / "none").trusted_proxies == ()
    with pytest.raises(ConfigError):
        load_settings({"OFFICE_TRUSTED_PROXIES": "*"}, data_dir=tmp_path / "bad")


def test_a_connection_trickling_its_headers_is_closed_at_the_deadline(tmp_path: Path) -> None:
    with office_serve(tmp_path / "d", OFFICE_HEADER_TIMEOUT_SECONDS="1.5") as url:
        slow = _closed_after(url, trickle_every=0.25, limit=8)
        assert slow is not None and 1.4 <= slow < 4, slow
        # A complete request is not affected, nor a kept-alive connection used within the deadline,
        # nor a websocket that stays open past it (the deadline covers request heads only).
        with httpx.Client(base_url=url, timeout=30) as c:  # Argon2 logins wait for a core
            r = c.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
            assert r.status_code == 200
            time.sleep(1)
            assert c.get("/api/me").status_code == 200
            cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())

        async def websocket_outlives_the_deadline() -> None:
            ws_url = url.replace("http://", "ws://") + "/ws"
            async with websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": url}) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
                # The client offered permessage-deflate (as browsers do); the server takes no
                # extension, so it keeps no compressor or decompressor per socket.
                assert ws.request is not None and ws.response is not None
                assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
                assert "Sec-WebSocket-Extensions" not in ws.response.headers
                await asyncio.sleep(2.5)
                await ws.send(json.dumps({"type": "ping"}))
                while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "pong":
                    pass

        asyncio.run(websocket_outlives_the_deadline())


def test_the_deadline_works_with_h11_too(tmp_path: Path) -> None:
    """Without httptools uvicorn parses with h11: the same mixin over that protocol, in a thread."""
    import functools
    import threading

    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from office.serving import HeaderDeadline

    class H11WithDeadline(HeaderDeadline, H11Protocol):  # type: ignore[misc]
        pass

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    port = _free_port()
    factory: Any = functools.partial(H11WithDeadline, header_timeout=1.0)  # uvicorn calls ``http`` to build one
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="off", http=factory))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        slow = _closed_after(url, trickle_every=0.25, limit=6)
        assert slow is not None and 0.9 <= slow < 3, slow
        with httpx.Client(base_url=url, timeout=30) as c:  # Argon2 logins wait for a core
            assert c.get("/").text == "ok"
            time.sleep(0.5)
            assert c.get("/").text == "ok"  # kept alive, the deadline re-armed and met
    finally:
        server.should_exit = True
        thread.join(timeout=10)
