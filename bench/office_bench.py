"""Directory search over HTTP on a 100,000-person directory vs a bare Starlette endpoint, and login.

Both servers are single uvicorn processes started the same way; ``wrk`` drives them from another
process with the same query mix. The bare endpoint answers each query with the bytes Tongban
answered it with (``bench/bare_app.py``), so the ratio compares like with like: what Tongban does
per request beyond handing over an answer. The first baseline (ten small fixed items) is still
reported beside it. The main mix repeats a few hundred queries, as typeahead does, so Tongban's
remembered answers (``DirectoryIndex.answer``) serve most of it; a second run cycles through every distinct
query the seed yields (thousands, more than the answers remembered), each searched afresh, and is
reported against the same baseline.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

PASSWORD = "bench-password-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_directory(data_dir: Path, people: int) -> tuple[list[str], list[str]]:
    """Bulk-insert ``people`` staff with their search keys. Returns sample queries (a few hundred,
    repeated by the load as typeahead repeats itself) and up to 20,000 distinct ones (each asked
    rarely enough that no remembered answer is ever reused)."""
    from sqlalchemy import insert

    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.demo import GIVEN, SURNAMES
    from office.directory import service
    from office.directory.pinyin import full_and_initials, search_keys
    from office.migrate import upgrade
    from office.models import DeptKind, DirectoryKey, Post, User, UserRole
    from office.secrets_box import hash_password

    db = Database(load_settings({}, data_dir=data_dir))
    upgrade(db)
    rng = random.Random(7)
    hashed = hash_password(db.settings, PASSWORD)
    with db.write() as s:
        agency = service.create_department(s, SYSTEM, name="基准测试机关", kind=DeptKind.agency)
        depts = [service.create_department(s, SYSTEM, name=f"第{i}处", parent_id=agency.id) for i in range(50)]
        service.create_user(
            s, SYSTEM, username="bencher", name="测试员", password=PASSWORD, check_password=False, password_hash=hashed
        )
    cache: dict[str, tuple[str, str]] = {}
    queries: list[str] = []
    distinct: dict[str, None] = {}
    batch = 5000
    for start in range(0, people, batch):
        users, posts, keys, roles = [], [], [], []
        for i in range(start, min(start + batch, people)):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if name not in cache:
                cache[name] = full_and_initials(name)
            full, initials = cache[name]
            uid = i + 10
            dept = depts[i % len(depts)]
            users.append(
                {
                    "id": uid,
                    "username": f"u{i}",
                    "name": name,
                    "pinyin": full,
                    "initials": initials,
                    "password_hash": hashed,
                    "is_active": True,
                    "totp_enabled": False,
                    "elder_mode": False,
                    "staff_no": "",
                    "phone": "",
                    "office": "",
                    "email": "",
                    "created_at": __import__("office.db", fromlist=["utcnow"]).utcnow(),
                }
            )
            posts.append({"user_id": uid, "department_id": dept.id, "title": "科员", "is_primary": True, "rank": 100})
            roles.append({"user_id": uid, "role": "staff"})
            for key, weight in search_keys(name, "科员", [dept.name]):
                keys.append({"user_id": uid, "key": key, "weight": weight})
            if len(queries) < 300 and rng.random() < 0.01:
                queries += [name, full, initials, full[: max(2, len(full) // 2)]]
            if len(distinct) < 20_000:
                distinct.update(dict.fromkeys([name, full, full[:-1], name[1:]]))
        with db.write() as s:
            s.execute(insert(User), users)
            s.execute(insert(Post), posts)
            s.execute(insert(UserRole), roles)
            s.execute(insert(DirectoryKey), keys)
    db.dispose()
    return queries, list(distinct)


def _start(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError as exc:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died") from exc
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _wait_idle(proc: subprocess.Popen[bytes], *, limit: float = 180.0) -> float:
    """Wait until the server has finished its start-up jobs (messaging syncs every department's
    group in the background: at 100,000 people that is tens of seconds of CPU), so the run measures
    the steady state. Idle: under 10% of a core over one second. Returns the seconds waited."""
    stat = Path(f"/proc/{proc.pid}/stat")
    if not stat.exists():
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    start = time.monotonic()
    while time.monotonic() - start < limit:
        before = cpu()
        time.sleep(1.0)
        if cpu() - before < 0.1:
            break
    return time.monotonic() - start


def _wrk(url: str, paths: list[str], seconds: int, cookie: str | None, workdir: Path) -> dict[str, float]:
    script = workdir / "paths.lua"
    lua_paths = ",".join('"' + p.replace('"', '\\"') + '"' for p in paths)
    script.write_text(
        f"local paths = {{{lua_paths}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
    )
    cmd = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-s", str(script)]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {m.group(1): _to_ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} failed requests during the run:\n{out}")
    return {"rps": rps, "p50": lat.get("50", 0.0), "p99": lat.get("99", 0.0)}


def _to_ms(text: str) -> float:
    value, unit = float(re.match(r"[\d.]+", text).group()), re.sub(r"[\d.]+", "", text)  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(quick: bool) -> list[dict[str, Any]]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is required for the HTTP benchmarks (apt-get install wrk)")
    people = 10_000 if quick else 100_000
    seconds = 3 if quick else 10
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        queries, distinct = seed_directory(work / "data", people)
        seed_s = time.perf_counter() - t0
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")}
        env["OFFICE_DATA_DIR"] = str(work / "data")
        port, bare_port = _free_port(), _free_port()
        app = _start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "office.asgi:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            port,
            env,
        )
        bare = None
        try:
            settle_s = _wait_idle(app)
            login_ms = []
            for _ in range(5 if quick else 20):
                t = time.perf_counter()
                r = httpx.post(
                    f"http://127.0.0.1:{port}/api/auth/login",
                    json={"username": "bencher", "password": PASSWORD},
                    timeout=60,
                )
                login_ms.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
            cookie = f"tb_session={r.cookies['tb_session']}"
            from office.config import Settings
            from office.secrets_box import hash_password, verify_password

            production = Settings()  # the server's parameters (``testing`` off)
            stored = hash_password(production, PASSWORD)
            t = time.perf_counter()
            for _ in range(5):
                verify_password(production, stored, PASSWORD)
            argon_ms = (time.perf_counter() - t) / 5 * 1000
            paths = [f"/api/directory/search?q={quote(q)}" for q in queries]
            answers = {}
            for path in dict.fromkeys(paths):
                r = httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie}, timeout=60)
                r.raise_for_status()
                answers[path.split("?", 1)[1]] = r.text
            (work / "answers.json").write_text(json.dumps(answers, ensure_ascii=False))
            sizes = sorted(len(a.encode()) for a in answers.values())
            bare = _start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.bare_app:app",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                bare_port,
                {**env, "BENCH_BARE_RESPONSES": str(work / "answers.json")},
            )
            ours = _wrk(f"http://127.0.0.1:{port}", paths, seconds, cookie, work)
            base = _wrk(f"http://127.0.0.1:{bare_port}", paths, seconds, None, work)
            tiny = _wrk(f"http://127.0.0.1:{bare_port}", ["/tiny" + p for p in paths], seconds, None, work)
            cold = _wrk(
                f"http://127.0.0.1:{port}",
                [f"/api/directory/search?q={quote(q)}" for q in distinct],
                seconds,
                cookie,
                work,
            )
        finally:
            for proc in (app, bare):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=10)
    login_ms.sort()
    rows += [
        {"name": f"directory seed ({people:,} people, bulk)", "value": round(seed_s, 1), "unit": "s"},
        {"name": "server start-up jobs settled (waited before measuring)", "value": round(settle_s, 1), "unit": "s"},
        {
            "name": f"directory search HTTP, {people:,} people",
            "value": round(ours["rps"], 1),
            "unit": "req/s",
            "baseline_value": round(base["rps"], 1),
            "ratio": round(ours["rps"] / base["rps"], 3),
            "target": "ratio >= 0.5",
        },
        {
            "name": f"  (answers: median {sizes[len(sizes) // 2]:,} bytes; the bare endpoint serves the same bytes)",
            "value": sizes[len(sizes) // 2],
            "unit": "bytes",
        },
        {
            "name": "directory search HTTP vs the first baseline (10 fixed small items)",
            "value": round(ours["rps"], 1),
            "unit": "req/s",
            "baseline_value": round(tiny["rps"], 1),
            "ratio": round(ours["rps"] / tiny["rps"], 3),
        },
        {
            "name": f"directory search HTTP, {len(distinct):,} distinct queries (no remembered answer reused)",
            "value": round(cold["rps"], 1),
            "unit": "req/s",
            "baseline_value": round(base["rps"], 1),
            "ratio": round(cold["rps"] / base["rps"], 3),
        },
        {
            "name": "directory search p50 latency (16 conns)",
            "value": ours["p50"],
            "unit": "ms",
            "baseline_value": base["p50"],
        },
        {
            "name": "directory search p99 latency (16 conns)",
            "value": ours["p99"],
            "unit": "ms",
            "baseline_value": base["p99"],
            "target": "< 50 ms",
        },
        {
            "name": "login latency p50 (HTTP, argon2id)",
            "value": round(login_ms[len(login_ms) // 2], 1),
            "unit": "ms",
            "baseline_value": round(argon_ms, 1),
            "ratio": round(login_ms[len(login_ms) // 2] / argon_ms, 2),
        },
    ]
    return rows
