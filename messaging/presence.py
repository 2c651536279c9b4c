"""在线/离开/离线 per user, from this process's sockets; changes go to the user's contacts
(everyone sharing a conversation) as ephemeral ``presence`` frames."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import distinct
from sqlmodel import select
from sqlalchemy.orm import aliased

from office.db import Database
from office.hub import Connection, Hub
from messaging.models import Member

STATUSES = ("online", "away")
MAX_CONTACTS = 5000


def contacts_of(db: Database, user_id: int) -> list[int]:
    other = aliased(Member)
    with db.read() as s:
        rows = s.exec(select(distinct(other.user_id)).join(Member, Member.conversation_id == other.conversation_id)  # type: ignore[arg-type,call-overload]
                      .where(Member.user_id == user_id, other.user_id != user_id).limit(MAX_CONTACTS)).all()
    return list(rows)


class Presence:
    def __init__(self, db: Database, hub: Hub) -> None:
        self.db, self.hub = db, hub
        self.by_conn: dict[Connection, str] = {}

    def status(self, user_id: int) -> str:
        mine = [s for c, s in self.by_conn.items() if c.user_id == user_id]
        if not mine:
            return "offline"
        return "online" if "online" in mine else "away"

    def statuses(self, user_ids: list[int]) -> dict[str, str]:
        return {str(u): self.status(u) for u in user_ids}

    async def connected(self, conn: Connection) -> None:
        await self._change(conn, "online")

    async def disconnected(self, conn: Connection) -> None:
        await self._change(conn, None)

    async def set(self, conn: Connection, status: str) -> None:
        await self._change(conn, status)

    async def _change(self, conn: Connection, status: str | None) -> None:
        before = self.status(conn.user_id)
        if status is None:
            self.by_conn.pop(conn, None)
        else:
            self.by_conn[conn] = status
        after = self.status(conn.user_id)
        if before == after:
            return
        contacts = await asyncio.get_running_loop().run_in_executor(None, contacts_of, self.db, conn.user_id)
        frame: dict[str, Any] = {"type": "presence", "user_id": conn.user_id, "status": after}
        self.hub.send_ephemeral(contacts + [conn.user_id], frame)
