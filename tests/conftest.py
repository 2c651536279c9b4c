"""Shared fixtures: a fresh database per test (SQLite file, or a fresh PostgreSQL database when
``OFFICE_TEST_DATABASE_URL`` is set), the app under TestClient, and a real uvicorn server.

The ``app`` and ``live`` fixtures start from the schema the migrations built once per session
(``Migrated``: running the whole Alembic chain for every test was much of the suite's time); the
app's own startup still runs ``upgrade``, which finds the database at head. Tests that need a
database the migrations have not touched use ``settings`` alone."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from office import events
from office.app import create_app, load_event_types
from office.config import Settings, load_settings
from office.db import Database
from tests.factories import Org, make_org

CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("OFFICE_TEST_DATABASE_URL", "")


def pytest_configure(config: pytest.Config) -> None:
    # Every event published under the tests must match its declaration (office/events.py).
    load_event_types()
    events.check_payloads()


def require_tool(name: str) -> str:
    """Path of a system tool; missing is a failure under CI, a skip elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    if CI:
        pytest.fail(f"{name} is required under CI=true but is not installed")
    pytest.skip(f"{name} not installed")
    raise AssertionError  # unreachable


def _pg_admin(sql: str) -> None:
    """Run one statement on the server of ``OFFICE_TEST_DATABASE_URL`` (its own database, autocommit:
    CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg

    url = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _pg_database_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _create_database(template: str | None = None) -> str:
    """A new database (named for ``_drop_database``): a copy of ``template``, or an empty one."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop_database(name: str) -> None:
    # FORCE (PostgreSQL >= 13) ends connections a test left open (an app the test did not shut down).
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wants_schema(request: pytest.FixtureRequest) -> bool:
    return "app" in request.fixturenames or "live" in request.fixturenames


# The suite's administrators and seal keepers (prospero, yorick, …) sign in with a password alone, as
# most tests are about something else; tests/office/test_admin_2fa.py runs with the deployment's
# default (OFFICE_ADMIN_2FA on: they must enrol first).
NO_ADMIN_2FA = {"admin_2fa": False}


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if not PG_URL:
        yield load_settings({}, data_dir=tmp_path / "data", testing=True, **NO_ADMIN_2FA)
        return
    # A test that starts the app gets a copy of the migrated template (``Migrated``) at once; one that
    # uses ``settings`` alone gets an empty database the migrations have not touched.
    template = request.getfixturevalue("migrated").pg_template if _wants_schema(request) else None
    name = _create_database(template)
    try:
        yield load_settings(
            {}, data_dir=tmp_path / "data", database_url=_pg_database_url(name), testing=True, **NO_ADMIN_2FA
        )
    finally:
        _drop_database(name)


class Migrated:
    """The newest schema, built by the migrations once per session and laid down for each test: a
    copy of the SQLite file, or on PostgreSQL a database the upgrade ran in once, used as the
    TEMPLATE of each test's database (Alembic's own work, repeated for every test, was the cost;
    CREATE DATABASE ... TEMPLATE copies the template's files, so the copy is the real upgrade's
    schema: columns, indexes, constraints, triggers, types and rows)."""

    def __init__(self, tmp: Path) -> None:
        from office.migrate import upgrade

        self.sqlite_file: Path | None = None
        self.pg_template: str | None = None
        if not PG_URL:
            db = Database(load_settings({}, data_dir=tmp, testing=True))
            upgrade(db)
            db.dispose()
            path = Path(db.engine.url.database or "")
            assert not path.with_name(path.name + "-wal").exists(), "copied only once checkpointed"
            self.sqlite_file = path
            return
        name = _create_database()
        try:
            db = Database(load_settings({}, data_dir=tmp, database_url=_pg_database_url(name), testing=True))
            try:
                upgrade(db)
            finally:
                db.dispose()  # a template with a connection open cannot be copied
            # Nobody may connect to it from now on: a connection would make every copy fail.
            _pg_admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        except BaseException:
            _drop_database(name)
            raise
        self.pg_template = name

    def close(self) -> None:
        if self.pg_template is not None:
            _drop_database(self.pg_template)
            self.pg_template = None

    def lay_down(self, settings: Settings) -> None:
        """Give ``settings``' still empty database the newest schema (the app's own upgrade then finds
        it at head and does nothing)."""
        if self.sqlite_file is not None:
            target = Path(make_url(settings.database_url).database or "")
            if not target.exists():
                shutil.copyfile(self.sqlite_file, target)
        # On PostgreSQL the ``settings`` fixture already made the database a copy of the template.


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Migrated]:
    built = Migrated(tmp_path_factory.mktemp("migrated"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def app(settings: Settings, migrated: Migrated) -> Any:
    migrated.lay_down(settings)
    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def db(client: TestClient) -> Database:
    """The app's database, migrated (the client fixture runs the lifespan)."""
    return client.app.state.db  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def org(db: Database) -> Org:
    return make_org(db)


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws_max_size=1024 * 1024)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live(settings: Settings, migrated: Migrated) -> Iterator[LiveServer]:
    migrated.lay_down(settings)
    with LiveServer(create_app(settings)) as server:
        yield server


@pytest.fixture
def live_org(live: LiveServer) -> Org:
    return make_org(live.app.state.db)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, which would break tests that call ``asyncio.run``."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


_SERVERS: list[Any] = []


def kill_after_test(server: Any) -> None:
    """``server.proc``, a server process the test started (tests/test_durability.py ``Server``), is
    killed when the test ends, passed or failed: a failed assertion or a server that did not start
    used to leave it running for the rest of the suite."""
    _SERVERS.append(server)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    while _SERVERS:
        proc = _SERVERS.pop().proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


class Recorder:
    """Records committed events (a subscriber, not a mock)."""

    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def __call__(self, _db: Any, event: events.Event) -> None:
        self.events.append(event)

    def of(self, type_: str) -> list[events.Event]:
        return [e for e in self.events if e.type == type_]

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    events.subscribe("", rec)
    yield rec
    events.unsubscribe(rec)
