"""A websocket acts only while the session that opened it is live, and a session opens only so many.

The handshake (``office.routes_ws``) authenticates like an HTTP request: ``accounts.resolve_session``,
then ``accounts.session_admits`` (2FA completed, account active). The socket then lives on for
hours, so that is not enough: a session that expires (idle or absolute limit) publishes no event
that could close it. Each connection therefore remembers when its session stops being live,
``accounts.live_until`` (the rule HTTP requests apply too), and

* every frame is checked against that time before it is handled. Past it, the session row is read
  again (requests in another tab may have extended it) and the socket is closed with
  ``CLOSE_EXPIRED`` (4401) if the session is over: nothing the frame asked for happens;
* a timer (``Settings.ws_session_check_seconds``) does the same for sockets that only listen, so an
  expired session stops receiving events within one interval.

Logout, revocation, password change and disabling an account close sockets at once through the hub
(``auth.session_ended`` events and ``Hub.close_users``); this covers the passing of time.

Idle time follows the HTTP rule exactly: a request refreshes the session's last-seen time (at most
once a minute, ``accounts.touch_due``), and, as for an HTTP read, the refresh is written in the
background (``office.session_touch``), so neither the handshake nor a recheck waits for the write
lock behind chat's writer. A frame refreshes it only when it does what an HTTP request would have
done: the frames the hub lists in ``activity_frames`` (sending a message, marking
it read: the websocket forms of ``POST .../messages`` and ``POST .../read``). Keeping a socket open,
receiving events, pings, typing and presence are not the user working, so a tab left open is logged
out after the idle limit like one that makes no requests.

Caps: ``Settings.ws_max_per_session`` sockets per session and ``ws_max_per_user`` per user, counted
among this process's connections (with several processes behind a balancer each applies the caps to
what it holds). One more is closed at once with ``CLOSE_TOO_MANY`` (4429) and a reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from office import accounts, session_touch
from office.db import utcnow
from office.models import AuthSession, User

if TYPE_CHECKING:
    from office.db import Database
    from office.hub import Connection, Hub

log = logging.getLogger("office.ws_session")
CLOSE_EXPIRED = 4401
EXPIRED_REASON = "登录已过期，请重新登录"
CLOSE_TOO_MANY = 4429
CHUNK = 500  # session ids per query


def admissible(session: Session, settings: Any, row: AuthSession, now: datetime) -> bool:
    """Whether the session may act, as for an HTTP request (``accounts.session_admits``: live, the
    second factor done, the account active): at the handshake and at every recheck."""
    user = session.get(User, row.user_id)
    return user is not None and accounts.session_admits(settings, row, is_active=user.is_active, now=now)


Seen = tuple[datetime, datetime]  # (live until, last seen) of a live session


def seen(settings: Any, row: accounts.SessionState) -> Seen | None:
    """(live until, last seen) of a session row just read, for its connection to remember."""
    until = accounts.live_until(settings, row)
    return None if until is None else (until, row.last_seen_at)


@dataclass(frozen=True)
class _Refreshed:
    """A session as it stands once the refresh noted for it is written."""

    revoked_at: datetime | None
    expires_at: datetime
    last_seen_at: datetime
    mfa_pending: bool


def used(db: Database, row: Any, now: datetime) -> Seen | None:
    """``seen`` for a session found live at ``now`` by a request (the handshake, an activity frame):
    its idle timer refreshed when due, as an HTTP read does it: noted for the background writer
    (``office.session_touch``, which writes ``now``) and counted on the connection at once.
    ``row``: an ``AuthSession``, or a row of ``recheck``'s statement (its id and the
    ``accounts.SessionState`` fields)."""
    if not accounts.touch_due(row, now):
        return seen(db.settings, row)
    assert row.id is not None
    session_touch.of(db).note(row.id, now)
    return seen(db.settings, _Refreshed(row.revoked_at, row.expires_at, now, row.mfa_pending))


# What a recheck reads of each session and its account: one joined row, no ORM objects, the statement
# built once. Every active socket's activity comes here about once a minute (its idle timer due), so
# at a few thousand staff building the ORM select, loading the row as an object and a second query for
# the account were a tenth of the server's interpreter time (bench/capacity_bench.py).
_RECHECK = (
    select(
        col(AuthSession.id),
        col(AuthSession.revoked_at),
        col(AuthSession.expires_at),
        col(AuthSession.last_seen_at),
        col(AuthSession.mfa_pending),
        col(User.is_active),
    )
    .join(User, col(User.id) == col(AuthSession.user_id))
    .where(col(AuthSession.id).in_(bindparam("ids", expanding=True)))
)


def recheck(db: Database, session_ids: Iterable[int | None], *, touch: Iterable[int] = ()) -> dict[int, Seen | None]:
    """Each session as it stands now: (live until, last seen), or None when it is no longer live
    (``accounts.session_admits``, as ``admissible`` asks it). Sessions in ``touch`` get their idle
    timer refreshed when due (``used``)."""
    ids = sorted({i for i in session_ids if i is not None})
    touch = set(touch)
    out: dict[int, Seen | None] = dict.fromkeys(ids)
    with db.read() as s:
        for start in range(0, len(ids), CHUNK):
            for row in s.connection().execute(_RECHECK, {"ids": ids[start : start + CHUNK]}).all():
                now = utcnow()
                if not accounts.session_admits(db.settings, row, is_active=row.is_active, now=now):
                    continue
                out[row.id] = used(db, row, now) if row.id in touch else seen(db.settings, row)
    return out


def apply(conn: Connection, state: Seen | None) -> bool:
    """Remember a session's state on its connection, or close the connection if the session is over."""
    if state is None:
        conn.close(CLOSE_EXPIRED, EXPIRED_REASON)
        return False
    conn.live_until, conn.seen_at = state
    return True


class SessionGuard:
    """The checks above for one hub's connections."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = db.settings

    def refusal(self, conn: Connection, others: Iterable[Connection]) -> str | None:
        """Why ``conn`` may not join ``others`` (the user's open connections here), or None."""
        others = list(others)
        if sum(1 for c in others if c.session_id == conn.session_id) >= self.settings.ws_max_per_session:
            return f"本次登录打开的连接已达上限（{self.settings.ws_max_per_session} 个），请关闭其他窗口"
        if len(others) >= self.settings.ws_max_per_user:
            return f"您打开的连接已达上限（{self.settings.ws_max_per_user} 个），请关闭其他窗口"
        return None

    async def allow(self, conn: Connection, *, activity: bool) -> bool:
        """True when ``conn`` may act on a frame now; otherwise it is closed with ``CLOSE_EXPIRED``.
        ``activity``: the frame counts as the user working (see the module docstring)."""
        now = utcnow()
        live = conn.live_until is not None and now < conn.live_until
        due = activity and (conn.seen_at is None or now - conn.seen_at > accounts.TOUCH_EVERY)
        if live and not due:
            return True
        sid = conn.session_id
        found = await asyncio.get_running_loop().run_in_executor(
            None, lambda: recheck(self.db, [sid], touch=[sid] if due and sid is not None else [])
        )
        return apply(conn, found.get(sid) if sid is not None else None)

    async def sweep(self, hub: Hub) -> None:
        """Every ``ws_session_check_seconds``: close the sockets whose session is no longer live."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.ws_session_check_seconds)
            try:
                now = utcnow()
                due = [
                    c
                    for conns in hub.by_user.values()
                    for c in conns
                    if not c.closed and (c.live_until is None or now >= c.live_until)
                ]
                if not due:
                    continue
                found = await loop.run_in_executor(None, recheck, self.db, [c.session_id for c in due])
                for conn in due:
                    apply(conn, found.get(conn.session_id) if conn.session_id is not None else None)
            except Exception:
                log.exception("websocket session check failed")
