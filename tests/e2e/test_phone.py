"""The workspace on a phone (≤ 600 px: content first, a bottom tab bar, 我的 for the rest), 长者模式's
first screens, the sidebar of a 1280×720 desktop in 长者模式, and the rooms grid on a phone, in
headless Chromium; axe-core on each at 375 px and 1366 px, normal and 长者模式. Screenshots in
test-artifacts/phone/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meetings import rooms
from office.actor import SYSTEM
from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_meetings import make_rooms
from tests.e2e.test_shell import login
from tests.factories import Org

pytestmark = pytest.mark.browser

PAGES = ["messages", "docs", "incoming", "meetings", "directory", "esign", "profile"]


def start(
    browser: Any,
    live: Any,
    username: str,
    *,
    width: int = 375,
    height: int = 740,
    elder: bool = False,
    guides: bool = False,
    bypass_csp: bool = False,
) -> Any:
    """Signed in, in 长者模式 or not; ``guides`` leaves the first-use notes to be shown."""
    page = open_page(browser, live.url, width=width, height=height, bypass_csp=bypass_csp)
    login(page, username)
    if not guides:
        seen_all_guides(page)
    if elder:
        page.evaluate("""() => fetch('/api/me/preferences', {method: 'PUT', headers: {'content-type':
            'application/json', 'x-csrf-token': document.cookie.match(/tb_csrf=([^;]+)/)[1]},
            body: JSON.stringify({elder_mode: true})})""")
    page.reload()
    page.get_by_role("navigation", name="主要栏目").wait_for()
    assert page.evaluate("() => document.documentElement.classList.contains('elder')") is elder
    return page


def visit(page: Any, name: str) -> None:
    page.goto(f"/#/{name}")
    page.locator(f'.page[data-page="{name.split("/")[0]}"] h1').first.wait_for()
    page.wait_for_load_state("networkidle")


def sideways(page: Any) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "phone"
    path.mkdir(exist_ok=True)
    return path


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
def test_a_phone_has_a_tab_bar_and_keeps_the_rest_under_mine(
    browser: Any, live: Any, live_org: Org, out: Path, elder: bool
) -> None:
    mode = "elder" if elder else "normal"
    page = start(browser, live, "hamlet", elder=elder)
    try:
        bar = page.get_by_role("navigation", name="主要栏目")
        assert bar.get_by_role("link").all_inner_texts() == ["工作台", "消息", "公文", "会议"]
        assert page.locator(".sidebar").is_hidden()  # content first: no header above the page
        box = bar.bounding_box()
        assert box["y"] + box["height"] == pytest.approx(740, abs=1)  # at the bottom, at the thumb
        heights = page.eval_on_selector_all(".tab-link", "els => els.map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 44

        # 工作台 is the first page after sign-in and the first tab.
        assert bar.get_by_role("link", name="工作台").get_attribute("aria-current") == "page"
        bar.get_by_role("link", name="消息").click()
        page.wait_for_url("**/#/messages")
        page.get_by_role("heading", name="消息", level=1).wait_for()
        assert bar.get_by_role("link", name="消息").get_attribute("aria-current") == "page"
        bar.get_by_role("link", name="公文").click()
        page.get_by_role("heading", name="公文", level=1).wait_for()
        assert bar.get_by_role("link", name="公文").get_attribute("aria-current") == "page"
        assert sideways(page) <= 0

        # 我的: who is signed in, the sections without a tab, and the account controls.
        bar.get_by_role("button", name="我的").click()
        mine = page.get_by_role("dialog", name="我的")
        mine.get_by_text("张伟").wait_for()
        assert "综合处 · 科员" in mine.inner_text()
        more = mine.get_by_role("navigation", name="更多栏目")
        assert more.get_by_role("link").all_inner_texts() == [
            "办事",
            "数据填报",
            "通讯录",
            "收文",
            "签章",
            "个人设置",
        ]  # no 管理
        page.screenshot(path=out / f"mine-375-{mode}.png")
        more.get_by_role("link", name="通讯录").click()
        mine.wait_for(state="detached")
        page.get_by_role("heading", name="通讯录", level=1).wait_for()
        assert bar.get_by_role("button", name="我的").get_attribute("aria-current") == "page"
        assert sideways(page) <= 0
        page.screenshot(path=out / f"directory-375-{mode}.png")

        # 收文 belongs to 公文's tab.
        bar.get_by_role("button", name="我的").click()
        mine.get_by_role("link", name="收文").click()
        page.get_by_role("heading", name="收文办理", level=1).wait_for()
        assert bar.get_by_role("link", name="公文").get_attribute("aria-current") == "page"

        # 长者模式 from 我的: the page changes at once and the confirmation leaves by itself.
        bar.get_by_role("button", name="我的").click()
        toggle = mine.get_by_role("button", name="长者模式")
        assert toggle.get_attribute("aria-pressed") == str(elder).lower()
        toggle.click()
        page.wait_for_function("(on) => document.documentElement.classList.contains('elder') === on", arg=not elder)
        note = mine.locator(".toast", has_text="长者模式")
        note.wait_for()
        page.screenshot(path=out / f"mine-toast-375-{mode}.png")
        note.wait_for(state="detached", timeout=6000)
        assert toggle.get_attribute("aria-pressed") == str(not elder).lower()

        # 帮助 brings back the current page's note; 退出 signs out.
        mine.get_by_role("button", name="帮助：显示本页使用提示").click()
        page.get_by_role("complementary", name="收文使用提示").wait_for()
        bar.get_by_role("button", name="我的").click()
        mine.get_by_role("button", name="退出").click()
        page.get_by_role("heading", name="登录").wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()


def first_screen(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("""() => {
        const h1 = document.querySelector('.page h1');
        const r = h1.getBoundingClientRect();
        const bar = document.querySelector('.tabbar').getBoundingClientRect();
        const guide = document.querySelector('.guide');
        return {h1Top: r.top, h1Bottom: r.bottom, barTop: bar.top, height: innerHeight,
                guide: guide ? guide.getBoundingClientRect().height : 0, scrollY};
    }""")
    return result


def test_in_elder_mode_a_phone_shows_content_on_the_first_screen_of_every_page(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    page = start(browser, live, "prospero", elder=True, guides=True)
    problems: dict[str, Any] = {}
    try:
        for name in [*PAGES, "admin"]:
            # The first visit shows the page's note: the heading is still on the first screen.
            visit(page, name)
            first = first_screen(page)
            page.screenshot(path=out / f"{name}-first-375-elder.png")
            if first["h1Bottom"] > first["barTop"] or first["guide"] > first["height"] / 2:
                problems[f"{name} (with its note)"] = first
            if first["guide"]:
                page.get_by_role("button", name="知道了，关闭使用提示").click()
            # Without the note the page starts right at the top: nothing but the title above content.
            visit(page, name)
            first = first_screen(page)
            if first["h1Top"] > 60 or first["barTop"] < first["height"] - 100:
                problems[name] = first
            if sideways(page) > 0:
                problems[f"{name} sideways"] = sideways(page)
            page.screenshot(path=out / f"{name}-375-elder.png")
        assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
        # The end of a long page is not hidden behind the tab bar: below the page's last line there
        # is at least the bar's height to scroll (measured in the document, so late content counts).
        visit(page, "profile")
        room = page.evaluate("""() => {
            const end = document.querySelector('.page').getBoundingClientRect().bottom + scrollY;
            return {below: document.scrollingElement.scrollHeight - end,
                    bar: document.querySelector('.tabbar').getBoundingClientRect().height};
        }""")
        assert room["below"] >= room["bar"], room
        assert page.console_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
def test_every_sidebar_control_of_a_1280x720_desktop_is_reachable_without_scrolling(
    browser: Any, live: Any, live_org: Org, out: Path, elder: bool
) -> None:
    page = start(browser, live, "prospero", width=1280, height=720, elder=elder)  # 管理 too: the longest
    try:
        visit(page, "messages")
        assert page.locator(".tabbar").is_hidden()
        sidebar = page.evaluate("""() => {
            const s = document.querySelector('.sidebar');
            const controls = [...s.querySelectorAll('a, button')].map(e => {
                const r = e.getBoundingClientRect();
                return {name: e.textContent.trim(), top: r.top, bottom: r.bottom, height: r.height};
            });
            return {scroll: s.scrollHeight - s.clientHeight, controls};
        }""")
        page.screenshot(path=out / f"sidebar-1280x720-{'elder' if elder else 'normal'}.png")
        assert len(sidebar["controls"]) == 13, sidebar  # nine sections (工作台 first), 个人设置, 长者模式, 帮助, 退出
        assert sidebar["scroll"] <= 0, sidebar
        assert all(c["bottom"] <= 720 and c["height"] >= 44 for c in sidebar["controls"]), sidebar["controls"]
    finally:
        page.context.close()


def test_the_rooms_grid_scrolls_inside_itself_with_its_headers_in_view_on_a_phone(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    make_rooms(live_org)
    with live_org.db.write() as s:
        for n in range(3, 13):
            rooms.create_room(
                s,
                SYSTEM,
                name=f"第{n}会议室",
                location="",
                capacity=10,
                equipment=[],
                open_from="00:00",
                open_to="23:59",
                approval_required=False,
                approver_ids=[],
                agency_id=live_org.agencies["A"],
            )
    for elder in (False, True):
        page = start(browser, live, "gertrude", elder=elder)
        try:
            visit(page, "meetings/rooms")
            grid = page.locator(".meet-rooms")
            grid.locator("tbody tr").nth(11).wait_for()
            assert sideways(page) <= 0  # the page never scrolls sideways ...
            size = grid.evaluate(
                "g => ({sw: g.scrollWidth, cw: g.clientWidth, sh: g.scrollHeight, ch: g.clientHeight})"
            )
            assert size["sw"] > size["cw"] and size["sh"] > size["ch"], size  # ... the grid does, inside itself
            # One line per hour heading ("8:00", not "8:0" over "0").
            heads = page.eval_on_selector_all(
                ".meet-room-grid thead th", "ths => ths.map(t => [t.textContent, t.getBoundingClientRect().height])"
            )
            assert len({round(h) for _, h in heads[1:]}) == 1, heads
            grid.evaluate("g => { g.scrollLeft = 400; g.scrollTop = 300; }")
            page.wait_for_timeout(100)
            edges = page.evaluate("""() => {
                const g = document.querySelector('.meet-rooms').getBoundingClientRect();
                const corner = document.querySelector('.meet-room-grid thead th').getBoundingClientRect();
                const hour = document.querySelectorAll('.meet-room-grid thead th')[6].getBoundingClientRect();
                const room = [...document.querySelectorAll('.meet-room-grid tbody th')]
                    .find(t => t.getBoundingClientRect().top > hour.bottom).getBoundingClientRect();
                return {gridLeft: g.left, gridTop: g.top, cornerLeft: corner.left, hourTop: hour.top, roomLeft: room.left};
            }""")
            page.screenshot(path=out / f"rooms-scrolled-375-{'elder' if elder else 'normal'}.png")
            assert edges["hourTop"] == pytest.approx(edges["gridTop"] + 1, abs=2), edges  # hours stay on top
            assert edges["roomLeft"] == pytest.approx(edges["gridLeft"] + 1, abs=2), edges  # rooms stay at the left
            assert page.console_errors == []
        finally:
            page.context.close()


@pytest.mark.parametrize(
    "width,elder",
    [(375, False), (375, True), (1366, False), (1366, True)],
    ids=["375", "375-elder", "1366", "1366-elder"],
)
def test_axe_finds_nothing_serious_in_the_new_layouts(
    browser: Any,
    live: Any,
    live_org: Org,
    axe_source: str,  # noqa: F811 (the fixture imported above)
    width: int,
    elder: bool,
) -> None:
    make_rooms(live_org)
    page = start(browser, live, "prospero", width=width, height=800, elder=elder, bypass_csp=True)
    found: dict[str, list[str]] = {}
    try:
        for name in ("messages", "docs", "meetings/rooms", "directory"):
            visit(page, name)
            if problems := serious_violations(page, axe_source):
                found[name] = problems
        if width < 600:
            page.get_by_role("navigation", name="主要栏目").get_by_role("button", name="我的").click()
            page.get_by_role("dialog", name="我的").wait_for()
            if problems := serious_violations(page, axe_source):
                found["我的"] = problems
        assert not found, json.dumps(found, ensure_ascii=False, indent=1)
    finally:
        page.context.close()
