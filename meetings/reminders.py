"""Reminders: by default 15 minutes before, and at 18:00 the evening before for morning meetings.

``send_due(db, now)`` is idempotent (``ReminderSent`` has one row per meeting, occurrence and kind),
so several processes may run the loop; a reminder missed by more than ``STALE`` is not sent late.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from meetings.access import attendee_ids
from meetings.models import Meeting, MeetingOccurrence, MeetingStatus, OccurrenceStatus, ReminderSent
from meetings.notices import get_zone, local_text, notify
from office.db import Database, utcnow

log = logging.getLogger("meetings.reminders")
EVENING = dt.time(18, 0)
NOON = dt.time(12, 0)
STALE = dt.timedelta(hours=2)
HORIZON = dt.timedelta(days=8)  # reminders may be set up to 7 days ahead
INTERVAL_SECONDS = 30


def due_reminders(meeting: Meeting, occ: MeetingOccurrence) -> list[tuple[str, dt.datetime]]:
    """(kind, when) for one occurrence."""
    out = [(f"m{m}", occ.start_at - dt.timedelta(minutes=int(m))) for m in meeting.reminders]
    if meeting.remind_evening_before:
        tz = get_zone(meeting.tz)
        local = occ.start_at.astimezone(tz)
        if local.time() < NOON:
            eve = dt.datetime.combine(local.date() - dt.timedelta(days=1), EVENING, tzinfo=tz)
            out.append(("evening", eve.astimezone(dt.UTC)))
    return out


def send_due(db: Database, now: dt.datetime | None = None) -> int:
    """Send every reminder whose time has come; returns how many were sent."""
    now = now or utcnow()
    sent = 0
    with db.write() as session:
        rows = session.exec(
            select(MeetingOccurrence, Meeting)
            .join(Meeting, col(Meeting.id) == col(MeetingOccurrence.meeting_id))
            .where(
                MeetingOccurrence.status == OccurrenceStatus.active,
                Meeting.status == MeetingStatus.confirmed,
                col(MeetingOccurrence.start_at) > now,
                col(MeetingOccurrence.start_at) <= now + HORIZON,
            )
        ).all()
        for occ, meeting in rows:
            for kind, when in due_reminders(meeting, occ):
                if when <= now and now - when <= STALE and _claim(session, meeting, occ, kind):
                    _send(session, meeting, occ, kind)
                    sent += 1
    return sent


def _claim(session: Session, meeting: Meeting, occ: MeetingOccurrence, kind: str) -> bool:
    exists = session.exec(
        select(ReminderSent.id).where(
            ReminderSent.meeting_id == meeting.id,
            ReminderSent.occurrence_start == occ.original_start,
            ReminderSent.kind == kind,
        )
    ).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ReminderSent(meeting_id=meeting.id, occurrence_start=occ.original_start, kind=kind))  # type: ignore[arg-type]
    except IntegrityError:
        return False
    return True


def _send(session: Session, meeting: Meeting, occ: MeetingOccurrence, kind: str) -> None:
    tz = get_zone(meeting.tz)
    when = "明天" if kind == "evening" else ""
    notify(
        session,
        meeting,
        attendee_ids(session, meeting.id, answering=True) + [meeting.organizer_id],
        f"会议提醒：{meeting.title}",
        f"{when}{local_text(occ.start_at, tz)}开会，请准时参加。",
    )


async def loop(db: Database) -> None:
    while True:
        try:
            await asyncio.get_running_loop().run_in_executor(None, send_due, db)
        except Exception:
            log.exception("meeting reminders failed")
        await asyncio.sleep(INTERVAL_SECONDS)
