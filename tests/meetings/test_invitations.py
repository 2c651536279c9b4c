"""RSVP, substitutes, cross-agency 会议通知 with live sign-up figures, and who may see what."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from meetings.models import Meeting, MeetingAttendee
from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking, of_type


def _meeting(client: TestClient, org: Org, rooms: Rooms, **extra: Any) -> int:
    login(client, "gertrude")
    r = client.post("/api/meetings", json=booking(org, room_id=rooms.small) | extra)
    assert r.status_code == 201, r.text
    return r.json()["meeting"]["id"]  # type: ignore[no-any-return]


def test_rsvp_states_and_reasons(client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]) -> None:
    mid = _meeting(client, org, rooms_a)
    login(client, "hamlet")
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined"})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "maybe"}).status_code == 422
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "tentative"}).json()["rsvp"] == "tentative"
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": "出差"})
    assert r.json() == {"meeting_id": mid, "rsvp": "declined", "reason": "出差"}
    login(client, "ophelia")
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"}).status_code == 200
    # Ophelia sees answers but not Hamlet's reason; the organiser sees it.
    seen = {a["name"]: a for a in client.get(f"/api/meetings/{mid}").json()["attendees"]}
    assert seen["张伟"]["rsvp"] == "declined" and seen["张伟"]["reason"] == ""
    login(client, "gertrude")
    seen = {a["name"]: a for a in client.get(f"/api/meetings/{mid}").json()["attendees"]}
    assert seen["张伟"]["reason"] == "出差" and seen["李娜"]["rsvp"] == "accepted"
    rsvp_events = [e for e in of_type(captured, "meeting.changed") if e.payload["op"] == "rsvp"]
    assert len(rsvp_events) == 3 and org.users["gertrude"] in rsvp_events[0].user_ids


def test_substitute_attends_in_ones_place(client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]) -> None:
    mid = _meeting(
        client,
        org,
        rooms_a,
        attendees=[{"user_id": org.users["polonius"], "role": "chair"}, {"user_id": org.users["hamlet"]}],
    )
    login(client, "polonius")
    for bad, code in (
        (org.users["polonius"], "bad_substitute"),
        (org.users["othello"], "bad_substitute"),
        (org.users["hamlet"], "already_invited"),
    ):
        r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "delegated", "substitute_id": bad})
        assert r.json().get("error") == code, (bad, r.text)
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "delegated", "substitute_id": org.users["yorick"]})
    assert r.status_code == 200
    note = of_type(captured, "notify.meeting")[-1]
    assert note.payload["user_ids"] == [org.users["yorick"]] and note.payload["title"].startswith("代参会")
    login(client, "yorick")
    page = client.get(f"/api/meetings/{mid}").json()
    assert page["me"]["role"] == "chair"
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"}).status_code == 200
    # Changing one's mind withdraws the substitute.
    login(client, "polonius")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"})
    login(client, "yorick")
    assert client.get(f"/api/meetings/{mid}").status_code == 404


def test_uninvited_people_see_nothing_and_cannot_answer(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    mid = _meeting(client, org, rooms_a)
    client.post(f"/api/meetings/{mid}/materials/links", json={"name": "方案", "url": "#/docs/1"})
    for who in ("horatio", "othello", "prospero"):  # other department, other agency, even the administrator
        login(client, who)
        for path in ("", "/agenda", "/materials", "/materials/1", "/minutes", ".ics", "/attendance"):
            assert client.get(f"/api/meetings/{mid}{path}").status_code == 404, (who, path)
        r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"})
        assert r.status_code == 404
        assert client.get("/api/meetings/999999").status_code == 404  # same answer as a missing meeting
    # The approver of a large room sees the booking, but neither answers nor opens materials.
    login(client, "gertrude")
    big = client.post("/api/meetings", json=booking(org, room_id=rooms_a.large)).json()["meeting"]["id"]
    login(client, "laertes")
    assert client.get(f"/api/meetings/{big}").status_code == 200
    assert client.get(f"/api/meetings/{big}/materials").status_code == 403
    r = client.post(f"/api/meetings/{big}/rsvp", json={"status": "accepted"})
    assert r.status_code == 403 and r.json()["error"] == "not_invited"


def test_cross_agency_notice_nominations_and_live_figures(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    mid = _meeting(
        client, org, rooms_a, agencies=[{"agency_id": org.agencies["B"], "quota": 2, "note": "请主要负责同志参加"}]
    )
    notice = [e for e in of_type(captured, "notify.meeting") if e.payload["title"].startswith("会议通知")]
    # Agency B has no 文书 clerk, so its department head answers.
    assert notice[0].payload["user_ids"] == [org.users["iago"]] and "名额 2 人" in notice[0].payload["body"]
    login(client, "othello")
    assert client.get(f"/api/meetings/{mid}").status_code == 404
    login(client, "iago")
    assert client.get(f"/api/meetings/{mid}").json()["me"]["agency_contact"] == [org.agencies["B"]]
    url = f"/api/meetings/{mid}/agencies/{org.agencies['B']}/nominees"
    assert client.post(url, json={"user_ids": [org.users["hamlet"]]}).json()["error"] == "not_in_agency"
    r = client.post(url, json={"user_ids": [org.users["othello"], org.users["desdemona"], org.users["iago"]]})
    assert r.json()["error"] == "over_quota"
    assert (
        client.post(
            f"/api/meetings/{mid}/agencies/{org.agencies['A']}/nominees", json={"user_ids": [org.users["hamlet"]]}
        ).status_code
        == 403
    )
    r = client.post(url, json={"user_ids": [org.users["othello"], org.users["desdemona"]]})
    assert r.status_code == 200
    assert r.json()["agencies"][0] | {} == r.json()["agencies"][0]
    figures = of_type(captured, "meeting.signup")[-1]
    assert figures.user_ids == (org.users["gertrude"],)
    assert figures.payload["agencies"][0]["named"] == 2 and figures.payload["agencies"][0]["needs_action"] == 2
    login(client, "othello")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"})
    login(client, "desdemona")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": "另有会议"})
    login(client, "gertrude")
    b = client.get(f"/api/meetings/{mid}/signups").json()["agencies"][0]
    assert (b["agency"], b["quota"], b["named"], b["accepted"], b["declined"], b["replied"]) == (
        "省财政厅",
        2,
        2,
        1,
        1,
        True,
    )
    assert of_type(captured, "meeting.signup")[-1].payload["agencies"][0]["declined"] == 1
    login(client, "hamlet")
    assert client.get(f"/api/meetings/{mid}/signups").status_code == 403


def test_add_and_remove_attendees_and_departments(
    client: TestClient, org: Org, rooms_a: Rooms, captured: list[Any]
) -> None:
    mid = _meeting(client, org, rooms_a, attendees=[])
    r = client.post(
        f"/api/meetings/{mid}/attendees", json={"departments": [{"department_id": org.depts["A2"], "role": "optional"}]}
    )
    assert sorted(r.json()["added"]) == sorted([org.users["horatio"], org.users["laertes"]])
    assert of_type(captured, "notify.meeting")[-1].payload["user_ids"] == sorted(r.json()["added"])
    assert client.delete(f"/api/meetings/{mid}/attendees/{org.users['horatio']}").status_code == 204
    assert of_type(captured, "notify.meeting")[-1].payload["user_ids"] == [org.users["horatio"]]
    assert client.delete(f"/api/meetings/{mid}/attendees/{org.users['horatio']}").status_code == 404
    login(client, "horatio")
    assert client.get(f"/api/meetings/{mid}").status_code == 404


MISSING = 999_999


def _refused_as_missing(
    client: TestClient, url: str, body: Callable[[int], dict[str, Any]], other: int, code: str
) -> None:
    """``body(other)`` answers as ``body(MISSING)`` does, status and body (the id named and the
    request's own id aside)."""
    r, missing = client.post(url, json=body(other)), client.post(url, json=body(MISSING))
    assert (missing.status_code, missing.json()["error"]) == (422, code), missing.text
    expected = json.loads(json.dumps(missing.json()).replace(str(MISSING), str(other))) | {"request_id": ""}
    assert r.status_code == 422 and r.json() | {"request_id": ""} == expected


def _stored(org: Org) -> tuple[int, int]:
    with org.db.read() as s:
        meetings = s.exec(select(func.count()).select_from(Meeting)).one()
        return meetings, s.exec(select(func.count()).select_from(MeetingAttendee)).one()


@pytest.mark.parametrize("route", ["book", "check", "add"])
def test_another_agencys_people_and_departments_answer_as_missing_ids(
    client: TestClient, org: Org, rooms_a: Rooms, route: str
) -> None:
    """Another agency is invited by a 会议通知 and names its own attendees (its contact's nominations):
    the organiser naming its people (a 科员, or the 厅长 the directory shows) or its department directly
    is refused as a missing id is, at booking, in the draft check and when adding attendees later."""
    mid = _meeting(client, org, rooms_a)
    before = _stored(org)
    url, base = {
        "book": ("/api/meetings", booking(org, people=())),
        "check": ("/api/meetings/check", {"start": "2026-12-07T09:00:00+08:00", "end": "2026-12-07T10:30:00+08:00"}),
        "add": (f"/api/meetings/{mid}/attendees", {}),
    }[route]
    for who in ("othello", "desdemona"):
        _refused_as_missing(
            client,
            url,
            lambda uid: base | {"attendees": [{"user_id": org.users["horatio"]}, {"user_id": uid}]},
            org.users[who],
            "bad_attendee",
        )
    _refused_as_missing(
        client,
        url,
        lambda did: base | {"departments": [{"department_id": org.depts["A2"]}, {"department_id": did}]},
        org.depts["B1"],
        "bad_department",
    )
    assert _stored(org) == before
    # The organiser's own agency's people and departments are named as before.
    r = client.post(url, json=base | {"departments": [{"department_id": org.depts["A2"]}]})
    assert r.status_code in (200, 201), r.text
