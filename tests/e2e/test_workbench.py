"""工作台 and notifications in headless Chromium, over the live websocket: 王强 (polonius, head of 综合处)
reads 公文 while 张伟 (hamlet) @-mentions him in a group and sends him a DING; the toast and the
badge reach him within a second on whatever page he has open, the toast opens the chat, the badge
clears; a 公文 step given to him joins his 工作台 while it is open. 免打扰 keeps the toasts away.
axe-core on the 工作台 at 1366 px and 375 px, normal and 长者模式. Screenshots in
test-artifacts/workbench/."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from docs_flow import service
from docs_flow.schemas import DocumentCreate
from messaging import messages
from messaging import service as messaging_service
from messaging.models import Conversation
from tests.docs_flow.conftest import BODY
from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_shell import login
from tests.factories import PASSWORD, Org
from tests.messaging.helpers import group
from tests.messaging.helpers import send as send_as

pytestmark = pytest.mark.browser


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "workbench"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def hamlet(live: Any, live_org: Org) -> Iterator[httpx.Client]:
    """张伟 as a real HTTP client of the live server."""
    with httpx.Client(base_url=live.url) as c:
        r = c.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
        c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        yield c


def start(browser: Any, live: Any, username: str, *, width: int = 1366, elder: bool = False, csp: bool = True) -> Any:
    page = open_page(browser, live.url, width=width, height=800 if width > 600 else 740, bypass_csp=not csp)
    login(page, username)
    seen_all_guides(page)
    if elder:
        page.evaluate("""() => fetch('/api/me/preferences', {method: 'PUT', headers: {'content-type':
            'application/json', 'x-csrf-token': document.cookie.match(/tb_csrf=([^;]+)/)[1]},
            body: JSON.stringify({elder_mode: true})})""")
    page.reload()
    page.get_by_role("heading", name="工作台", level=1).wait_for()
    return page


def submit_document(hamlet: httpx.Client, title: str) -> int:
    doc = hamlet.post(
        "/api/docs", json={"doc_type": "通知", "title": title, "body": BODY, "main_recipients": ["各处室"]}
    ).json()
    r = hamlet.post(f"/api/docs/{doc['id']}/actions", json={"action": "submit", "version": doc["version"]})
    assert r.status_code == 200, r.text
    return int(doc["id"])


def read_everything(org: Org, username: str) -> None:
    """Start from no unread messages (making a group posts a notice in it)."""
    actor = org.actor(username)
    with org.db.write() as s:
        for cid, unread in messaging_service.unread_counts(s, actor)["conversations"].items():
            if unread:
                conv = s.get(Conversation, int(cid))
                messages.mark_read(s, actor, conversation_id=int(cid), seq=conv.last_seq)


def badge(page: Any, name: str) -> Any:
    return page.locator(".sidebar .nav-link", has_text=name).locator(".nav-badge")


def test_toast_and_badge_reach_the_reader_of_documents_and_the_workbench_stays_live(
    browser: Any, live: Any, live_org: Org, hamlet: httpx.Client, out: Path
) -> None:
    polonius = live_org.users["polonius"]
    cid = group(live_org, "hamlet", "综合处工作群", ["polonius", "ophelia"])
    read_everything(live_org, "polonius")
    page = start(browser, live, "polonius")
    try:
        # The first page after sign-in is the 工作台, with nothing waiting yet.
        assert page.url.endswith("#/home")
        page.get_by_text("暂无待办").wait_for()
        assert badge(page, "工作台").is_hidden() and badge(page, "消息").is_hidden()

        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="公文").click()
        page.get_by_role("heading", name="公文", level=1).wait_for()
        page.wait_for_load_state("networkidle")

        r = hamlet.post(
            f"/api/messages/conversations/{cid}/messages",
            json={"text": "@王强 请审阅安全检查通知", "mentions": [polonius]},
        )
        assert r.status_code in (200, 201), r.text
        sent = time.monotonic()
        mention = page.locator(".toast", has_text="有人@了你")
        mention.wait_for(timeout=1000)
        assert "张伟：@王强 请审阅安全检查通知" in mention.inner_text()
        badge(page, "消息").get_by_text("1", exact=True).wait_for(timeout=1000)
        r = hamlet.post(
            f"/api/messages/conversations/{cid}/messages",
            json={"text": "下午三点前务必报送", "ding": True, "ding_user_ids": [polonius]},
        )
        ding = page.locator(".toast", has_text="DING")
        ding.wait_for(timeout=1000)
        badge(page, "消息").get_by_text("2", exact=True).wait_for(timeout=1000)
        badge(page, "工作台").get_by_text("1", exact=True).wait_for(timeout=1000)  # the DING waits for him
        assert time.monotonic() - sent < 3
        assert page.title().startswith("(3) 公文")  # 2 unread + 1 待办, in front of the page's name
        assert page.get_by_role("heading", name="公文", level=1).is_visible()  # still on 公文
        page.screenshot(path=out / "toast-on-docs-1366.png")

        seq = r.json()["seq"] if "seq" in r.json() else r.json()["message"]["seq"]
        ding.get_by_role("link", name="查看").click()
        page.wait_for_url(f"**/#/messages/{cid}?seq={seq}")
        page.get_by_role("heading", name="综合处工作群", level=2).wait_for()
        badge(page, "消息").wait_for(state="hidden", timeout=5000)  # read: the badge clears
        assert page.title().startswith("(1) ")

        # A 公文 step given to him joins the open 工作台 without a reload.
        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="工作台").click()
        page.get_by_role("heading", name="工作台", level=1).wait_for()
        page.locator(".todo-item", has_text="下午三点前务必报送").wait_for()
        submit_document(hamlet, "关于开展安全检查的通知")
        item = page.locator(".todo-item", has_text="关于开展安全检查的通知")
        item.wait_for(timeout=3000)
        assert "处室负责人核稿" in item.inner_text()
        badge(page, "公文").get_by_text("1", exact=True).wait_for(timeout=2000)
        badge(page, "工作台").get_by_text("2", exact=True).wait_for(timeout=2000)
        page.locator(".toast", has_text="新待办 · 公文").wait_for(timeout=2000)
        page.screenshot(path=out / "workbench-live-1366.png", full_page=True)

        # One click to where it is done.
        item.get_by_role("link", name="关于开展安全检查的通知").click()
        page.wait_for_url("**/#/docs/*")
        page.get_by_role("heading", name="关于开展安全检查的通知").first.wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()


def test_the_workbench_after_a_reconnect_and_its_tabs(
    browser: Any, live: Any, live_org: Org, hamlet: httpx.Client
) -> None:
    page = open_page(browser, live.url, width=1366)
    link = {"up": True}

    def socket(ws: Any) -> None:
        # The event stream goes through here: while "down", every connection is cut at once.
        if link["up"]:
            ws.connect_to_server()
            link["open"] = ws
        else:
            ws.close(code=4000, reason="down")

    page.route_web_socket(re.compile(r"/ws"), socket)
    try:
        login(page, "polonius")
        seen_all_guides(page)
        page.get_by_text("暂无待办").wait_for()
        link["up"] = False
        link["open"].close(code=4000, reason="down")
        page.wait_for_timeout(300)
        submit_document(hamlet, "断线期间送来的通知")  # its event is stored while he is away
        page.wait_for_timeout(1500)
        assert page.locator(".todo-item").count() == 0
        link["up"] = True
        # On reconnect the stream resumes from where it was and the 工作台 asks again.
        page.locator(".todo-item", has_text="断线期间送来的通知").wait_for(timeout=15_000)
        badge(page, "公文").get_by_text("1", exact=True).wait_for()

        tabs = page.get_by_role("navigation", name="工作台分类")
        tabs.get_by_role("link", name="我发起的").click()
        page.get_by_text("暂无发起的事项").wait_for()
        tabs.get_by_role("link", name="待办").click()
        page.get_by_role("navigation", name="按类别").get_by_role("link", name="公文").click()
        page.wait_for_url("**/#/home?kind=docs")
        # The list may be drawn again (a live event, the return to the tab) between two reads: wait
        # for the count rather than read it once.
        expect(page.locator(".todo-item")).to_have_count(1)
        expect(page.locator(".todo-item", has_text="断线期间送来的通知")).to_have_count(1)
        assert page.console_errors == []
    finally:
        page.context.close()


def test_quiet_hours_keep_the_toasts_away_but_not_the_badges(browser: Any, live: Any, live_org: Org, out: Path) -> None:
    cid = group(live_org, "hamlet", "小组", ["polonius"])
    read_everything(live_org, "polonius")
    page = start(browser, live, "polonius")
    try:
        page.get_by_role("link", name="个人设置").first.click()
        page.get_by_role("heading", name="提醒", level=2).wait_for()
        page.get_by_label("开启免打扰").check()
        # From now until a minute before now: quiet all day long.
        now = page.evaluate("""() => new Intl.DateTimeFormat('en-GB', {timeZone: 'Asia/Shanghai', hour: '2-digit',
            minute: '2-digit', hourCycle: 'h23'}).format(new Date())""")
        h, m = map(int, now.split(":"))
        before = (h * 60 + m - 1) % 1440
        page.get_by_label("开始时间").fill(now)
        page.get_by_label("结束时间").fill(f"{before // 60:02d}:{before % 60:02d}")
        page.get_by_role("button", name="保存").first.click()
        page.get_by_text("现在正处于免打扰时段").wait_for()
        page.get_by_role("heading", name="提醒", level=2).scroll_into_view_if_needed()
        page.screenshot(path=out / "quiet-hours-1366.png")
        send_as(live_org, "hamlet", cid, "免打扰时也要确认", ding=True)
        badge(page, "消息").get_by_text("1", exact=True).wait_for(timeout=2000)
        page.wait_for_timeout(500)
        assert page.locator(".toast", has_text="DING").count() == 0
        page.reload()  # kept on the server
        page.get_by_label("开启免打扰").wait_for()
        assert page.get_by_label("开启免打扰").is_checked()
        assert page.console_errors == []
    finally:
        page.context.close()


def test_a_ding_is_confirmed_from_its_toast_and_leaves_the_workbench(browser: Any, live: Any, live_org: Org) -> None:
    cid = group(live_org, "hamlet", "小组", ["polonius"])
    page = start(browser, live, "polonius")
    try:
        page.get_by_text("暂无待办").wait_for()
        send_as(live_org, "hamlet", cid, "明早九点开会，收到请回复", ding=True)
        toast = page.locator(".toast", has_text="DING")
        toast.wait_for()
        page.locator(".todo-item", has_text="明早九点开会").wait_for()  # the open 工作台 has it too
        toast.get_by_role("button", name="确认收到").click()
        toast.wait_for(state="detached")
        page.get_by_text("暂无待办").wait_for()  # acknowledged: no longer waiting for him
        badge(page, "工作台").wait_for(state="hidden")
        page.get_by_role("navigation", name="工作台分类").get_by_role("link", name="已办").click()
        page.locator(".todo-item", has_text="明早九点开会").wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()


# The page believes it is hidden when told to, and system notifications are recorded (the one fake:
# headless Chromium shows none).
HIDDEN_AND_RECORDED = """
Object.defineProperty(document, 'hidden', { get: () => !!window.__hidden });
window.__shown = [];
window.Notification = class { constructor(title, options) { window.__shown.push({ title, ...options }); } };
window.Notification.permission = 'granted';
"""


def test_a_hidden_tab_gets_a_system_notification_instead_of_a_toast(browser: Any, live: Any, live_org: Org) -> None:
    cid = group(live_org, "hamlet", "小组", ["polonius"])
    page = open_page(browser, live.url, width=1366)
    page.add_init_script(HIDDEN_AND_RECORDED)
    try:
        login(page, "polonius")
        page.get_by_role("heading", name="工作台", level=1).wait_for()
        page.get_by_text("暂无待办").wait_for()
        page.evaluate("() => { window.__hidden = true; }")
        send_as(live_org, "hamlet", cid, "请尽快确认", ding=True)
        page.wait_for_function("() => window.__shown.length > 0")
        shown = page.evaluate("() => window.__shown")
        assert shown[0]["title"] == "DING" and "请尽快确认" in shown[0]["body"]
        assert shown[0]["tag"].startswith(f"#/messages/{cid}?seq=")
        assert page.locator(".toast", has_text="DING").count() == 0
        assert page.console_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("width", [1366, 375])
@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
def test_axe_finds_nothing_serious_on_the_workbench(
    browser: Any,
    live: Any,
    live_org: Org,
    hamlet: httpx.Client,
    axe_source: str,  # noqa: F811 (the fixture imported above)
    out: Path,
    width: int,
    elder: bool,
) -> None:
    submit_document(hamlet, "关于做好岁末年初安全防范工作的通知")
    cid = group(live_org, "hamlet", "综合处工作群", ["polonius"])
    send_as(live_org, "hamlet", cid, "请确认收到", ding=True)
    with live_org.db.write() as s:  # a document he drafted himself, for 我发起的
        service.check_create_document(
            s,
            live_org.actor("polonius"),
            DocumentCreate(doc_type="请示", title="关于申请经费的请示", body=BODY, main_recipients=["省政府"]),
        )
    page = start(browser, live, "polonius", width=width, elder=elder, csp=False)
    mode = f"{width}-{'elder' if elder else 'normal'}"
    try:
        page.locator(".todo-item").nth(1).wait_for()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        # Each item's deadline and age keep to one line ("1 分钟前" was split after the 1 at 375 px).
        lines = page.locator(".todo-meta .todo-when").evaluate_all("(xs) => xs.map((x) => x.getClientRects().length)")
        assert len(lines) >= 2 and set(lines) == {1}, lines
        # 待办, 已办 and 我发起的 on one line, 长者模式 at 375 px included (我发起的 fell to a line of its own).
        tops = page.locator(".home-tabs .tab").evaluate_all("(ts) => ts.map((t) => t.getBoundingClientRect().top)")
        assert len(tops) == 3 and len(set(tops)) == 1, tops
        page.screenshot(path=out / f"workbench-{mode}.png", full_page=True)
        found = {"todo": serious_violations(page, axe_source)}
        page.goto("/#/home?box=mine")
        page.locator(".todo-item", has_text="关于申请经费的请示").wait_for()
        found["mine"] = serious_violations(page, axe_source)
        page.goto("/#/home?box=done")
        page.get_by_text("暂无已办事项").wait_for()
        found["done (empty)"] = serious_violations(page, axe_source)
        page.screenshot(path=out / f"workbench-done-{mode}.png")
        found = {k: v for k, v in found.items() if v}
        assert not found, json.dumps(found, ensure_ascii=False, indent=1)
        assert page.console_errors == []
    finally:
        page.context.close()
