"""Small things a newcomer meets (issue #16 §6), in headless Chromium: each page's first-use guide names
only buttons, links and tabs that are on the page (“新建发文”, not “起草”) and says nothing about the
left of the screen, which a phone does not have. Screenshots in test-artifacts/wording/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_shell import login
from tests.factories import Org

pytestmark = pytest.mark.browser
GUIDED = {
    "messages": "消息",
    "docs": "公文",
    "incoming": "收文办理",
    "meetings": "会议",
    "directory": "通讯录",
    "esign": "电子签章",
}


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "wording"
    path.mkdir(exist_ok=True)
    return path


@pytest.mark.parametrize("width", [1366, 375])
def test_guides_name_what_is_on_the_page(browser: Any, live: Any, live_org: Org, out: Path, width: int) -> None:
    page = open_page(browser, live.url, width=width, height=860)
    try:
        login(page, "gertrude")
        for name, heading in GUIDED.items():
            page.goto(f"/#/{name}")
            page.get_by_role("heading", name=heading, level=1).wait_for()
            guide = page.locator(".guide-text")
            guide.wait_for()
            text = guide.inner_text()
            assert "左侧" not in text and "右侧" not in text, (name, text)
            for named in re.findall(r"“([^”]+)”", text):
                main = page.locator("main")
                found = sum(main.get_by_role(role, name=named).count() for role in ("button", "link", "tab"))
                assert found >= 1, f"{name}: the guide names “{named}”, which is not on the page"
            page.screenshot(path=out / f"guide-{name}-{width}.png")
        assert page.console_errors == []
    finally:
        page.context.close()


def test_incoming_entry_says_one_thing_after_it_is_signed_for(
    browser: Any,
    live: Any,
    live_org: Org,
    out: Path,
    axe_source: str,  # noqa: F811 (the fixture imported above)
) -> None:
    """Entering a paper 来文 records its 签收; the toast, the status and the next button all say that the
    next step is 登记 (the toast used to say 已登记并签收 while the status read 待登记)."""
    page = open_page(browser, live.url, width=1366, height=860, bypass_csp=True)
    try:
        login(page, "gertrude")
        seen_all_guides(page)
        page.goto("/#/incoming")
        page.get_by_role("button", name="录入来文").click()
        page.get_by_role("heading", name="录入来文", level=1).wait_for()
        page.get_by_label("标题").fill("关于报送年度总结的函")
        page.get_by_label("来文机关").fill("省审计厅")
        page.get_by_label("紧急程度").select_option("加急")
        page.screenshot(path=out / "incoming-entry-1366.png", full_page=True)
        assert serious_violations(page, axe_source) == []
        page.get_by_role("button", name="签收", exact=True).click()
        toast = page.locator(".toast").first
        toast.wait_for()
        assert toast.inner_text().startswith("已签收，下一步：登记编号")
        page.get_by_role("heading", name="关于报送年度总结的函", level=1).wait_for()
        page.locator(".incoming-info dd", has_text="待登记").wait_for()
        page.get_by_role("heading", name="办理：登记").wait_for()
        assert page.get_by_role("button", name="登记编号").is_visible()
        assert "登记" not in toast.inner_text().replace("登记编号", "")  # nothing says it is registered
        assert page.console_errors == []
    finally:
        page.context.close()
