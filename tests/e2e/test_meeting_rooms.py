"""The rooms grid (issue #16 §6) in headless Chromium at 1366 and 375 px, normal and 长者模式: each hour
header on one line ("8:00", not "8:0" over "0"), hours that have passed shown as 已过 with nothing to
click, the hour under way bookable from its next five minutes, later hours and days bookable.
Screenshots in test-artifacts/rooms/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_meetings import make_rooms
from tests.e2e.test_people import start
from tests.factories import Org

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")
SIZES = [(1366, False), (375, False), (1366, True), (375, True)]


@pytest.mark.parametrize(("width", "elder"), SIZES, ids=[f"{w}{'-elder' if e else ''}" for w, e in SIZES])
def test_hours_fit_their_headers_and_passed_hours_cannot_be_booked(
    browser: Any, live: Any, live_org: Org, artifacts: Path, width: int, elder: bool
) -> None:
    make_rooms(live_org)
    out = artifacts / "rooms"
    out.mkdir(exist_ok=True)
    page = start(browser, live, "gertrude", width=width, elder=elder)
    try:
        today = dt.datetime.now(SH)
        page.goto(f"/#/meetings/rooms?date={today:%Y-%m-%d}")
        grid = page.locator(".meet-room-grid")
        grid.wait_for()
        heads = grid.locator("thead th")
        line = heads.first.evaluate("th => parseFloat(getComputedStyle(th).lineHeight) || 24")
        for i in range(1, heads.count()):
            th = heads.nth(i)
            assert th.inner_text().strip() == f"{7 + i}:00"
            box = th.evaluate(
                "th => th.getBoundingClientRect().height - parseFloat(getComputedStyle(th).paddingTop) * 2"
            )
            assert box < line * 1.5, f"{th.inner_text()} wraps ({box} px for {line} px lines)"
        row = grid.locator("tbody tr", has_text="第一会议室")
        now = dt.datetime.now(SH)
        for hour in range(8, 22):
            cell = row.locator("td").nth(hour - 8)
            if now >= now.replace(hour=hour, minute=0, second=0) + dt.timedelta(hours=1):
                assert cell.inner_text().strip() == "已过" and cell.locator("a").count() == 0, hour
            else:
                link = cell.get_by_role("link")
                href = link.get_attribute("href")
                assert href is not None and href.startswith("#/meetings/new?"), hour
                begins = href.rsplit("time=", 1)[1]  # HH:MM: the hour, or the next five minutes of this one
                assert begins >= f"{hour:02d}:00" and begins >= f"{now:%H:%M}", (hour, begins)
        page.screenshot(path=out / f"today-{width}{'-elder' if elder else ''}.png")
        tomorrow = today + dt.timedelta(days=1)
        page.goto(f"/#/meetings/rooms?date={tomorrow:%Y-%m-%d}")
        page.locator(".meet-room-grid tbody tr", has_text="第一会议室").get_by_role("link").first.wait_for()
        assert (
            page.locator(".meet-room-grid tbody tr", has_text="第一会议室").locator("td", has_text="已过").count() == 0
        )
        assert page.console_errors == []
    finally:
        page.context.close()
