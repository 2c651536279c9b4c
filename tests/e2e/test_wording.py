"""Small things a newcomer meets (issue #16 §6), in headless Chromium: each page's first-use guide names
only buttons, links and tabs that are on the page (“新建发文”, not “起草”) and says nothing about the
left of the screen, which a phone does not have. Screenshots in test-artifacts/wording/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.docs_flow.conftest import Clients
from tests.e2e.conftest import open_page
from tests.e2e.test_esign import drop_file
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_people import start
from tests.e2e.test_shell import login
from tests.esign.svc import enrol, make_seal, seal_doc
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


def test_audit_log_and_verification_read_in_plain_chinese(browser: Any, live: Any, live_org: Org, out: Path) -> None:
    """The audit log says what was done, by whom, to whom and when, in words (no action codes, no bare
    ids); the verification page says 已记入公开日志第 N 条, not the tree size and proof length."""
    users = Clients(live.app)
    try:
        r = users["prospero"].put(
            f"/api/admin/users/{live_org.users['hamlet']}/roles", json={"roles": ["staff", "clerk"]}
        )
        assert r.status_code == 200, r.text
    finally:
        users.close()
    enrol(live_org, "yorick")
    sealed = seal_doc(live_org, "yorick", make_seal(live_org, users=("yorick",)))
    page = open_page(browser, live.url, width=1366, height=860)
    try:
        login(page, "prospero")
        seen_all_guides(page)
        page.goto("/#/admin/audit")
        row = page.locator("tbody tr", has_text="修改角色").first
        row.wait_for()
        text = row.inner_text()
        assert "人员：张伟" in text and "角色：" in text and "文书/收发员" in text and "科员" in text, text
        assert "user.roles" not in text and "clerk" not in text and "#" not in text
        shown = row.locator("td").nth(1).inner_text()
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}", shown), shown  # the reader's time, 年/月/日 时:分
        for cell in page.locator("tbody tr td:nth-child(4)").all_inner_texts():
            assert not re.search(r"[a-z]+\.[a-z_]+", cell), cell  # every action in words
        page.screenshot(path=out / "audit-1366.png", full_page=True)

        page.goto("/#/esign/verify")
        page.get_by_role("heading", name="验证文件").wait_for()
        drop_file(page, ".dropzone", "粤府办〔2026〕1号.docx", sealed)
        report = page.locator(".verify-report")
        report.get_by_text("签章有效，内容未被修改").wait_for()
        text = report.inner_text()
        assert re.search(r"已记入公开日志第 \d+ 条", text) and "树大小" not in text and "包含证明" not in text, text
        assert "ECDSA-P256-SHA256" not in text.split("证明数据")[0] and "国际通用算法" in text
        page.screenshot(path=out / "verify-1366.png", full_page=True)
        assert page.console_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize(("width", "elder"), [(1366, False), (375, True)])
def test_dates_and_times_in_chinese_order(
    browser: Any,
    live: Any,
    live_org: Org,
    out: Path,
    axe_source: str,  # noqa: F811 (the fixture imported above)
    width: int,
    elder: bool,
) -> None:
    """Dates read 年-月-日 and times 24-hour 时:分 whatever the browser's language (this Chromium's is
    English: a native date box shows 12/07/2026 and 09:00 AM); what is typed in other common ways is
    tidied, and what is no date or time is refused in Chinese."""
    page = start(browser, live, "gertrude", width=width, elder=elder)
    try:
        page.goto("/#/meetings/new")
        page.get_by_role("heading", name="预约会议", level=1).wait_for()
        date, begin = page.get_by_label("日期", exact=True), page.get_by_label("开始", exact=True)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date.input_value()) and begin.input_value() == "09:00"
        assert date.get_attribute("type") == "text" and begin.get_attribute("type") == "text"
        date.fill("2027年3月2日")
        begin.fill("9点30")
        page.get_by_label("结束", exact=True).fill("1100")
        page.get_by_label("会议名称").focus()  # leaving a box tidies it
        assert (date.input_value(), begin.input_value()) == ("2027-03-02", "09:30")
        assert page.get_by_label("结束", exact=True).input_value() == "11:00"
        begin.fill("25:61")
        page.get_by_label("会议名称").focus()
        assert begin.evaluate("i => i.validationMessage") == "请按 时:分 填写（24 小时制），例如 14:30"
        date.fill("2027-02-30")
        page.get_by_label("会议名称").focus()
        assert date.evaluate("i => i.validationMessage") == "请按 年-月-日 填写，例如 2026-12-07"
        begin.fill("09:30")
        date.fill("2027-03-02")
        page.get_by_label("会议名称").focus()
        assert page.get_by_role("button", name="日历").count() == 1
        page.screenshot(path=out / f"dates-{width}{'-elder' if elder else ''}.png", full_page=True)
        assert serious_violations(page, axe_source) == []
        assert page.console_errors == []
    finally:
        page.context.close()
