"""办事's three flows of issue #17 in Chromium, end to end on one live server each:

- 请假 across 国庆 2026: 张伟 (科员) on a 375 px phone in 长者模式 asks for 年休假 from 28 September to
  10 October; the form counts 6 working days (the 调休 Saturday 10 October counted, 1–7 October not)
  and shows his balance; more than three days, so the route is 部门负责人 then 分管领导 with 人事处
  copied; both approve and his balance drops by 6.
- 差旅费报销 at 1366 px: two legs whose total passes 5 万元, so the route gains 分管领导 and 主要领导;
  the allowances and totals are the server's; after the head approves, the request page lists the
  extra steps still to come.
- 用印申请: 张伟 attaches a Word file and asks for a seal that may only be used on an approved 用印申请;
  once approved, the keeper 周敏 seals that very file in 签章 › 文件用印 citing it, and the 用印登记
  links back to the request.

People, keys, seals and leaders are set up through the services; what is under test is done in the UI.
Screenshots in test-artifacts/banshi-flows/."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from banshi import actions, leaders, leave, submission
from banshi.builtin import ensure_builtin_templates
from banshi.models import AgencyOffices, ApprovalRequest, FormTemplate, LeaveEntry, RequestCc
from esign import authorisations
from esign.models import Seal, SealUse
from office.models import Role
from tests.e2e.test_chat import start
from tests.esign.svc import PIN, enrol, make_seal, verify
from tests.esign.test_docx_sig import build_docx
from tests.factories import Org, make_user

pytestmark = pytest.mark.browser

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "banshi-flows"
    path.mkdir(exist_ok=True)
    return path


def setup_agency(live: Any, org: Org) -> dict[str, int]:
    """Agency A's built-in forms; 秘书处 (刘洋, 陈静) is its personnel and finance office; 赵刚 is
    综合处's 分管领导 and 钱进 (a new 秘书长) the 主要领导, set by the administrator 吴磊."""
    db = live.app.state.db
    org.users["lear"] = make_user(
        db, "lear", "钱进", dept_id=org.depts["A2"], title="秘书长", roles={Role.staff, Role.leader}
    )
    with db.write() as s:
        ensure_builtin_templates(s, org.agencies["A"])
        s.add(AgencyOffices(agency_id=org.agencies["A"], personnel_department_id=org.depts["A2"],
                            finance_department_id=org.depts["A2"]))  # fmt: skip
    with db.write() as s:
        leaders.set_leaders(
            s,
            org.actor("prospero"),
            {
                "principal": org.users["lear"],
                "supervisors": [{"department_id": org.depts["A1"], "user_id": org.users["claudius"]}],
            },
        )
        rows = s.exec(select(FormTemplate).where(FormTemplate.agency_id == org.agencies["A"])).all()
        return {t.builtin or "": t.id or 0 for t in rows}


def approve(org: Org, username: str, rid: int) -> None:
    with org.db.write() as s:
        req = s.get(ApprovalRequest, rid)
        assert req is not None
        actions.act(s, org.actor(username), rid, "approve", version=req.version, opinion="同意")


def request_id(page: Any) -> int:
    m = re.search(r"#/banshi/r/(\d+)", page.url)
    assert m, page.url
    return int(m.group(1))


def console_errors(page: Any) -> list[str]:
    """The page's console errors, but for the live preview's 422: a preview asked while a row or a field
    is half typed is refused and shown as "请先把表单填写完整" (form.js); whether one is asked at all
    depends on where the 400 ms pause falls in the typing, so a slow machine logs one."""
    return [e for e in page.console_errors if not ("status of 422" in e and e.endswith("/api/banshi/preview"))]


def one_line(page: Any, tabs: str) -> bool:
    """Whether the tabs of a tab strip sit on one line (on a phone the strip scrolls sideways instead)."""
    tops = page.locator(f"{tabs} .tab").evaluate_all("(ts) => ts.map((t) => Math.round(t.getBoundingClientRect().top))")
    return len(tops) > 1 and len(set(tops)) == 1


def all_in_view(page: Any, tabs: str) -> bool:
    """Whether every tab of a tab strip is wholly on screen, none clipped by a strip scrolled sideways."""
    return bool(
        page.locator(f"{tabs} .tab").evaluate_all("""(ts) => ts.length > 1 && ts.every((t) => {
            const r = t.getBoundingClientRect(), strip = t.closest('ul').getBoundingClientRect();
            return r.left >= 0 && r.right <= window.innerWidth && r.left >= strip.left && r.right <= strip.right;
        })""")
    )


def sideways(page: Any) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


def read_before_acting(page: Any) -> bool:
    """The approval comes after what is approved: 申请内容 and the route precede the action panel in
    the page, and the panel (on a phone, the bar fixed above the tab bar) is in view unscrolled."""
    return bool(
        page.evaluate("""() => {
            const values = document.getElementById('bs-values-h'), route = document.getElementById('bs-route-h');
            const panel = document.querySelector('.bs-action-panel');
            const after = (a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
            return after(values, route) && after(route, panel);
        }""")
    ) and in_view(page, ".bs-action-panel #bs-act-title")


def in_view(page: Any, selector: str) -> bool:
    """Whether the element is wholly inside the viewport and not under the phone's tab bar."""
    return bool(
        page.locator(selector).evaluate("""(e) => {
            const r = e.getBoundingClientRect(), bar = document.querySelector('.tabbar');
            const floor = bar && bar.offsetHeight ? bar.getBoundingClientRect().top : window.innerHeight;
            return r.height > 0 && r.top >= 0 && r.bottom <= floor;
        }""")
    )


def open_form(page: Any, name: str) -> None:
    page.goto("/#/banshi")
    page.get_by_role("heading", name="办事", level=1).wait_for()
    page.get_by_role("link", name=re.compile(f"^{name}")).click()
    page.get_by_role("heading", name=name, level=1).wait_for()


def test_annual_leave_across_national_day_on_a_phone_in_elder_mode(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    org = live_org
    ids = setup_agency(live, org)
    assert ids["leave"]
    with org.db.write() as s:  # 刘洋 of 人事处 records when 张伟 started work: 10 days a year
        leave.set_personnel(s, org.actor("horatio"), org.users["hamlet"], work_start=dt.date(2016, 1, 1), note="")
    zhang = start(browser, live, "hamlet", width=375, elder=True)
    zhao = start(browser, live, "claudius", width=1366)
    try:
        open_form(zhang, "请假")
        zhang.get_by_role("link", name="‹ 返回办事").click()
        zhang.get_by_role("heading", name="办事", level=1).wait_for()
        # All five 办事 boxes in view (rows of a segmented control), none behind the right edge.
        assert all_in_view(zhang, ".bs-tabs") and not one_line(zhang, ".bs-tabs") and sideways(zhang) <= 0
        zhang.screenshot(path=out / "banshi-tabs-375-elder.png")
        open_form(zhang, "请假")
        zhang.get_by_label("请假类型").select_option("年休假")
        zhang.get_by_label("开始日期").fill("2026-09-28")
        zhang.get_by_label("结束日期").fill("2026-10-10")
        zhang.get_by_label("请假事由").fill("国庆回老家探亲")
        zhang.get_by_label("请假事由").press("Tab")
        # 28–30 September, 9 October and the 调休 Saturday 10 October; 1–8 October are the holiday.
        zhang.get_by_text(re.compile("共 6 个工作日")).wait_for()
        balance = zhang.get_by_role("region", name="年休假").first
        assert "今年应休10 天" in balance.inner_text().replace("\n", "")
        assert "还可休10 天" in balance.inner_text().replace("\n", "")
        assert zhang.locator(".bs-side").get_by_text("今年应休").locator("visible=true").count() == 1  # shown once
        side = zhang.get_by_role("complementary", name="审批流程")
        side.get_by_text("赵刚").wait_for()
        shown = side.inner_text()
        assert "部门负责人审批" in shown and "王强" in shown and "分管领导审批" in shown
        assert "抄送" in shown and "刘洋" in shown and "陈静" in shown  # 人事处, at the end
        assert sideways(zhang) <= 0
        zhang.screenshot(path=out / "leave-national-day-form-375-elder.png", full_page=True)
        zhang.get_by_role("button", name="提交", exact=True).click()
        zhang.get_by_role("heading", name="张伟的请假", level=1).wait_for()
        rid = request_id(zhang)
        zhang.locator(".bs-route .bs-step-current").get_by_text("部门负责人审批").wait_for()
        zhang.screenshot(path=out / "leave-national-day-submitted-375-elder.png", full_page=True)

        # 王强 (head) agrees; then 赵刚 (分管领导) approves in his browser.
        approve(org, "polonius", rid)
        zhao.set_viewport_size({"width": 375, "height": 740})  # first on his phone: read, then act
        zhao.goto(f"/#/banshi/r/{rid}")
        zhao.get_by_role("heading", name="请您审批：分管领导审批").wait_for()
        assert read_before_acting(zhao)
        zhao.get_by_role("button", name="填写意见并审批").click()
        expect(zhao.get_by_label("审批意见")).to_be_focused()
        assert in_view(zhao, ".bs-action-panel .btn-primary:text-is('同意')")
        zhao.screenshot(path=out / "leave-national-day-approve-375.png")
        zhao.set_viewport_size({"width": 1366, "height": 800})  # at his desk the panel sits beside the content
        assert read_before_acting(zhao) and in_view(zhao, ".bs-action-panel .btn-primary:text-is('同意')")
        zhao.get_by_label("审批意见").fill("同意，节后按时返岗。")
        zhao.get_by_role("button", name="同意", exact=True).click()
        zhao.get_by_text("本申请已审批通过").wait_for()
        route = zhao.locator(".bs-route").inner_text()
        assert "王强" in route and "赵刚" in route
        zhao.screenshot(path=out / "leave-national-day-approved-1366.png", full_page=True)

        # On the phone, the request follows; 我的假期 shows 4 days left.
        zhang.get_by_text("本申请已审批通过").wait_for()
        zhang.screenshot(path=out / "leave-national-day-approved-375-elder.png", full_page=True)
        zhang.goto("/#/banshi/leave?year=2026")
        mine = zhang.get_by_role("region", name="年休假").first
        mine.wait_for()
        assert "还可休4 天" in mine.inner_text().replace("\n", "")
        assert sideways(zhang) <= 0 and one_line(zhang, "nav[aria-label='年度']")
        zhang.screenshot(path=out / "leave-balance-after-375-elder.png", full_page=True)
        with org.db.read() as s:
            used = s.exec(select(LeaveEntry.days).where(LeaveEntry.request_id == rid)).all()
            cc = set(s.exec(select(RequestCc.user_id).where(RequestCc.request_id == rid)).all())
        assert list(used) == [-6]
        assert {org.users["horatio"], org.users["laertes"]} <= cc
        assert console_errors(zhang) == [] and console_errors(zhao) == []
    finally:
        zhang.context.close()
        zhao.context.close()


def test_travel_expense_over_fifty_thousand_takes_the_leaders_branch(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    org = live_org
    ids = setup_agency(live, org)
    with org.db.write() as s:  # a 请假 and a 出差审批 of his: only the 出差审批 may be this claim's 出差审批单
        leave_values = {"kind": "事假", "dates": {"start": "2026-03-09", "end": "2026-03-09"}, "reason": "家中有事"}
        submission.create_request(s, org.actor("hamlet"), template_id=ids["leave"], values=leave_values, submit=True)
        trip_values = {"destination": "北京", "dates": {"start": "2026-03-02", "end": "2026-03-06"},
                       "reason": "参加培训", "transport": "火车"}  # fmt: skip
        trip = submission.create_request(
            s, org.actor("hamlet"), template_id=ids["travel"], values=trip_values, submit=True
        )
        trip_title = trip.title
    zhang = start(browser, live, "hamlet", width=1366)
    try:
        open_form(zhang, "差旅费报销")
        link = zhang.get_by_label("出差审批单")
        expect(link.locator("option", has_text=trip_title)).to_have_count(1)
        assert "请假" not in " ".join(link.locator("option").all_inner_texts())
        zhang.get_by_label("职级").select_option("其他人员")
        zhang.get_by_role("button", name="＋ 添加一行").click()
        legs = (
            ("北京", "2026-03-02", "2026-03-04", "30000", "2", "1000"),
            ("上海", "2026-03-05", "2026-03-06", "20000", "1", "500"),
        )
        for i, (region, begin, end, tickets, nights, lodging) in enumerate(legs, start=1):
            row = f"行程明细第 {i} 行："
            zhang.get_by_label(f"{row}出差地点").fill(region)
            zhang.get_by_label(f"{row}出发日期").fill(begin)
            zhang.get_by_label(f"{row}返回日期").fill(end)
            zhang.get_by_label(f"{row}城市间交通费（元）").fill(tickets)
            zhang.get_by_label(f"{row}住宿天数").fill(nights)
            zhang.get_by_label(f"{row}住宿费（实际）（元）").fill(lodging)
            zhang.get_by_label(f"{row}住宿费（实际）（元）").press("Tab")
        zhang.locator("input[type=file]").set_input_files(
            files=[{"name": "发票.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}]
        )
        zhang.locator(".bs-files").get_by_text("发票.pdf").wait_for()
        # Meals 100 元 and city transport 80 元 a day: 3 days in 北京, 2 in 上海.
        # 30,000 + 1,000 + 540 + 20,000 + 500 + 360 = 52,400 元.
        allowances = zhang.get_by_role("region", name="差旅费标准计算")
        allowances.wait_for()
        side = zhang.get_by_role("complementary", name="审批流程")
        side.get_by_text("主要领导审批").wait_for()
        shown = side.inner_text()
        assert "分管领导审批" in shown and "赵刚" in shown and "钱进" in shown and "财务处审核" in shown
        assert "52,400.00" in zhang.locator("main").inner_text()
        # 报销总额 is the server's: text with its 大写, no box to type in.
        assert zhang.locator("input[name=amount]").count() == 0
        zhang.locator(".bs-field[data-key=amount]").get_by_text("大写：伍万贰仟肆佰元整").wait_for()
        # The detail table has the form's width: the side panel sits below it, nothing scrolls the page.
        place = zhang.get_by_label("行程明细第 1 行：出差地点").bounding_box()
        form_box = zhang.locator(".bs-new-form").bounding_box()
        assert place and form_box and place["x"] + place["width"] <= form_box["x"] + form_box["width"]
        assert side.bounding_box()["y"] > form_box["y"] + form_box["height"] and sideways(zhang) <= 0
        zhang.screenshot(path=out / "expense-form-1366.png", full_page=True)
        zhang.get_by_role("button", name="提交", exact=True).click()
        zhang.get_by_role("heading", name="张伟的差旅费报销", level=1).wait_for()
        rid = request_id(zhang)

        approve(org, "polonius", rid)  # one approval: the route goes on to 财务处, then the leaders
        zhang.locator(".bs-route .bs-step-current").get_by_text("财务处审核").wait_for()
        route = zhang.locator(".bs-route").inner_text()
        for step in ("部门负责人审批", "财务处审核", "分管领导审批", "主要领导审批"):
            assert step in route, step
        assert sideways(zhang) <= 0  # the 行程明细 table scrolls inside its box, if at all
        # The steps still to come name the people resolved at submission, 待办理.
        later = zhang.locator(".bs-route .bs-step-upcoming")
        assert "赵刚" in later.nth(0).inner_text() and "钱进" in later.nth(1).inner_text()
        assert "待办理" in later.nth(1).inner_text()
        zhang.screenshot(path=out / "expense-request-1366.png", full_page=True)
        assert console_errors(zhang) == []
    finally:
        zhang.context.close()


def test_seal_request_authorises_the_seal_that_the_keeper_then_applies(
    browser: Any, live: Any, live_org: Org, out: Path
) -> None:
    org = live_org
    setup_agency(live, org)
    enrol(org, "yorick")
    seal_id = make_seal(org)
    with org.db.write() as s:
        authorisations.set_required(s, org.actor("yorick"), seal_id, required=True)
    doc = build_docx()
    zhang = start(browser, live, "hamlet", width=1366)
    zhou = start(browser, live, "yorick", width=1366)
    try:
        open_form(zhang, "用印申请")
        zhang.get_by_label("印章").select_option(str(seal_id))
        zhang.locator("input[type=file]").set_input_files(
            files=[{"name": "采购合同.docx", "mimeType": DOCX, "buffer": doc}]
        )
        zhang.locator(".bs-files").get_by_text("采购合同.docx").wait_for()
        zhang.get_by_label("用印次数").fill("1")
        zhang.get_by_label("用印事由").fill("签订办公设备采购合同")
        zhang.get_by_label("用印事由").press("Tab")
        zhang.get_by_role("complementary", name="审批流程").get_by_text("赵刚").wait_for()
        zhang.screenshot(path=out / "seal-request-form-1366.png", full_page=True)
        zhang.get_by_role("button", name="提交", exact=True).click()
        zhang.get_by_role("heading", name="张伟的用印申请", level=1).wait_for()
        rid = request_id(zhang)
        with org.db.read() as s:
            seal = s.get(Seal, seal_id)
            assert seal is not None
        shown_seal = zhang.locator(".bs-values dt", has_text="印章").locator("xpath=following-sibling::dd[1]")
        assert seal.name in shown_seal.inner_text()  # the seal by its name, not its id
        approve(org, "polonius", rid)
        approve(org, "claudius", rid)
        zhang.get_by_text("本申请已审批通过").wait_for()
        zhang.screenshot(path=out / "seal-request-approved-1366.png", full_page=True)

        # 周敏: 签章 › 文件用印, the approved 用印申请, the same file, her PIN.
        zhou.get_by_role("navigation", name="主要栏目").get_by_role("link", name="签章").click()
        zhou.get_by_role("heading", name="电子签章", level=1).wait_for()
        zhou.get_by_role("link", name="文件用印").click()
        zhou.get_by_role("heading", name="文件用印").wait_for()
        grant = zhou.get_by_label("用印申请")
        grant.locator("option", has_text="张伟").wait_for(state="attached")
        grant.select_option(index=1)
        zhou.get_by_label("Word 文件（.docx）").set_input_files(
            files=[{"name": "采购合同.docx", "mimeType": DOCX, "buffer": doc}]
        )
        zhou.get_by_label("文件标识（如发文字号）").fill("采购合同")
        zhou.get_by_role("button", name="盖章").click()
        dialog = zhou.get_by_role("dialog", name="用印：请输入您的签名 PIN 码")
        dialog.get_by_label("签名 PIN 码").fill(PIN)
        dialog.get_by_role("button", name="确定").click()
        zhou.get_by_text("盖章完成，已登记用印并记入公开日志。").wait_for()
        with zhou.expect_download() as got:
            zhou.get_by_role("link", name=re.compile("采购合同（已盖章）")).click()
        assert got.value.suggested_filename == "采购合同（已盖章）.docx"
        report = verify(org.db, Path(got.value.path()).read_bytes())
        assert report["valid"] and report["signatures"][0]["signer"] == "周敏", report
        zhou.screenshot(path=out / "seal-applied-1366.png", full_page=True)

        # 印章管理 › 用印登记: the use links back to the request.
        zhou.get_by_role("link", name="印章管理").click()
        card = zhou.locator(".seal-card").first
        card.get_by_role("button", name="用印登记").click()
        back = card.get_by_role("link", name=re.compile("用印申请"))
        back.wait_for()
        assert back.get_attribute("href") == f"#/banshi/r/{rid}"
        zhou.screenshot(path=out / "seal-uses-1366.png", full_page=True)
        # (The keeper cannot open that link yet: the request page answers 对象不存在或无权查看.)

        # The applicant's request page shows the grant used once, by 周敏.
        zhang.reload()
        granted = zhang.get_by_role("region", name="用印授权")
        granted.get_by_text("已授权用印 1 次，已用 1 次（已用完）").wait_for()
        assert "周敏 用印" in granted.inner_text()
        zhang.screenshot(path=out / "seal-request-used-1366.png", full_page=True)
        with org.db.read() as s:
            (use,) = s.exec(select(SealUse).where(SealUse.seal_id == seal_id)).all()
        assert use.authorisation_id is not None
        assert console_errors(zhang) == [] and console_errors(zhou) == []
    finally:
        zhang.context.close()
        zhou.context.close()
