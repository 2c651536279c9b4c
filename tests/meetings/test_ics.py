"""Calendar files parsed with the icalendar library: one meeting, and the token-protected feed."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlmodel import select
from starlette.testclient import TestClient

from meetings.models import CalendarToken
from tests.factories import Org, login, new_client
from tests.meetings.conftest import Rooms, booking

SH = ZoneInfo("Asia/Shanghai")


def test_meeting_ics_has_attendees_organiser_timezone_and_alarms(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    body = booking(
        org,
        room_id=rooms_a.small,
        rrule="FREQ=WEEKLY;COUNT=3",
        reminders=[15, 60],
        attendees=[
            {"user_id": org.users["claudius"], "role": "chair"},
            {"user_id": org.users["hamlet"]},
            {"user_id": org.users["ophelia"], "role": "optional"},
        ],
    )
    mid = client.post("/api/meetings", json=body).json()["meeting"]["id"]
    login(client, "hamlet")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"})
    r = client.get(f"/api/meetings/{mid}.ics")
    assert r.headers["content-type"].startswith("text/calendar") and b"\r\n" in r.content
    cal = Calendar.from_ical(r.content)
    tz = cal.walk("VTIMEZONE")[0]
    assert str(tz["tzid"]) == "Asia/Shanghai"
    assert tz.walk("STANDARD")[0]["tzoffsetto"].td == dt.timedelta(hours=8)
    ev = cal.walk("VEVENT")[0]
    assert (
        ev["dtstart"].dt == dt.datetime(2026, 12, 7, 9, tzinfo=SH) and ev["dtstart"].params["TZID"] == "Asia/Shanghai"
    )
    assert ev["dtend"].dt == dt.datetime(2026, 12, 7, 10, 30, tzinfo=SH)
    assert str(ev["status"]) == "CONFIRMED" and "第一会议室" in str(ev["location"])
    assert ev["organizer"].params["CN"] == "孙丽"
    people = {a.params["CN"]: a.params for a in ev["attendee"]}
    assert people["赵刚"]["ROLE"] == "CHAIR" and people["李娜"]["ROLE"] == "OPT-PARTICIPANT"
    assert people["张伟"]["PARTSTAT"] == "ACCEPTED" and people["李娜"]["PARTSTAT"] == "NEEDS-ACTION"
    assert sorted(a["trigger"].dt for a in ev.walk("VALARM")) == [dt.timedelta(minutes=-60), dt.timedelta(minutes=-15)]
    assert ev["rrule"]["COUNT"] == [3]
    login(client, "horatio")
    assert client.get(f"/api/meetings/{mid}.ics").status_code == 404


def _feed_events(client: Any, url: str) -> list[Any]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return list(Calendar.from_ical(r.content).walk("VEVENT"))


def test_subscription_feed_is_protected_by_a_revocable_token(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    client.post("/api/meetings", json=booking(org, room_id=rooms_a.small, title="处务会"))
    client.post("/api/meetings", json=booking(org, room_id=rooms_a.large, title="大会", people=("ophelia",)))
    declined = client.post(
        "/api/meetings",
        json=booking(org, title="专题会", start="2026-12-08T09:00:00+08:00", end="2026-12-08T10:00:00+08:00"),
    ).json()["meeting"]["id"]
    login(client, "hamlet")
    client.post(f"/api/meetings/{declined}/rsvp", json={"status": "declined", "reason": "出差"})
    assert client.get("/api/meetings/feed").json() == {"active": False, "created_at": None}
    url = client.post("/api/meetings/feed").json()["url"]
    path = url.replace("http://testserver", "")
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    with org.db.read() as s:  # only the hash is kept
        row = s.exec(select(CalendarToken)).one()
        assert token not in row.token_hash and len(row.token_hash) == 64
    anonymous = new_client(client.app)
    events = _feed_events(anonymous, path)
    assert [str(e["summary"]) for e in events] == ["处务会"]  # not ophelia's meeting, not the declined one
    assert anonymous.get(path.replace(token, token[:-2] + "xx")).status_code == 404
    # Regenerating cuts off the old URL at once; revoking cuts off the new one.
    new_path = client.post("/api/meetings/feed").json()["url"].replace("http://testserver", "")
    assert anonymous.get(path).status_code == 404
    assert len(_feed_events(anonymous, new_path)) == 1
    assert client.delete("/api/meetings/feed").status_code == 204
    assert anonymous.get(new_path).status_code == 404
    assert client.delete("/api/meetings/feed").status_code == 404
