"""办会's 待办 sources on the 工作台 (meetings/todo.py): invitations awaiting an answer (one's own, and an
agency's 会议通知 for its contacts) and today's meetings to sign in to, for their people only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.testclient import TestClient

from meetings.todo import Invitations, TodaySignIn
from office.db import utcnow
from tests.factories import Org, login
from tests.meetings.conftest import booking, screen_code

EVERYONE = ("hamlet", "ophelia", "polonius", "horatio", "gertrude", "claudius", "othello", "iago", "desdemona")


def listed(org: Org, source: Any, *, box: str = "todo", now: dt.datetime | None = None) -> dict[str, list[str]]:
    """username -> item keys, for everyone with something in ``box`` (the count agrees for 待办)."""
    now = now or utcnow()
    out = {}
    with org.db.read() as s:
        for name in EVERYONE:
            actor = org.actor(name)
            found = [i.key for i in source.items(s, actor, box=box, now=now, limit=50)]
            if box == "todo":
                assert source.count(s, actor, now=now) == len(found), name
            if found:
                out[name] = found
    return out


def book(client: TestClient, org: Org, start: dt.datetime, **extra: Any) -> int:
    login(client, "gertrude")
    body = booking(org, start=start.isoformat(), end=(start + dt.timedelta(hours=1)).isoformat(), **extra)
    r = client.post("/api/meetings", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["meeting"]["id"])


def test_invitations_wait_for_each_invitee_and_the_invited_agency(client: TestClient, org: Org) -> None:
    start = (utcnow() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    mid = book(client, org, start, people=("hamlet", "ophelia"), agencies=[{"agency_id": org.agencies["B"]}])
    # 张伟 and 李娜 answer for themselves; agency B has no clerk, so its department head names people.
    assert listed(org, Invitations()) == {
        "hamlet": [f"own:{mid}"],
        "ophelia": [f"own:{mid}"],
        "iago": [f"agency:{mid}"],
    }
    with org.db.read() as s:
        (item,) = Invitations().items(s, org.actor("hamlet"), box="todo", now=utcnow(), limit=5)
    assert item.link == f"#/meetings/{mid}" and item.deadline == start  # answer before it begins
    login(client, "hamlet")
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"}).status_code == 200
    login(client, "iago")
    r = client.post(
        f"/api/meetings/{mid}/agencies/{org.agencies['B']}/nominees", json={"user_ids": [org.users["othello"]]}
    )
    assert r.status_code == 200, r.text
    assert listed(org, Invitations()) == {"ophelia": [f"own:{mid}"], "othello": [f"own:{mid}"]}
    assert listed(org, Invitations(), box="done") == {"hamlet": [f"own:{mid}"]}
    assert listed(org, Invitations(), box="mine") == {"gertrude": [f"own:{mid}"]}
    # Once it is over, an unanswered invitation is no longer a 待办.
    assert listed(org, Invitations(), now=start + dt.timedelta(hours=2)) == {}


def test_todays_meetings_wait_for_each_attendees_signin(client: TestClient, org: Org) -> None:
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    mid = book(client, org, start, people=("hamlet", "ophelia", "horatio"), online_url="https://meet.example/1")
    book(client, org, start + dt.timedelta(days=3), people=("hamlet",))  # not today
    login(client, "horatio")
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": "出差"})
    assert r.status_code == 200
    key = f"{mid}:{start.timestamp():.0f}"
    assert listed(org, TodaySignIn()) == {"hamlet": [key], "ophelia": [key]}  # not 刘洋 (请假), nor anyone else
    with org.db.read() as s:
        (item,) = TodaySignIn().items(s, org.actor("hamlet"), box="todo", now=utcnow(), limit=5)
    assert item.link == f"#/meetings/checkin/{mid}" and item.action == "签到" and item.deadline == start
    login(client, "hamlet")
    assert client.post(f"/api/meetings/{mid}/signin", json={"code": screen_code(org, mid)}).status_code == 201
    assert listed(org, TodaySignIn()) == {"ophelia": [key]}
    assert listed(org, TodaySignIn(), box="done") == {"hamlet": [key]}
    assert listed(org, TodaySignIn(), now=start + dt.timedelta(hours=2)) == {}  # it has ended


def test_before_signin_opens_the_meeting_links_to_its_page(client: TestClient, org: Org) -> None:
    start = utcnow().replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    mid = book(client, org, start, people=("hamlet",))
    with org.db.read() as s:
        items = TodaySignIn().items(s, org.actor("hamlet"), box="todo", now=start - dt.timedelta(hours=2), limit=5)
    if (
        start.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        != utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    ):
        assert items == []  # two hours from now is tomorrow in China
        return
    (item,) = items
    assert item.link == f"#/meetings/{mid}" and item.action == "查看"
