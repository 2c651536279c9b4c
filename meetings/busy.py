"""The per-person busy table (``meeting_busy``): kept equal to what attendees × active occurrences
say, so free/busy and the slot finder read one index range per person.

Before it, a person's busy time was found by walking every meeting they were ever invited to and
probing its occurrences: 800 probes per person with 100,000 meetings on the books. Now each
change to a meeting rewrites the affected rows in the same transaction, with one DELETE and one
INSERT ... SELECT from the source tables, so the rows are right by construction and the database
does the work. Who calls ``refresh``:

- booking, rescheduling the series, "this and following" split, cancel, approve/reject: the meeting;
- moving or skipping one occurrence: that occurrence;
- adding or removing attendees, nominations, RSVP and substitutes (代参会): those people.

Occurrences are already materialised in full (at most ``recurrence.MAX_OCCURRENCES`` per series),
so no horizon is needed here: a series' busy rows exist as far as its occurrences do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, delete, insert, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from meetings.models import (
    Meeting,
    MeetingAttendee,
    MeetingBusy,
    MeetingOccurrence,
    MeetingStatus,
    OccurrenceStatus,
    Rsvp,
)

NOT_BUSY = (Rsvp.declined, Rsvp.delegated)
COLUMNS = ["occurrence_id", "user_id", "meeting_id", "start_at", "end_at", "tentative"]


def _source() -> Select[*tuple[Any, ...]]:
    """Busy rows as the source tables define them (the query ``meeting_busy`` materialises)."""
    return (
        sa_select(
            col(MeetingOccurrence.id),
            col(MeetingAttendee.user_id),
            col(MeetingOccurrence.meeting_id),
            col(MeetingOccurrence.start_at),
            col(MeetingOccurrence.end_at),
            or_(col(MeetingAttendee.rsvp) == Rsvp.tentative, col(Meeting.status) == MeetingStatus.pending),
        )
        .join(MeetingOccurrence, col(MeetingOccurrence.meeting_id) == col(MeetingAttendee.meeting_id))
        .join(Meeting, col(Meeting.id) == col(MeetingAttendee.meeting_id))
        .where(col(MeetingAttendee.rsvp).not_in(NOT_BUSY), col(MeetingOccurrence.status) == OccurrenceStatus.active)
    )


def refresh(
    session: Session, meeting_id: int | None, *, user_ids: Iterable[int] | None = None, occurrence_id: int | None = None
) -> None:
    """Rewrite the busy rows of one meeting (optionally only some people or one occurrence) from the
    source tables. Call it after the change, in the same transaction; pending ORM changes are
    flushed first so the INSERT ... SELECT sees them."""
    session.flush()
    drop = delete(MeetingBusy).where(col(MeetingBusy.meeting_id) == meeting_id)
    fill = _source().where(col(MeetingAttendee.meeting_id) == meeting_id)
    if user_ids is not None:
        ids = sorted(set(user_ids))
        if not ids:
            return
        drop = drop.where(col(MeetingBusy.user_id).in_(ids))
        fill = fill.where(col(MeetingAttendee.user_id).in_(ids))
    if occurrence_id is not None:
        drop = drop.where(col(MeetingBusy.occurrence_id) == occurrence_id)
        fill = fill.where(col(MeetingOccurrence.id) == occurrence_id)
    session.execute(drop)
    session.execute(insert(MeetingBusy).from_select(COLUMNS, fill))


def expected(session: Session, meeting_id: int | None = None) -> set[tuple[object, ...]]:
    """What the busy rows should be (for tests and the consistency check)."""
    stmt = _source()
    if meeting_id is not None:
        stmt = stmt.where(col(MeetingAttendee.meeting_id) == meeting_id)
    return {tuple(r) for r in session.execute(stmt).all()}


def stored(session: Session, meeting_id: int | None = None) -> set[tuple[object, ...]]:
    stmt = select(*(getattr(MeetingBusy, c) for c in COLUMNS))
    if meeting_id is not None:
        stmt = stmt.where(MeetingBusy.meeting_id == meeting_id)
    return {tuple(r) for r in session.execute(stmt).all()}


# Plain SQL for the migration's backfill and for bulk loads that bypass the service (the bench):
# migrations must not depend on today's models. Enum columns hold the member names, equal to values.
BACKFILL_SQL = (
    "INSERT INTO meeting_busy (occurrence_id, user_id, meeting_id, start_at, end_at, tentative) "
    "SELECT o.id, a.user_id, o.meeting_id, o.start_at, o.end_at, (a.rsvp = 'tentative' OR m.status = 'pending') "
    "FROM meeting_attendee a JOIN meeting_occurrence o ON o.meeting_id = a.meeting_id "
    "JOIN meeting m ON m.id = a.meeting_id "
    "WHERE a.rsvp NOT IN ('declined', 'delegated') AND o.status = 'active'"
)


def rebuild_all(connection: object) -> None:
    """Recompute the whole table (migration backfill, bulk loads, repair)."""
    connection.execute(text("DELETE FROM meeting_busy"))  # type: ignore[attr-defined]
    connection.execute(text(BACKFILL_SQL))  # type: ignore[attr-defined]
