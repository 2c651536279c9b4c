"""What the scale-out benchmark (``bench.scale_bench``) starts and watches: a throwaway PostgreSQL
cluster and a redis-server (the recipe of ``scripts/test``), ``office serve --workers N``, which
worker process serves a given client connection, a small keep-alive HTTP client, and the CPU time
and PostgreSQL wait events of each phase.

uvicorn's ``--workers`` processes share one listening socket that the supervisor bound; the kernel
hands each new connection to whichever worker accepts first, so where a connection lands is not
chosen by the client. The benchmark finds out afterwards: the server side of a loopback connection
is the /proc/net/tcp entry whose remote port is the client's local port, and the worker holding
that socket's inode among its file descriptors is the one serving it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_USER = "tongban-pg"  # as scripts/test: PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def missing_tools() -> list[str]:
    missing = [] if pg_bin() else ["PostgreSQL (initdb)"]
    return missing + ([] if shutil.which("redis-server") else ["redis-server"])


class Postgres:
    """A throwaway cluster on a free loopback port (fsync on, as a real deployment)."""

    def __init__(self) -> None:
        binary = pg_bin()
        assert binary is not None
        self.bin = binary
        self.dir = Path(tempfile.mkdtemp(prefix="tongban-scale-pg-"))
        self.port = free_port()
        self.run_as: list[str] = []
        if os.getuid() == 0:
            subprocess.run(["id", PG_USER], check=False, capture_output=True).returncode == 0 or subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True
            )
            shutil.chown(self.dir, PG_USER)
            self.run_as = ["runuser", "-u", PG_USER, "--"]
        subprocess.run(
            [*self.run_as, str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "tongban", "--auth=trust"]
            + ["-E", "UTF8", "--locale=C.UTF-8"],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300"
            # Statement counts per phase, for the profile (contrib, in Debian's postgresql package).
            " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=on"
        )
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w"]
            + ["-o", options, "start"],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        self.pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])

    def url(self, database: str) -> str:
        return f"postgresql://tongban@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return self.url(name)

    def cpu(self) -> float:
        """CPU seconds of the whole cluster so far: the live backends, and those that have exited
        (the postmaster reaps them, so their time is in its children's time)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        own = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
        return own + sum(cpu_seconds(p) for p in children(self.pid))

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port)
        self.pid = self.proc.pid

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def wait_port(port: int, timeout: float = 60, alive: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"the server exited ({alive.returncode}) before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The server ------------------------------------------------------------------------------------------


class Server:
    """``office serve --workers N`` on a free port, with the environment ``env``."""

    def __init__(self, workers: int, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = log.open("ab")  # the request log and any traceback, kept out of the table
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "office", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
            + ["--workers", str(workers), "--log-level", "warning"],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": pythonpath()},
            stdout=self.log,
            stderr=self.log,
        )
        wait_port(self.port, timeout=300, alive=self.proc)  # imports and the schema check, on a busy host
        self.pids = self._wait_workers()

    def _wait_workers(self, timeout: float = 300) -> list[int]:
        """The worker pids, once each has answered a request (its hub subscribed, its app started)."""
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers:
                socks = []
                for _ in range(4 * self.workers):
                    s = socket.create_connection(("127.0.0.1", self.port))
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        socks.append(s)
                    else:
                        s.close()
                owners = owners_of([s.getsockname()[1] for s in socks], self.port, pids)
                seen |= {p for p in owners.values() if p}
                for s in socks:
                    s.close()
                if seen >= set(pids):
                    return pids
            time.sleep(0.3)
        raise RuntimeError(f"{self.workers} workers did not all start (saw {sorted(seen)})")

    def worker_pids(self) -> list[int]:
        if self.workers == 1:
            return [self.proc.pid]
        # The supervisor's children: the workers, and multiprocessing's resource tracker.
        return [p for p in children(self.proc.pid) if b"resource_tracker" not in _cmdline(p)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def pythonpath() -> str:
    extra = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([str(ROOT)] + ([extra] if extra else []))


def owners_of(client_ports: list[int], server_port: int, pids: list[int]) -> dict[int, int | None]:
    """For each client-side local port, the pid of the worker serving that connection (None if not found)."""
    wanted = {f"{p:04X}": p for p in client_ports}
    server_hex = f"{server_port:04X}"
    inode_of: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if local.rsplit(":", 1)[1] == server_hex and remote.rsplit(":", 1)[1] in wanted:
                inode_of[inode] = wanted[remote.rsplit(":", 1)[1]]
    found: dict[int, int | None] = dict.fromkeys(client_ports)
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inode_of:
                found[inode_of[link[8:-1]]] = pid
    return found


# A keep-alive HTTP/1.1 client --------------------------------------------------------------------------


class Http:
    """One keep-alive connection; small and cheap, as the client shares the server's two cores."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: str) -> None:
        self.reader, self.writer, self.headers = reader, writer, headers
        self.local_port = int(writer.get_extra_info("sockname")[1])

    @classmethod
    async def open(cls, port: int, headers: dict[str, str]) -> Http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        text = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "bench", **headers}.items())
        return cls(reader, writer, text)

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        extra = f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if body is not None else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.headers}{extra}\r\n".encode() + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


# Where the time goes -------------------------------------------------------------------------------------


class Watch:
    """CPU seconds of each process group over a phase, and PostgreSQL's wait events sampled every
    ``interval`` seconds: what each database backend that is inside a transaction is doing or waiting
    for (``Lock:advisory`` is the write lock, ``Lock:transactionid`` a row lock, ``IO:WALSync`` the
    commit's flush, ``Client:ClientRead`` the backend waiting for the application)."""

    def __init__(self, groups: dict[str, Any], pg_url: str | None, interval: float = 0.01) -> None:
        self.groups = groups  # name -> callable returning CPU seconds so far
        self.pg_url, self.interval = pg_url, interval
        self.waits: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()

    def _cpu(self) -> dict[str, float]:
        return {name: seconds() for name, seconds in self.groups.items()}

    @contextmanager
    def phase(self) -> Iterator[dict[str, Any]]:
        out: dict[str, Any] = {}
        self.waits, self.samples = Counter(), 0
        self._stop.clear()
        sampler = threading.Thread(target=self._sample, daemon=True) if self.pg_url else None
        stats0 = self._statements()
        before, client0, wall0 = self._cpu(), time.process_time(), time.perf_counter()
        if sampler:
            sampler.start()
        try:
            yield out
        finally:
            self._stop.set()
            if sampler:
                sampler.join()
            after = self._cpu()
            out["wall"] = time.perf_counter() - wall0
            out["cpu"] = {k: after[k] - before[k] for k in after} | {"client": time.process_time() - client0}
            out["waits"] = {k: v / max(self.samples, 1) for k, v in self.waits.most_common()}
            stats1 = self._statements()
            out["statements"] = Counter({q: n - stats0.get(q, 0) for q, n in stats1.items() if n > stats0.get(q, 0)})

    def _statements(self) -> Counter[str]:
        """Calls so far of each statement our server sent (pg_stat_statements; BEGIN and COMMIT too)."""
        if not self.pg_url:
            return Counter()
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT query, sum(calls)::bigint FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                " WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat_%' GROUP BY query"
            ).fetchall()
        return Counter({" ".join(q.split())[:90]: int(n) for q, n in rows})

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.pg_url or "", autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    " AND (state = 'active' OR state LIKE 'idle in transaction%')"
                ).fetchall()
                for state, kind, what in rows:
                    if state.startswith("idle in transaction"):
                        self.waits["app (idle in transaction)"] += 1
                    else:
                        self.waits[f"{kind}:{what}" if kind else "running"] += 1
                self.samples += 1
                time.sleep(self.interval)
