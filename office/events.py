"""Events leave only after the commit that caused them.

``publish_on_commit(session, type, payload, user_ids=...)`` stores the event and its recipients in
the caller's transaction (so a client that reconnects can be replayed exactly what it missed, even
across a restart) and queues it on the session. After the commit, ``Database.write`` hands the
events to the hub (which fans them out to the recipients' websockets) while still holding the
write lock, so the hub sees them in id order; then in-process subscribers run (other domains
react: a document assigned to you becomes a 工作通知 message). On rollback nothing is sent.

Event ids come from one table and writes are serialised, so each user sees strictly increasing
ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlmodel import Session

from office.db import insert_plain_rows, reserve_ids, sql_json, sql_time, utcnow
from office.models import EventRecipient, StoredEvent

if TYPE_CHECKING:
    from office.db import Database

log = logging.getLogger("office.events")


@dataclass(frozen=True)
class Event:
    """A committed event: ``id`` is None for events with no user recipients (not stored)."""

    type: str
    payload: dict[str, Any]
    user_ids: tuple[int, ...] = ()
    id: int | None = None
    # The frame as JSON text, when the publisher already serialised the payload (the hub then sends
    # it as is instead of encoding the same payload again on the event loop).
    text: str | None = None

    def frame(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, **self.payload}


Subscriber = Callable[[Event], None]


Subscriber = Callable[["Database", Event], None]
_subscribers: list[tuple[str, Subscriber]] = []


def subscribe(prefix: str, fn: Subscriber) -> Subscriber:
    """Call ``fn(db, event)`` after commit for every event whose type starts with ``prefix``.

    Subscribers run in the process that committed, outside the write lock, so they may open
    their own write transactions (which publish further events).
    """
    if (prefix, fn) not in _subscribers:
        _subscribers.append((prefix, fn))
    return fn


def unsubscribe(fn: Subscriber) -> None:
    _subscribers[:] = [(p, f) for p, f in _subscribers if f is not fn]


def publish_on_commit(
    session: Session,
    type: str,
    payload: dict[str, Any],
    *,
    user_ids: Iterable[int] = (),
    audience: str | None = None,
) -> None:
    """Queue an event on ``session``; it is stored now and delivered after commit.

    The service chooses the recipients: sending to the wrong users is a security bug. With
    ``audience`` (a group whose members the owning domain answers for on resume, see
    ``office.eventstore.register_audience``), ``user_ids`` must be exactly its members now: the
    event is stored once, without a row per recipient.
    """
    recipients = tuple(sorted({int(u) for u in user_ids if u}))
    pending: list[Event] = session.info.setdefault("pending_events", [])
    event_id = None
    if recipients:
        row = StoredEvent(type=type, payload=payload, audience=audience)
        session.add(row)
        session.flush()
        event_id = row.id
        if audience is None:
            session.execute(insert(EventRecipient), [{"event_id": event_id, "user_id": u} for u in recipients])
    pending.append(Event(type=type, payload=payload, user_ids=recipients, id=event_id))


def publish_many_on_commit(
    session: Session,
    items: list[tuple[str, dict[str, Any], Iterable[int]]]
    | list[tuple[str, dict[str, Any], Iterable[int], str | None]],
) -> list[Event]:
    """``publish_on_commit`` for several events at once, in order: ids reserved in one query, then
    one multi-row insert of the events and one of all their recipients (values in driver form:
    the group-commit path writes thousands of rows per batch). An item may carry a fourth member,
    its audience (as ``publish_on_commit``'s)."""
    prepared = [
        (item[0], item[1], tuple(sorted({int(u) for u in item[2] if u})), item[3] if len(item) > 3 else None)
        for item in items
    ]
    conn = session.connection()
    ids = iter(reserve_ids(conn, _EVENT, sum(1 for _, _, recipients, _ in prepared if recipients)))
    now = sql_time(conn, utcnow())
    out: list[Event] = []
    event_rows: list[tuple[Any, ...]] = []
    recipient_rows: list[tuple[int, int]] = []
    for type, payload, recipients, audience in prepared:
        eid = next(ids) if recipients else None
        text = None
        if eid is not None:
            stored = sql_json(payload)
            event_rows.append((eid, type, stored, now, audience))
            if audience is None:
                recipient_rows.extend([(eid, u) for u in recipients])
            # ``Event.frame()`` as JSON: the stored payload's members follow the id and type.
            text = f'{{"id":{eid},"type":{sql_json(type)}{"," + stored[1:] if payload else "}"}'
        out.append(Event(type=type, payload=payload, user_ids=recipients, id=eid, text=text))
    insert_plain_rows(conn, _EVENT, ("id", "type", "payload", "created_at", "audience"), event_rows)
    insert_plain_rows(conn, _RECIPIENT, ("event_id", "user_id"), recipient_rows)
    session.info.setdefault("pending_events", []).extend(out)
    return out


_EVENT = StoredEvent.__table__  # type: ignore[attr-defined]
_RECIPIENT = EventRecipient.__table__  # type: ignore[attr-defined]


def deliver(db: Database, events: list[Event]) -> None:
    """Hand committed events with recipients to the database's sinks (the hub), in order."""
    deliverable = [e for e in events if e.user_ids]
    if not deliverable:
        return
    for sink in list(db.event_sinks):
        try:
            sink(deliverable)
        except Exception:
            log.exception("event sink failed")


def notify_subscribers(db: Database, events: list[Event]) -> None:
    for ev in events:
        for prefix, fn in list(_subscribers):
            if ev.type.startswith(prefix):
                try:
                    fn(db, ev)
                except Exception:
                    log.exception("subscriber %r failed on %s", fn, ev.type)
