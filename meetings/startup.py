"""Start-up: load the shipped holiday schedule once, then run the reminder loop."""

from __future__ import annotations

import logging
from typing import Any

from meetings import reminders, workcal
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
    return reminders.loop(app.state.db)
