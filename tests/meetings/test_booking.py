"""Booking through HTTP: conflicts, approval, cancellation, bad input (each refused, nothing stored)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from meetings.models import Meeting, MeetingOccurrence
from office.models import AuditEntry
from tests.factories import Org, login, settings_changed
from tests.meetings.conftest import Rooms, booking, of_type


def _count(org: Org) -> tuple[int, int]:
    with org.db.read() as s:
        return (
            s.exec(select(func.count()).select_from(Meeting)).one(),
            s.exec(select(func.count()).select_from(MeetingOccurrence)).one(),
        )


def test_book_room_and_second_booking_of_same_slot_is_refused(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    login(client, "gertrude")
    r = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small))
    assert r.status_code == 201, r.text
    meeting = r.json()["meeting"]
    assert meeting["status"] == "confirmed" and meeting["room"]["name"] == "第一会议室"
    created = of_type(captured, "meeting.created")
    assert len(created) == 1
    assert set(created[0].payload["member_ids"]) == {org.users["gertrude"], org.users["hamlet"], org.users["ophelia"]}
    invite = of_type(captured, "notify.meeting")[0]
    assert invite.payload["user_ids"] == sorted([org.users["hamlet"], org.users["ophelia"]])
    assert set(invite.payload) >= {"user_ids", "title", "body", "link", "source"}

    # Overlapping by 30 minutes, partially: refused with the time named; nothing stored.
    before = _count(org)
    r = client.post(
        "/api/meetings",
        json=booking(org, room_id=rooms_a.small, start="2026-12-07T10:00:00+08:00", end="2026-12-07T11:00:00+08:00"),
    )
    assert r.status_code == 409 and r.json()["error"] == "room_conflict"
    assert "09:00" in r.json()["message"] or "10:00" in r.json()["message"]
    assert _count(org) == before
    # Back to back is fine.
    r = client.post(
        "/api/meetings",
        json=booking(org, room_id=rooms_a.small, start="2026-12-07T10:30:00+08:00", end="2026-12-07T11:00:00+08:00"),
    )
    assert r.status_code == 201
    # The same people are now reported busy (not refused) for another room at that time.
    r = client.post(
        "/api/meetings",
        json=booking(
            org, start="2026-12-07T09:30:00+08:00", end="2026-12-07T10:00:00+08:00", online_url="https://meet.example/x"
        ),
    )
    assert r.status_code == 201
    assert {c["name"] for c in r.json()["attendee_conflicts"]} == {"张伟", "李娜"}


def test_cancel_releases_the_room_and_notifies(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    login(client, "gertrude")
    mid = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small)).json()["meeting"]["id"]
    login(client, "hamlet")
    assert client.post(f"/api/meetings/{mid}/cancel", json={}).status_code == 403  # attendee, not organiser
    login(client, "gertrude")
    r = client.post(f"/api/meetings/{mid}/cancel", json={"reason": "领导另有安排"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    cancel = [e for e in of_type(captured, "notify.meeting") if e.payload["title"].startswith("会议取消")]
    assert cancel and "领导另有安排" in cancel[0].payload["body"]
    assert client.post("/api/meetings", json=booking(org, room_id=rooms_a.small)).status_code == 201
    assert client.post(f"/api/meetings/{mid}/cancel", json={}).status_code == 409


def test_large_room_needs_approval_before_it_holds(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    login(client, "gertrude")
    r = client.post("/api/meetings", json=booking(org, room_id=rooms_a.large))
    meeting = r.json()["meeting"]
    assert meeting["status"] == "pending"
    assert not of_type(captured, "meeting.created")  # no invitations before approval
    ask = of_type(captured, "notify.meeting")[-1]
    assert ask.payload["user_ids"] == [org.users["laertes"]]
    # Pending bookings hold the slot tentatively: a second request is refused.
    assert client.post("/api/meetings", json=booking(org, room_id=rooms_a.large)).status_code == 409
    assert client.post(f"/api/meetings/{meeting['id']}/approval", json={"approve": True}).status_code == 403
    login(client, "laertes")
    assert [a["meeting_id"] for a in client.get("/api/meetings/approvals").json()["items"]] == [meeting["id"]]
    r = client.post(f"/api/meetings/{meeting['id']}/approval", json={"approve": False})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    r = client.post(f"/api/meetings/{meeting['id']}/approval", json={"approve": True, "comment": "同意"})
    assert r.json()["status"] == "confirmed"
    assert len(of_type(captured, "meeting.created")) == 1
    assert client.post(f"/api/meetings/{meeting['id']}/approval", json={"approve": True}).status_code == 409


def test_rejection_releases_the_room(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    mid = client.post("/api/meetings", json=booking(org, room_id=rooms_a.large)).json()["meeting"]["id"]
    login(client, "laertes")
    r = client.post(f"/api/meetings/{mid}/approval", json={"approve": False, "comment": "当天有接待任务"})
    assert r.json()["status"] == "rejected"
    login(client, "gertrude")
    assert client.post("/api/meetings", json=booking(org, room_id=rooms_a.large)).status_code == 201


def test_maintenance_block(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "hamlet")
    block = {"start": "2026-12-07T08:00:00+08:00", "end": "2026-12-07T12:00:00+08:00", "reason": "更换投影仪"}
    assert client.post(f"/api/meetings/rooms/{rooms_a.small}/blocks", json=block).status_code == 403
    login(client, "prospero")
    r = client.post(f"/api/meetings/rooms/{rooms_a.small}/blocks", json=block)
    assert r.status_code == 201
    login(client, "gertrude")
    r = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small))
    assert r.status_code == 409 and "维护" in r.json()["message"]
    rooms = client.get(
        "/api/meetings/rooms", params={"start": "2026-12-07T01:00:00Z", "end": "2026-12-07T02:00:00Z"}
    ).json()["items"]
    by_name = {x["name"]: x for x in rooms}
    assert by_name["第一会议室"]["free"] is False and by_name["第一会议室"]["busy"][0]["kind"] == "blocked"
    assert by_name["大会议室"]["free"] is True
    assert "财政厅会议室" not in by_name  # other agencies' rooms are not offered


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"end": "2026-12-07T08:00:00+08:00"}, "end_before_start"),
        ({"end": "2026-12-07T09:00:00+08:00"}, "end_before_start"),
        ({"end": "2026-12-07T09:03:00+08:00"}, "too_short"),
        ({"end": "2026-12-14T09:00:00+08:00"}, "too_long"),
        ({"start": "2026-12-07T09:00:00"}, "invalid_field"),
        ({"start": "明天上午"}, "invalid_field"),
        ({"start": "2026-12-07T06:00:00+08:00", "end": "2026-12-07T07:30:00+08:00"}, "outside_open_hours"),
        ({"start": "2026-12-07T19:30:00+08:00", "end": "2026-12-07T20:30:00+08:00"}, "outside_open_hours"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=MO"}, "unbounded_rrule"),
        ({"rrule": "FREQ=WEEKLY;COUNT=5;UNTIL=20270101"}, "bad_rrule"),
        ({"rrule": "FREQ=SECONDLY;COUNT=5"}, "bad_rrule"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX;COUNT=3"}, "bad_rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=9999"}, "bad_rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=500"}, "too_many_occurrences"),
        ({"rrule": "FREQ=DAILY;UNTIL=20301231"}, "too_many_occurrences"),
        ({"rrule": "FREQ=WEEKLY;UNTIL=20261201"}, "empty_rrule"),
        ({"tz": "Mars/Olympus"}, "bad_timezone"),
        ({"people": tuple(f"x{i}" for i in range(0))}, None),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    client: TestClient, org: Org, rooms_a: Rooms, change: dict[str, Any], code: str | None
) -> None:
    login(client, "gertrude")
    people = change.pop("people", ("hamlet", "ophelia"))
    before = _count(org)
    r = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small, people=people) | change)
    if code is None:  # control case: the same request otherwise succeeds
        assert r.status_code == 201
        return
    assert r.status_code in (409, 422), r.text
    assert r.json()["error"] == code and r.json()["message"]
    assert _count(org) == before


def test_over_capacity_and_other_agencies_rooms(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    everyone = [{"department_id": org.depts["A1"]}, {"department_id": org.depts["A2"]}]
    r = client.post(
        "/api/meetings",
        json=booking(org, room_id=rooms_a.small)
        | {"departments": everyone, "agencies": [{"agency_id": org.agencies["B"], "quota": 5}]},
    )
    assert r.status_code == 422 and r.json()["error"] == "over_capacity"
    assert "超过" in r.json()["message"]
    r = client.post("/api/meetings", json=booking(org, room_id=rooms_a.other_agency))
    missing = client.post("/api/meetings", json=booking(org, room_id=999_999))  # as a room that does not exist
    assert r.status_code == missing.status_code == 404
    assert r.json() | {"request_id": ""} == missing.json() | {"request_id": ""}
    assert _count(org) == (0, 0)


def test_update_moves_the_meeting_and_rechecks_the_room(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    login(client, "gertrude")
    first = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small)).json()["meeting"]
    second = client.post(
        "/api/meetings",
        json=booking(org, room_id=rooms_a.small, start="2026-12-07T14:00:00+08:00", end="2026-12-07T15:00:00+08:00"),
    ).json()["meeting"]
    r = client.patch(
        f"/api/meetings/{second['id']}", json={"start": "2026-12-07T10:00:00+08:00", "end": "2026-12-07T11:00:00+08:00"}
    )
    assert r.status_code == 409
    r = client.patch(
        f"/api/meetings/{second['id']}",
        json={"start": "2026-12-07T10:30:00+08:00", "end": "2026-12-07T11:30:00+08:00", "title": "处务会（调整）"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["meeting"]["sequence"] == 1 and r.json()["meeting"]["title"] == "处务会（调整）"
    assert any(e.payload["title"].startswith("会议变更") for e in of_type(captured, "notify.meeting"))
    # Moving the first meeting within its own slot is not a conflict with itself.
    r = client.patch(f"/api/meetings/{first['id']}", json={"end": "2026-12-07T10:15:00+08:00"})
    assert r.status_code == 200


def test_time_that_has_passed_cannot_be_booked_unless_entering_a_meeting_held(client: TestClient, org: Org) -> None:
    """A new meeting, or one moved, may not start in time that has passed (five minutes' grace for the
    form); OFFICE_MEETING_BACKDATE_HOURS lets a held meeting be entered for its minutes."""
    login(client, "gertrude")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at = lambda delta: {"start": (now + delta).isoformat(), "end": (now + delta + dt.timedelta(hours=1)).isoformat()}  # noqa: E731
    online = {"online_url": "https://meet.example/x"}
    with settings_changed(org.db, meeting_backdate_hours=0):
        before = _count(org)
        r = client.post("/api/meetings", json=booking(org, **at(-dt.timedelta(hours=1)), **online))
        assert r.status_code == 422, r.text
        assert (r.json()["error"], r.json()["message"]) == ("start_in_past", "开始时间已经过去，不能预约过去的时间")
        assert _count(org) == before
        r = client.post("/api/meetings", json=booking(org, **at(-dt.timedelta(minutes=3)), **online))
        assert r.status_code == 201, r.text  # the current five minutes: a form filled in slowly
        r = client.post("/api/meetings", json=booking(org, **at(dt.timedelta(days=1)), **online))
        assert r.status_code == 201, r.text
        mid, start = r.json()["meeting"]["id"], r.json()["meeting"]["start"]
        moved = {"scope": "this", "occurrence_start": start, **at(-dt.timedelta(days=1))}
        r = client.patch(f"/api/meetings/{mid}", json=moved)
        assert r.status_code == 422 and r.json()["error"] == "start_in_past"
        assert client.get(f"/api/meetings/{mid}").json()["start"] == start  # not moved
    with settings_changed(org.db, meeting_backdate_hours=48):
        r = client.post("/api/meetings", json=booking(org, **at(-dt.timedelta(hours=20)), **online))
        assert r.status_code == 201, r.text


def test_a_repeated_booking_with_its_client_id_answers_the_first_booking(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    """The answer to a booking was lost: trying again with the same key neither books twice nor is
    refused as a conflict with itself; it answers the first booking, notifying and auditing nothing."""
    login(client, "gertrude")
    body = booking(org, room_id=rooms_a.small, client_id="book-7f3a")
    first = client.post("/api/meetings", json=body)
    assert first.status_code == 201, first.text
    before, notices = _count(org), len(captured)
    with org.db.read() as s:
        audited = s.exec(select(func.count()).select_from(AuditEntry)).one()
    again = client.post("/api/meetings", json=body)
    assert again.status_code == 201, again.text
    assert again.json()["meeting"]["id"] == first.json()["meeting"]["id"]
    assert again.json()["meeting"]["room"]["name"] == "第一会议室"
    assert _count(org) == before and len(captured) == notices
    with org.db.read() as s:
        assert s.exec(select(func.count()).select_from(AuditEntry)).one() == audited
    # Another key for the same slot is a new booking: refused as the room is taken.
    r = client.post("/api/meetings", json={**body, "client_id": "book-other"})
    assert r.status_code == 409 and r.json()["error"] == "room_conflict"
    # The key is the organiser's own: another organiser's same key books anew (the small room is
    # taken, so without one).
    login(client, "hamlet")
    r = client.post("/api/meetings", json={**booking(org), "client_id": "book-7f3a"})
    assert r.status_code == 201 and r.json()["meeting"]["id"] != first.json()["meeting"]["id"]
    r = client.post("/api/meetings", json={**booking(org), "client_id": "x" * 65})
    assert r.status_code == 422
