"""Start-up: load the shipped holiday schedule once, register the 工作台's meeting 待办, then run the
reminder loop."""

from __future__ import annotations

import logging
from typing import Any

from meetings import reminders, todo
from office import workcal
from office.actor import SYSTEM

log = logging.getLogger("meetings.startup")


def seed(db: Any) -> None:
    with db.write() as session:
        loaded = workcal.seed_shipped(session, SYSTEM)
    if loaded:
        log.info("loaded the national holiday schedule for %s", loaded)


def start(app: Any) -> Any:
    # Seeded before the app serves, so the first slot search already knows the holidays.
    seed(app.state.db)
    app.state.todo.register(*todo.SOURCES)  # invitations to answer, today's 签到
    return reminders.loop(app.state.db)
