"""Crash durability: writers against a real server that is killed with SIGKILL several times.

Every write the server acknowledged must be present exactly once after each restart; a write
whose answer was lost is retried with the same client id and then also present exactly once;
sequence numbers have no gaps; the audit chain verifies; and a websocket client that resumes
from its last event id after each restart ends up with every acknowledged message exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text

from office import audit
from office.config import load_settings
from office.db import Database
from office.migrate import upgrade
from tests.conftest import PG_URL
from tests.factories import PASSWORD, make_org

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="kill -9 durability is about the embedded SQLite default")
WRITERS = ["hamlet", "ophelia", "polonius", "claudius"]


class Server:
    def __init__(self, data: Path) -> None:
        self.data = data
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
        env.update(OFFICE_DATA_DIR=str(self.data), OFFICE_CHAT_RATE_PER_SECOND="10000", OFFICE_CHAT_RATE_BURST="10000")
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "office.asgi:app", "--port", str(self.port),
                                      "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Writer(threading.Thread):
    def __init__(self, server: Server, username: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.username, self.stop = server, username, stop
        self.acked: list[str] = []
        self.unknown: list[str] = []
        self.n = 0
        self.client: httpx.Client | None = None
        self.cid = 0

    def _login(self) -> None:
        self.client = httpx.Client(base_url=self.server.url, timeout=5)
        r = self.client.post("/api/auth/login", json={"username": self.username, "password": PASSWORD})
        r.raise_for_status()
        self.client.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        convs = self.client.get("/api/messages/conversations").json()["items"]
        self.cid = next(c["id"] for c in convs if c["kind"] == "department")

    def send(self, client_id: str) -> bool:
        assert self.client is not None
        r = self.client.post(f"/api/messages/conversations/{self.cid}/messages",
                             json={"text": f"durable {client_id}", "client_id": client_id})
        r.raise_for_status()
        return True

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.client is None:
                    self._login()
                for pending in list(self.unknown):  # retries after a lost answer: same client id
                    self.send(pending)
                    self.unknown.remove(pending)
                    self.acked.append(pending)
                self.n += 1
                client_id = f"{self.username}-{self.n}"
                try:
                    self.send(client_id)
                    self.acked.append(client_id)
                except Exception:
                    self.unknown.append(client_id)
                    raise
            except Exception:  # the server is down or restarting: log in again and retry
                self.client = None
                time.sleep(0.05)


async def _watch(server: Server, stop: threading.Event, seen: list[dict[str, Any]], problems: list[str]) -> None:
    """A websocket client that resumes from its last event id after every restart."""
    last = 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        while not stop.is_set():
            try:
                r = await http.post("/api/auth/login", json={"username": "gertrude", "password": PASSWORD})
                cookie = f"tb_session={r.cookies['tb_session']}"
                url = server.url.replace("http", "ws") + f"/ws?last_event_id={last}"
                async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
                    while not stop.is_set():
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        if frame["type"] == "hello":
                            if frame["resync"]:
                                problems.append("told to resync although nothing was pruned")
                        elif frame.get("id") is not None:
                            if frame["id"] <= last:
                                problems.append(f"event {frame['id']} after {last}: replayed twice or out of order")
                            last = frame["id"]
                            seen.append(frame)
            except Exception:  # the server is down or restarting: reconnect from the last id
                await asyncio.sleep(0.05)


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = Database(load_settings({}, data_dir=data))
    upgrade(db)
    make_org(db)
    db.dispose()
    server = Server(data)
    server.start()
    stop, watch_stop = threading.Event(), threading.Event()
    writers = [Writer(server, u, stop) for u in WRITERS]
    seen: list[dict[str, Any]] = []
    problems: list[str] = []
    watcher = threading.Thread(target=lambda: asyncio.run(_watch(server, watch_stop, seen, problems)), daemon=True)
    watcher.start()
    for w in writers:
        w.start()
    rng = random.Random(9704)
    try:
        for _ in range(3):
            time.sleep(rng.uniform(0.8, 1.6))
            server.kill()
            time.sleep(0.2)
            server.start()
        time.sleep(1.5)  # let the retries of lost answers land
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=10)
        for w in writers:  # answers lost at the very end are retried once more, against the live server
            if w.unknown:
                w._login()
                for pending in list(w.unknown):
                    w.send(pending)
                    w.acked.append(pending)
        time.sleep(1.0)
        watch_stop.set()
        watcher.join(timeout=10)
        server.kill()

    acked = [cid for w in writers for cid in w.acked]
    assert len(acked) > 20, "the writers barely wrote: the test proves nothing"
    db = Database(load_settings({}, data_dir=data))
    with db.read() as s:
        rows = s.execute(text("SELECT client_id, seq, conversation_id FROM chat_message WHERE client_id IS NOT NULL")).all()
        report = audit.verify_chain(s)
    db.dispose()
    stored = [r[0] for r in rows]
    assert sorted(stored) == sorted(set(stored)), "a message was stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
    seqs = sorted(r[1] for r in rows)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gap in the conversation's sequence"
    assert report.ok, report
    assert not problems, problems
    delivered = [f["message"]["text"].removeprefix("durable ") for f in seen
                 if f["type"] == "chat.message" and f["message"]["text"].startswith("durable ")]
    assert sorted(delivered) == sorted(set(delivered)), "the resuming client saw a message twice"
    assert set(acked) <= set(delivered), f"resuming client missed {sorted(set(acked) - set(delivered))[:5]}"
