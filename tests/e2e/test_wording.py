"""Small things a newcomer meets (issue #16 §6), in headless Chromium: each page's first-use guide names
only buttons, links and tabs that are on the page (“新建发文”, not “起草”) and says nothing about the
left of the screen, which a phone does not have. Screenshots in test-artifacts/wording/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import open_page
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
