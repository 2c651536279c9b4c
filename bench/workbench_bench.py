"""工作台: first meaningful paint in headless Chromium, and the 待办 answer, on the demo province.

A fresh data folder gets ``office demo`` (the 公文, 收文 and meetings each domain seeds); the person
with the most 待办 signs in to a uvicorn process started like the other HTTP benchmarks.

* ``GET /api/todo`` (every domain's sources, merged and ordered) against ``GET /api/me`` from the same
  session: median wall time over keep-alive requests, asked in turn. The ratio is what gathering the 待办 costs
  beyond an authenticated request that reads one row.
* First meaningful paint: a fresh load of ``/#/home`` until the 待办 list (or its empty state) is in
  the document and painted (``performance.now()`` from the navigation's start, taken in the first
  animation frame after it appears), against the same for the former first page, ``/#/messages``,
  until its conversation list is drawn. Both are warm loads (the shell is in the HTTP and service
  worker caches after the first), each the median of several. Target: under 300 ms.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "bench-demo-2026"
# Records when the page's meaningful content first shows, painted: a MutationObserver, then one frame.
PAINT_PROBE = """
(() => {
  const selector = window.__paintSelector = localStorage.getItem('bench_paint_selector') || '';
  if (!selector) return;
  const seen = () => {
    if (window.__paint || !document.querySelector(selector)) return false;
    window.__paint = -1;
    requestAnimationFrame(() => { window.__paint = performance.now(); });
    return true;
  };
  new MutationObserver((_, obs) => { if (seen()) obs.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();
"""
HOME = ".home-list .todo-item, .home-list .empty"
MESSAGES = ".msg-conv"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _busiest(data: Path, accounts: list[dict[str, Any]]) -> tuple[str, int]:
    """The demo account with the most 待办 (counted by the same sources the app registers)."""
    from docs_flow import todo as docs_todo
    from meetings import todo as meetings_todo
    from messaging import todo as messaging_todo
    from office.accounts import load_actor
    from office.app import load_all_models
    from office.config import load_settings
    from office.db import Database, utcnow
    from office.models import User
    from office.todo import Registry

    load_all_models()
    registry = Registry()
    registry.register(*docs_todo.SOURCES, *meetings_todo.SOURCES, *messaging_todo.SOURCES)
    db = Database(load_settings({}, data_dir=data))
    best = ("", -1)
    with db.read() as s:
        for account in accounts:
            user = s.exec(_by_name(User, account["username"])).first()
            if user is None or user.id is None:
                continue
            total = registry.summary(s, load_actor(s, user.id), now=utcnow())["total"]
            if total > best[1]:
                best = (account["username"], total)
    db.dispose()
    return best


def _by_name(model: Any, username: str) -> Any:
    from sqlmodel import select

    return select(model).where(model.username == username)


def _start(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", "office.asgi:app", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen([*cmd, "--no-access-log"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(1.0)  # let the start-up jobs (department groups, holidays) settle
                return proc
        except OSError as exc:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died") from exc
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _answer_ms(client: httpx.Client, paths: tuple[str, ...], repeat: int) -> list[float]:
    """Median milliseconds per path, the paths asked in turn (so both see the same server load) after
    two seconds of warming up (caches, the connection, the server's start-up jobs)."""
    until = time.monotonic() + 2
    while time.monotonic() < until:
        for path in paths:
            client.get(path).raise_for_status()
    samples: list[list[float]] = [[] for _ in paths]
    for _ in range(repeat):
        for i, path in enumerate(paths):
            t0 = time.perf_counter()
            client.get(path).raise_for_status()
            samples[i].append((time.perf_counter() - t0) * 1000)
    return [statistics.median(s) for s in samples]


def _paints(base: str, username: str, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian's chromium is required for the first-paint benchmark (apt-get install chromium)")
    out: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 800}, locale="zh-CN")
        context.add_init_script(PAINT_PROBE)
        page = context.new_page()
        page.goto("/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("heading", name="工作台", level=1).wait_for()
        for name, selector in (("home", HOME), ("messages", MESSAGES)):
            page.evaluate("s => localStorage.setItem('bench_paint_selector', s)", selector)
            samples = []
            for i in range(repeat + 2):
                page.goto("/static/manifest.webmanifest")  # leave the shell, so the next load is a fresh one
                page.goto(f"/#/{name}")
                page.wait_for_function("() => window.__paint > 0", timeout=15_000)
                if i >= 2:  # the first loads fill the caches
                    samples.append(float(page.evaluate("() => window.__paint")))
            out[name] = statistics.median(samples)
        browser.close()
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    repeat_api = 30 if quick else 200
    repeat_paint = 3 if quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
        env["OFFICE_DATA_DIR"] = str(data)
        seeded = subprocess.run(
            [sys.executable, "-m", "office", "demo", "--data", str(data), "--password", PASSWORD, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        username, todo_count = _busiest(data, json.loads(seeded.stdout))
        port = _free_port()
        proc = _start(port, env)
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base) as client:
                r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
                r.raise_for_status()
                client.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
                todo_ms, me_ms = _answer_ms(client, ("/api/todo", "/api/me"), repeat_api)
            paint = _paints(base, username, repeat_paint)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    who = f"demo, {username}, {todo_count} 待办"
    return [
        {
            "name": f"workbench.api_todo_ms ({who})",
            "value": round(todo_ms, 2),
            "unit": "ms",
            "baseline_value": round(me_ms, 2),
            "ratio": round(todo_ms / me_ms, 2),
            "target": "baseline: GET /api/me",
        },
        {
            "name": f"workbench.first_meaningful_paint_ms ({who})",
            "value": round(paint["home"], 1),
            "unit": "ms",
            "baseline_value": round(paint["messages"], 1),
            "ratio": round(paint["home"] / paint["messages"], 2),
            "target": "< 300 ms; baseline: #/messages",
        },
    ]
