"""Meetings fixtures: rooms of agency A (small, large needing 秘书处's approval, one of agency B)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from meetings import rooms, signin
from meetings.models import Meeting
from office.actor import SYSTEM
from office.config import Settings
from office.db import utcnow
from tests.factories import Org, login

HELD = 24 * 366 * 3  # hours


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    """These tests book on fixed days of 2026, the year whose holidays and 调休 the working calendar
    knows, and most of those days have passed: they enter meetings already held, as
    ``OFFICE_MEETING_BACKDATE_HOURS`` allows (``test_booking`` checks the refusal with it at 0)."""
    yield replace(settings, meeting_backdate_hours=HELD)


@dataclass
class Rooms:
    small: int
    large: int
    other_agency: int


def make_rooms(org: Org) -> Rooms:
    with org.db.write() as s:
        small = rooms.create_room(
            s,
            SYSTEM,
            name="第一会议室",
            location="三楼 301",
            capacity=12,
            equipment=["投影"],
            open_from="08:00",
            open_to="20:00",
            approval_required=False,
            approver_ids=[],
            agency_id=org.agencies["A"],
        )
        large = rooms.create_room(
            s,
            SYSTEM,
            name="大会议室",
            location="一楼",
            capacity=80,
            equipment=["投影", "视频会议"],
            open_from="08:00",
            open_to="22:00",
            approval_required=True,
            approver_ids=[org.users["laertes"]],
            agency_id=org.agencies["A"],
        )
        other = rooms.create_room(
            s,
            SYSTEM,
            name="财政厅会议室",
            location="",
            capacity=20,
            equipment=[],
            open_from="08:00",
            open_to="20:00",
            approval_required=False,
            approver_ids=[],
            agency_id=org.agencies["B"],
        )
        return Rooms(small.id, large.id, other.id)  # type: ignore[arg-type]


@pytest.fixture
def rooms_a(org: Org) -> Rooms:
    return make_rooms(org)


def clerk(client: TestClient) -> TestClient:
    login(client, "gertrude")
    return client


def booking(
    org: Org,
    *,
    start: str = "2026-12-07T09:00:00+08:00",
    end: str = "2026-12-07T10:30:00+08:00",
    room_id: int | None = None,
    people: tuple[str, ...] = ("hamlet", "ophelia"),
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "处务会",
        "start": start,
        "end": end,
        "attendees": [{"user_id": org.users[p]} for p in people],
    }
    if room_id is not None:
        body["room_id"] = room_id
    body.update(extra)
    return body


def screen_code(org: Org, meeting_id: int, at: dt.datetime | None = None) -> str:
    """The code the room screen shows at ``at`` (now): what an attendee in the room types to sign in."""
    with org.db.read() as s:
        meeting = s.get(Meeting, meeting_id)
        assert meeting is not None
        return signin.code_at(meeting, at or utcnow())


@pytest.fixture
def captured() -> Any:
    """A recording subscriber: every event committed during the test, in order."""
    from office import events

    seen: list[events.Event] = []

    def record(_db: Any, ev: events.Event) -> None:
        seen.append(ev)

    events.subscribe("", record)
    yield seen
    events.unsubscribe(record)


def of_type(seen: list[Any], type_: str) -> list[Any]:
    return [e for e in seen if e.type == type_]
