"""Reading stored events back for resume, and pruning them after the retention window.

An event reaches a user on resume in one of two ways. Most events list their recipients in
``event_recipient``. Events for everyone in a group (a chat message to its conversation) are stored
once with an ``audience`` instead, and the domain that keeps the group registers who belongs:
``register_audience(fn)``, where ``fn(session, user_id, after)`` gives the user's memberships that
may hold events after ``after``: ``(audience, joined, left)``, the user's events being that
audience's with ``joined < id <= left`` (``left`` None while they still belong). Writing one row
per recipient into a per-user index cost a message to a 100-person group a hundred scattered page
writes. Ended memberships matter only while their events are kept: ``register_pruner(fn)`` has
``fn(session, newest_removed_id)`` drop them in the transaction that prunes the events.

What a user takes back (a recalled chat message) must not come back on resume either: ``rewrite``
lets the owning domain replace the stored payloads that carry it, in the transaction that takes it
back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, update
from sqlmodel import Session, col, select

from office.db import utcnow
from office.models import EventRecipient, StoredEvent, SystemSetting

if TYPE_CHECKING:
    from office.db import Database

REPLAY_LIMIT = 5000
PRUNED_KEY = "events_pruned_through"
AUDIENCE_CHUNK = 300  # audiences per query (bound parameters stay well under every driver's limit)
CLOCK_ALLOWANCE = timedelta(minutes=1)  # events stamped by other processes, whose clocks may differ
AudienceLookup = Callable[[Session, int, int], Iterable[tuple[str, int, int | None]]]
Pruner = Callable[[Session, int], None]
_audiences: list[AudienceLookup] = []
_pruners: list[Pruner] = []


def register_audience(fn: AudienceLookup) -> AudienceLookup:
    """``fn(session, user_id, after) -> [(audience, joined, left or None), ...]`` (idempotent)."""
    if fn not in _audiences:
        _audiences.append(fn)
    return fn


def register_pruner(fn: Pruner) -> Pruner:
    """``fn(session, newest_removed_id)``, run in the pruning transaction (idempotent)."""
    if fn not in _pruners:
        _pruners.append(fn)
    return fn


def last_event_id(db: Database, user_id: int) -> int:
    """Where a fresh connection starts: the newest event anywhere (nothing of the user's is newer)."""
    _ = user_id
    with db.read() as s:
        return int(s.exec(select(func.max(StoredEvent.id))).one() or 0)


def events_after(db: Database, user_id: int, after: int) -> tuple[bool, list[dict[str, Any]]]:
    """Events for ``user_id`` with id > ``after`` in order; (True, []) when the client must resync."""
    with db.read() as s:
        pruned = s.get(SystemSetting, PRUNED_KEY)
        pruned_through = int(pruned.value.get("id", 0)) if pruned else 0
        if after < pruned_through:
            return True, []
        cols = (col(StoredEvent.id), col(StoredEvent.type), col(StoredEvent.payload))
        rows = list(
            s.exec(
                select(*cols)
                .join(EventRecipient, EventRecipient.event_id == StoredEvent.id)  # type: ignore[arg-type]
                .where(EventRecipient.user_id == user_id, EventRecipient.event_id > after)
                .order_by(EventRecipient.event_id)  # type: ignore[arg-type]
                .limit(REPLAY_LIMIT + 1)
            ).all()
        )
        groups = [
            (aud, max(after, int(joined)), left)
            for lookup in _audiences
            for aud, joined, left in lookup(s, user_id, after)
            if left is None or left > after
        ]
        for start in range(0, len(groups), AUDIENCE_CHUNK):
            chunk = groups[start : start + AUDIENCE_CHUNK]
            terms = []
            for aud, since, left in chunk:
                term = [col(StoredEvent.audience) == aud, col(StoredEvent.id) > since]
                if left is not None:
                    term.append(col(StoredEvent.id) <= left)
                terms.append(and_(*term))
            rows += s.exec(
                select(*cols)
                .where(or_(*terms))
                .order_by(StoredEvent.id)  # type: ignore[arg-type]
                .limit(REPLAY_LIMIT + 1)
            ).all()
    rows = list({r[0]: r for r in rows}.values())  # two memberships of one group may cover an event twice
    if len(rows) > REPLAY_LIMIT:
        return True, []
    rows.sort(key=itemgetter(0))
    return False, [{"id": eid, "type": etype, **payload} for eid, etype, payload in rows]


def rewrite(
    session: Session,
    *,
    since: datetime,
    audience: str | None = None,
    types: Collection[str] = (),
    fn: Callable[[str, dict[str, Any]], dict[str, Any] | None],
) -> int:
    """Replace the stored payloads that carry something taken back. ``fn(type, payload)`` gives the
    new payload, or None for an event to leave as it is; it sees the events stored since ``since``
    (a minute earlier, for other processes' clocks) that belong to ``audience`` or are of one of
    ``types``. Returns how many were rewritten.

    Events are changed in place, never deleted: ids stay as clients saw them, and the newest event
    must stay anyway (see ``prune``)."""
    lo = session.exec(select(func.min(StoredEvent.id)).where(StoredEvent.created_at >= since - CLOCK_ALLOWANCE)).one()
    wanted: list[Any] = []
    if audience:
        wanted.append(StoredEvent.audience == audience)
    if types:
        wanted.append(col(StoredEvent.type).in_(sorted(types)))
    if lo is None or not wanted:
        return 0
    rows = session.exec(
        select(StoredEvent.id, StoredEvent.type, StoredEvent.payload).where(col(StoredEvent.id) >= lo, or_(*wanted))
    ).all()
    changed = 0
    for eid, etype, payload in rows:
        new = fn(etype, dict(payload))
        if new is not None and new != payload:
            session.execute(update(StoredEvent).where(StoredEvent.id == eid).values(payload=new))  # type: ignore[arg-type]
            changed += 1
    return changed


def prune(db: Database, *, retention: timedelta) -> int:
    """Delete events older than the retention window; remember the newest id removed."""
    cutoff = utcnow() - retention
    with db.write() as s:
        # The newest event always stays, however old: SQLite numbers a new row from the largest id
        # present, so an empty table would hand out ids again from 1, below every client's last id
        # and every member's joined_event_id, and resume would silently skip what followed.
        top = s.exec(select(func.max(StoredEvent.id))).one() or 0
        newest = s.exec(
            select(func.max(StoredEvent.id)).where(
                StoredEvent.created_at < cutoff,
                col(StoredEvent.id) < top,
            )
        ).one()
        if not newest:
            return 0
        s.execute(delete(EventRecipient).where(EventRecipient.event_id <= newest))  # type: ignore[arg-type]
        result = cast(CursorResult[Any], s.execute(delete(StoredEvent).where(col(StoredEvent.id) <= newest)))
        for pruner in _pruners:
            pruner(s, int(newest))
        setting = s.get(SystemSetting, PRUNED_KEY) or SystemSetting(key=PRUNED_KEY, value={})
        setting.value = {"id": int(newest)}
        s.add(setting)
        return int(result.rowcount or 0)
