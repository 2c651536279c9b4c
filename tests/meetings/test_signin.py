"""签到: rotating codes, signing in with one in the window (never without), wrong or expired codes, the
attendance report and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from starlette.testclient import TestClient

from meetings import signin
from office.errors import InvalidTransition, ValidationError
from tests.factories import Org, login
from tests.meetings.conftest import booking, screen_code


def _now_meeting(client: TestClient, org: Org, **extra: Any) -> tuple[int, dt.datetime]:
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    login(client, "gertrude")
    r = client.post(
        "/api/meetings",
        json=booking(
            org,
            start=start.isoformat(),
            people=("hamlet", "ophelia", "horatio"),
            end=(start + dt.timedelta(hours=1)).isoformat(),
            online_url="https://meet.example/1",
        )
        | extra,
    )
    assert r.status_code == 201, r.text
    return r.json()["meeting"]["id"], start


def test_room_screen_code_and_qr_then_sign_in(client: TestClient, org: Org) -> None:
    mid, _ = _now_meeting(client, org)
    screen = client.get(f"/api/meetings/{mid}/signin/screen").json()
    assert screen["open"] is True and len(screen["code"]) == 6 and screen["code"].isdigit()
    assert screen["qr"].startswith("data:image/png;base64,") and f"#/meetings/checkin/{mid}?code=" in screen["url"]
    assert screen["expected"] == 3 and screen["signed"] == 0
    login(client, "hamlet")
    assert client.get(f"/api/meetings/{mid}/signin/screen").status_code == 403  # only the organiser's screen
    wrong = "000000" if screen["code"] != "000000" else "111111"
    r = client.post(f"/api/meetings/{mid}/signin", json={"code": wrong})
    assert r.status_code == 422 and r.json()["error"] == "bad_signin_code"
    r = client.post(f"/api/meetings/{mid}/signin", json={"code": screen["code"]})
    if r.status_code == 422:  # the minute turned between the two requests, twice: fetch the fresh code
        login(client, "gertrude")
        code = client.get(f"/api/meetings/{mid}/signin/screen").json()["code"]
        login(client, "hamlet")
        r = client.post(f"/api/meetings/{mid}/signin", json={"code": code})
    assert r.status_code == 201 and r.json()["method"] == "code"
    assert client.post(f"/api/meetings/{mid}/signin", json={"code": screen_code(org, mid)}).json()["error"] == (
        "already_signed"
    )
    # Being invited is not being there: no code, no sign-in (the "一键签到" button signed anyone in).
    login(client, "ophelia")
    for body in ({}, {"code": ""}, {"code": "  "}, {"code": None}):
        r = client.post(f"/api/meetings/{mid}/signin", json=body)
        assert r.status_code == 422 and r.json()["error"] == "signin_code_required", (body, r.text)
        assert r.json()["message"] == "请输入会议室屏幕上的签到码，或用手机扫描屏幕上的二维码"
    assert client.post(f"/api/meetings/{mid}/signin", json={"code": screen_code(org, mid)}).json()["method"] == "code"
    login(client, "othello")
    assert client.post(f"/api/meetings/{mid}/signin", json={"code": screen_code(org, mid)}).status_code == 404
    login(client, "gertrude")
    report = client.get(f"/api/meetings/{mid}/attendance").json()
    states = {i["name"]: i["state"] for i in report["items"]}
    assert states == {"张伟": "late", "李娜": "late", "刘洋": "absent"}  # the meeting began ten minutes ago


def test_codes_rotate_and_expire(org: Org, client: TestClient) -> None:
    mid, start = _now_meeting(client, org)
    actor = org.actor("hamlet")
    with org.db.read() as s:
        from meetings.models import Meeting

        meeting = s.get(Meeting, mid)
        assert meeting is not None
    t = start + dt.timedelta(minutes=5)
    code = signin.code_at(meeting, t)
    assert signin.code_ok(meeting, code, t)
    assert signin.code_ok(meeting, code, t + dt.timedelta(seconds=signin.CODE_PERIOD))  # the screen just changed
    assert not signin.code_ok(meeting, code, t + dt.timedelta(seconds=3 * signin.CODE_PERIOD))
    codes = {signin.code_at(meeting, t + dt.timedelta(minutes=k)) for k in range(10)}
    assert len(codes) >= 9
    with pytest.raises(ValidationError), org.db.write() as s:
        signin.sign_in(s, actor, mid, code=code, now=t + dt.timedelta(minutes=5))
    with pytest.raises(ValidationError), org.db.write() as s:  # in the window, but without the code
        signin.sign_in(s, actor, mid, code=None, now=t)
    for outside in (start - dt.timedelta(minutes=31), start + dt.timedelta(minutes=61)):  # before, after
        with pytest.raises(InvalidTransition), org.db.write() as s:
            signin.sign_in(s, actor, mid, code=signin.code_at(meeting, outside), now=outside)
    early = start - dt.timedelta(minutes=20)
    with org.db.write() as s:  # early is on time
        signin.sign_in(s, actor, mid, code=signin.code_at(meeting, early), now=early)


def test_attendance_report_and_csv(client: TestClient, org: Org) -> None:
    mid, start = _now_meeting(
        client, org, attendees=[{"user_id": org.users[u]} for u in ("hamlet", "ophelia", "horatio", "polonius")]
    )
    login(client, "horatio")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": '=HYPERLINK("http://x")'})
    login(client, "polonius")
    client.post(f"/api/meetings/{mid}/rsvp", json={"status": "delegated", "substitute_id": org.users["yorick"]})
    on_time, late = start - dt.timedelta(minutes=3), start + dt.timedelta(minutes=4)
    with org.db.write() as s:
        signin.sign_in(s, org.actor("hamlet"), mid, code=screen_code(org, mid, on_time), now=on_time)
        signin.sign_in(s, org.actor("yorick"), mid, code=screen_code(org, mid, late), now=late)
    with org.db.read() as s:
        report = signin.attendance(s, org.actor("gertrude"), mid, now=start + dt.timedelta(minutes=2))
        assert {i["name"]: i["state"] for i in report["items"]} == {
            "张伟": "present",
            "李娜": "expected",
            "刘洋": "on_leave",
            "王强": "delegated",
            "周敏": "present",
        }
        report = signin.attendance(s, org.actor("gertrude"), mid, now=start + dt.timedelta(minutes=30))
        assert report["counts"] == {"present": 2, "absent": 1, "on_leave": 1, "delegated": 1}
    login(client, "gertrude")
    r = client.get(f"/api/meetings/{mid}/attendance.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "角色", "状态", "签到时间", "签到方式", "请假原因"]
    leave = next(row for row in rows if row[0] == "刘洋")
    assert leave[2] == "请假" and leave[5] == '\'=HYPERLINK("http://x")'
    assert signin.neutralise("+1") == "'+1" and signin.neutralise("-2") == "'-2" and signin.neutralise("@a") == "'@a"
    assert signin.neutralise("正常") == "正常"
    # One rule for every export (office.spreadsheet): the full-width forms an input method types too.
    assert signin.neutralise("＝1+1") == "'＝1+1" and signin.neutralise("﹢1") == "'﹢1"
    login(client, "hamlet")
    assert client.get(f"/api/meetings/{mid}/attendance.csv").status_code == 403
