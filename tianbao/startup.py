"""Wires 数据填报 into a running app: its 待办 source on the 工作台, and the background loop that sends
the reminders before a deadline and the automatic 催报 after it (``tianbao.reminders.remind_all``)
every ``OFFICE_REMINDER_SECONDS`` (60 s)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from office.db import Database
from tianbao import reminders, todo

log = logging.getLogger("tianbao.startup")


async def remind_loop(db: Database, interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        try:
            await loop.run_in_executor(None, reminders.remind_all, db)
        except Exception:
            log.exception("tianbao reminders failed")


def start(app: Any) -> Any:
    app.state.todo.register(*todo.SOURCES)  # 待填报 and 待审核 on the 工作台
    interval = app.state.settings.reminder_seconds
    return remind_loop(app.state.db, interval)
