"""办事 in Chromium: 张伟 (hamlet, 科员 of 综合处) asks for two days of 事假 on a 375 px phone — the form
counts the working days, names who will approve, and the request page draws the route — and his
department head 王强 (polonius) approves it at 1366 px from 待我审批; the route then shows who
approved, when and with what opinion, on both screens, and the print view carries the QR code.
axe-core finds nothing serious on the form, the request page and the designer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from banshi.builtin import ensure_builtin_templates
from banshi.models import AgencyOffices, FormTemplate, FormVersion
from tests.banshi.svc_helpers import make_template
from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_shell import login
from tests.factories import Org

pytestmark = pytest.mark.browser

# Tuesday and Wednesday of an ordinary week (no holiday, no 调休): two working days.
START, END = "2027-03-02", "2027-03-03"


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "banshi"
    path.mkdir(exist_ok=True)
    return path


def prepare(live: Any, org: Org) -> None:
    """The built-in forms for agency A (startup made them for the agencies that existed then), and
    its personnel office (秘书处), which 请假 copies when approved."""
    db = live.app.state.db
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        s.add(AgencyOffices(agency_id=org.agencies["A"], personnel_department_id=org.depts["A2"],
                            finance_department_id=org.depts["A2"]))  # fmt: skip


def test_leave_asked_on_a_phone_and_approved_by_the_head(
    browser: Any,
    live: Any,
    live_org: Org,
    out: Path,
    axe_source: str,  # noqa: F811 (the fixture imported above)
) -> None:
    prepare(live, live_org)
    zhang = open_page(browser, live.url, width=375, height=780)
    wang = open_page(browser, live.url, width=1366, height=860, bypass_csp=True)  # axe is injected inline
    try:
        # 张伟, on his phone: 我的 › 办事 › 请假.
        login(zhang, "hamlet")
        seen_all_guides(zhang)
        zhang.get_by_role("button", name="我的").click()
        zhang.get_by_role("dialog", name="我的").get_by_role("link", name="办事").click()
        zhang.get_by_role("heading", name="办事", level=1).wait_for()
        zhang.get_by_role("link", name=re.compile("^请假")).click()
        zhang.get_by_role("heading", name="请假", level=1).wait_for()
        zhang.get_by_label("请假类型").select_option("事假")
        zhang.get_by_label("开始日期").fill(START)
        zhang.get_by_label("结束日期").fill(END)
        zhang.get_by_label("请假事由").fill("家中有事需要处理")
        zhang.get_by_label("请假事由").press("Tab")
        zhang.get_by_text("共 2 个工作日").wait_for()
        side = zhang.get_by_role("complementary", name="审批流程")
        side.get_by_text("王强").wait_for()  # who will approve, resolved by the server now
        assert "部门负责人审批" in side.inner_text()
        assert sideways(zhang) <= 0
        zhang.screenshot(path=out / "leave-form-375.png", full_page=True)
        zhang.get_by_role("button", name="提交", exact=True).click()
        zhang.get_by_role("heading", name="张伟的请假", level=1).wait_for()
        route = zhang.locator(".bs-route")
        current = route.locator(".bs-step-current")
        current.get_by_text("部门负责人审批").wait_for()
        assert "王强" in current.inner_text() and "待审批" in current.inner_text()
        assert zhang.locator(".bs-status").inner_text() == "审批中"
        assert sideways(zhang) <= 0
        zhang.screenshot(path=out / "leave-submitted-375.png", full_page=True)

        # 王强, at his desk: 待我审批 lists it; he approves with an opinion.
        login(wang, "polonius")
        seen_all_guides(wang)
        wang.goto("/#/banshi?box=todo")
        wang.get_by_role("heading", name="办事", level=1).wait_for()
        wang.get_by_role("link", name="张伟的请假").click()
        wang.get_by_role("heading", name="请您审批：部门负责人审批").wait_for()
        assert not serious_violations(wang, axe_source)
        wang.get_by_label("审批意见").fill("同意，注意工作交接。")
        wang.get_by_role("button", name="同意", exact=True).click()
        wang.get_by_text("本申请已审批通过").wait_for()
        done = wang.locator(".bs-route .bs-step-done", has_text="部门负责人审批")
        assert "王强" in done.inner_text() and "已同意" in done.inner_text()
        assert "同意，注意工作交接。" in done.inner_text()
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", done.inner_text())  # when
        wang.screenshot(path=out / "leave-approved-1366.png", full_page=True)

        # Back on the phone, without reloading (the page follows banshi.request events): approved,
        # with 王强's decision and time in the route.
        zhang.get_by_text("本申请已审批通过").wait_for()
        assert zhang.locator(".bs-status").inner_text() == "已通过"
        assert "王强" in zhang.locator(".bs-route .bs-step-done", has_text="部门负责人审批").inner_text()
        zhang.screenshot(path=out / "leave-approved-375.png", full_page=True)
        zhang.get_by_role("link", name="打印审批单").first.click()
        zhang.get_by_role("heading", name="请假审批单", level=1).wait_for()
        assert "同意，注意工作交接。" in zhang.locator(".bs-sheet").inner_text()
        zhang.screenshot(path=out / "leave-print-375.png", full_page=True)
        assert zhang.console_errors == [] and wang.console_errors == []
    finally:
        zhang.context.close()
        wang.context.close()


def sideways(page: Any) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


def test_a_form_designed_and_published_by_the_administrator_is_used_on_a_phone(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    prepare(live, live_org)
    make_template(live.app.state.db, live_org, name="设备报修")  # a designed form, published: a link target too
    admin = open_page(browser, live.url, width=1366, height=860)
    zhang = open_page(browser, live.url, width=375, height=780)
    try:
        # 吴磊 (prospero, administrator) designs 办公设备维修: a required text, an amount, one step.
        login(admin, "prospero")
        admin.goto("/#/banshi/admin")
        admin.get_by_role("heading", name="表单设计", level=1).wait_for()
        admin.get_by_role("button", name="＋ 新建表单").click()
        dialog = admin.get_by_role("dialog", name="新建表单")
        dialog.get_by_label("表单名称").fill("办公设备维修")
        dialog.get_by_role("button", name="创建").click()
        admin.get_by_role("heading", name="设计：办公设备维修", level=1).wait_for()
        for kind, label, required in (("text", "设备名称", True), ("money", "预计费用", False)):
            admin.get_by_label("新字段类型").select_option(kind)
            admin.get_by_role("button", name="＋ 添加字段").click()
            card = admin.locator(".bs-field-card").last  # opened for editing
            card.get_by_label("标题").fill(label)
            card.get_by_label("标题").press("Tab")
            if required:
                card.get_by_label("必填").check()
        admin.locator(".bs-phone-frame").get_by_label("预计费用").wait_for()  # the phone preview follows
        # A link to the 出差审批 the repair was asked on: the form is picked by name (link_form travel).
        admin.get_by_label("新字段类型").select_option("link")
        admin.get_by_role("button", name="＋ 添加字段").click()
        card = admin.locator(".bs-field-card").last
        card.get_by_label("标题").fill("出差审批单")
        card.get_by_label("标题").press("Tab")
        picker = card.get_by_label("限定表单")
        options = picker.locator("option").all_inner_texts()  # the agency's published forms, by name
        assert {"不限表单", "出差审批", "请假", "设备报修"} <= set(options), options  # built-in or designed
        picker.select_option(label="出差审批")
        card.get_by_label("关联", exact=True).select_option("document")  # a 公文 link names no form
        assert not picker.is_visible()
        card.get_by_label("关联", exact=True).select_option("request")
        picker.select_option(label="出差审批")
        admin.get_by_role("button", name="按当前字段刷新流程设置").click()
        admin.locator(".bs-branch", has_text="默认流程").get_by_role("button", name="＋ 添加审批步骤").click()
        admin.get_by_role("button", name="发布新版本").click()
        admin.get_by_role("dialog", name="发布新版本").get_by_role("button", name="发布").click()
        admin.get_by_text("已发布第 1 版").wait_for()
        admin.screenshot(path=out / "designer-1366.png", full_page=True)
        with live.app.state.db.read() as s:  # the definition saved and published names the form
            template = s.exec(select(FormTemplate).where(FormTemplate.name == "办公设备维修")).one()
            version = s.get(FormVersion, template.published_version_id)
            link = next(f for f in version.fields if f["type"] == "link")
            assert (link["label"], link["to"], link["link_form"]) == ("出差审批单", "request", "travel")

        # 张伟 uses it on his phone the same minute: the 大写 follows his typing, his head approves.
        login(zhang, "hamlet")
        zhang.goto("/#/banshi")
        zhang.get_by_role("link", name=re.compile("^办公设备维修")).click()
        zhang.get_by_role("heading", name="办公设备维修", level=1).wait_for()
        zhang.get_by_label("设备名称").fill("打印机")
        zhang.get_by_label("预计费用").fill("1234.5")
        zhang.get_by_text("大写：壹仟贰佰叁拾肆元伍角").wait_for()
        zhang.get_by_label("预计费用").press("Tab")
        zhang.get_by_role("complementary", name="审批流程").get_by_text("王强").wait_for()
        assert sideways(zhang) <= 0
        zhang.get_by_role("button", name="提交", exact=True).click()
        zhang.get_by_role("heading", name="张伟的办公设备维修", level=1).wait_for()
        assert "¥1,234.50" in zhang.locator(".bs-values").inner_text()
        zhang.screenshot(path=out / "designed-form-used-375.png", full_page=True)
        assert admin.console_errors == [] and zhang.console_errors == []
    finally:
        admin.context.close()
        zhang.context.close()


def test_the_finance_office_edits_a_travel_standard_on_a_phone(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    """刘洋 of 秘书处 (the finance office here) opens 台账 › 差旅费标准 on his phone: the shipped rows
    are marked 示例; an amount that is not one is refused on its row; 820 元 is saved as 82000 分 and
    the row is confirmed (no longer an example)."""
    prepare(live, live_org)
    liu = open_page(browser, live.url, width=375, height=780)
    try:
        login(liu, "horatio")
        seen_all_guides(liu)
        liu.goto("/#/banshi/ledger")
        liu.get_by_role("link", name="差旅费标准").click()
        liu.get_by_role("heading", name="差旅费标准", level=1).wait_for()
        first = liu.locator(".bs-travel-table tbody tr").first
        assert "示例" in first.inner_text()
        lodging = liu.get_by_label("第 1 行住宿费上限（元/晚）")
        lodging.fill("八百")
        liu.get_by_role("button", name="保存", exact=True).click()
        liu.locator(".bs-row-error-msg", has_text="第 1 行的金额").wait_for()
        assert liu.get_by_label("第 1 行住宿费上限（元/晚）").get_attribute("aria-invalid") == "true"
        liu.get_by_label("第 1 行住宿费上限（元/晚）").fill("820")
        liu.get_by_role("button", name="保存", exact=True).click()
        liu.locator(".toast", has_text="差旅费标准已保存").wait_for()
        assert liu.locator(".bs-row-error-msg").count() == 0
        assert sideways(liu) <= 0
        liu.screenshot(path=out / "travel-standards-375.png")
        rows = liu.evaluate("() => fetch('/api/banshi/travel-standards').then((r) => r.json())")["items"]
        edited = next(r for r in rows if r["region"] == "*" and r["rank"] == "部级")
        assert edited["lodging_fen"] == 82000 and edited["is_example"] is False
        assert any(r["is_example"] for r in rows)  # the rows he did not touch are still examples
        assert [e for e in liu.console_errors if "/api/banshi/travel-standards" not in e] == []  # the refused 422
    finally:
        liu.context.close()
