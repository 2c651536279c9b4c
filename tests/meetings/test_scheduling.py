"""Free/busy, the booking form's live check, the slot finder, and the working calendar data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from office.cli import main as cli
from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking


def _book(
    client: TestClient, org: Org, start: str, end: str, people: tuple[str, ...], room: int | None = None, **extra: Any
) -> None:
    r = client.post("/api/meetings", json=booking(org, start=start, end=end, people=people, room_id=room) | extra)
    assert r.status_code == 201, r.text


def test_free_busy_for_people_and_rooms(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    _book(client, org, "2026-12-07T09:00:00+08:00", "2026-12-07T10:00:00+08:00", ("hamlet",), rooms_a.small)
    _book(client, org, "2026-12-07T14:00:00+08:00", "2026-12-07T15:00:00+08:00", ("hamlet", "ophelia"), rooms_a.large)
    login(client, "ophelia")
    mid = client.get(
        "/api/meetings", params={"start": "2026-12-07T00:00:00+08:00", "end": "2026-12-08T00:00:00+08:00"}
    ).json()["items"]
    assert [m["title"] for m in mid] == ["处务会"] and mid[0]["status"] == "pending"
    r = client.get(
        "/api/meetings/freebusy",
        params={
            "user_ids": f"{org.users['hamlet']},{org.users['ophelia']},{org.users['horatio']}",
            "room_ids": f"{rooms_a.small},{rooms_a.large},{rooms_a.other_agency}",
            "start": "2026-12-07T00:00:00+08:00",
            "end": "2026-12-08T00:00:00+08:00",
        },
    )
    body = r.json()
    hamlet = body["users"][str(org.users["hamlet"])]
    assert [(b["start"], b["kind"]) for b in hamlet] == [
        ("2026-12-07T01:00:00Z", "busy"),
        ("2026-12-07T06:00:00Z", "tentative"),
    ]
    assert body["users"][str(org.users["horatio"])] == []
    assert "title" not in hamlet[0]  # free/busy never reveals what the meeting is
    assert set(body["rooms"]) == {str(rooms_a.small), str(rooms_a.large)}  # not agency B's room
    r = client.get("/api/meetings/freebusy", params={"start": "2026-12-07T00:00:00", "end": "2026-12-08T00:00:00Z"})
    assert r.status_code == 422


def test_draft_check_shows_busy_people_and_free_rooms(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    _book(client, org, "2026-12-07T09:00:00+08:00", "2026-12-07T10:00:00+08:00", ("hamlet",), rooms_a.small)
    r = client.post(
        "/api/meetings/check",
        json={
            "start": "2026-12-07T09:30:00+08:00",
            "end": "2026-12-07T10:30:00+08:00",
            "attendees": [{"user_id": org.users["hamlet"]}, {"user_id": org.users["ophelia"]}],
        },
    )
    body = r.json()
    assert [c["name"] for c in body["attendee_conflicts"]] == ["张伟"]
    rooms = {x["name"]: x for x in body["rooms"]}
    assert rooms["第一会议室"]["free"] is False and rooms["第一会议室"]["reason"] == "已被预约"
    assert rooms["大会议室"]["free"] is True and rooms["大会议室"]["approval_required"] is True


def test_slot_finder_skips_busy_people_holidays_and_uses_adjusted_workdays(
    client: TestClient, org: Org, rooms_a: Rooms
) -> None:
    login(client, "gertrude")
    online = {"online_url": "https://meet.example/room"}
    # Hamlet is busy all of Thursday 12 Feb and Friday 13 Feb 2026 (working hours).
    for day in ("12", "13"):
        _book(client, org, f"2026-02-{day}T08:30:00+08:00", f"2026-02-{day}T12:00:00+08:00", ("hamlet",), **online)
        _book(client, org, f"2026-02-{day}T14:00:00+08:00", f"2026-02-{day}T17:30:00+08:00", ("hamlet",), **online)
    # Ophelia is busy first thing on Saturday 14 Feb, a working day (春节调休).
    _book(client, org, "2026-02-14T08:30:00+08:00", "2026-02-14T09:00:00+08:00", ("ophelia",), **online)
    # Someone else holds the small room on Saturday morning.
    _book(client, org, "2026-02-14T08:00:00+08:00", "2026-02-14T12:00:00+08:00", ("horatio",), rooms_a.small)
    query = {
        "user_ids": [org.users["hamlet"], org.users["ophelia"]],
        "duration_minutes": 60,
        "window_start": "2026-02-12T00:00:00+08:00",
        "window_end": "2026-02-27T00:00:00+08:00",
        "limit": 3,
    }
    r = client.post("/api/meetings/slots", json=query)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["local_start"] for i in items] == [
        "2026-02-14T09:00:00+08:00",
        "2026-02-14T09:15:00+08:00",
        "2026-02-14T09:30:00+08:00",
    ]
    assert [x["name"] for x in items[0]["rooms"]] == ["大会议室"]
    # Saturday taken too: the next working day after the Spring Festival holiday (15–23 Feb).
    _book(client, org, "2026-02-14T09:00:00+08:00", "2026-02-14T17:30:00+08:00", ("ophelia",), **online)
    items = client.post("/api/meetings/slots", json=query | {"need_room": False}).json()["items"]
    assert items[0]["local_start"] == "2026-02-24T08:30:00+08:00" and items[0]["rooms"] == []
    # Whole departments count; a room with equipment nobody has is refused clearly.
    r = client.post(
        "/api/meetings/slots", json=query | {"department_ids": [org.depts["A2"]], "equipment": ["同声传译"]}
    )
    assert r.status_code == 422 and r.json()["error"] == "no_suitable_room"
    r = client.post("/api/meetings/slots", json=query | {"window_end": "2026-06-01T00:00:00+08:00"})
    assert r.status_code == 422


def test_another_agencys_time_reads_as_a_missing_ids(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    """Free/busy and the slot finder read the organiser's own agency's time only: another agency's
    person answers as a missing id (free), its department as a missing one (no members); that
    agency is planned with through its 会议通知. His own agency still sees him busy."""
    login(client, "iago")
    online = {"online_url": "https://meet.example/room"}
    _book(client, org, "2026-12-07T09:00:00+08:00", "2026-12-07T10:00:00+08:00", ("othello",), **online)
    othello, missing = org.users["othello"], 999_999
    day = {"start": "2026-12-07T00:00:00+08:00", "end": "2026-12-08T00:00:00+08:00", "user_ids": f"{othello},{missing}"}
    assert client.get("/api/meetings/freebusy", params=day).json()["users"][str(othello)] != []
    login(client, "gertrude")
    users = client.get("/api/meetings/freebusy", params=day).json()["users"]
    assert users[str(othello)] == users[str(missing)] == []
    query = {
        "duration_minutes": 60,
        "window_start": "2026-12-07T09:00:00+08:00",
        "window_end": "2026-12-08T00:00:00+08:00",
        "need_room": False,
        "limit": 1,
    }
    for field, other in (("user_ids", othello), ("department_ids", org.depts["B1"])):
        as_missing = client.post("/api/meetings/slots", json=query | {field: [missing]}).json()
        assert as_missing["items"][0]["local_start"] == "2026-12-07T09:00:00+08:00"
        assert client.post("/api/meetings/slots", json=query | {field: [other]}).json() == as_missing, field


def test_working_calendar_ships_2026_and_admins_load_other_years(client: TestClient, org: Org, tmp_path: Path) -> None:
    login(client, "hamlet")
    days = client.get("/api/meetings/calendar/2026").json()["days"]
    assert {d["date"] for d in days if d["kind"] == "workday"} == {
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    }
    assert sum(d["kind"] == "holiday" for d in days) == 33
    year = {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    assert client.put("/api/meetings/calendar/2027", json=year).status_code == 403
    login(client, "prospero")
    for bad in (
        {"days": [{"date": "2026-01-01", "kind": "holiday"}]},
        {"days": [{"date": "2027-01-04", "kind": "workday"}]},  # a Monday is a working day anyway
        {"days": [{"date": "2027-02-30", "kind": "holiday"}]},
    ):
        r = client.put("/api/meetings/calendar/2027", json=bad)
        assert r.status_code == 422 and r.json()["error"] == "bad_calendar_day"
    assert client.get("/api/meetings/calendar/2027").json()["days"] == []
    assert client.put("/api/meetings/calendar/2027", json=year).json() == {"year": 2027, "loaded": 1}
    assert len(client.get("/api/meetings/calendar/2027").json()["days"]) == 1


def test_cli_loads_a_year_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "2027.json"
    path.write_text(
        json.dumps(
            {
                "year": 2027,
                "days": [
                    {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
                    {"date": "2027-02-06", "kind": "workday", "name": "调休"},
                ],
            }
        ),
        encoding="utf-8",
    )
    data = str(tmp_path / "data")
    assert cli(["meetings", "holidays", "load", "--file", str(path), "--data", data]) == 0
    assert "放假 1 天，调休上班 1 天" in capsys.readouterr().out
    assert cli(["meetings", "holidays", "show", "--year", "2027", "--data", data]) == 0
    assert "2027-02-06  上班  调休" in capsys.readouterr().out
    assert cli(["meetings", "holidays", "load", "--year", "2026", "--data", data]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert cli(["meetings", "holidays", "load", "--file", str(bad), "--data", data]) == 2
