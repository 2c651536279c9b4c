"""收文 in a real browser: an outgoing 通知 of agency A, distributed to agency B (set up over HTTP to keep
the test short), arrives in B's 收文 inbox; B's 办公室 head signs for it and registers it on the page;
the 督办 dashboard draws its chart; search finds it by two Chinese characters with the match marked;
the archive browser opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create
from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.esign.svc import enrol, make_seal
from tests.factories import Org

pytestmark = pytest.mark.browser

TITLE = "关于做好2027年预算编制工作的通知"


def test_distributed_notice_signed_registered_supervised_and_found(
    browser: Any, live: Any, live_org: Org, artifacts: Path
) -> None:
    enrol(live_org, "claudius")
    enrol(live_org, "yorick")
    make_seal(live_org, users=("yorick",))
    users = Clients(live.app)
    try:
        out = create(users, live_org, main_recipients=["省财政厅"], title=TITLE)
        out = advance(users, out, "end")
        assert out["status"] == "archived"
    finally:
        users.close()

    page = open_page(browser, live.url)
    try:
        login(page, "iago")
        page.goto("/#/incoming")
        page.get_by_role("heading", name="收文办理", level=1).wait_for()
        page.get_by_role("link", name=TITLE).click()
        page.get_by_role("heading", name=TITLE, level=1).wait_for()
        page.get_by_role("heading", name="办理：签收").wait_for()
        page.screenshot(path=artifacts / "incoming-received.png", full_page=True)
        page.get_by_role("button", name="签收", exact=True).click()
        page.get_by_role("heading", name="办理：登记").wait_for()
        page.get_by_role("button", name="登记编号").click()
        page.get_by_role("heading", name="办理：登记").wait_for(state="detached")
        reg = page.locator(".incoming-info dt", has_text="收文编号")
        reg.wait_for()
        page.screenshot(path=artifacts / "incoming-registered.png", full_page=True)

        page.get_by_role("navigation", name="收文栏目").get_by_role("link", name="督办").click()
        page.get_by_role("heading", name="督办", level=1).wait_for()
        page.locator("canvas.trend").wait_for()
        page.screenshot(path=artifacts / "incoming-supervision.png", full_page=True)

        page.get_by_role("navigation", name="收文栏目").get_by_role("link", name="搜索").click()
        page.get_by_role("heading", name="公文搜索", level=1).wait_for()
        page.get_by_label("搜索词").fill("预算")
        page.get_by_role("button", name="搜索", exact=True).click()
        hit = page.locator(".search-results li", has_text="预算编制").first
        hit.wait_for()
        assert hit.locator("mark", has_text="预算").count() >= 1
        page.screenshot(path=artifacts / "incoming-search.png", full_page=True)

        page.get_by_role("navigation", name="收文栏目").get_by_role("link", name="归档").click()
        page.get_by_role("heading", name="归档", level=1).wait_for()
        page.screenshot(path=artifacts / "incoming-archive.png", full_page=True)
        page.set_viewport_size({"width": 375, "height": 800})
        page.goto("/#/incoming/supervision")
        page.locator("canvas.trend").wait_for()
        page.screenshot(path=artifacts / "incoming-supervision-phone.png", full_page=True)
        assert page.console_errors == []
    finally:
        page.context.close()


def test_the_inbox_and_an_open_document_follow_changes_made_elsewhere(browser: Any, live: Any, live_org: Org) -> None:
    """No reload: a 收文 registered on another device appears in the open inbox, and a step done there
    moves the open document page on."""
    title = "关于报送年度统计数据的通知"
    users = Clients(live.app)
    page = open_page(browser, live.url)
    try:
        login(page, "iago")
        page.goto("/#/incoming")
        page.get_by_role("heading", name="收文办理", level=1).wait_for()
        page.get_by_text("暂无收文").wait_for()
        page.get_by_role("complementary", name="收文使用提示").wait_for()  # the first-visit note, named in Chinese
        r = users["iago"].post("/api/incoming", json={"title": title, "source_agency_name": "国家统计局"})
        assert r.status_code == 201, r.text
        doc = r.json()
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name="办理：登记").wait_for()
        r = users["iago"].post(
            f"/api/incoming/{doc['id']}/actions", json={"action": "approve", "version": doc["version"]}
        )
        assert r.status_code == 200, r.text
        page.get_by_role("heading", name="办理：登记").wait_for(state="detached")
        page.locator(".incoming-info dt", has_text="收文编号").wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()
        users.close()
