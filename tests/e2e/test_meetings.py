"""会议 in real browsers: the clerk books a meeting in a room through the form (free/busy and the
slot finder on the way), invites two colleagues; one accepts, signs in with the room screen's
rotating code, and the organiser sees him present; the week calendar shows the meeting."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from meetings import rooms
from office.actor import SYSTEM
from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.factories import Org

pytestmark = pytest.mark.browser

TITLE = "安全生产工作专题会"


def make_rooms(org: Org) -> None:
    with org.db.write() as s:
        rooms.create_room(
            s,
            SYSTEM,
            name="第一会议室",
            location="三楼 301",
            capacity=12,
            equipment=["投影"],
            open_from="00:00",
            open_to="23:59",
            approval_required=False,
            approver_ids=[],
            agency_id=org.agencies["A"],
        )
        rooms.create_room(
            s,
            SYSTEM,
            name="大会议室",
            location="一楼",
            capacity=80,
            equipment=["投影", "视频会议"],
            open_from="00:00",
            open_to="23:59",
            approval_required=True,
            approver_ids=[org.users["laertes"]],
            agency_id=org.agencies["A"],
        )


def pick(page: Any, query: str, name: str) -> None:
    page.get_by_role("combobox", name="添加参会人员").fill(query)
    page.get_by_role("listbox", name="添加参会人员：查找结果").get_by_role("option", name=re.compile(name)).click()
    page.locator(".meet-chosen").get_by_text(name).wait_for()


def test_book_invite_rsvp_signin_and_calendar(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    make_rooms(live_org)
    # The test books "in ten minutes" whenever it runs: open the rooms around the clock for it.
    from sqlmodel import select

    from meetings.models import Room

    with live_org.db.write() as s:
        for room in s.exec(select(Room)).all():
            room.open_from, room.open_to = 0, 24 * 60 - 1
            s.add(room)
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    start = (now + dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
    start -= dt.timedelta(minutes=start.minute % 5)
    end = start + dt.timedelta(minutes=60)
    if end.date() != start.date():  # the form books within one local day
        midnight = start.replace(hour=0, minute=0) + dt.timedelta(days=1)
        if start <= midnight - dt.timedelta(minutes=10):
            end = midnight - dt.timedelta(minutes=5)  # shorter, still over the 5-minute minimum
        else:  # starts at 23:55: tomorrow 00:00 instead; sign-in opens 30 minutes before, so now
            start, end = midnight, midnight + dt.timedelta(minutes=60)
    clerk = open_page(browser, live.url)
    hamlet = open_page(browser, live.url)
    try:
        login(clerk, "gertrude")
        clerk.get_by_role("navigation", name="主要栏目").get_by_role("link", name="会议").click()
        clerk.get_by_role("heading", name="会议", level=1).wait_for()
        clerk.get_by_role("link", name="预约会议").click()
        clerk.get_by_role("heading", name="预约会议", level=1).wait_for()
        clerk.get_by_label("会议名称").fill(TITLE)
        clerk.get_by_label("日期").fill(start.strftime("%Y-%m-%d"))
        clerk.get_by_label("开始").fill(start.strftime("%H:%M"))
        clerk.get_by_label("结束").fill(end.strftime("%H:%M"))
        pick(clerk, "张伟", "张伟")
        pick(clerk, "李娜", "李娜")
        clerk.locator(".meet-check").get_by_text("2 位参会人员该时段均有空").wait_for()
        clerk.get_by_role("button", name="查找大家都有空的时间").click()
        clerk.locator(".meet-slots button").first.wait_for()
        clerk.get_by_label("日期").fill(start.strftime("%Y-%m-%d"))
        clerk.get_by_label("开始").fill(start.strftime("%H:%M"))
        clerk.get_by_label("结束").fill(end.strftime("%H:%M"))
        room = clerk.get_by_label("会议室", exact=True)
        room.locator("option", has_text="第一会议室").wait_for(state="attached")
        room.select_option(label=room.locator("option", has_text="第一会议室").inner_text())
        clerk.screenshot(path=artifacts / "meetings-new.png", full_page=True)
        clerk.get_by_role("button", name="预约", exact=True).click()
        clerk.get_by_role("heading", name=TITLE, level=1).wait_for()
        meeting_id = int(re.search(r"#/meetings/(\d+)", clerk.url).group(1))  # type: ignore[union-attr]

        # 张伟 accepts in his own browser.
        login(hamlet, "hamlet")
        hamlet.goto(f"/#/meetings/{meeting_id}")
        hamlet.get_by_role("heading", name=TITLE, level=1).wait_for()
        hamlet.get_by_role("button", name="参加", exact=True).click()
        hamlet.get_by_role("heading", name="我的答复：参加").wait_for()
        hamlet.screenshot(path=artifacts / "meetings-rsvp.png", full_page=True)

        # The room screen shows the rotating code.
        clerk.get_by_role("link", name="打开签到屏").click()
        code_node = clerk.locator(".meet-code")
        code_node.filter(has_text=re.compile(r"^\d{6}$")).wait_for()
        code = code_node.inner_text().strip()
        clerk.screenshot(path=artifacts / "meetings-signin-screen.png", full_page=True)

        # 张伟 signs in with it.
        hamlet.goto(f"/#/meetings/checkin/{meeting_id}")
        hamlet.get_by_label("会议室屏幕上的签到码").fill(code)
        hamlet.get_by_role("button", name="签到", exact=True).click()
        hamlet.get_by_text(re.compile("签到成功")).wait_for()
        hamlet.screenshot(path=artifacts / "meetings-checkin.png", full_page=True)

        # The organiser sees him present.
        clerk.goto(f"/#/meetings/{meeting_id}")
        clerk.get_by_role("heading", name=TITLE, level=1).wait_for()
        present = clerk.get_by_role("region", name="签到情况").locator("li", has_text="张伟")
        present.get_by_text(re.compile("^已签到")).wait_for()
        clerk.screenshot(path=artifacts / "meetings-organiser.png", full_page=True)

        # The week calendar shows the meeting.
        hamlet.goto(f"/#/meetings?view=week&date={start:%Y-%m-%d}")
        hamlet.get_by_role("heading", name="会议", level=1).wait_for()
        hamlet.locator(".meet-item", has_text=TITLE).wait_for()
        hamlet.screenshot(path=artifacts / "meetings-week.png", full_page=True)
        hamlet.set_viewport_size({"width": 375, "height": 800})
        hamlet.screenshot(path=artifacts / "meetings-week-phone.png", full_page=True)
        hamlet.goto(f"/#/meetings/{meeting_id}")
        hamlet.get_by_role("heading", name=TITLE, level=1).wait_for()
        hamlet.screenshot(path=artifacts / "meetings-rsvp-phone.png", full_page=True)

        assert clerk.console_errors == []
        assert hamlet.console_errors == []
    finally:
        clerk.context.close()
        hamlet.context.close()
