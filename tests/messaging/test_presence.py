"""在线/离开/离线 from this process's sockets: several devices per person, watchers told only of the
people they watch, and nothing left behind when a socket goes (messaging.presence)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from messaging.presence import Presence
from office.hub import Connection


def _conn(user_id: int) -> Connection:
    conn = Connection(ws=None, user_id=user_id, session_id=None)  # type: ignore[arg-type]
    conn.replaying = False
    return conn


def _frames(conn: Connection) -> list[dict[str, Any]]:
    out = []
    while not conn.queue.empty():
        out.append(json.loads(conn.queue.get_nowait().text))  # type: ignore[union-attr]
    return out


def test_devices_watchers_and_cleanup() -> None:
    async def main() -> None:
        p = Presence()
        watcher, other_watcher = _conn(1), _conn(9)
        p.watch(watcher, [2, 3, 2])
        p.watch(other_watcher, [3])
        assert _frames(watcher) == [{"type": "presence.snapshot", "statuses": {"2": "offline", "3": "offline"}}]
        _frames(other_watcher)

        phone, laptop = _conn(2), _conn(2)
        await p.connected(phone)
        assert _frames(watcher) == [{"type": "presence", "user_id": 2, "status": "online"}]
        assert _frames(other_watcher) == []  # does not watch 2
        await p.connected(laptop)
        p.set(laptop, "away")
        assert _frames(watcher) == [] and p.status(2) == "online"  # one device online is enough
        p.set(phone, "away")
        assert _frames(watcher) == [{"type": "presence", "user_id": 2, "status": "away"}]
        await p.disconnected(phone)
        assert p.status(2) == "away" and _frames(watcher) == []
        await p.disconnected(laptop)
        assert p.status(2) == "offline"
        assert _frames(watcher) == [{"type": "presence", "user_id": 2, "status": "offline"}]
        assert p.by_user == {}

        p.watch(watcher, [3])  # a new watch list replaces the old one
        _frames(watcher)
        await p.connected(_conn(2))
        assert _frames(watcher) == []
        await p.disconnected(watcher)
        await p.connected(_conn(3))
        assert [f["user_id"] for f in _frames(other_watcher)] == [3]
        assert watcher not in p.watchers.get(3, set()) and watcher not in p.watching

    asyncio.run(main())
