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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from office import accounts, actor_cache, policy, session_touch
from office.actor import Actor
from office.secrets_box import token_digest
from office.web import SAFE_METHODS, cookie_token

SESSION_SQL = (
    "SELECT s.id, s.user_id, s.mfa_pending, s.expires_at, s.last_seen_at, s.revoked_at, u.is_active, "
    "u.totp_enabled, (SELECT max(seq) FROM cache_change) "
    "FROM auth_session s JOIN user_account u ON u.id = s.user_id WHERE s.token_hash = ?"
)
FastHandler = Callable[[Request, Actor], bytes | None]  # a JSON body, or None: "not here"
hits = 0  # requests answered here (tests check that the fast path is really taken)


_HOT: dict[str, tuple[FastHandler, str]] = {}  # GET path -> (fast handler, policy action)


def fast_first(fast: FastHandler, *, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
    """Register ``fast(request, actor)`` for GET ``path``: ``HotPaths`` tries it before routing (None
    from it means "not here") and the wrapped ``@api`` endpoint answers everything else."""

    def deco(slow: Callable[[Request], Any]) -> Callable[[Request], Any]:
        _HOT[path] = (fast, slow.__policy__)  # type: ignore[attr-defined]
        return slow

    return deco


def _answer(request: Request, fast: FastHandler, action: str) -> bytes | None:
    actor = cached_actor(request, action)
    if actor is None:
        return None
    body = fast(request, actor)
    if body is not None:
        global hits
        hits += 1
    return body


class HotPaths:
    """Middleware in front of routing for the ``fast_first`` paths: a typeahead answered from cache
    needs none of the router's matching, the exception layers or a second send wrapper, which had
    become most of its cost. It adds the same security headers ``SecurityHeaders`` would. Anything
    it does not answer, including anything that raises, goes on to the app untouched: the normal
    endpoint then gives the usual answer, error or logged 500."""

    def __init__(self, app: ASGIApp, *, headers: Callable[[Any], list[tuple[bytes, bytes]]]) -> None:
        self.app = app
        self.headers = headers
        self._extra: list[tuple[bytes, bytes]] | None = None  # this app's security headers, once known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (hot := _HOT.get(scope["path"])) is not None:
            request = Request(scope, receive)
            try:
                body = _answer(request, *hot)
            except Exception:  # noqa: BLE001  (the normal path meets the same problem and reports it properly)
                body = None
            if body is not None:
                if self._extra is None:
                    self._extra = [(b"content-type", b"application/json"), *self.headers(request.app.state.settings)]
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-length", b"%d" % len(body)), *self._extra],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class _AppHot:
    """What the fast path needs of one app, looked up once (``app.state`` lookups add up here)."""

    def __init__(self, state: Any) -> None:
        self.db = state.db
        self.settings = state.settings
        self.cache = actor_cache.state(self.db)
        self.digests: dict[bytes, str] = {}  # raw Cookie header -> session token digest (per signing key)
        self.conns: dict[int, sqlite3.Connection] = {}  # per thread (the loop's, in practice)

    def connection(self) -> sqlite3.Connection:
        """This thread's read-only connection to the database."""
        conn = self.conns.get(threading.get_ident())
        if conn is None:
            conn = sqlite3.connect(self.db.engine.url.database, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
            conn.execute("PRAGMA busy_timeout=30000")
            self.conns[threading.get_ident()] = conn
            self.db.on_dispose.append(conn.close)
        return conn


def _app_hot(request: Request) -> _AppHot:
    state = request.app.state
    hot: _AppHot | None = getattr(state, "hot_path", None)
    if hot is None:
        hot = state.hot_path = _AppHot(state)
    return hot


def app_cache(request: Request) -> actor_cache.CacheState:
    """The caches of the request's database (``actor_cache.state``, without the lookups)."""
    return _app_hot(request).cache


def cached_actor(request: Request, action: str) -> Actor | None:
    """The acting user if every check passes from cache and one read; None means "take the normal path"."""
    scope = request.scope
    hot = _app_hot(request)
    if scope["method"] not in SAFE_METHODS or not hot.db.is_sqlite:
        return None
    qs = scope["query_string"]
    if "\0" in scope["path"] or b"\0" in qs or b"%00" in qs:
        return None  # check_request_text's refusal, from the raw bytes: the normal path answers it
    digest = _digest(request, hot)
    if digest is None:
        return None
    found = hot.connection().execute(SESSION_SQL, (digest,)).fetchone()
    if found is None:
        return None
    session_id, user_id, mfa_pending, expires_at, last_seen_at, revoked_at, is_active, totp_enabled, seq = found
    st = hot.cache
    if (seq or 0) != st.applied:
        return None  # a change to apply first: the normal path does
    row = _SessionRow(_utc(revoked_at) if revoked_at else None, _utc(expires_at), _utc(last_seen_at), bool(mfa_pending))
    now = datetime.now(UTC)
    if not accounts.session_admits(hot.settings, row, is_active=bool(is_active), now=now):
        return None
    due = accounts.touch_due(row, now)  # a last-seen refresh, noted below once the answer is ours
    actor = actor_cache.cached(st, ("actor", user_id), user_id)
    by_policy = actor_cache.cached(st, "roles_2fa")
    if by_policy is None or actor is None:
        return None
    required = accounts.required_2fa(hot.db.settings, by_policy)  # the app's settings, as settings_of reads them
    if accounts.must_enrol_2fa(bool(totp_enabled), actor.roles, required):
        return None
    if not policy.can(actor, action):
        return None
    client = scope.get("client")
    acting: Actor = actor.acting(ip=client[0] if client else "", session_id=session_id)
    if due:  # written in the background, as the normal path's reads are (office.session_touch)
        session_touch.of(hot.db).note(session_id, now)
    return acting


class _SessionRow(NamedTuple):
    """The session columns ``accounts.session_admits`` reads, parsed from ``SESSION_SQL``'s row."""

    revoked_at: datetime | None
    expires_at: datetime
    last_seen_at: datetime
    mfa_pending: bool


def _digest(request: Request, hot: _AppHot) -> str | None:
    """The stored hash of the cookie's token. Parsing the header, checking the signature and hashing
    cost more than the rest of this path, and the same Cookie header always gives the same digest,
    so it is remembered per raw header (the first one, as ``request.cookies`` reads it)."""
    raw = next((v for k, v in request.scope["headers"] if k == b"cookie"), None)
    if not raw:
        return None

    def digest() -> str | None:
        token = cookie_token(request)
        return token_digest(token) if token else None

    return _remember(hot.digests, raw, digest)


def _remember(cache: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    """``cache[key]``, made (and kept, unless None) on a miss; the cache is emptied when it holds
    10,000 entries, which bounds it against a stream of distinct keys."""
    value = cache.get(key)
    if value is None:
        value = make()
        if value is not None:
            if len(cache) >= 10_000:
                cache.clear()
            cache[key] = value
    return value


_QUERIES: dict[bytes, QueryParams] = {}


def query(request: Request) -> QueryParams:
    """The request's query parameters, parsed once per distinct query string (typeahead repeats them)."""
    raw = request.scope["query_string"]
    return _remember(_QUERIES, raw, lambda: QueryParams(raw))


_TIMES: dict[str, datetime] = {}


def _utc(value: str) -> datetime:
    """A stored time (naive UTC text, ``office.db.UTCDateTime``) as an aware datetime. A session's
    times change every few minutes at most, so parsed values are remembered."""
    return _remember(_TIMES, value, lambda: datetime.fromisoformat(value).replace(tzinfo=UTC))


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int | None:
    """A query integer as ``Ctx.query_int`` reads it, or None when it would be refused (let the normal
    path answer the error)."""
    raw = query(request).get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if lo <= value <= hi else None
