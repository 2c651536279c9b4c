"""Hot read endpoints answered on the event loop from this process's caches, on SQLite.

A typeahead search costs less than handing a request to the threadpool and opening a SQLAlchemy
session, so ``fast_first(fast, path=...)`` puts a fast path in front of an ``@api`` endpoint, and
the ``HotPaths`` middleware tries it before routing. It reads the
session row, the account's active and 2FA flags and the newest ``cache_change`` seq in one indexed
query on a read-only SQLite connection of the loop's own (microseconds: WAL readers never wait for
writers), and answers only the plain case: a live, fully authenticated session whose last-seen time
is fresh, nothing changed since this process last synced, the actor and the role policy cached, the
policy action allowed. Anything else — no cookie, a revoked, expired, idle or half-authenticated
session, a change to apply, a cache miss, a refused action, an odd parameter — goes to the normal
endpoint, which applies the change, refreshes the caches and gives the usual answer or error. So the
fast path never decides a refusal and never serves a state older than the database's.

PostgreSQL is a network round trip away, which the loop must not wait on: there every request takes
the normal path.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from office import accounts, actor_cache, policy
from office.actor import Actor
from office.errors import OfficeError
from office.secrets_box import token_digest
from office.web import SAFE_METHODS, SESSION_COOKIE, _cookie_token, client_ip

SESSION_SQL = (
    "SELECT s.id, s.user_id, s.mfa_pending, s.expires_at, s.last_seen_at, s.revoked_at, u.is_active, "
    "u.totp_enabled, (SELECT max(seq) FROM cache_change) "
    "FROM auth_session s JOIN user_account u ON u.id = s.user_id WHERE s.token_hash = ?"
)
FastHandler = Callable[[Request, Actor], Response | None]
_local = threading.local()
hits = 0  # requests answered here (tests check that the fast path is really taken)


_HOT: dict[str, tuple[FastHandler, str]] = {}  # GET path -> (fast handler, policy action)


def fast_first(fast: FastHandler, *, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
    """Register ``fast(request, actor)`` for GET ``path``: ``HotPaths`` tries it before routing (None
    from it means "not here") and the wrapped ``@api`` endpoint answers everything else."""

    def deco(slow: Callable[[Request], Any]) -> Callable[[Request], Any]:
        _HOT[path] = (fast, slow.__policy__)  # type: ignore[attr-defined]
        return slow

    return deco


def _answer(request: Request, fast: FastHandler, action: str) -> Response | None:
    actor = cached_actor(request, action)
    if actor is None:
        return None
    response = fast(request, actor)
    if response is not None:
        global hits
        hits += 1
    return response


class HotPaths:
    """Middleware in front of routing for the ``fast_first`` paths: a typeahead answered from cache
    needs none of the router's matching, the exception layers or a second send wrapper, which had
    become most of its cost. It adds the same security headers ``SecurityHeaders`` would. Anything
    it does not answer, including anything that raises, goes on to the app untouched: the normal
    endpoint then gives the usual answer, error or logged 500."""

    def __init__(self, app: ASGIApp, *, headers: Callable[[Any], list[tuple[bytes, bytes]]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (hot := _HOT.get(scope["path"])) is not None:
            request = Request(scope, receive)
            try:
                response = _answer(request, *hot)
            except Exception:  # noqa: BLE001  (the normal path meets the same problem and reports it properly)
                response = None
            if response is not None:
                response.raw_headers.extend(self.headers(request.app.state.settings))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def cached_actor(request: Request, action: str) -> Actor | None:
    """The acting user if every check passes from cache and one read; None means "take the normal path"."""
    db = request.app.state.db
    if request.method not in SAFE_METHODS or not db.is_sqlite:
        return None
    scope = request.scope
    qs = scope["query_string"]
    if "\0" in scope["path"] or b"\0" in qs or b"%00" in qs:
        return None  # check_request_text's refusal, from the raw bytes: the normal path answers it
    digest = _digest(request)
    if digest is None:
        return None
    row = _connection(db).execute(SESSION_SQL, (digest,)).fetchone()
    if row is None:
        return None
    session_id, user_id, mfa_pending, expires_at, last_seen_at, revoked_at, is_active, totp_enabled, seq = row
    st = actor_cache.state(db)
    if mfa_pending or revoked_at is not None or not is_active or (seq or 0) != st.applied:
        return None
    now = datetime.now(UTC)
    if now >= _utc(expires_at) or now - _utc(last_seen_at) > accounts.TOUCH_EVERY:
        return None  # expired, or due a last-seen refresh (a write): the normal path does both
    actor = actor_cache.peek(db, ("actor", user_id), user_id)
    if actor is None:
        return None
    if not totp_enabled:
        required = actor_cache.peek(db, "roles_2fa")
        if required is None or required & actor.roles:
            return None
    try:
        policy.require(actor, action)
    except OfficeError:
        return None
    return replace(actor, ip=client_ip(request), session_id=session_id, extra={})


def _digest(request: Request) -> str | None:
    """The stored hash of the cookie's token. Checking the signature and hashing cost more than the
    rest of this path, and a valid cookie always maps to the same digest, so valid ones are remembered."""
    signed = request.cookies.get(SESSION_COOKIE)
    if not signed:
        return None
    state = request.app.state
    digests: dict[str, str] | None = getattr(state, "hot_digests", None)  # per app: per signing key
    if digests is None:
        digests = state.hot_digests = {}
    digest = digests.get(signed)
    if digest is None:
        token = _cookie_token(request)
        if not token:
            return None
        if len(digests) >= 10_000:
            digests.clear()
        digest = digests[signed] = token_digest(token)
    return digest


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)  # stored as naive UTC (office.db.UTCDateTime)


def _connection(db: Any) -> sqlite3.Connection:
    """This thread's read-only connection to ``db`` (the loop thread's, in practice)."""
    conns: weakref.WeakKeyDictionary[Any, sqlite3.Connection] | None = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = weakref.WeakKeyDictionary()
    conn = conns.get(db)
    if conn is None:
        conn = sqlite3.connect(db.engine.url.database, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=1")
        conn.execute("PRAGMA busy_timeout=30000")
        conns[db] = conn
        db.on_dispose.append(conn.close)
    return conn


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int | None:
    """A query integer as ``Ctx.query_int`` reads it, or None when it would be refused (let the normal
    path answer the error)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if lo <= value <= hi else None
