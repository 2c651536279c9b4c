"""签到 in headless Chromium (issue #16 §6): the organiser's room screen fills the projector without the
workspace's navigation (1366 and 375 px); an attendee signs in only with the screen's code, typed or
filled in from the QR: there is no button that signs in without it. Screenshots in test-artifacts/signin/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.docs_flow.conftest import Clients
from tests.e2e.test_people import start
from tests.factories import Org
from tests.meetings.conftest import booking

pytestmark = pytest.mark.browser


def book_soon(live: Any, org: Org) -> int:
    """A meeting in ten minutes (its sign-in opened 30 minutes before), 张伟 and 李娜 invited."""
    begins = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=10)
    body = booking(
        org,
        start=begins.isoformat(),
        end=(begins + dt.timedelta(hours=1)).isoformat(),
        online_url="https://m.example/1",
    )
    users = Clients(live.app)
    try:
        r = users["gertrude"].post("/api/meetings", json=body | {"title": "安全生产工作专题会"})
        assert r.status_code == 201, r.text
        return int(r.json()["meeting"]["id"])
    finally:
        users.close()


@pytest.mark.parametrize("width", [1366, 375])
def test_room_screen_for_the_projector_and_sign_in_only_with_its_code(
    browser: Any, live: Any, live_org: Org, artifacts: Path, width: int
) -> None:
    out = artifacts / "signin"
    out.mkdir(exist_ok=True)
    mid = book_soon(live, live_org)
    screen = start(browser, live, "gertrude", width=width)
    hamlet = start(browser, live, "hamlet", width=width)
    try:
        screen.goto(f"/#/meetings/signin/{mid}")
        code = screen.locator(".meet-code")
        screen.get_by_role("heading", name="安全生产工作专题会 · 签到").wait_for()
        screen.wait_for_function("() => /^\\d{6}$/.test(document.querySelector('.meet-code')?.textContent || '')")
        for chrome in (".sidebar", ".tabbar", ".guide"):
            assert all(not n.is_visible() for n in screen.locator(chrome).all()), chrome
        box = code.bounding_box()
        assert box is not None and box["height"] > (90 if width > 600 else 45)  # readable from the back of the room
        assert screen.get_by_role("img", name="签到二维码：用手机扫码打开签到页").is_visible()
        assert screen.get_by_role("button", name="全屏显示").is_visible()
        if width > 600:  # a projector: everything on one screen, nothing to scroll
            info = screen.locator(".meet-code-info").bounding_box()
            assert info is not None and info["y"] + info["height"] <= 860
        screen.screenshot(path=out / f"screen-{width}.png")

        hamlet.goto(f"/#/meetings/checkin/{mid}")
        hamlet.get_by_role("heading", name="会议签到", level=1).wait_for()
        assert hamlet.get_by_role("button", name="我已在会场，一键签到").count() == 0
        assert hamlet.get_by_role("button").filter(has_text="一键").count() == 0
        hamlet.get_by_role("button", name="签到", exact=True).click()  # no code: the browser asks for it
        assert hamlet.locator(".meet-success").count() == 0
        hamlet.get_by_label("会议室屏幕上的签到码").fill(code.inner_text().strip())
        hamlet.get_by_role("button", name="签到", exact=True).click()
        hamlet.locator(".meet-success", has_text="签到成功").wait_for()
        hamlet.screenshot(path=out / f"checkin-{width}.png")

        # Leaving the screen brings the workspace back.
        screen.goto(f"/#/meetings/{mid}")
        screen.get_by_role("heading", name="安全生产工作专题会", level=1).wait_for()
        nav = ".sidebar" if width > 600 else ".tabbar"
        assert screen.locator(nav).is_visible()
        assert screen.console_errors == [] and hamlet.console_errors == []
    finally:
        screen.context.close()
        hamlet.context.close()


def test_the_qr_fills_in_the_code(browser: Any, live: Any, live_org: Org) -> None:
    mid = book_soon(live, live_org)
    screen = start(browser, live, "gertrude", width=375)
    ophelia = start(browser, live, "ophelia", width=375)
    try:
        screen.goto(f"/#/meetings/signin/{mid}")
        screen.wait_for_function("() => /^\\d{6}$/.test(document.querySelector('.meet-code')?.textContent || '')")
        url = screen.evaluate(f"fetch('/api/meetings/{mid}/signin/screen').then(r => r.json()).then(s => s.url)")
        ophelia.goto(url)
        ophelia.get_by_text("已从二维码填好签到码").wait_for()
        ophelia.get_by_role("button", name="签到", exact=True).click()
        ophelia.locator(".meet-success", has_text="签到成功").wait_for()
    finally:
        screen.context.close()
        ophelia.context.close()
