"""Reading stored events back for resume, and pruning them after the retention window."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func
from sqlmodel import select

from office.db import utcnow
from office.models import EventRecipient, StoredEvent, SystemSetting

if TYPE_CHECKING:
    from office.db import Database

REPLAY_LIMIT = 5000
PRUNED_KEY = "events_pruned_through"


def last_event_id(db: Database, user_id: int) -> int:
    with db.read() as s:
        value = s.exec(select(func.max(EventRecipient.event_id)).where(EventRecipient.user_id == user_id)).one()
        return int(value or 0)


def events_after(db: Database, user_id: int, after: int) -> tuple[bool, list[dict[str, Any]]]:
    """Events for ``user_id`` with id > ``after`` in order; (True, []) when the client must resync."""
    with db.read() as s:
        pruned = s.get(SystemSetting, PRUNED_KEY)
        pruned_through = int(pruned.value.get("id", 0)) if pruned else 0
        if after < pruned_through:
            return True, []
        rows = s.exec(
            select(StoredEvent)
            .join(EventRecipient, EventRecipient.event_id == StoredEvent.id)  # type: ignore[arg-type]
            .where(EventRecipient.user_id == user_id, EventRecipient.event_id > after)
            .order_by(EventRecipient.event_id)  # type: ignore[arg-type]
            .limit(REPLAY_LIMIT + 1)
        ).all()
    if len(rows) > REPLAY_LIMIT:
        return True, []
    return False, [{"id": r.id, "type": r.type, **r.payload} for r in rows]


def prune(db: Database, *, retention: timedelta) -> int:
    """Delete events older than the retention window; remember the newest id removed."""
    cutoff = utcnow() - retention
    with db.write() as s:
        newest = s.exec(select(func.max(StoredEvent.id)).where(StoredEvent.created_at < cutoff)).one()  # type: ignore[arg-type,operator]
        if not newest:
            return 0
        s.execute(delete(EventRecipient).where(EventRecipient.event_id <= newest))  # type: ignore[arg-type]
        result = s.execute(delete(StoredEvent).where(StoredEvent.id <= newest))  # type: ignore[arg-type,operator]
        setting = s.get(SystemSetting, PRUNED_KEY) or SystemSetting(key=PRUNED_KEY, value={})
        setting.value = {"id": int(newest)}
        s.add(setting)
        return int(result.rowcount or 0)
