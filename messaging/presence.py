"""在线/离开/离线 per user, from this process's sockets.

A client asks for the people it is showing (``presence.watch`` with user ids, e.g. the members of
the open conversation) and gets a ``presence.snapshot``, then a ``presence`` frame whenever one of
them changes. Nothing is sent to sockets that did not ask, and a connect costs no query.
Presence is per process: with several processes behind Redis, a person connected only to another
process shows as offline here (documented limitation).
"""

from __future__ import annotations

from office.hub import Connection, encode

STATUSES = ("online", "away")
MAX_WATCH = 500


class Presence:
    def __init__(self) -> None:
        self.by_conn: dict[Connection, str] = {}
        self.watching: dict[Connection, set[int]] = {}

    def status(self, user_id: int) -> str:
        mine = [s for c, s in self.by_conn.items() if c.user_id == user_id]
        if not mine:
            return "offline"
        return "online" if "online" in mine else "away"

    def statuses(self, user_ids: list[int]) -> dict[str, str]:
        return {str(u): self.status(u) for u in user_ids}

    def watch(self, conn: Connection, user_ids: list[int]) -> None:
        ids = list(dict.fromkeys(user_ids))[:MAX_WATCH]
        self.watching[conn] = set(ids)
        conn.offer({"type": "presence.snapshot", "statuses": self.statuses(ids)})

    async def connected(self, conn: Connection) -> None:
        self._change(conn, "online")

    async def disconnected(self, conn: Connection) -> None:
        self.watching.pop(conn, None)
        self._change(conn, None)

    def set(self, conn: Connection, status: str) -> None:
        self._change(conn, status)

    def _change(self, conn: Connection, status: str | None) -> None:
        before = self.status(conn.user_id)
        if status is None:
            self.by_conn.pop(conn, None)
        else:
            self.by_conn[conn] = status
        after = self.status(conn.user_id)
        if before == after:
            return
        frame = encode({"type": "presence", "user_id": conn.user_id, "status": after})  # once for all watchers
        for watcher, ids in list(self.watching.items()):
            if conn.user_id in ids:
                watcher.offer(frame)
