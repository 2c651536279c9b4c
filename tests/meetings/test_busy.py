"""The materialised busy table follows every change: booking, moving or skipping one occurrence,
"this and following", rescheduling, cancelling, approval, RSVP, substitutes, attendees and
departments added later, nominations; and the migration backfills it from existing meetings.

After each step the stored rows must equal what attendees × occurrences say (``busy.expected``),
and free/busy through the API must show the change."""

from __future__ import annotations

from typing import Any

from alembic import command
from starlette.testclient import TestClient

from meetings import busy
from office.db import Database
from office.migrate import alembic_config
from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking

DAY = {"start": "2026-11-30T00:00:00+08:00", "end": "2026-12-28T00:00:00+08:00"}


def _consistent(db: Database) -> int:
    with db.read() as s:
        stored, expected = busy.stored(s), busy.expected(s)
    assert stored == expected
    return len(stored)


def _busy(client: TestClient, org: Org, *names: str, viewer: str = "gertrude") -> dict[str, list[tuple[str, str]]]:
    """Free/busy through the API as the clerk (or ``viewer``): name -> [(start, kind)]."""
    login(client, viewer)
    ids = ",".join(str(org.users[n]) for n in names)
    users = client.get("/api/meetings/freebusy", params={"user_ids": ids} | DAY).json()["users"]
    return {n: [(b["start"], b["kind"]) for b in users[str(org.users[n])]] for n in names}


def _create(client: TestClient, org: Org, **kw: Any) -> dict[str, Any]:
    login(client, "gertrude")
    r = client.post("/api/meetings", json=booking(org, **kw))
    assert r.status_code == 201, r.text
    return r.json()["meeting"]  # type: ignore[no-any-return]


def test_series_changes_move_skip_split_reschedule_cancel(
    client: TestClient, org: Org, db: Database, rooms_a: Rooms
) -> None:
    m = _create(
        client,
        org,
        room_id=rooms_a.small,
        rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=4",
        start="2026-12-01T09:00:00+08:00",
        end="2026-12-01T10:00:00+08:00",
    )
    assert _consistent(db) == 8  # 2 people × 4 Tuesdays
    tuesdays = ["2026-12-01T01:00:00Z", "2026-12-08T01:00:00Z", "2026-12-15T01:00:00Z", "2026-12-22T01:00:00Z"]
    assert _busy(client, org, "hamlet")["hamlet"] == [(t, "busy") for t in tuesdays]
    r = client.patch(
        f"/api/meetings/{m['id']}",
        json={"scope": "this", "occurrence_start": tuesdays[1], "start": "2026-12-09T14:00:00+08:00"},
    )
    assert r.status_code == 200, r.text
    _consistent(db)
    moved = [tuesdays[0], "2026-12-09T06:00:00Z", tuesdays[2], tuesdays[3]]
    assert [t for t, _ in _busy(client, org, "ophelia")["ophelia"]] == moved
    assert client.post(f"/api/meetings/{m['id']}/skip", json={"occurrence_start": tuesdays[2]}).status_code == 200
    _consistent(db)
    assert [t for t, _ in _busy(client, org, "hamlet")["hamlet"]] == [moved[0], moved[1], moved[3]]
    r = client.patch(
        f"/api/meetings/{m['id']}",
        json={
            "scope": "following",
            "occurrence_start": tuesdays[3],
            "start": "2026-12-22T15:00:00+08:00",
            "end": "2026-12-22T16:00:00+08:00",
        },
    )
    assert r.status_code == 200, r.text
    new_id = r.json()["meeting"]["id"]
    _consistent(db)
    assert [t for t, _ in _busy(client, org, "hamlet")["hamlet"]] == [moved[0], moved[1], "2026-12-22T07:00:00Z"]
    # The whole (shortened) series moves to the afternoon: the moved occurrence is reset.
    r = client.patch(
        f"/api/meetings/{m['id']}", json={"start": "2026-12-01T14:00:00+08:00", "end": "2026-12-01T15:00:00+08:00"}
    )
    assert r.status_code == 200, r.text
    _consistent(db)
    assert [t for t, _ in _busy(client, org, "hamlet")["hamlet"]] == [
        "2026-12-01T06:00:00Z",
        "2026-12-08T06:00:00Z",
        "2026-12-15T06:00:00Z",
        "2026-12-22T07:00:00Z",
    ]
    for mid in (m["id"], new_id):
        assert client.post(f"/api/meetings/{mid}/cancel", json={"reason": "调整"}).status_code == 200
    assert _consistent(db) == 0
    assert _busy(client, org, "hamlet", "ophelia") == {"hamlet": [], "ophelia": []}


def test_rsvp_substitutes_and_attendees_added_later(client: TestClient, org: Org, db: Database, rooms_a: Rooms) -> None:
    m = _create(
        client,
        org,
        room_id=rooms_a.small,
        people=("hamlet", "polonius"),
        agencies=[{"agency_id": org.agencies["B"], "quota": 2}],
    )
    mid, at = m["id"], "2026-12-07T01:00:00Z"
    login(client, "hamlet")
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "tentative"}).status_code == 200
    assert _busy(client, org, "hamlet")["hamlet"] == [(at, "tentative")]
    login(client, "hamlet")
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": "出差"}).status_code == 200
    assert _busy(client, org, "hamlet")["hamlet"] == []
    login(client, "hamlet")
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"}).status_code == 200
    assert _busy(client, org, "hamlet")["hamlet"] == [(at, "busy")]
    _consistent(db)
    # 代参会: the substitute is busy in Polonius's place; changing his mind swaps back.
    login(client, "polonius")
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "delegated", "substitute_id": org.users["yorick"]})
    assert r.status_code == 200, r.text
    _consistent(db)
    assert _busy(client, org, "polonius", "yorick") == {"polonius": [], "yorick": [(at, "busy")]}
    login(client, "polonius")
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "delegated", "substitute_id": org.users["ophelia"]})
    assert r.status_code == 200, r.text
    _consistent(db)
    assert _busy(client, org, "yorick", "ophelia") == {"yorick": [], "ophelia": [(at, "busy")]}
    login(client, "polonius")
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"}).status_code == 200
    assert _busy(client, org, "polonius", "ophelia") == {"polonius": [(at, "busy")], "ophelia": []}
    # A department invited after booking; one of its members removed again.
    login(client, "gertrude")
    r = client.post(f"/api/meetings/{mid}/attendees", json={"departments": [{"department_id": org.depts["A2"]}]})
    assert r.status_code == 200, r.text
    assert _busy(client, org, "horatio", "laertes") == {"horatio": [(at, "busy")], "laertes": [(at, "busy")]}
    assert client.delete(f"/api/meetings/{mid}/attendees/{org.users['horatio']}").status_code == 204
    assert _busy(client, org, "horatio")["horatio"] == []
    _consistent(db)
    # Another agency names its people (会议通知 nominations).
    login(client, "iago")
    r = client.post(
        f"/api/meetings/{mid}/agencies/{org.agencies['B']}/nominees", json={"user_ids": [org.users["othello"]]}
    )
    assert r.status_code == 200, r.text
    # His own agency reads his time; to the organiser's, another agency's people read as free.
    assert _busy(client, org, "othello", viewer="iago")["othello"] == [(at, "busy")]
    assert _consistent(db) == 4  # hamlet, polonius, laertes, othello (the organiser is not an attendee)


def test_pending_approval_is_tentative_until_approved_and_gone_when_rejected(
    client: TestClient, org: Org, db: Database, rooms_a: Rooms
) -> None:
    first = _create(client, org, room_id=rooms_a.large)
    at = "2026-12-07T01:00:00Z"
    assert _busy(client, org, "hamlet")["hamlet"] == [(at, "tentative")]
    login(client, "laertes")
    assert client.post(f"/api/meetings/{first['id']}/approval", json={"approve": True}).status_code == 200
    assert _busy(client, org, "hamlet")["hamlet"] == [(at, "busy")]
    second = _create(
        client,
        org,
        room_id=rooms_a.large,
        start="2026-12-08T09:00:00+08:00",
        end="2026-12-08T10:00:00+08:00",
        people=("ophelia",),
    )
    assert _busy(client, org, "ophelia")["ophelia"] == [(at, "busy"), ("2026-12-08T01:00:00Z", "tentative")]
    login(client, "laertes")
    r = client.post(f"/api/meetings/{second['id']}/approval", json={"approve": False, "comment": "有接待"})
    assert r.status_code == 200, r.text
    assert _busy(client, org, "ophelia")["ophelia"] == [(at, "busy")]
    _consistent(db)


def test_migration_backfills_busy_rows_from_existing_meetings(
    client: TestClient, org: Org, db: Database, rooms_a: Rooms
) -> None:
    m = _create(
        client,
        org,
        room_id=rooms_a.small,
        rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=3",
        start="2026-12-01T09:00:00+08:00",
        end="2026-12-01T10:00:00+08:00",
    )
    _create(client, org, room_id=rooms_a.large, start="2026-12-02T09:00:00+08:00", end="2026-12-02T10:00:00+08:00")
    login(client, "hamlet")
    client.post(f"/api/meetings/{m['id']}/rsvp", json={"status": "declined", "reason": "出差"})
    before = _consistent(db)
    assert before == 5  # ophelia × 3 Tuesdays, hamlet and ophelia on the pending Wednesday
    cfg = alembic_config(db)
    command.downgrade(cfg, "0006")
    command.upgrade(cfg, "head")
    assert _consistent(db) == before
    assert _busy(client, org, "hamlet")["hamlet"] == [("2026-12-02T01:00:00Z", "tentative")]
