"""``/ws``: the authenticated event stream (session cookie, Origin checked, resume by last id)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from office import accounts, logs, ws_direct, ws_session
from office.actor import Actor
from office.db import utcnow
from office.hub import Connection
from office.jsonin import is_digits
from office.models import User
from office.web import MAX_ID, cookie_token, origin_allowed

CLOSE_ENROL_2FA = 4403
ENROL_FIRST = "enrol_first"


async def event_stream(ws: WebSocket) -> None:
    app = ws.app
    origin = ws.headers.get("origin")
    if origin and not origin_allowed(ws, origin):
        # Accept then close, so the client sees code 1008 and the reason rather than a bare 403.
        await ws.accept()
        await ws.close(code=1008, reason="origin not allowed")
        return
    found = await run_in_threadpool(_authenticate, app, cookie_token(ws), ws.client.host if ws.client else "")
    if found is None:
        await ws.accept()
        await ws.close(code=1008, reason="unauthenticated")
        return
    if isinstance(found, str):  # ENROL_FIRST
        # As over HTTP (2fa_setup_required): an account that must set up two-step verification
        # may do nothing but enrol, and chat frames are acts.
        await ws.accept()
        await ws.close(code=CLOSE_ENROL_2FA, reason="请先设置两步验证")
        return
    actor, state = found
    logs.note_user(ws.scope, actor.user_id)  # the socket's access line names its user, as an HTTP line does
    raw_last = ws.query_params.get("last_event_id")
    last: int | None = None
    if raw_last not in (None, ""):
        if not is_digits(raw_last) or len(raw_last) > 10 or int(raw_last) > MAX_ID:
            await ws.accept()
            await ws.close(code=1008, reason="last_event_id must be an integer")
            return
        last = int(raw_last)
    await ws.accept()
    conn = Connection(
        ws=ws,
        user_id=actor.user_id,
        session_id=actor.session_id,
        actor=actor,
        direct=ws_direct.direct_writer(ws.scope),
        live_until=state[0],
        seen_at=state[1],
    )
    await app.state.hub.serve(conn, last)


def _authenticate(app: Any, token: str | None, ip: str) -> tuple[Actor, ws_session.Seen] | str | None:
    """The actor, and the session's state for the connection to check frames against; None for no
    session, ``ENROL_FIRST`` for an account that must set up two-step verification first."""
    state = app.state
    # A read: the handshake's refresh of the idle timer is written in the background, so clients
    # reconnecting together (after a restart) do not queue for the write lock behind chat's writer.
    with state.db.read() as session:
        row = accounts.resolve_session(session, state.settings, token)
        now = utcnow()
        if row is None or not ws_session.admissible(session, state.settings, row, now):
            return None
        seen = ws_session.used(state.db, row, now)  # the handshake is a request
        assert seen is not None  # resolve_session answered: the session is live
        actor = accounts.load_actor(session, row.user_id, ip=ip, session_id=row.id)
        user = session.get(User, row.user_id)
        assert user is not None  # admissible read it
        if accounts.must_enrol_2fa(user.totp_enabled, actor.roles, accounts.roles_with_2fa(session)):
            return ENROL_FIRST
        return actor, seen


event_stream.__policy__ = "authenticated"  # type: ignore[attr-defined]

routes = [WebSocketRoute("/ws", event_stream)]
