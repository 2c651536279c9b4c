"""Wires 办文 into a running app: the group-commit 发文字号 allocator (``app.state.numbering``),
meeting tasks become 督办 items, and a background loop sends the automatic 催办 reminders
(``docs_flow.supervision_reminders.run_reminders``) every ``OFFICE_REMINDER_SECONDS`` (60 s); its 待办
sources join the 工作台."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from docs_flow import search, supervision, supervision_reminders, todo  # noqa: F401  search registers its indexing hooks
from docs_flow.numbering import Numberer
from office import events
from office.db import Database

log = logging.getLogger("docs_flow.startup")


async def remind_loop(db: Database, interval: float, numberer: Numberer | None = None) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await loop.run_in_executor(None, supervision_reminders.remind_all, db)
            except Exception:
                log.exception("supervision reminders failed")
    finally:
        if numberer is not None:
            numberer.stop()


def start(app: Any) -> Any:
    events.subscribe("meeting.task_created", supervision.on_meeting_task)
    events.subscribe("meeting.task_completed", supervision.on_meeting_task_done)
    app.state.todo.register(*todo.SOURCES)  # 公文, 收文 and 督办 on the 工作台
    interval = app.state.settings.reminder_seconds
    app.state.numbering = Numberer(app.state.db)
    return remind_loop(app.state.db, interval, app.state.numbering)
