"""Meetings benchmark: room conflict checks and free/busy with 100,000 meetings on the books (quick:
10,000), and the slot finder for 50 attendees over two weeks. Targets: < 10 ms and < 200 ms.

The slot finder runs twice: for 50 of the booked users (never all free at once, so it reads their
busy time and walks the fortnight) and for 50 people with empty diaries while every room is full
in working hours (so it also reads every room's bookings for each working day: its worst case).

Runs on a fresh SQLite database in a temporary folder, migrated like production (so the room
guard trigger is in place while the books are filled).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

SH = ZoneInfo("Asia/Shanghai")
ROOMS = 50
USERS = 500
FREE_USERS = 50  # invited to nothing
PER_MEETING = 4
SLOTS_PER_DAY = ((8, 30), (9, 30), (10, 30), (14, 0), (15, 0), (16, 0))


def _timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time in milliseconds."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def _setup(folder: Path, meetings: int) -> tuple[Any, list[int], list[int], dt.date]:
    from meetings import rooms as room_service
    from meetings.busy import rebuild_all as rebuild_busy
    from meetings.models import Meeting, MeetingAttendee, MeetingOccurrence
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database
    from office.directory import service as directory
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import DeptKind, Role
    from office.secrets_box import hash_password
    from office.workcal import seed_shipped

    db = Database(load_settings({}, data_dir=folder, testing=True))
    upgrade(db)
    pw = hash_password(db.settings, "bench-password-123456")
    with db.write() as s:
        seed_shipped(s, SYSTEM)
        agency = directory.create_department(s, SYSTEM, name="基准机关", kind=DeptKind.agency)
        dept_id = directory.create_department(s, SYSTEM, name="基准处", parent_id=agency.id).id
        assert dept_id is not None  # flushed: the id is set
        users = [
            directory.create_user(
                s,
                SYSTEM,
                username=f"u{i:04d}",
                name=f"用户{i}",
                password="x",
                posts=[PostSpec(department_id=dept_id, title="科员")],
                roles={Role.staff},
                check_password=False,
                password_hash=pw,
            ).id
            for i in range(USERS + FREE_USERS)
        ]
        room_ids = [
            room_service.create_room(
                s,
                SYSTEM,
                name=f"会议室{i}",
                location="",
                capacity=100,
                equipment=[],
                open_from="08:00",
                open_to="20:00",
                approval_required=False,
                approver_ids=[],
                agency_id=agency.id,
            ).id
            for i in range(ROOMS)
        ]
    rng = random.Random(7)
    first_day = dt.date(2026, 1, 5)
    per_room = -(-meetings // ROOMS)
    rows_m, rows_o, rows_a = [], [], []
    mid = 0
    for room in room_ids:
        for k in range(per_room):
            if mid >= meetings:
                break
            mid += 1
            day = first_day + dt.timedelta(days=k // len(SLOTS_PER_DAY))
            h, m = SLOTS_PER_DAY[k % len(SLOTS_PER_DAY)]
            start = dt.datetime.combine(day, dt.time(h, m), tzinfo=SH).astimezone(dt.UTC)
            end = start + dt.timedelta(minutes=55)
            rows_m.append(
                {
                    "id": mid,
                    "uid": f"{uuid.uuid4()}@bench",
                    "organizer_id": users[0],
                    "title": f"会议{mid}",
                    "start_at": start,
                    "end_at": end,
                    "agency_id": agency.id,
                    "room_id": room,
                }
            )
            rows_o.append(
                {"meeting_id": mid, "original_start": start, "start_at": start, "end_at": end, "room_id": room}
            )
            for uid in rng.sample(users[:USERS], PER_MEETING):
                rows_a.append({"meeting_id": mid, "user_id": uid})
    with db.write() as s:
        for table, rows in ((Meeting, rows_m), (MeetingOccurrence, rows_o), (MeetingAttendee, rows_a)):
            for i in range(0, len(rows), 5000):
                s.execute(insert(table), [_defaults(table, r) for r in rows[i : i + 5000]])
        # The rows went in around the service, so derive the busy table as the migration does.
        rebuild_busy(s.connection())
    # Flushed rows: every id is set.
    return db, [u for u in users if u is not None], [r for r in room_ids if r is not None], first_day


def _defaults(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    from meetings.models import Meeting, MeetingAttendee, MeetingOccurrence

    if table is Meeting:
        return {
            "sequence": 0,
            "description": "",
            "tz": "Asia/Shanghai",
            "online_url": "",
            "status": "confirmed",
            "rrule": "",
            "skip_holidays": True,
            "reminders": [15],
            "remind_evening_before": True,
            "signin_secret": "",
            "approval_comment": "",
            "created_at": row["start_at"],
            "updated_at": row["start_at"],
            **row,
        }
    if table is MeetingOccurrence:
        return {"status": "active", "moved": False, **row}
    if table is MeetingAttendee:
        return {"role": "required", "rsvp": "needs_action", "reason": "", **row}
    return row


def run(quick: bool) -> list[dict[str, Any]]:
    from meetings.models import Room
    from meetings.scheduling import find_slots, room_conflicts, rooms_busy, users_busy

    n = 10_000 if quick else 100_000
    repeat = 50 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        db, users, room_ids, first_day = _setup(Path(tmp), n)
        setup_s = time.perf_counter() - t0
        rng = random.Random(11)
        span_days = n // ROOMS // len(SLOTS_PER_DAY)

        def moment() -> dt.datetime:
            day = first_day + dt.timedelta(days=rng.randrange(max(span_days, 1)))
            return dt.datetime.combine(day, dt.time(rng.randrange(8, 18), rng.choice((0, 15, 30, 45))), tzinfo=SH)

        out: list[dict[str, Any]] = [{"name": f"meetings.setup_{n}_meetings", "value": round(setup_s, 2), "unit": "s"}]
        with db.read() as s:

            def conflict() -> None:
                start = moment()
                room_conflicts(s, rng.choice(room_ids), [(start, start + dt.timedelta(hours=1))])

            def freebusy_people() -> None:
                start = moment().replace(hour=0, minute=0)
                users_busy(s, rng.sample(users[:USERS], 10), start, start + dt.timedelta(days=7))

            def freebusy_rooms() -> None:
                start = moment().replace(hour=0, minute=0)
                rooms_busy(s, rng.sample(room_ids, 10), start, start + dt.timedelta(days=7))

            rooms = list(s.exec(__import__("sqlmodel").select(Room)).all())

            def slots() -> None:
                start = moment().replace(hour=0, minute=0)
                find_slots(
                    s,
                    user_ids=rng.sample(users[:USERS], 50),
                    duration=dt.timedelta(hours=1),
                    window_start=start,
                    window_end=start + dt.timedelta(days=14),
                    rooms=rooms,
                    tz=SH,
                    limit=5,
                )

            def slots_rooms_full() -> None:
                day = first_day + dt.timedelta(days=rng.randrange(max(span_days - 15, 1)))  # inside the booked span
                start = dt.datetime.combine(day, dt.time(0), tzinfo=SH)
                found = find_slots(
                    s,
                    user_ids=users[USERS:],
                    duration=dt.timedelta(hours=1),
                    window_start=start,
                    window_end=start + dt.timedelta(days=14),
                    rooms=rooms,
                    tz=SH,
                    limit=5,
                )
                assert not found  # every room is taken in working hours: the search covers the fortnight

            out.append(
                {"name": f"meetings.room_conflict_check_{n}", "value": round(_timed(conflict, repeat), 3), "unit": "ms"}
            )
            out.append(
                {
                    "name": f"meetings.freebusy_10_people_week_{n}",
                    "value": round(_timed(freebusy_people, repeat), 3),
                    "unit": "ms",
                }
            )
            out.append(
                {
                    "name": f"meetings.freebusy_10_rooms_week_{n}",
                    "value": round(_timed(freebusy_rooms, repeat), 3),
                    "unit": "ms",
                }
            )
            out.append(
                {
                    "name": f"meetings.slot_finder_50_people_2_weeks_{n}",
                    "value": round(_timed(slots, max(repeat // 5, 5)), 3),
                    "unit": "ms",
                }
            )
            out.append(
                {
                    "name": f"meetings.slot_finder_50_free_people_full_rooms_{n}",
                    "value": round(_timed(slots_rooms_full, max(repeat // 5, 5)), 3),
                    "unit": "ms",
                }
            )
        db.dispose()
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--full" not in sys.argv), ensure_ascii=False, indent=2))
