"""在线/离开/离线 per user, from this process's sockets.

A client asks for the people it is showing (``presence.watch`` with user ids, e.g. the members of
the open conversation) and gets a ``presence.snapshot``, then a ``presence`` frame whenever one of
them changes. Nothing is sent to sockets that did not ask, and a connect costs no query.
Presence is per process: with several processes behind Redis, a person connected only to another
process shows as offline here (documented limitation).

Who may be watched follows the directory's rule (``office.directory.visibility``): another agency's
staff are left out of the answer unless the rule admits them or the watcher already shares a
conversation with them (``visible_to``; the HTTP ``/presence`` and the ``presence.watch`` frame both
ask it).
"""

from __future__ import annotations

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from messaging.models import Member
from office.actor import Actor
from office.db import settings_of
from office.directory import visibility
from office.hub import Connection, encode

STATUSES = ("online", "away")
MAX_WATCH = 500


class Presence:
    """Indexed by user both ways, so a connect or disconnect costs the same with 10 or 10,000 sockets
    (it used to scan every socket, which made a reconnect storm quadratic)."""

    def __init__(self) -> None:
        self.by_user: dict[int, dict[Connection, str]] = {}
        self.watching: dict[Connection, set[int]] = {}
        self.watchers: dict[int, set[Connection]] = {}  # user id -> sockets watching them

    def status(self, user_id: int) -> str:
        mine = self.by_user.get(user_id)
        if not mine:
            return "offline"
        return "online" if "online" in mine.values() else "away"

    def statuses(self, user_ids: list[int]) -> dict[str, str]:
        return {str(u): self.status(u) for u in user_ids}

    def watch(self, conn: Connection, user_ids: list[int]) -> None:
        ids = list(dict.fromkeys(user_ids))[:MAX_WATCH]
        self._unwatch(conn)
        self.watching[conn] = set(ids)
        for uid in ids:
            self.watchers.setdefault(uid, set()).add(conn)
        conn.offer({"type": "presence.snapshot", "statuses": self.statuses(ids)})

    def _unwatch(self, conn: Connection) -> None:
        for uid in self.watching.pop(conn, ()):
            found = self.watchers.get(uid)
            if found is not None:
                found.discard(conn)
                if not found:
                    del self.watchers[uid]

    async def connected(self, conn: Connection) -> None:
        self._change(conn, "online")

    async def disconnected(self, conn: Connection) -> None:
        self._unwatch(conn)
        self._change(conn, None)

    def set(self, conn: Connection, status: str) -> None:
        self._change(conn, status)

    def _change(self, conn: Connection, status: str | None) -> None:
        uid = conn.user_id
        before = self.status(uid)
        if status is None:
            mine = self.by_user.get(uid)
            if mine is not None:
                mine.pop(conn, None)
                if not mine:
                    del self.by_user[uid]
        else:
            self.by_user.setdefault(uid, {})[conn] = status
        after = self.status(uid)
        if before == after:
            return
        frame = encode({"type": "presence", "user_id": uid, "status": after})  # once for all watchers
        for watcher in list(self.watchers.get(uid, ())):
            watcher.offer(frame)


def visible_to(session: Session, actor: Actor, user_ids: list[int]) -> list[int]:
    """The ``user_ids`` whose presence ``actor`` may see, in order: those the directory shows them
    (``visibility.visible``) and those they share a conversation with."""
    ids = list(dict.fromkeys(user_ids))[:MAX_WATCH]
    scope = visibility.scope_of(settings_of(session), actor)
    shown = set(visibility.visible(session, scope, ids))
    rest = [u for u in ids if u not in shown]
    if rest:
        mine, theirs = aliased(Member), aliased(Member)
        shown.update(
            session.exec(
                select(col(theirs.user_id))
                .join(mine, col(mine.conversation_id) == col(theirs.conversation_id))
                .where(col(mine.user_id) == actor.user_id, col(theirs.user_id).in_(rest))
                .distinct()
            ).all()
        )
    return [u for u in ids if u in shown]
