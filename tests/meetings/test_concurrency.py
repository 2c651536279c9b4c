"""Two clerks booking the same room at the same second: exactly one wins, on SQLite and PostgreSQL,
through the service in threads, through a real server, and against the database guard directly."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from meetings import booking as meeting_booking
from meetings.models import Meeting, MeetingOccurrence, OccurrenceStatus
from meetings.schemas import MeetingCreate
from office.errors import Conflict
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org
from tests.meetings.conftest import booking, make_rooms

CLERKS = ("gertrude", "hamlet", "ophelia", "polonius", "horatio", "laertes", "claudius", "yorick")


def _active_in_room(org: Org, room_id: int) -> int:
    with org.db.read() as s:
        return s.exec(
            select(func.count())
            .select_from(MeetingOccurrence)
            .where(MeetingOccurrence.room_id == room_id, MeetingOccurrence.status == OccurrenceStatus.active)
        ).one()


def test_simultaneous_bookings_through_the_service(org: Org) -> None:
    rooms = make_rooms(org)
    actors = [org.actor(u) for u in CLERKS]
    barrier = threading.Barrier(len(actors))

    def attempt(i: int) -> str:
        # Every thread books an overlapping slot (shifted by i minutes) in the same room.
        body = MeetingCreate.model_validate(
            booking(
                org,
                room_id=rooms.small,
                people=("hamlet",),
                start=f"2026-12-08T09:{i:02d}:00+08:00",
                end=f"2026-12-08T10:{i:02d}:00+08:00",
            )
        )
        barrier.wait()
        try:
            with org.db.write() as s:
                meeting_booking.check_create_meeting(s, actors[i], body=body)
            return "ok"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(len(actors)) as pool:
        results = list(pool.map(attempt, range(len(actors))))
    assert results.count("ok") == 1 and results.count("conflict") == len(actors) - 1
    assert _active_in_room(org, rooms.small) == 1


def test_simultaneous_bookings_over_http_on_a_real_server(live: LiveServer, live_org: Org) -> None:
    org = live_org
    rooms = make_rooms(org)
    clients = []
    for name in CLERKS:
        c = httpx.Client(base_url=live.url, timeout=30)
        r = c.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200
        c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    body = booking(org, room_id=rooms.small, start="2026-12-09T15:00:00+08:00", end="2026-12-09T16:00:00+08:00")

    def attempt(c: httpx.Client) -> int:
        barrier.wait()
        return c.post("/api/meetings", json=body).status_code

    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            codes = list(pool.map(attempt, clients))
    finally:
        for c in clients:
            c.close()
    assert sorted(codes) == [201] + [409] * (len(clients) - 1)
    assert _active_in_room(org, rooms.small) == 1


def _occurrence(meeting_id: int, room_id: int, start: dt.datetime, minutes: int = 60) -> MeetingOccurrence:
    return MeetingOccurrence(
        meeting_id=meeting_id,
        room_id=room_id,
        original_start=start,
        start_at=start,
        end_at=start + dt.timedelta(minutes=minutes),
    )


def test_the_database_itself_refuses_overlapping_rows(org: Org) -> None:
    """Bypassing the service (no check, no lock), the exclusion constraint / trigger still holds."""
    rooms = make_rooms(org)
    actor = org.actor("gertrude")
    with org.db.write() as s:
        one = meeting_booking.check_create_meeting(
            s,
            actor,
            body=MeetingCreate.model_validate(
                booking(org, room_id=rooms.small, start="2026-12-10T09:00:00+08:00", end="2026-12-10T10:00:00+08:00")
            ),
        )
        mid = one.meeting.id
    start = dt.datetime(2026, 12, 10, 1, 30, tzinfo=dt.UTC)  # 09:30 local: overlaps
    with pytest.raises(IntegrityError), Session(org.db.engine) as s:
        s.add(_occurrence(mid, rooms.small, start))  # type: ignore[arg-type]
        s.commit()
    with Session(org.db.engine) as s:  # a cancelled row, another room, or an adjacent slot is fine
        s.add(
            MeetingOccurrence(
                meeting_id=mid,
                room_id=rooms.small,
                original_start=start,
                start_at=start,  # type: ignore[arg-type]
                end_at=start + dt.timedelta(hours=1),
                status=OccurrenceStatus.cancelled,
            )
        )
        s.add(_occurrence(mid, rooms.large, start + dt.timedelta(minutes=1)))  # type: ignore[arg-type]
        s.add(_occurrence(mid, rooms.small, dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC)))  # type: ignore[arg-type]
        s.commit()
    # Moving a row onto another is refused too (the UPDATE path).
    with pytest.raises(IntegrityError), Session(org.db.engine) as s:
        row = s.exec(select(MeetingOccurrence).where(MeetingOccurrence.room_id == rooms.large)).one()
        row.room_id = rooms.small
        s.add(row)
        s.commit()


def test_two_raw_transactions_racing_without_any_lock(org: Org) -> None:
    """Two connections insert overlapping rows at once, neither using the service nor the writer
    lock: the database lets exactly one commit."""
    rooms = make_rooms(org)
    with org.db.write() as s:
        m = Meeting(
            uid="race@test",
            organizer_id=org.users["gertrude"],
            title="race",
            start_at=dt.datetime(2026, 12, 11, 1, tzinfo=dt.UTC),
            end_at=dt.datetime(2026, 12, 11, 2, tzinfo=dt.UTC),
        )
        s.add(m)
        s.flush()
        mid = m.id
    barrier = threading.Barrier(2)

    def attempt(i: int) -> str:
        start = dt.datetime(2026, 12, 11, 1, 10 * i, tzinfo=dt.UTC)
        try:
            with Session(org.db.engine) as s:
                barrier.wait()
                s.add(_occurrence(mid, rooms.small, start))  # type: ignore[arg-type]
                s.commit()
            return "ok"
        except IntegrityError:
            return "refused"
        except Exception as exc:  # SQLite: the loser may see "database is locked" after the busy timeout
            return f"error:{type(exc).__name__}"

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, range(2)))
    assert results.count("ok") == 1, results
    assert _active_in_room(org, rooms.small) == 1
