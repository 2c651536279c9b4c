"""Wires messaging into a running app: the group-commit batcher, websocket frame handlers,
presence, subscribers to other domains' events, department-group sync, DING reminders, and the
unacknowledged DINGs on the 工作台 (``messaging.todo``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from messaging import department_groups, messages, subscribers, todo
from messaging.batcher import GroupCommit, serve_notices
from messaging.frames import FrameHandlers
from messaging.presence import Presence
from messaging.ratelimit import SendLimits
from office import events
from office.db import Database
from office.hub import Hub

log = logging.getLogger("messaging.startup")


class ChatRuntime:
    """Per-app messaging state, kept on ``app.state.chat``."""

    def __init__(self, db: Database, hub: Hub, files: Path) -> None:
        self.db, self.hub, self.files = db, hub, files
        self.batcher = GroupCommit(db, name="chat-group-commit", max_batch=db.settings.chat_batch_max)
        serve_notices(db, self.batcher)  # other domains' 工作通知 are written by it (messaging.noticebatch)
        self.buckets = SendLimits(db)
        self.presence = Presence()
        self.frames = FrameHandlers(self)

    def attach(self) -> None:
        self.frames.register()
        self.hub.on_connect.append(self.presence.connected)
        self.hub.on_disconnect.append(self.presence.disconnected)

    async def background(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, department_groups.sync_all_department_groups, self.db)
            while True:
                await asyncio.sleep(min(15.0, max(self.db.settings.chat_ding_remind_seconds / 4, 0.2)))
                try:
                    await loop.run_in_executor(None, self.remind_once)
                except Exception:
                    log.exception("DING reminders failed")
        finally:
            self.batcher.stop()

    def remind_once(self) -> int:
        with self.db.write() as s:
            return messages.send_ding_reminders(s)


def start(app: Any) -> Any:
    rt = ChatRuntime(app.state.db, app.state.hub, Path(app.state.settings.data_dir) / "chat_files")
    rt.attach()
    app.state.chat = rt
    events.subscribe("directory.posts_changed", subscribers.on_posts_changed)
    events.subscribe("notify.", subscribers.on_notify)
    events.subscribe("meeting.created", subscribers.on_meeting_created)
    events.subscribe("meeting.members_changed", subscribers.on_meeting_members_changed)
    app.state.todo.register(*todo.SOURCES)
    return rt.background()
