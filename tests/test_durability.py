"""Crash durability: writers against a real server that is killed with SIGKILL several times.

Every write the server acknowledged must be present exactly once after each restart; a write
whose answer was lost is retried with the same client id and then also present exactly once;
sequence numbers have no gaps; the audit chain verifies; and a websocket client that resumes
from its last event id after each restart ends up with every acknowledged message exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
from tests.conftest import PG_URL, Migrated, kill_after_test
from tests.factories import PASSWORD, make_org

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="kill -9 durability is about the embedded SQLite default")
CHAT_WRITERS = ["hamlet", "ophelia", "polonius", "claudius"]
DOC_WRITERS = ["horatio", "laertes"]
BOOKERS = ["gertrude", "yorick"]


class Server:
    def __init__(self, data: Path) -> None:
        self.data = data
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None
        kill_after_test(self)  # a test that fails leaves no server running

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
        env.update(
            OFFICE_DATA_DIR=str(self.data),
            OFFICE_CHAT_RATE_PER_SECOND="10000",
            OFFICE_CHAT_RATE_BURST="10000",
            OFFICE_CHAT_ADDRESS_RATE_PER_SECOND="10000",
            OFFICE_CHAT_ADDRESS_RATE_BURST="10000",
            OFFICE_ADMIN_2FA="false",  # yorick (印章管理员) and prospero sign in with a password alone
            # No warm LibreOffice converters: nothing here makes an official copy, and two starting
            # with every server life took CPU from the writers (and outlived each kill -9).
            OFFICE_OFFICIAL_COPY_WORKERS="0",
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "office.asgi:app",
                "--port",
                str(self.port),
                "--log-level",
                "info",
                "--no-access-log",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.data.parent / "server.log", "ab"),
        )  # noqa: SIM115
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        log = (self.data.parent / "server.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"server did not start:\n{log}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Writer(threading.Thread):
    """Logs in as ``username`` and keeps writing; what the server answered 2xx is ``acked``."""

    def __init__(self, server: Server, username: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.username, self.stop = server, username, stop
        self.acked: list[str] = []
        self.unknown: list[str] = []
        self.n = 0
        self.client: httpx.Client | None = None

    def _login(self) -> None:
        client = httpx.Client(base_url=self.server.url, timeout=5)
        # A login hashes with the deployed Argon2 parameters, a dozen at once at the start: given up
        # after 5 s on a loaded machine it was only tried again, while the server still hashed it.
        r = client.post("/api/auth/login", json={"username": self.username, "password": PASSWORD}, timeout=60)
        r.raise_for_status()
        client.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        self.client = client
        try:
            self.setup()
        except BaseException:
            self.client = None  # kept only once signed in and set up (``run`` keeps it across restarts)
            raise

    def setup(self) -> None:
        pass

    def write(self, key: str) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.client is None:
                    self._login()
                self.step()
            except Exception as exc:
                # The server is down or restarting: retry on the same session, which is in the database
                # and outlives the crash as a browser's does; sign in again only if it is refused. (A
                # fresh login per writer after every restart was a dozen Argon2 hashes at once, each
                # seconds on a loaded machine, so logins timed out and were tried again and again.)
                if self.client is None or _refused(exc):
                    self.client = None
                time.sleep(0.05)

    def step(self) -> None:
        self.n += 1
        key = f"{self.username}-{self.n}"
        try:
            self.write(key)
        except Exception:
            self.unknown.append(key)
            raise
        self.acked.append(key)


def _refused(exc: Exception) -> bool:
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (401, 403)


class ChatWriter(Writer):
    """Chat sends carry a client id, so an answer lost in a crash is retried and must not double."""

    cid = 0

    def setup(self) -> None:
        assert self.client is not None
        convs = self.client.get("/api/messages/conversations").json()["items"]
        self.cid = next(c["id"] for c in convs if c["kind"] == "department")

    def write(self, key: str) -> None:
        assert self.client is not None
        r = self.client.post(
            f"/api/messages/conversations/{self.cid}/messages", json={"text": f"durable {key}", "client_id": key}
        )
        r.raise_for_status()

    def step(self) -> None:
        for pending in list(self.unknown):  # retries after a lost answer: same client id
            self.write(pending)
            self.unknown.remove(pending)
            self.acked.append(pending)
        super().step()


class ReadMarker(ChatWriter):
    """Marks the department conversation (the chat writers') read up to its newest message while
    they post there; ``acked`` holds the positions the server answered 2xx (each is durable then)."""

    def step(self) -> None:
        assert self.client is not None
        convs = self.client.get("/api/messages/conversations").json()["items"]
        last = next(c["last_seq"] for c in convs if c["id"] == self.cid)
        r = self.client.post(f"/api/messages/conversations/{self.cid}/read", json={"seq": last})
        r.raise_for_status()
        self.acked.append(str(r.json()["last_read_seq"]))


class DocWriter(Writer):
    """Drafts a 通知 and submits it: two acknowledged writes per document (``key`` and ``key+submit``).
    The create carries a client id, so a create whose answer was lost is retried and must not double."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lost_creates: list[str] = []

    def create(self, key: str) -> dict[str, Any]:
        assert self.client is not None
        r = self.client.post(
            "/api/docs",
            json={
                "doc_type": "通知",
                "title": f"durable {key}",
                "body": DOC_BODY,
                "main_recipients": ["各市人民政府"],
                "client_id": key,
            },
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def write(self, key: str) -> None:
        assert self.client is not None
        try:
            doc = self.create(key)
        except Exception:
            self.lost_creates.append(key)
            raise
        self.acked.append(key)
        key += "+submit"
        try:
            r = self.client.post(f"/api/docs/{doc['id']}/actions", json={"action": "submit", "version": doc["version"]})
            r.raise_for_status()
        except Exception:
            self.unknown.append(key)
            raise
        self.acked.append(key)

    def step(self) -> None:
        for pending in list(self.lost_creates):  # the answer was lost: the same key again makes no second draft
            self.create(pending)
            self.lost_creates.remove(pending)
            self.acked.append(pending)
        self.n += 1
        self.write(f"{self.username}-{self.n}")  # appends to acked/unknown itself


class Booker(Writer):
    """Books the shared room in consecutive half hours; another booker races for the same slots."""

    def __init__(self, server: Server, username: str, stop: threading.Event, room: int, slots: list[str]) -> None:
        super().__init__(server, username, stop)
        self.room, self.slots = room, slots
        self.refused = 0

    def write(self, key: str) -> None:
        assert self.client is not None
        start = self.slots[self.n % len(self.slots)]
        end = (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=30)).isoformat()
        r = self.client.post(
            "/api/meetings",
            json={"title": f"durable {key}", "start": start, "end": end, "room_id": self.room, "attendees": []},
        )
        if r.status_code == 409:
            self.refused += 1
            raise Refused
        r.raise_for_status()

    def step(self) -> None:
        try:
            super().step()
        except Refused:
            self.unknown.pop()  # refused cleanly: not written, and known not to be


class Signer(Writer):
    """Signs text with a PIN-unlocked key: each signature is a log entry, a TSA token and an audit row."""

    PIN = "739184"

    def setup(self) -> None:
        assert self.client is not None
        if not self.client.get("/api/esign/me").json().get("enrolled"):
            self.client.post("/api/esign/enrol", json={"pin": self.PIN}).raise_for_status()

    def write(self, key: str) -> None:
        assert self.client is not None
        r = self.client.post(
            "/api/esign/sign-text", json={"pin": self.PIN, "text": f"签发 {key}", "purpose": f"durable {key}"}
        )
        r.raise_for_status()


class Refused(Exception):
    pass


DOC_BODY = [{"kind": "heading", "level": 1, "text": "一、工作要求"}, {"kind": "paragraph", "text": "请认真贯彻落实。"}]


async def _watch(server: Server, stop: threading.Event, seen: list[dict[str, Any]], problems: list[str]) -> None:
    """A websocket client that resumes from its last event id after every restart, on the session it
    signed in with once (as a browser tab would; it signs in again only if the server closes the
    socket on purpose, e.g. as unauthenticated)."""
    last = 0
    cookie = ""
    async with httpx.AsyncClient(base_url=server.url) as http:
        while not stop.is_set():
            try:
                if not cookie:
                    r = await http.post("/api/auth/login", json={"username": "gertrude", "password": PASSWORD})
                    cookie = f"tb_session={r.cookies['tb_session']}"
                url = server.url.replace("http", "ws") + f"/ws?last_event_id={last}"
                async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue  # a quiet moment: look at ``stop`` again, on the same socket
                        frame = json.loads(raw)
                        if frame["type"] == "hello":
                            if frame["resync"]:
                                problems.append("told to resync although nothing was pruned")
                        elif frame.get("id") is not None:
                            if frame["id"] <= last:
                                problems.append(f"event {frame['id']} after {last}: replayed twice or out of order")
                            last = frame["id"]
                            seen.append(frame)
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is not None:  # closed by the server on purpose, not killed: sign in again
                    cookie = ""
                await asyncio.sleep(0.05)
            except Exception:  # the server is down or restarting: reconnect from the last id
                await asyncio.sleep(0.05)


def _org_with_room(data: Path, migrated: Migrated) -> int:
    from meetings import rooms
    from office.actor import SYSTEM

    settings = load_settings({}, data_dir=data)
    migrated.lay_down(settings)  # the schema the migrations built once for the session: upgrade finds it at head
    db = Database(settings)
    upgrade(db)
    org = make_org(db)
    with db.write() as s:
        room = rooms.create_room(
            s,
            SYSTEM,
            name="第九会议室",
            location="九楼",
            capacity=30,
            equipment=[],
            open_from="00:00",
            open_to="23:59",
            approval_required=False,
            approver_ids=[],
            agency_id=org.agencies["A"],
        )
    db.dispose()
    return room.id  # type: ignore[return-value]


def _slots() -> list[str]:
    first = dt.datetime(2027, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return [(first + dt.timedelta(days=d, minutes=30 * k)).isoformat() for d in range(60) for k in range(46)]


def _await_progress(groups: list[list[Any]], timeout: float = 90.0) -> None:
    before = [sum(len(w.acked) for w in g) for g in groups]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = [sum(len(w.acked) for w in g) for g in groups]
        if all(n - b >= 3 for n, b in zip(now, before, strict=True)):
            return
        time.sleep(0.1)
    raise AssertionError(f"writers made no progress in {timeout} s: {before} -> {now}")


def test_acknowledged_writes_survive_sigkill(tmp_path: Path, migrated: Migrated) -> None:
    data = tmp_path / "data"
    room = _org_with_room(data, migrated)
    server = Server(data)
    server.start()
    stop, watch_stop = threading.Event(), threading.Event()
    chat = [ChatWriter(server, u, stop) for u in CHAT_WRITERS]
    docs = [DocWriter(server, u, stop) for u in DOC_WRITERS]
    bookers = [Booker(server, u, stop, room, _slots()) for u in BOOKERS]
    signers = [Signer(server, "claudius", stop)]
    readers = [ReadMarker(server, "prospero", stop)]
    writers: list[Writer] = [*chat, *docs, *bookers, *signers, *readers]
    seen: list[dict[str, Any]] = []
    problems: list[str] = []
    watcher = threading.Thread(target=lambda: asyncio.run(_watch(server, watch_stop, seen, problems)), daemon=True)
    watcher.start()
    for w in writers:
        w.start()
    rng = random.Random(9704)
    try:
        for _ in range(3):
            # Kill only once every kind of writer has made progress on this server life, so the
            # test proves something however slow the machine is, then at a random moment.
            _await_progress([chat, docs, bookers, signers, readers])
            time.sleep(rng.uniform(0.0, 0.6))
            server.kill()
            time.sleep(0.2)
            server.start()
        _await_progress([chat, docs, bookers])  # the retries of lost answers have landed by then
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=10)
        for w in chat:  # answers lost at the very end are retried once more, against the live server
            if w.unknown:
                if w.client is None:
                    w._login()
                for pending in list(w.unknown):
                    w.write(pending)
                    w.acked.append(pending)
        time.sleep(1.0)
        watch_stop.set()
        watcher.join(timeout=10)
        server.kill()

    db = Database(load_settings({}, data_dir=data))
    with db.read() as s:
        rows = s.execute(
            text("SELECT client_id, seq, conversation_id FROM chat_message WHERE client_id IS NOT NULL")
        ).all()
        report = audit.verify_chain(s)
        doc_rows = s.execute(
            text(
                "SELECT d.id, d.title, d.status, (SELECT count(*) FROM doc_version v WHERE v.document_id = d.id),"
                " (SELECT count(*) FROM wf_task t WHERE t.case_id = d.case_id AND t.state = 'pending')"
                " FROM doc_outgoing d WHERE d.title LIKE 'durable %'"
            )
        ).all()
        bookings = s.execute(
            text(
                "SELECT title, room_id, start_at, end_at FROM meeting"
                " WHERE title LIKE 'durable %' AND status != 'cancelled'"
            )
        ).all()
        signed = s.execute(text("SELECT purpose, leaf_index FROM esign_signature WHERE purpose LIKE 'durable %'")).all()
        read_at = s.execute(
            text(
                "SELECT m.last_read_seq FROM chat_member m JOIN user_account u ON u.id = m.user_id"
                " WHERE u.username = 'prospero' AND m.conversation_id = :cid"
            ),
            {"cid": readers[0].cid},
        ).scalar_one()
    db.dispose()
    assert report.ok, report
    assert not problems, problems
    _check_chat(chat, rows, seen)
    _check_documents(docs, doc_rows)
    _check_bookings(bookers, bookings)
    _check_signatures(signers, signed, data)
    _check_read_marks(readers, read_at)


def _check_read_marks(readers: list[ReadMarker], stored: int) -> None:
    acked = [int(seq) for w in readers for seq in w.acked]
    assert len(set(acked)) >= 5, "the reader barely moved: the test proves nothing"
    assert stored >= max(acked), f"read position {max(acked)} was acknowledged, {stored} survived"


def _check_signatures(signers: list[Signer], rows: list[Any], data: Path) -> None:
    acked = {key for w in signers for key in w.acked}
    assert len(acked) >= 3, "too few signatures to prove anything"
    keys = [r[0].removeprefix("durable ") for r in rows]
    assert sorted(keys) == sorted(set(keys)), "a signature was stored twice"
    assert acked <= set(keys), f"acknowledged signatures lost: {sorted(acked - set(keys))[:5]}"
    leaves = sorted(r[1] for r in rows)
    assert len(set(leaves)) == len(leaves), "two signatures share a log entry"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
    log = subprocess.run(
        [sys.executable, "-m", "office", "esign", "log", "verify", "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert log.returncode == 0, log.stdout + log.stderr  # the transparency log recomputes to its signed heads


def _check_chat(writers: list[ChatWriter], rows: list[Any], seen: list[dict[str, Any]]) -> None:
    acked = [key for w in writers for key in w.acked]
    assert len(acked) > 20, "the writers barely wrote: the test proves nothing"
    stored = [r[0] for r in rows]
    assert sorted(stored) == sorted(set(stored)), "a message was stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
    seqs = sorted(r[1] for r in rows)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gap in the conversation's sequence"
    delivered = [
        f["message"]["text"].removeprefix("durable ")
        for f in seen
        if f["type"] == "chat.message" and f["message"]["text"].startswith("durable ")
    ]
    assert sorted(delivered) == sorted(set(delivered)), "the resuming client saw a message twice"
    assert set(acked) <= set(delivered), f"resuming client missed {sorted(set(acked) - set(delivered))[:5]}"


def _check_documents(writers: list[DocWriter], rows: list[Any]) -> None:
    acked = {key for w in writers for key in w.acked}
    assert sum(1 for k in acked if k.endswith("+submit")) >= 3, "too few documents submitted to prove anything"
    titles = [r[1].removeprefix("durable ") for r in rows]
    assert sorted(titles) == sorted(set(titles)), "a document was stored twice"
    by_key = {r[1].removeprefix("durable "): r for r in rows}
    for key in acked:
        doc_key = key.removesuffix("+submit")
        assert doc_key in by_key, f"acknowledged document {doc_key} lost"
        if key.endswith("+submit"):
            assert by_key[doc_key][2] != "draft", f"acknowledged submit of {doc_key} lost"
    for _id, title, status, versions, open_tasks in rows:  # acknowledged or not, every document is whole
        assert versions >= 1, f"{title}: a document without its first version"
        if status == "draft":
            assert open_tasks == 0, f"{title}: a draft with open route tasks"
        else:
            assert open_tasks >= 1, f"{title}: submitted but nobody has it in 待办"


def _check_bookings(bookers: list[Booker], rows: list[Any]) -> None:
    acked = {key for b in bookers for key in b.acked}
    assert len(acked) >= 5 and sum(b.refused for b in bookers) >= 1, "the bookers did not race: the test proves nothing"
    titles = [r[0].removeprefix("durable ") for r in rows]
    assert sorted(titles) == sorted(set(titles)), "a booking was stored twice"
    assert acked <= set(titles), f"acknowledged bookings lost: {sorted(acked - set(titles))[:5]}"
    spans = sorted((r[2], r[3]) for r in rows)
    for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
        assert s2 >= e1, "the room was double-booked across a crash"


def _office(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
    return subprocess.run(
        [sys.executable, "-m", "office", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _rows(data: Path, sql: str) -> dict[Any, tuple[Any, ...]]:
    db = Database(load_settings({}, data_dir=data))
    with db.read() as s:
        rows = {r[0]: tuple(r) for r in s.execute(text(sql)).all()}
    db.dispose()
    return rows


def test_backup_under_load_restores_a_consistent_copy(tmp_path: Path, migrated: Migrated) -> None:
    """``office backup`` while people write; restored elsewhere it holds everything acknowledged before
    the backup began, nothing that was never written, rows identical to the original's, a verifying
    audit chain, and the stored files the rows point at."""
    data = tmp_path / "data"
    _org_with_room(data, migrated)
    server = Server(data)
    server.start()
    up = httpx.Client(base_url=server.url, timeout=10)
    r = up.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    up.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
    cid = next(c["id"] for c in up.get("/api/messages/conversations").json()["items"] if c["kind"] == "department")
    blob = b"%PDF-1.4\n" + os.urandom(50_000).hex().encode() + b"\n%%EOF\n"
    att = up.post(
        f"/api/messages/conversations/{cid}/attachments", files={"file": ("材料.pdf", blob, "application/pdf")}
    )
    assert att.status_code in (200, 201), att.text
    stop = threading.Event()
    chat = [ChatWriter(server, u, stop) for u in CHAT_WRITERS]
    docs = [DocWriter(server, u, stop) for u in DOC_WRITERS]
    writers: list[Writer] = [*chat, *docs]
    for w in writers:
        w.start()
    try:
        _await_progress([chat, docs])
        before = {key for w in writers for key in w.acked}
        result = _office("backup", str(tmp_path / "backup.tar"), data=data)
        assert result.returncode == 0, result.stderr
        _await_progress([chat, docs])  # writes went on during and after the backup
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=10)
        server.kill()
    everything = {key for w in writers for key in (*w.acked, *w.unknown)}

    restored = tmp_path / "restored"
    restored.mkdir()
    result = _office("restore", str(tmp_path / "backup.tar"), "--yes", data=restored)
    assert result.returncode == 0, result.stderr
    assert _office("audit", "verify", data=restored).returncode == 0

    msg_sql = "SELECT id, client_id, seq, conversation_id, body FROM chat_message WHERE client_id IS NOT NULL"
    doc_sql = "SELECT id, title, status, body_hash FROM doc_outgoing WHERE title LIKE 'durable %'"
    original_msgs, copy_msgs = _rows(data, msg_sql), _rows(restored, msg_sql)
    original_docs, copy_docs = _rows(data, doc_sql), _rows(restored, doc_sql)
    copied_keys = {r[1] for r in copy_msgs.values()} | {r[1].removeprefix("durable ") for r in copy_docs.values()}
    copied_keys |= {r[1].removeprefix("durable ") + "+submit" for r in copy_docs.values() if r[2] != "draft"}
    lost = {k for k in before if k not in copied_keys}
    assert not lost, f"acknowledged before the backup began, missing from it: {sorted(lost)[:5]}"
    assert copied_keys <= everything, "the backup holds writes nobody made"
    assert all(original_msgs[i] == row for i, row in copy_msgs.items()), "a message differs from the original"
    for i, (_id, title, status, body_hash) in copy_docs.items():  # a draft may have been submitted since
        o = original_docs[i]
        assert (o[1], o[3]) == (title, body_hash) and status in (o[2], "draft"), f"{title} differs from the original"
    seqs = sorted(r[2] for r in copy_msgs.values())
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gap in the backup's sequence"

    server = Server(restored)
    server.start()
    try:
        c = httpx.Client(base_url=server.url, timeout=10)
        r = c.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
        assert r.status_code == 200  # the restored copy runs, with its own keys
        got = c.get(f"/api/messages/attachments/{att.json()['id']}")
        assert got.status_code == 200 and got.content == blob
    finally:
        server.kill()
