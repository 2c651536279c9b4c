"""Busy times of people and rooms, conflict checks and the slot finder. Read-only.

Every query is bounded on both sides of the occurrence start (``start_at > window_start -
MAX_DURATION``), so the composite indexes ``(room_id, start_at)`` on occurrences and ``(user_id,
start_at)`` on the materialised busy rows (``meetings.busy``) answer it with a short range scan
however many meetings are on the books.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from meetings.models import (
    Meeting,
    MeetingBusy,
    MeetingOccurrence,
    MeetingStatus,
    OccurrenceStatus,
    Room,
    RoomBlock,
)
from office.directory.service import department_member_ids
from office.workcal import load_calendar

MAX_DURATION = dt.timedelta(hours=24)
# Working hours (local): morning and afternoon sessions of a government office.
WORK_PERIODS = ((8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30))
SLOT_STEP = dt.timedelta(minutes=15)

Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Busy:
    start: dt.datetime
    end: dt.datetime
    kind: str  # busy | tentative | blocked
    meeting_id: int | None = None


def overlaps(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    return a_start < b_end and b_start < a_end


def users_busy(
    session: Session,
    user_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    exclude_meeting_id: int | None = None,
) -> dict[int, list[Busy]]:
    """Busy intervals per user (as an attendee who has not declined) overlapping [start, end).

    Reads the materialised ``meeting_busy`` rows (see ``meetings.busy``): one index range per person.
    """
    ids = sorted(set(user_ids))
    out: dict[int, list[Busy]] = {u: [] for u in ids}
    if not ids:
        return out
    stmt = (
        sa_select(
            col(MeetingBusy.user_id),
            col(MeetingBusy.start_at),
            col(MeetingBusy.end_at),
            col(MeetingBusy.meeting_id),
            col(MeetingBusy.tentative),
        )
        .where(
            col(MeetingBusy.user_id).in_(ids),
            col(MeetingBusy.start_at) < end,
            col(MeetingBusy.start_at) > start - MAX_DURATION,
            col(MeetingBusy.end_at) > start,
        )
        .order_by(col(MeetingBusy.user_id), col(MeetingBusy.start_at))
    )
    if exclude_meeting_id is not None:
        stmt = stmt.where(col(MeetingBusy.meeting_id) != exclude_meeting_id)
    for uid, s, e, mid, tentative in _rows(session, stmt):
        out[uid].append(Busy(s, e, "tentative" if tentative else "busy", mid))
    return out


def rooms_busy(
    session: Session,
    room_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    exclude_meeting_id: int | None = None,
) -> dict[int, list[Busy]]:
    """Booked and blocked intervals per room overlapping [start, end)."""
    ids = sorted(set(room_ids))
    out: dict[int, list[Busy]] = {r: [] for r in ids}
    if not ids:
        return out
    # Joined by primary key: one probe per matched occurrence, cheaper than a second query with an
    # IN list of every meeting id found (thousands for the slot finder's fortnight of 50 rooms).
    stmt = (
        sa_select(
            col(MeetingOccurrence.room_id),
            col(MeetingOccurrence.start_at),
            col(MeetingOccurrence.end_at),
            col(MeetingOccurrence.meeting_id),
            col(Meeting.status),
        )
        .join(Meeting, col(Meeting.id) == col(MeetingOccurrence.meeting_id))
        .where(
            col(MeetingOccurrence.room_id).in_(ids),
            col(MeetingOccurrence.status) == OccurrenceStatus.active,
            col(MeetingOccurrence.start_at) < end,
            col(MeetingOccurrence.start_at) > start - MAX_DURATION,
            col(MeetingOccurrence.end_at) > start,
        )
    )
    if exclude_meeting_id is not None:
        stmt = stmt.where(col(MeetingOccurrence.meeting_id) != exclude_meeting_id)
    for rid, s, e, mid, status in _rows(session, stmt):
        out[rid].append(Busy(s, e, "tentative" if status is MeetingStatus.pending else "busy", mid))
    blocks = select(RoomBlock.room_id, RoomBlock.start_at, RoomBlock.end_at).where(
        col(RoomBlock.room_id).in_(ids), col(RoomBlock.start_at) < end, col(RoomBlock.end_at) > start
    )
    for rid, s, e in _rows(session, blocks):
        out[rid].append(Busy(s, e, "blocked"))
    for items in out.values():
        items.sort(key=lambda b: b.start)
    return out


def _rows(session: Session, stmt: Any) -> Sequence[Row[*tuple[Any, ...]]]:
    """Plain column rows through Core: the ORM's per-row loading costs more than the query itself
    when a fortnight of 50 rooms is thousands of rows."""
    return session.connection().execute(stmt).all()


def room_conflicts(
    session: Session, room_id: int, intervals: list[Interval], *, exclude_meeting_id: int | None = None
) -> list[tuple[Interval, Busy]]:
    """Which of ``intervals`` collide with the room's bookings or maintenance blocks."""
    if not intervals:
        return []
    lo = min(s for s, _ in intervals)
    hi = max(e for _, e in intervals)
    busy = rooms_busy(session, [room_id], lo, hi, exclude_meeting_id=exclude_meeting_id)[room_id]
    return _collisions(intervals, busy)


def _collisions(intervals: list[Interval], busy: list[Busy]) -> list[tuple[Interval, Busy]]:
    starts = [b.start for b in busy]
    reach: list[dt.datetime] = []  # reach[j] = latest end among busy[0..j]
    for b in busy:
        reach.append(max(reach[-1], b.end) if reach else b.end)
    found = []
    for s, e in intervals:
        i = bisect.bisect_left(starts, e)  # busy[:i] start before e
        if i == 0 or reach[i - 1] <= s:
            continue
        j = i - 1
        while busy[j].end <= s:
            j -= 1
        found.append(((s, e), busy[j]))
    return found


def expand_people(session: Session, user_ids: Iterable[int], department_ids: Iterable[int]) -> list[int]:
    ids = set(user_ids)
    for d in department_ids:
        ids.update(department_member_ids(session, d))
    return sorted(ids)


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[list[dt.datetime]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _free(merged_busy: list[Interval], starts: list[dt.datetime], s: dt.datetime, e: dt.datetime) -> bool:
    i = bisect.bisect_left(starts, e)
    return i == 0 or merged_busy[i - 1][1] <= s


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    room_ids: tuple[int, ...]


def candidate_rooms(
    session: Session, agency_id: int | None, *, min_capacity: int, equipment: list[str], room_ids: list[int]
) -> list[Room]:
    stmt = select(Room).where(
        Room.agency_id == agency_id,
        Room.is_active == True,  # noqa: E712
        Room.capacity >= min_capacity,
    )
    if room_ids:
        stmt = stmt.where(col(Room.id).in_(room_ids))
    rooms = session.exec(stmt.order_by(col(Room.capacity), col(Room.id))).all()
    need = set(equipment)
    return [r for r in rooms if need <= set(r.equipment)]


def find_slots(
    session: Session,
    *,
    user_ids: list[int],
    duration: dt.timedelta,
    window_start: dt.datetime,
    window_end: dt.datetime,
    rooms: list[Room] | None,
    tz: ZoneInfo,
    limit: int = 5,
) -> list[Slot]:
    """The earliest slots in working hours on working days (holidays skipped, 调休 days counted)
    when every user in ``user_ids`` is free and, unless ``rooms`` is None (online), a room is.

    Tentative and pending meetings count as busy: a slot offered should not need a second look.
    """
    people = users_busy(session, user_ids, window_start, window_end)
    busy = merged((b.start, b.end) for items in people.values() for b in items)
    busy_starts = [s for s, _ in busy]
    room_days = _RoomDays(session, rooms, tz) if rooms is not None else None
    local_start = window_start.astimezone(tz)
    local_end = window_end.astimezone(tz)
    cal = load_calendar(session, local_start.date(), local_end.date())
    found: list[Slot] = []
    day = local_start.date()
    while day <= local_end.date() and len(found) < limit:
        if cal.is_workday(day):
            for p_from, p_to in WORK_PERIODS:
                t = dt.datetime.combine(day, dt.time(p_from // 60, p_from % 60), tzinfo=tz)
                period_end = dt.datetime.combine(day, dt.time(p_to // 60, p_to % 60), tzinfo=tz)
                t = max(t, _ceil(local_start, SLOT_STEP, tz))
                while t + duration <= period_end and t + duration <= local_end and len(found) < limit:
                    s, e = t.astimezone(dt.UTC), (t + duration).astimezone(dt.UTC)
                    if _free(busy, busy_starts, s, e):
                        free_rooms = room_days.free(day, s, e) if room_days else []
                        if room_days is None or free_rooms:
                            found.append(Slot(s, e, tuple(free_rooms)))
                    t += SLOT_STEP
        day += dt.timedelta(days=1)
    return found


class _RoomDays:
    """Room bookings for the slot finder, loaded one local day at a time when first needed: a search
    usually stops within a day or two of its first slot where everyone is free, and needs no room
    data at all while they never are (50 rooms for a fortnight is thousands of rows)."""

    def __init__(self, session: Session, rooms: list[Room], tz: ZoneInfo) -> None:
        self.session, self.rooms, self.tz = session, rooms, tz
        self.day: dt.date | None = None
        # Per room, plain values (room id, open from/to, merged bookings, their starts): the check
        # runs for every room at every slot where the people are free.
        self.rows: list[tuple[int, int, int, list[Interval], list[dt.datetime]]] = []

    def free(self, day: dt.date, s: dt.datetime, e: dt.datetime) -> list[int]:
        """Rooms open and free for [s, e), a slot within the local ``day``."""
        if day != self.day:
            lo = dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)
            hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self.tz)
            loaded = rooms_busy(self.session, [r.id for r in self.rooms if r.id], lo, hi)
            self.rows = []
            for r in self.rooms:
                m = merged((b.start, b.end) for b in loaded.get(r.id or 0, []))
                self.rows.append((r.id or 0, r.open_from, r.open_to, m, [x for x, _ in m]))
            self.day = day
        span = _local_minutes(s.astimezone(self.tz), e.astimezone(self.tz))
        if span is None:
            return []
        a, b = span
        return [
            rid
            for rid, open_from, open_to, m, starts in self.rows
            if open_from <= a and b <= open_to and _free(m, starts, s, e)
        ]


def within_open_hours(room: Room, local_start: dt.datetime, local_end: dt.datetime) -> bool:
    span = _local_minutes(local_start, local_end)
    return span is not None and room.open_from <= span[0] and span[1] <= room.open_to


def _local_minutes(local_start: dt.datetime, local_end: dt.datetime) -> tuple[int, int] | None:
    """Minutes after local midnight of start and end (end may be the next midnight, 24:00); None
    when the interval runs into another day."""
    if local_start.date() != local_end.date() and not (
        local_end.time() == dt.time(0) and local_end.date() == local_start.date() + dt.timedelta(1)
    ):
        return None
    a = local_start.hour * 60 + local_start.minute
    b = local_end.hour * 60 + local_end.minute if local_end.date() == local_start.date() else 24 * 60
    return a, b


def _ceil(moment: dt.datetime, step: dt.timedelta, tz: ZoneInfo) -> dt.datetime:
    midnight = dt.datetime.combine(moment.date(), dt.time(0), tzinfo=tz)
    n = -(-(moment - midnight) // step)
    return midnight + n * step
