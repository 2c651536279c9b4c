"""Recurring meetings: RRULE edge cases (end of month, other viewing zones, holidays and 调休), moving
or skipping one occurrence, and "this and following"."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from meetings import recurrence
from office.errors import ValidationError
from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking

SH = ZoneInfo("Asia/Shanghai")


def _local(starts: list[dt.datetime], tz: ZoneInfo = SH) -> list[str]:
    return [s.astimezone(tz).strftime("%m-%d %H:%M") for s in starts]


def test_end_of_month_rules() -> None:
    start = dt.datetime(2026, 1, 31, 9, tzinfo=SH)
    rule = recurrence.normalise("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4", SH)
    # RFC 5545: months without a 31st are skipped, not clamped.
    assert _local(recurrence.expand(rule, start, SH)) == ["01-31 09:00", "03-31 09:00", "05-31 09:00", "07-31 09:00"]
    last = recurrence.normalise("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", SH)
    assert _local(recurrence.expand(last, start, SH)) == ["01-31 09:00", "02-28 09:00", "03-31 09:00"]
    # The last working weekday of the month.
    lastwd = recurrence.normalise("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", SH)
    assert _local(recurrence.expand(lastwd, dt.datetime(2026, 1, 30, 16, tzinfo=SH), SH)) == [
        "01-30 16:00",
        "02-27 16:00",
        "03-31 16:00",
    ]


def test_wall_time_is_kept_in_shanghai_while_viewers_elsewhere_see_their_dst() -> None:
    rule = recurrence.normalise("FREQ=WEEKLY;BYDAY=MO;COUNT=3", SH)
    starts = recurrence.expand(rule, dt.datetime(2026, 3, 2, 9, tzinfo=SH), SH)
    assert {s.astimezone(dt.UTC).hour for s in starts} == {1}  # 09:00 +08:00 every week
    # New York moves to summer time on 8 March 2026: the same meetings appear an hour later there.
    assert [s.astimezone(ZoneInfo("America/New_York")).strftime("%d %H:%M") for s in starts] == [
        "01 20:00",
        "08 21:00",
        "15 21:00",
    ]


def test_until_forms_are_normalised_to_utc() -> None:
    # A date UNTIL means "through that local day"; a floating time is local; both become UTC.
    assert recurrence.normalise("freq=weekly;until=20260330", SH) == "FREQ=WEEKLY;UNTIL=20260330T155959Z"
    assert recurrence.normalise("RRULE:FREQ=DAILY;UNTIL=20260302T090000", SH) == "FREQ=DAILY;UNTIL=20260302T010000Z"
    starts = recurrence.expand("FREQ=WEEKLY;UNTIL=20260330T155959Z", dt.datetime(2026, 3, 2, 9, tzinfo=SH), SH)
    assert len(starts) == 5  # 2, 9, 16, 23, 30 March
    for bad in (
        "FREQ=WEEKLY;BYHOUR=9;COUNT=2",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;COUNT=2;COUNT=3",
        "garbage",
        "FREQ=WEEKLY;UNTIL=2026-13-01",
        "FREQ=MONTHLY;BYMONTHDAY=40;COUNT=2",
    ):
        with pytest.raises(ValidationError):
            recurrence.normalise(bad, SH)


def _series(client: TestClient, org: Org, room: int, rule: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/meetings", json=booking(org, room_id=room, start=start, end=end, rrule=rule) | extra)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_weekly_meeting_skips_national_day_and_the_ics_says_so(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    out = _series(
        client,
        org,
        rooms_a.small,
        "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        "2026-09-28T09:00:00+08:00",
        "2026-09-28T10:00:00+08:00",
    )
    assert out["skipped"] == ["2026-10-05T01:00:00Z"]  # 国庆 holiday
    occ = out["meeting"]["occurrences"]
    assert [o["status"] for o in occ] == ["active", "cancelled", "active", "active"]
    # The skipped Monday does not hold the room.
    r = client.post(
        "/api/meetings",
        json=booking(org, room_id=rooms_a.small, start="2026-10-05T09:00:00+08:00", end="2026-10-05T10:00:00+08:00"),
    )
    assert r.status_code == 201
    cal = Calendar.from_ical(client.get(f"/api/meetings/{out['meeting']['id']}.ics").content)
    ev = next(e for e in cal.walk("VEVENT") if str(e["summary"]) == "处务会" and "RRULE" in e)
    assert ev["rrule"]["COUNT"] == [4] and ev["rrule"]["FREQ"] == ["WEEKLY"]
    exdates = [d.dt for d in ev["exdate"].dts]
    assert exdates == [dt.datetime(2026, 10, 5, 9, tzinfo=SH)]


def test_daily_meeting_follows_the_working_calendar(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    out = _series(
        client,
        org,
        rooms_a.small,
        "FREQ=DAILY;UNTIL=20260302",
        "2026-02-12T08:30:00+08:00",
        "2026-02-12T09:00:00+08:00",
        online_url="",
    )
    active = [o["start"][:10] for o in out["meeting"]["occurrences"] if o["status"] == "active"]
    # 14 and 28 Feb are Saturdays worked (调休); 15–23 Feb is the Spring Festival; other weekends skipped.
    assert active == [
        "2026-02-12",
        "2026-02-13",
        "2026-02-14",
        "2026-02-24",
        "2026-02-25",
        "2026-02-26",
        "2026-02-27",
        "2026-02-28",
        "2026-03-02",
    ]
    # Without skipping, every day counts.
    out = _series(
        client,
        org,
        rooms_a.large,
        "FREQ=DAILY;COUNT=3",
        "2026-02-14T08:30:00+08:00",
        "2026-02-14T09:00:00+08:00",
        skip_holidays=False,
    )
    assert [o["status"] for o in out["meeting"]["occurrences"]] == ["active"] * 3


def test_move_and_skip_one_occurrence(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    out = _series(
        client,
        org,
        rooms_a.small,
        "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
        "2026-12-01T09:00:00+08:00",
        "2026-12-01T10:00:00+08:00",
    )
    mid = out["meeting"]["id"]
    second = "2026-12-08T01:00:00Z"
    r = client.patch(
        f"/api/meetings/{mid}", json={"scope": "this", "occurrence_start": second, "start": "2026-12-09T14:00:00+08:00"}
    )
    assert r.status_code == 200, r.text
    occ = {o["original_start"]: o for o in r.json()["meeting"]["occurrences"]}
    assert occ[second]["start"] == "2026-12-09T06:00:00Z" and occ[second]["end"] == "2026-12-09T07:00:00Z"
    assert occ[second]["moved"] is True
    # The original Tuesday slot is free again; the new Wednesday slot is taken.
    assert (
        client.post(
            "/api/meetings",
            json=booking(
                org, room_id=rooms_a.small, start="2026-12-08T09:00:00+08:00", end="2026-12-08T10:00:00+08:00"
            ),
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/meetings",
            json=booking(
                org, room_id=rooms_a.small, start="2026-12-09T14:30:00+08:00", end="2026-12-09T15:00:00+08:00"
            ),
        ).status_code
        == 409
    )
    r = client.post(f"/api/meetings/{mid}/skip", json={"occurrence_start": "2026-12-15T01:00:00Z"})
    assert r.status_code == 200
    assert (
        client.post(f"/api/meetings/{mid}/skip", json={"occurrence_start": "2026-12-15T01:00:00Z"}).status_code == 409
    )
    assert (
        client.post(f"/api/meetings/{mid}/skip", json={"occurrence_start": "2026-12-16T01:00:00Z"}).status_code == 404
    )
    cal = Calendar.from_ical(client.get(f"/api/meetings/{mid}.ics").content)
    events = [e for e in cal.walk("VEVENT")]
    master = next(e for e in events if "RRULE" in e)
    moved = next(e for e in events if "RECURRENCE-ID" in e)
    assert str(moved["uid"]) == str(master["uid"])
    assert moved["recurrence-id"].dt == dt.datetime(2026, 12, 8, 9, tzinfo=SH)
    assert moved["dtstart"].dt == dt.datetime(2026, 12, 9, 14, tzinfo=SH)
    assert [d.dt for d in master["exdate"].dts] == [dt.datetime(2026, 12, 15, 9, tzinfo=SH)]
    assert int(master["sequence"]) == 2


def test_this_and_following_splits_the_series(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    out = _series(
        client,
        org,
        rooms_a.small,
        "FREQ=WEEKLY;BYDAY=MO;COUNT=6",
        "2026-11-02T09:00:00+08:00",
        "2026-11-02T10:00:00+08:00",
    )
    mid = out["meeting"]["id"]
    r = client.patch(
        f"/api/meetings/{mid}",
        json={
            "scope": "following",
            "occurrence_start": "2026-11-16T01:00:00Z",
            "start": "2026-11-16T15:00:00+08:00",
            "end": "2026-11-16T16:00:00+08:00",
            "title": "处务会（下午）",
        },
    )
    assert r.status_code == 200, r.text
    new = r.json()["meeting"]
    assert new["id"] != mid and new["series_parent_id"] == mid and new["rrule"] == "FREQ=WEEKLY;COUNT=4;BYDAY=MO"
    assert [o["start"] for o in new["occurrences"]] == [
        "2026-11-16T07:00:00Z",
        "2026-11-23T07:00:00Z",
        "2026-11-30T07:00:00Z",
        "2026-12-07T07:00:00Z",
    ]
    assert {a["user_id"] for a in new["attendees"]} == {org.users["hamlet"], org.users["ophelia"]}
    old = client.get(f"/api/meetings/{mid}").json()
    assert old["rrule"] == "FREQ=WEEKLY;UNTIL=20261116T005959Z;BYDAY=MO"
    assert [o["start"] for o in old["occurrences"]] == ["2026-11-02T01:00:00Z", "2026-11-09T01:00:00Z"]
    # The morning slots after the split are free again.
    assert (
        client.post(
            "/api/meetings",
            json=booking(
                org, room_id=rooms_a.small, start="2026-11-23T09:00:00+08:00", end="2026-11-23T10:00:00+08:00"
            ),
        ).status_code
        == 201
    )
    # The old series' own .ics ends where the new one begins.
    cal = Calendar.from_ical(client.get(f"/api/meetings/{mid}.ics").content)
    master = next(e for e in cal.walk("VEVENT"))
    assert master["rrule"]["UNTIL"] == [dt.datetime(2026, 11, 16, 0, 59, 59, tzinfo=dt.UTC)]
