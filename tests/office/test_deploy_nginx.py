"""docs/deploy.md, run as written: its snippets are read from the page, never copied here.

Redis starts from the page's Redis lines, the secrets file is made by the page's script, ``office
migrate`` runs through the page's wrapper, two workers start with the unit's ``ExecStart`` and the two
environment files, and nginx runs the page's configuration in front of them (with a test
certificate, free ports and ``localhost``, the only changes, each checked to apply). Through it:
a login (the client's forged X-Forwarded-For replaced by nginx, nginx's request id kept), a chat
between two users whose sockets are on different workers, and a websocket resume. The unit, the
log rotation and the PostgreSQL settings are checked by their own tools."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import make_url

from office.app import load_all_models
from office.config import Settings, load_settings
from office.db import Database
from tests.conftest import PG_URL, Migrated, _create_database, _drop_database, _pg_database_url, require_tool
from tests.factories import PASSWORD, make_org

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
FORGED = "203.0.113.9"
OFFICE = [sys.executable, "-m", "office"]  # /opt/tongban/venv/bin/office in the page


def snippets() -> dict[str, str]:
    """The page's fenced blocks that name their file in their first line (``# /etc/...``; after the
    ``#!`` line of a script), by that name."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    named = {}
    for block in blocks:
        title = block.removeprefix("#!/bin/sh\n").split("\n", 1)[0]
        if title.startswith("# /") or title.startswith("# make "):
            named[title[2:]] = block
    return named


def substitute(text: str, *pairs: tuple[str, str | Callable[[re.Match[str]], str]]) -> str:
    """Each regex replaced; one that matches nothing fails (the page changed: change the test with it)."""
    for pattern, repl in pairs:
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n, f"docs/deploy.md no longer has {pattern!r}"
    return text


def env_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines as systemd's EnvironmentFile reads them (the page keeps them shell-compatible)."""
    pairs = (line.split("=", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            pass
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"port {port} did not open"
        time.sleep(0.05)


def _spawn(stack: ExitStack, argv: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kw)

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    stack.callback(stop)
    return proc


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    chain, private = tmp / "fullchain.pem", tmp / "privkey.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private.chmod(0o600)
    return chain, private


# -- checked by their own tools (both passes) -------------------------------------------------------


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = require_tool("systemd-analyze")
    office = shutil.which("office") or pytest.skip("the office command is not installed (pip install -e .)")
    unit = snippets()["/etc/systemd/system/tongban@.service"]
    (tmp_path / "tongban@.service").write_text(unit.replace("/opt/tongban/venv/bin/office", office))
    done = subprocess.run(
        [tool, "verify", str(tmp_path / "tongban@8001.service")], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")  # an unknown or misspelt option is a warning
    for option in ("Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"):
        assert f"\n{option}\n" in unit


def test_log_rotation_rotates_a_worker_log_that_is_being_written(tmp_path: Path) -> None:
    tool = require_tool("logrotate")
    if os.geteuid() != 0:
        pytest.skip("the page's rotation runs as root (su root root)")
    logs = tmp_path / "log"
    logs.mkdir()
    conf = tmp_path / "tongban.logrotate"
    conf.write_text(snippets()["/etc/logrotate.d/tongban"].replace("/var/log/tongban/", f"{logs}/"))
    worker = logs / "worker-8001.log"
    with worker.open("a") as held:  # the worker's stream, opened in append mode as systemd does
        held.write('{"kind":"request"}\n')
        held.flush()
        done = subprocess.run([tool, "-f", "-s", str(tmp_path / "state"), str(conf)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        held.write('{"kind":"event"}\n')  # after copytruncate: written at the start of the emptied file
    rotated = [p for p in logs.iterdir() if p.name.startswith("worker-8001.log-")]
    assert [p.read_text() for p in rotated] == ['{"kind":"request"}\n']
    assert worker.read_text() == '{"kind":"event"}\n'


def test_nginx_accepts_every_upload_the_app_accepts() -> None:
    conf = snippets()["/etc/nginx/conf.d/tongban.conf"]
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size is not None
    largest = max(Settings.max_upload_bytes, Settings.chat_upload_max_bytes)
    assert int(size[1]) * 1024 * 1024 > largest  # room for the multipart framing; the app answers 413 itself


# -- the deployment, live (PostgreSQL pass) --------------------------------------------------------


@pytest.mark.skipif(not PG_URL, reason="the deployment runs on PostgreSQL (the PostgreSQL pass runs it)")
def test_two_workers_behind_nginx_on_postgresql_and_redis(tmp_path: Path, migrated: Migrated) -> None:
    nginx, redis_server = require_tool("nginx"), require_tool("redis-server")
    page = snippets()
    with ExitStack() as stack:
        # PostgreSQL: the page's settings are real ones; a fresh database for the deployment.
        import psycopg

        admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            known = {row[0].lower() for row in conn.execute("SELECT name FROM pg_settings")}
        wanted = env_file(page["/etc/postgresql/15/main/conf.d/tongban.conf"].replace(" = ", "="))
        assert set(wanted) - known == set()
        # The schema the migrations built once for the session (tests.conftest.Migrated); the page's
        # `tongban migrate` below then finds it current, as it does on every upgrade without migrations.
        name = _create_database(migrated.pg_template)
        stack.callback(_drop_database, name)

        # Redis, from the page's lines (its port and a scratch folder the only changes).
        redis_port = _free_port()
        redis_conf = tmp_path / "redis.conf"
        redis_conf.write_text(
            substitute(page["/etc/redis/redis.conf"], (r"^port 6379$", f"port {redis_port}"))
            + f"dir {tmp_path}\ndaemonize no\n"
        )
        redis = _spawn(stack, [redis_server, str(redis_conf)], tmp_path / "redis.log")
        _wait_port(redis_port, redis, tmp_path / "redis.log")

        # The secrets file, made by the page's script; the database and Redis are the test's.
        secrets_env = tmp_path / "secrets.env"
        script = page["make /etc/tongban/secrets.env"].replace("/etc/tongban/secrets.env", str(secrets_env))
        subprocess.run(["sh", "-c", script], check=True, timeout=60)
        assert oct(secrets_env.stat().st_mode & 0o777) == "0o600"
        made = env_file(secrets_env.read_text())
        assert set(made) == set(env_file(page["/etc/tongban/secrets.env"]))  # the sample shows what the script makes
        hub = made["OFFICE_HUB_URL"].replace(":6379/", f":{redis_port}/")  # the page's Redis password, unchanged
        secrets_env.write_text(
            "\n".join(
                [f"OFFICE_SECRET_KEY={made['OFFICE_SECRET_KEY']}"]
                + [f"OFFICE_ESIGN_MASTER_KEY={made['OFFICE_ESIGN_MASTER_KEY']}"]
                + [f"OFFICE_DATABASE_URL={_pg_database_url(name)}", f"OFFICE_HUB_URL={hub}", ""]
            )
        )
        data = tmp_path / "data"
        data.mkdir(mode=0o700)
        office_env = tmp_path / "tongban.env"
        office_env.write_text(page["/etc/tongban/tongban.env"].replace("/var/lib/tongban", str(data)))
        settings_env = env_file(office_env.read_text()) | env_file(secrets_env.read_text())
        assert settings_env["OFFICE_MIGRATE_ON_START"] == "false"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICE_")} | {"PYTHONPATH": str(ROOT)}

        # The page's wrapper runs `office migrate` (section 7 and 8), as the current user.
        wrapper = substitute(
            page["/usr/local/sbin/tongban"],
            (r"/etc/tongban/tongban\.env", str(office_env)),
            (r"/etc/tongban/secrets\.env", str(secrets_env)),
            (r"^cd /var/lib/tongban$", f"cd {data}"),
            (r"runuser -u tongban -- /opt/tongban/venv/bin/office", " ".join(OFFICE)),
        )
        (tmp_path / "tongban").write_text(wrapper)
        (tmp_path / "tongban").chmod(0o700)  # as the page says; run as a command (its #! line)
        done = subprocess.run(
            [str(tmp_path / "tongban"), "migrate"], env=base_env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        load_all_models()  # and the policy rules, as the CLI and the app do
        # Seeded with the tests' cheap Argon2 parameters; a worker checks the hash by the parameters it names.
        db = Database(load_settings(settings_env, testing=True))
        stack.callback(db.dispose)
        org = make_org(db)

        # Two workers, each the unit's ExecStart with its port, the two environment files, its log file.
        unit = page["/etc/systemd/system/tongban@.service"]
        exec_start = re.search(r"^ExecStart=/opt/tongban/venv/bin/office (.*)$", unit, re.M)
        assert exec_start is not None
        conf = page["/etc/nginx/conf.d/tongban.conf"]
        upstream = re.findall(r"^\s+server 127\.0\.0\.1:(\d+);$", conf, re.M)
        assert len(upstream) == 2
        ports = {int(p): _free_port() for p in upstream}
        workers = {}
        for port in ports.values():
            argv = OFFICE + exec_start[1].replace("%i", str(port)).split()
            log = tmp_path / f"worker-{port}.log"
            # Not the official copies' LibreOffice (2 per worker, warming as it starts): not tested here.
            quiet = {"OFFICE_OFFICIAL_COPY_WORKERS": "0"}
            workers[port] = (_spawn(stack, argv, log, env=base_env | settings_env | quiet, cwd=data), log)
        for port, (proc, log) in workers.items():
            _wait_port(port, proc, log)

        # nginx with the page's configuration: listening on free loopback ports as localhost.
        chain, private = _certificate(tmp_path)
        https, http = _free_port(), _free_port()
        site = substitute(
            conf,
            (r"^\s+listen \[::\]:.*\n", ""),
            (r"listen (80|443)\b", lambda m: f"listen 127.0.0.1:{https if m[1] == '443' else http}"),
            (r"server_name oa\.example\.gov\.cn;", "server_name localhost;"),
            (r"/etc/tongban/tls/fullchain\.pem", str(chain)),
            (r"/etc/tongban/tls/privkey\.pem", str(private)),
            (r"/var/log/nginx/tongban\.access\.log", str(tmp_path / "nginx-access.log")),
            *[(rf"server 127\.0\.0\.1:{old};", f"server 127.0.0.1:{new};") for old, new in ports.items()],
        )
        (tmp_path / "tongban.conf").write_text(site)
        main = tmp_path / "nginx.conf"
        main.write_text(
            ("user root root;\n" if os.geteuid() == 0 else "")  # its workers read the test's private folder
            + f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/nginx-error.log warn;\n"
            "events { worker_connections 256; }\nhttp {\n"
            f"  access_log {tmp_path}/nginx-other.log;\n"
            + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi"))
            + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("uwsgi", "scgi"))
            + f"  include {tmp_path}/tongban.conf;\n}}\n"
        )
        check = subprocess.run([nginx, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proxy = _spawn(
            stack, [nginx, "-c", str(main), "-p", str(tmp_path), "-g", "daemon off;"], tmp_path / "nginx.out"
        )
        _wait_port(https, proxy, tmp_path / "nginx-error.log")

        _drive(org, https, http, chain, list(ports.values()))

        proxy.send_signal(signal.SIGQUIT)  # graceful: its log lines are written
        proxy.wait(timeout=20)
        for proc, _log in workers.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        _check_logs(org, tmp_path, workers)


def _drive(org: Any, https: int, http: int, cafile: Path, worker_ports: list[int]) -> None:
    base = f"https://localhost:{https}"
    tls = ssl.create_default_context(cafile=str(cafile))
    # Plain HTTP is sent to HTTPS; an unknown host name gets nothing.
    r = httpx.get(f"http://localhost:{http}/login?x=1")
    assert (r.status_code, r.headers["location"]) == (301, "https://localhost/login?x=1")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://127.0.0.1:{http}/")
    # /metrics is for scrapers on the workers' host, not through the proxy.
    assert httpx.get(base + "/metrics", verify=tls).status_code == 403
    assert httpx.get(f"http://127.0.0.1:{worker_ports[0]}/metrics").status_code == 200

    def login(username: str) -> tuple[httpx.Client, str]:
        # Origin is checked against the Host and scheme nginx passes on. Argon2 logins wait for a core.
        c = httpx.Client(base_url=base, verify=tls, headers={"Origin": base}, timeout=30)
        r = c.post(
            "/api/auth/login",
            json={"username": username, "password": PASSWORD},
            headers={"X-Forwarded-For": FORGED},
        )
        assert r.status_code == 200, r.text
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])  # nginx's $request_id, kept
        c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        assert all(name.startswith("__Host-") for name in c.cookies)  # OFFICE_COOKIE_SECURE over https
        # nginx replaced the client's X-Forwarded-For with the address it saw.
        assert c.get("/api/me/sessions").json()["items"][0]["ip"] == "127.0.0.1"
        return c, "; ".join(f"{k}={v}" for k, v in c.cookies.items())

    hamlet, ham_cookie = login("hamlet")
    ophelia, oph_cookie = login("ophelia")
    r = hamlet.post("/api/messages/direct", json={"user_id": org.users["ophelia"]})
    assert r.status_code == 200, r.text
    conv = r.json()["id"]

    async def next_frame(ws: Any, kind: str, text: str | None = None) -> dict[str, Any]:
        while True:
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if frame["type"] == kind and (text is None or frame["message"]["text"] == text):
                return frame

    async def socket(cookie: str, query: str = "") -> Any:
        headers = {"Cookie": cookie, "Origin": base}
        return await websockets.connect(f"wss://localhost:{https}/ws{query}", additional_headers=headers, ssl=tls)

    async def scenario() -> None:
        # Two handshakes in a row: nginx's round robin puts them on different workers (the logs confirm it).
        h = await socket(ham_cookie)
        await next_frame(h, "hello")
        o = await socket(oph_cookie)
        await next_frame(o, "hello")
        await h.send(json.dumps({"type": "chat.send", "conversation_id": conv, "text": "经 nginx 跨进程", "ref": "a"}))
        await next_frame(h, "chat.ack")
        seen = await next_frame(o, "chat.message", "经 nginx 跨进程")  # from the other worker, through Redis
        await o.close()
        # Sent while she is away; her socket resumes after the last event she saw.
        await h.send(json.dumps({"type": "chat.send", "conversation_id": conv, "text": "离线时发送", "ref": "b"}))
        await next_frame(h, "chat.ack")
        o2 = await socket(oph_cookie, f"?last_event_id={seen['id']}")
        hello = await next_frame(o2, "hello")
        assert hello["resync"] is False
        missed = await next_frame(o2, "chat.message", "离线时发送")
        assert missed["id"] > seen["id"]
        await o2.close()
        await h.close()

    asyncio.run(scenario())
    hamlet.close()
    ophelia.close()


def _check_logs(org: Any, tmp: Path, workers: dict[int, tuple[Any, Path]]) -> None:
    """Each worker's JSON lines: whose sockets it served, under nginx's request ids."""
    sockets: list[tuple[str, int, int, str]] = []  # (time, user, worker port, request id)
    for port, (_proc, log) in workers.items():
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("kind") == "request" and entry.get("route") == "/ws":
                    sockets.append((entry["ts"], entry["user_id"], port, entry["request_id"]))
                    assert entry["client"] == "127.0.0.1"
    sockets.sort()
    ham = [s for s in sockets if s[1] == org.users["hamlet"]]
    oph = [s for s in sockets if s[1] == org.users["ophelia"]]
    assert len(ham) == 1 and len(oph) == 2, sockets
    assert ham[0][2] != oph[0][2], "both users' first sockets were on one worker"
    # nginx logged the same request ids, sent to those workers.
    upstream = {}  # the page's log format: ... rid=<request id> up=<worker address> ...
    for rid, addr in re.findall(r" rid=(\S+) up=(\S+) ", (tmp / "nginx-access.log").read_text()):
        upstream[rid] = int(addr.rsplit(":", 1)[1]) if ":" in addr else None
    assert all(upstream.get(rid) == port for _t, _u, port, rid in sockets), (sockets, upstream)
