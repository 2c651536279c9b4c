"""Reminders: 15 minutes before, and the evening before for morning meetings; each sent once."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from meetings import reminders
from tests.factories import Org, login
from tests.meetings.conftest import booking, of_type

SH = ZoneInfo("Asia/Shanghai")


def _reminders(seen: list[Any]) -> list[Any]:
    return [e for e in of_type(seen, "notify.meeting") if e.payload["title"].startswith("会议提醒")]


def test_reminders_are_sent_once_at_the_right_times(client: TestClient, org: Org, captured: list[Any]) -> None:
    login(client, "gertrude")
    morning = client.post("/api/meetings", json=booking(org, online_url="https://meet.example/a")).json()["meeting"]
    client.post(
        "/api/meetings",
        json=booking(
            org,
            title="下午会",
            start="2026-12-07T15:00:00+08:00",
            end="2026-12-07T16:00:00+08:00",
            remind_evening_before=True,
            reminders=[30],
            people=("ophelia",),
        ),
    )
    login(client, "ophelia")
    client.post(f"/api/meetings/{morning['id']}/rsvp", json={"status": "declined", "reason": "休假"})
    db = org.db
    assert reminders.send_due(db, dt.datetime(2026, 12, 6, 17, 59, tzinfo=SH)) == 0
    assert reminders.send_due(db, dt.datetime(2026, 12, 6, 18, 0, tzinfo=SH)) == 1  # the evening before
    sent = _reminders(captured)
    assert sent[-1].payload["body"].startswith("明天12月7日（周一）09:00")
    assert sent[-1].payload["user_ids"] == sorted([org.users["hamlet"], org.users["gertrude"]])  # not who declined
    assert reminders.send_due(db, dt.datetime(2026, 12, 6, 18, 5, tzinfo=SH)) == 0  # never twice
    assert reminders.send_due(db, dt.datetime(2026, 12, 7, 8, 45, tzinfo=SH)) == 1  # 15 minutes before
    # The afternoon meeting has no evening reminder, only its own 30 minutes.
    assert reminders.send_due(db, dt.datetime(2026, 12, 7, 14, 29, tzinfo=SH)) == 0
    assert reminders.send_due(db, dt.datetime(2026, 12, 7, 14, 30, tzinfo=SH)) == 1
    assert _reminders(captured)[-1].payload["user_ids"] == sorted([org.users["ophelia"], org.users["gertrude"]])
    assert len(_reminders(captured)) == 3


def test_a_reminder_missed_for_hours_is_not_sent_late(client: TestClient, org: Org, captured: list[Any]) -> None:
    login(client, "gertrude")
    client.post(
        "/api/meetings",
        json=booking(org, online_url="https://meet.example/a", remind_evening_before=False, reminders=[600]),
    )
    assert reminders.send_due(org.db, dt.datetime(2026, 12, 7, 8, 50, tzinfo=SH)) == 0
    assert _reminders(captured) == []
