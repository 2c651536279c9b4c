"""办事 submissions survive kill -9: applicants submit through a real server (checked on the handler's
read snapshot, written by the shared group-commit writer with the run's events and audit entries kept
and written together) that is killed with SIGKILL three times. Every submission the server answered
201 is stored exactly once (a create whose answer was lost is retried with its ``client_id``), with its
case and the approver's pending task; the 审批编号 are distinct; the audit chain verifies; and the
approver's websocket, resuming from its last event id after each restart, was sent the 待办 of every
acknowledged request, none twice."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from office import audit
from office.config import load_settings
from office.db import Database
from office.migrate import upgrade
from tests.banshi.svc_helpers import make_template, step
from tests.factories import PASSWORD, make_org
from tests.test_durability import Server, Writer, _await_progress, _watch, pytestmark  # noqa: F401  (SQLite only)

APPLICANTS = ["hamlet", "ophelia", "polonius"]


class PatientServer(Server):
    """The shared test's server, given up to 300 s to start: a start took 31-44 s on this machine while
    other test runs shared it, so the shared test's 60 s ran out under the writers' load."""

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
        env.update(OFFICE_DATA_DIR=str(self.data))
        log = open(self.data.parent / "server.log", "ab")  # noqa: SIM115  (the server process keeps it)
        command = [sys.executable, "-m", "uvicorn", "office.asgi:app", "--port", str(self.port), "--no-access-log"]
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 300 s")


class Applicant(Writer):
    """Submits a request per step with a client id; an answer lost in a crash is retried with it."""

    template_id = 0

    def _login(self) -> None:
        # A longer wait than the shared writers' 5 s: a login hashes the password with the deployed
        # Argon2 parameters (seconds on a loaded machine), and a timed-out login is only tried again.
        self.client = httpx.Client(base_url=self.server.url, timeout=60)
        r = self.client.post("/api/auth/login", json={"username": self.username, "password": PASSWORD})
        r.raise_for_status()
        self.client.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]

    def write(self, key: str) -> None:
        assert self.client is not None
        r = self.client.post(
            "/api/banshi/requests",
            json={
                "template_id": self.template_id,
                "values": {"reason": f"durable {key}"},
                "client_id": key,
                "submit": True,
            },
        )
        r.raise_for_status()

    def step(self) -> None:
        for pending in list(self.unknown):
            self.write(pending)
            self.unknown.remove(pending)
            self.acked.append(pending)
        super().step()


def _org_with_form(data: Path) -> int:
    """A published form whose one step is gertrude's (the user ``_watch`` resumes as)."""
    db = Database(load_settings({}, data_dir=data))
    upgrade(db)
    org = make_org(db)
    route = {"branches": [], "default": {"steps": [step("s1", "审批", org.users["gertrude"])]}}
    tid = make_template(db, org, route=route)
    db.dispose()
    return tid


def test_acknowledged_submissions_survive_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tid = _org_with_form(data)
    server = PatientServer(data)
    server.start()
    stop, watch_stop = threading.Event(), threading.Event()
    writers = [Applicant(server, u, stop) for u in APPLICANTS]
    for w in writers:
        w.template_id = tid
    seen: list[dict[str, Any]] = []
    problems: list[str] = []
    watcher = threading.Thread(target=lambda: asyncio.run(_watch(server, watch_stop, seen, problems)), daemon=True)
    watcher.start()
    for w in writers:
        w.start()
    rng = random.Random(1717)
    try:
        for _ in range(3):
            _await_progress([writers])
            time.sleep(rng.uniform(0.0, 0.5))
            server.kill()
            time.sleep(0.2)
            server.start()
        _await_progress([writers])
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=10)
        for w in writers:  # answers lost at the very end are retried once more, against the live server
            if w.unknown:
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
            text(
                "SELECT r.id, r.client_id, r.serial, r.status,"
                " (SELECT count(*) FROM wf_task t WHERE t.case_id = r.case_id AND t.state = 'pending')"
                " FROM bs_request r WHERE r.client_id IS NOT NULL"
            )
        ).all()
        report = audit.verify_chain(s)
    db.dispose()
    assert report.ok, report
    assert not problems, problems
    acked = [key for w in writers for key in w.acked]
    # At least three a server life (``_await_progress``), four lives.
    assert len(acked) >= 12, "the applicants barely submitted: the test proves nothing"
    keys = [r[1] for r in rows]
    assert sorted(keys) == sorted(set(keys)), "a request was stored twice"
    assert set(acked) <= set(keys), f"acknowledged but lost: {sorted(set(acked) - set(keys))[:5]}"
    assert all(r[3] == "running" and r[4] == 1 for r in rows), "a stored request lacks its case or its task"
    serials = [r[2] for r in rows]
    assert len(set(serials)) == len(serials), "two requests share a 审批编号"
    by_key = {r[1]: r[0] for r in rows}
    todo = [f["subject_id"] for f in seen if f["type"] == "banshi.task" and f.get("op") == "add"]
    assert sorted(todo) == sorted(set(todo)), "the approver was sent a 待办 twice"
    missing = {by_key[k] for k in acked} - set(todo)
    assert not missing, f"the resuming approver missed the 待办 of {sorted(missing)[:5]}"
