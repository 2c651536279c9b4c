"""数据填报 in Chromium, the issue's Done-when walk. 丁国庆, head of 广东省发改委's 规划处, builds a task at
1366 px from the registry's items and three cities' 统计科, and issues it; his board follows the units
live. 广州's clerk fills it on a 375 px phone: the population comes prefilled from last report and
the staff count from the directory; changing the population asks for a reason. 深圳's clerk downloads
the return as xlsx, uploads it with a wrong cell, sees the error on that cell, fixes it and uploads
again. 珠海's return is sent back by the collector with a comment on the GDP cell, fixed and
resubmitted, then accepted. The summary draws the totals; 广州's burden report shows the reuse. axe
finds nothing serious on the form, the board, the summary and the burden report; every screen is
photographed at 1366 and 375 px, normal and 长者模式 (test-artifacts/tianbao/)."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from office.actor import SYSTEM
from office.directory import service
from office.models import DeptKind, Role
from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import _layout_problems, axe_source, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_shell import login
from tests.factories import make_user

pytestmark = pytest.mark.browser

CITIES = (("gz", "广州市", "林晓红", "陈志明"), ("sz", "深圳市", "黄文", "吴建国"), ("zh", "珠海市", "梁敏", "何立平"))
POPULATION = {"gz": 1882.7, "sz": 1779.0, "zh": 249.4}  # 2026, reported last time
GDP_Q3 = {"gz": 7860.2, "sz": 7690.4, "zh": 4210.8}  # 2026Q3: the summary compares with it
GUIDES = ["messages", "docs", "incoming", "meetings", "directory", "esign", "banshi", "tianbao"]


@dataclass
class World:
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "tianbao"
    path.mkdir(exist_ok=True)
    return path


def build(live: Any) -> World:
    """The collector (发改委 规划处), three cities' 统计科 with a clerk (填报) and a head (审核), the scope
    rows that let 发改委 collect from them, three registered items and last report's population."""
    from tianbao import items, values
    from tianbao.models import CollectScope, ValueOrigin

    db = live.app.state.db
    w = World()
    with db.write() as s:
        fgw = service.create_department(s, SYSTEM, name="广东省发展和改革委员会", kind=DeptKind.agency, code="粤发改")
        w.units["plan"] = service.create_department(s, SYSTEM, name="规划处", parent_id=fgw.id).id  # type: ignore[assignment]
        for key, city, _clerk, _head in CITIES:
            gov = service.create_department(
                s, SYSTEM, name=f"{city}人民政府", kind=DeptKind.agency, code=f"{city[:2]}府"
            )
            w.units[key] = service.create_department(s, SYSTEM, name="统计科", parent_id=gov.id).id  # type: ignore[assignment]
            s.add(CollectScope(collector_agency_id=fgw.id, root_id=gov.id))  # type: ignore[arg-type]
    w.users["ding"] = make_user(
        db, "ding", "丁国庆", dept_id=w.units["plan"], title="处长", roles={Role.staff, Role.dept_head}
    )
    for key, _city, clerk, head in CITIES:
        w.users[f"{key}_clerk"] = make_user(
            db, f"{key}_clerk", clerk, dept_id=w.units[key], title="统计员", roles={Role.staff, Role.clerk}
        )
        w.users[f"{key}_head"] = make_user(
            db, f"{key}_head", head, dept_id=w.units[key], title="科长", roles={Role.staff, Role.dept_head}
        )
    owner = {"owner_dept_id": w.units["plan"]}
    specs = [
        ("pop", {"code": "A01.001", "name": "辖区常住人口", "unit_label": "万人", "cycle": "year", "level": "public",
                 "definition": "年末在本辖区居住半年以上的人口", "spec": {"type": "number", "min": 0, "decimals": 1}}),
        ("gdp", {"code": "A02.001", "name": "地区生产总值", "unit_label": "亿元", "cycle": "quarter", "level": "internal",
                 "definition": "按当季累计、现价计算", "spec": {"type": "number", "min": 0, "decimals": 2}}),
        ("staff", {"code": "A03.001", "name": "在编人数", "unit_label": "人", "cycle": "year", "level": "internal",
                   "source": "directory.staff_count", "spec": {"type": "number", "min": 0, "decimals": 0}}),
    ]  # fmt: skip
    with db.write() as s:
        for key, data in specs:
            w.items[key] = items.create_item(s, SYSTEM, {**data, **owner}).id  # type: ignore[assignment]
    with db.write() as s:
        from tianbao.models import DataItem

        pop = s.get(DataItem, w.items["pop"])
        gdp = s.get(DataItem, w.items["gdp"])
        assert pop is not None and gdp is not None
        for key, *_ in CITIES:
            rows = [
                (pop, "2026", POPULATION[key], ValueOrigin.typed, ""),
                (gdp, "2026Q3", GDP_Q3[key], ValueOrigin.typed, ""),
            ]
            values.store(
                s, unit_id=w.units[key], rows=rows, task_id=None, return_id=None, author_id=w.users[f"{key}_clerk"]
            )
    return w


def seen_guides(page: Any) -> None:
    page.evaluate(f"() => {{ for (const n of {GUIDES!r}) localStorage.setItem('tb_guide_seen_' + n, '1'); }}")


def elder(page: Any, on: bool) -> None:
    page.evaluate(
        """async (on) => { const r = await fetch('/api/me/preferences', {method: 'PUT', credentials: 'same-origin',
             headers: {'Content-Type': 'application/json', 'X-CSRF-Token': (document.cookie.match(/tb_csrf=([^;]+)/) || [])[1] || ''},
             body: JSON.stringify({elder_mode: on})}); if (!r.ok) throw new Error(await r.text()); }""",
        on,
    )
    page.reload()
    page.locator("html.elder" if on else "html:not(.elder)").wait_for(state="attached")
    page.locator(".page h1").first.wait_for()


def shots(page: Any, out: Path, name: str) -> None:
    """The screen as it is, then in 长者模式 (and back): test-artifacts/tianbao/<name>[-elder].png."""
    page.wait_for_load_state("networkidle")
    page.evaluate("() => document.querySelectorAll('.toast').forEach((t) => t.remove())")
    page.screenshot(path=out / f"{name}.png", full_page=True)
    assert _layout_problems(page, elder=False) == [], name
    elder(page, True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=out / f"{name}-elder.png", full_page=True)
    # 长者模式: no sideways scrolling, every control at least 44 px (the check every page gets).
    assert _layout_problems(page, elder=True) == [], name
    elder(page, False)


def narrow(page: Any, out: Path, name: str) -> None:
    """The same page on a 375 px screen (the desk's window made narrow): no sideways scrolling."""
    page.set_viewport_size({"width": 375, "height": 780})
    try:
        page.wait_for_timeout(400)  # the charts are drawn again for the new width
        assert sideways(page) <= 0
        page.screenshot(path=out / f"{name}.png", full_page=True)
    finally:
        page.set_viewport_size({"width": 1366, "height": 860})


def sideways(page: Any) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


def user_page(browser: Any, live: Any, username: str, *, width: int, axe: bool = False) -> Any:
    page = open_page(browser, live.url, width=width, height=860 if width > 600 else 780, bypass_csp=axe)
    login(page, username)
    seen_guides(page)
    return page


def open_return(page: Any, title: str) -> None:
    page.goto("/#/tianbao")
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for()


def action(page: Any, name: str, confirm: str | None = None) -> None:
    page.locator(".tb-action-bar").get_by_role("button", name=name, exact=True).click()
    if confirm:
        page.get_by_role("dialog").get_by_role("button", name=confirm, exact=True).click()


def wait_saved(page: Any) -> None:
    page.get_by_text(re.compile("已自动保存")).wait_for()


def test_task_issued_filled_on_a_phone_by_xlsx_returned_and_reused(
    browser: Any,
    live: Any,
    out: Path,
    axe_source: str,  # noqa: F811 (the fixture imported above)
) -> None:
    w = build(live)
    title = "2026年第4季度经济运行数据"
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    pages: list[Any] = []
    try:
        # 丁国庆 builds the task from the registry and the unit tree, and issues it.
        ding = user_page(browser, live, "ding", width=1366, axe=True)
        pages.append(ding)
        ding.get_by_role("navigation", name="主要栏目").get_by_role("link", name="数据填报").click()
        ding.get_by_role("heading", name="数据填报", level=1).wait_for()
        ding.get_by_role("link", name="数据项").click()
        ding.get_by_text("辖区常住人口").wait_for()
        ding.screenshot(path=out / "items-1366.png", full_page=True)
        ding.get_by_role("link", name="采集任务").click()
        ding.get_by_text("没有进行中的采集任务").wait_for()
        shots(ding, out, "tasks-empty-1366")
        ding.get_by_role("link", name="新建采集任务").first.click()
        ding.get_by_role("heading", name="新建采集任务", level=1).wait_for()
        ding.get_by_label("任务名称").fill(title)
        ding.get_by_label("报告期").select_option("2026Q4")
        ding.get_by_label("截止时间：日期").fill(deadline)
        for name in ("辖区常住人口", "地区生产总值", "在编人数"):
            ding.get_by_label("查找数据项").fill(name)
            ding.get_by_role("button", name=f"添加 {name}").click()
        for key, *_ in CITIES:
            ding.locator(f'input[name="unit-{w.units[key]}"]').check()
        ding.get_by_text("已选 3 个单位").wait_for()
        ding.get_by_text("已选 3 项").wait_for()
        ding.screenshot(path=out / "task-new-1366.png", full_page=True)
        ding.get_by_role("button", name="下发", exact=True).click()
        ding.get_by_role("dialog", name="下发采集任务").get_by_role("button", name="下发").click()
        ding.get_by_role("heading", name=title, level=1).wait_for()
        board = ding.locator(".tb-board-table")
        assert board.locator("tbody tr").count() == 3
        assert board.get_by_text("未开始").count() == 3
        # 催报 to 珠海 (nobody there has opened it yet).
        zh_row = board.locator("tr", has_text="珠海市")
        zh_row.get_by_role("checkbox").check()
        ding.get_by_role("button", name="催报", exact=True).click()
        ding.get_by_role("dialog", name="催报").get_by_role("button", name="发送催报").click()
        zh_row.get_by_text("1 次").wait_for()
        assert not serious_violations(ding, axe_source)
        board_url = ding.url

        # 广州: the clerk on a phone. 我的 › 数据填报 › the task: prefilled from the registry and the directory.
        gz = user_page(browser, live, "gz_clerk", width=375)
        pages.append(gz)
        gz.get_by_role("button", name="我的").click()
        gz.get_by_role("dialog", name="我的").get_by_role("link", name="数据填报").click()
        gz.get_by_role("link", name=title).wait_for()
        assert "由您填报" in gz.locator(".tb-item").inner_text()
        gz.screenshot(path=out / "returns-375.png", full_page=True)
        gz.get_by_role("link", name=title).click()
        gz.get_by_role("heading", name=title, level=1).wait_for()
        pop = gz.get_by_label("辖区常住人口（万人）")
        assert pop.input_value() == "1882.7"
        block = gz.locator(f'.tb-item-block[data-item="{w.items["pop"]}"]')
        assert "已预填" in block.inner_text() and "2026年" in block.inner_text() and "统计科" in block.inner_text()
        staff_block = gz.locator(f'.tb-item-block[data-item="{w.items["staff"]}"]')
        assert gz.get_by_label("在编人数（人）").input_value() == "2"  # the clerk and the head
        assert "通讯录" in staff_block.inner_text()
        ding.locator(".tb-board-table tr", has_text="广州市").get_by_text("填报中").wait_for()  # live
        assert sideways(gz) <= 0
        shots(gz, out, "form-prefilled-375")
        # Changing the prefilled population asks why.
        pop.fill("1890.1")
        pop.press("Tab")
        reason = gz.get_by_role("dialog", name="修改预填值：辖区常住人口")
        reason.get_by_label("修改原因").fill("按2026年人口抽样调查更正")
        reason.get_by_role("button", name="确定修改").click()
        assert "修改原因：按2026年人口抽样调查更正" in block.inner_text()
        gz.get_by_label("地区生产总值（亿元）").fill("8123.45")
        gz.get_by_label("地区生产总值（亿元）").press("Tab")
        wait_saved(gz)
        gz.get_by_text("已填 3 / 3 项").wait_for()
        gz.screenshot(path=out / "form-filled-375.png", full_page=True)
        action(gz, "提交审核", confirm="提交审核")
        gz.get_by_text("审核中").first.wait_for()
        review_and_submit(browser, live, "gz_head", title, pages)

        # 深圳: the xlsx round trip, with a wrong cell first.
        sz = user_page(browser, live, "sz_clerk", width=1366, axe=True)
        pages.append(sz)
        open_return(sz, title)
        assert not serious_violations(sz, axe_source)
        shots(sz, out, "form-1366")
        with sz.expect_download() as got:
            sz.get_by_role("link", name="下载 Excel 表格").click()
        book = got.value.path().read_bytes()
        sz.locator('.tb-xlsx input[type="file"]').set_input_files(
            files=[{"name": "深圳.xlsx", "mimeType": XLSX, "buffer": filled(book, {"A02.001": "八千亿"})}]
        )
        errors = sz.locator(".tb-xlsx-errors")
        errors.get_by_text("未保存任何内容").wait_for()
        assert "D" in errors.inner_text() and "地区生产总值" in errors.inner_text()
        gdp_block = sz.locator(f'.tb-item-block[data-item="{w.items["gdp"]}"]')
        assert gdp_block.locator(".tb-field-error").is_visible()
        sz.screenshot(path=out / "xlsx-error-1366.png", full_page=True)
        sz.locator('.tb-xlsx input[type="file"]').set_input_files(
            files=[{"name": "深圳.xlsx", "mimeType": XLSX, "buffer": filled(book, {"A02.001": 8002.5})}]
        )
        sz.get_by_text(re.compile("表格已导入")).wait_for()
        assert sz.get_by_label("地区生产总值（亿元）").input_value() in ("8002.5", "8002.50")
        action(sz, "提交审核", confirm="提交审核")
        sz.get_by_text("审核中").first.wait_for()
        review_and_submit(browser, live, "sz_head", title, pages)

        # 珠海: filled, submitted, then sent back by the collector with a comment on the GDP cell.
        zh = user_page(browser, live, "zh_clerk", width=375)
        pages.append(zh)
        zh.goto("/#/home")  # the 工作台 lists what waits for this clerk
        zh.locator(".page").get_by_role("link", name=re.compile(title)).first.click()
        zh.get_by_role("heading", name=title, level=1).wait_for()
        # GDP still empty: the form lists every missing required item and puts the cursor in the first,
        # before any "提交给本单位审核人？" and without asking the server.
        action(zh, "提交审核")
        missing = zh.locator(".tb-missing")
        missing.get_by_text("还有 1 项必填未填写").wait_for()
        assert missing.get_by_role("link").all_inner_texts() == ["地区生产总值（亿元）"]
        expect(zh.get_by_label("地区生产总值（亿元）")).to_be_focused()
        assert zh.get_by_role("dialog").count() == 0
        zh.screenshot(path=out / "form-missing-375.png", full_page=True)
        zh.get_by_label("地区生产总值（亿元）").fill("4500")
        zh.get_by_label("地区生产总值（亿元）").press("Tab")
        wait_saved(zh)
        expect(missing).to_be_hidden()  # the list empties as the items are filled
        action(zh, "提交审核", confirm="提交审核")
        zh.get_by_text("审核中").first.wait_for()
        review_and_submit(browser, live, "zh_head", title, pages)

        ding.goto(board_url)
        row = ding.locator(".tb-board-table tr", has_text="珠海市")
        row.get_by_text("已报送").wait_for()
        shots(ding, out, "board-1366")
        row.get_by_role("link").click()
        ding.get_by_role("button", name="退回修改").wait_for()
        gdp = ding.locator(f'.tb-item-block[data-item="{w.items["gdp"]}"]')
        gdp.get_by_role("button", name="批注此项").click()
        gdp.get_by_label("对“地区生产总值”的批注").fill("与统计局快报数 4,650 亿元不一致，请核实")
        ding.screenshot(path=out / "review-comment-1366.png", full_page=True)
        action(ding, "退回修改")
        ding.get_by_role("dialog", name="退回修改").get_by_role("button", name="退回").click()
        ding.get_by_text("已退回").first.wait_for()

        zh.goto("/#/tianbao")
        zh.get_by_text("上级已退回，请按批注修改后重新报送").wait_for()
        zh.get_by_role("link", name=title).click()
        zh_gdp = zh.locator(f'.tb-item-block[data-item="{w.items["gdp"]}"]')
        zh_gdp.get_by_text("与统计局快报数 4,650 亿元不一致，请核实").wait_for()
        assert sideways(zh) <= 0
        shots(zh, out, "form-returned-375")
        zh.get_by_label("地区生产总值（亿元）").fill("4650")
        zh.get_by_label("地区生产总值（亿元）").press("Tab")
        wait_saved(zh)
        action(zh, "提交审核", confirm="提交审核")
        zh.get_by_text("审核中").first.wait_for()
        review_and_submit(browser, live, "zh_head", title, pages)

        # The collector accepts the three and reads the summary.
        for city in ("广州市", "深圳市", "珠海市"):
            ding.goto(board_url)
            ding.locator(".tb-board-table tr", has_text=city).get_by_role("link").click()
            action(ding, "采纳", confirm="采纳")
            ding.get_by_text("已采纳").first.wait_for()
        ding.goto(board_url)
        ding.locator(".tb-board-table").get_by_text("已采纳").nth(2).wait_for()
        ding.get_by_role("link", name="汇总与图表").click()
        summary = ding.locator(".tb-sum-item", has_text="地区生产总值")
        summary.get_by_text("20,775.95").wait_for()  # 8123.45 + 8002.5 + 4650
        assert ding.locator("svg.tb-chart").count() >= 1
        with ding.expect_download() as got:
            ding.get_by_role("button", name="导出 Excel").click()
        assert got.value.suggested_filename.endswith(".xlsx")
        assert not serious_violations(ding, axe_source)
        shots(ding, out, "summary-1366")
        narrow(ding, out, "summary-375")
        ding.goto(board_url)
        ding.locator(".tb-board-table").get_by_text("已采纳").nth(2).wait_for()
        narrow(ding, out, "board-375")

        # The burden reports: 广州 reused the staff count (its population was corrected, so typed);
        # 深圳 reused the population and the staff count and typed only the GDP.
        gz.goto("/#/tianbao/burden")
        card = gz.locator(".tb-burden", has_text="广州市 统计科")
        card.get_by_text("预填复用", exact=True).wait_for()
        assert re.search(r"预填复用\s*1 项", card.inner_text()), card.inner_text()
        assert re.search(r"手工填写\s*2 项", card.inner_text()), card.inner_text()
        assert sideways(gz) <= 0
        shots(gz, out, "burden-375")
        sz.goto("/#/tianbao/burden")
        card = sz.locator(".tb-burden", has_text="深圳市 统计科")
        card.get_by_text("预填复用", exact=True).wait_for()
        assert re.search(r"预填复用\s*2 项", card.inner_text()), card.inner_text()
        assert re.search(r"复用率\s*66.7%", card.inner_text()), card.inner_text()
        assert not serious_violations(sz, axe_source)
        shots(sz, out, "burden-1366")
        for p in pages:  # the refusal expected: the upload with the wrong cell (珠海's 提交审核 never left the page)
            expected = ("/xlsx",)
            unexpected = [e for e in p.console_errors if not ("status of 422" in e and e.endswith(expected))]
            assert unexpected == [], unexpected
    except Exception:
        for i, p in enumerate(pages):  # what each screen showed when it failed
            p.screenshot(path=out / f"failed-{i}.png", full_page=True)
            print(f"page {i}:", p.console_errors, p.locator(".toast").all_inner_texts())
        raise
    finally:
        for p in pages:
            p.context.close()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filled(book: bytes, by_code: dict[str, Any]) -> bytes:
    """The downloaded workbook with the 值 cell of each given item code set (sheet 填报, column D)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(book))
    ws = wb.worksheets[0]
    for row in ws.iter_rows(min_row=1):
        code = row[0].value
        if code in by_code:
            row[3].value = by_code[code]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def review_and_submit(browser: Any, live: Any, username: str, title: str, pages: list[Any]) -> None:
    """The unit's head opens it from 待填报 and 报送 (a small window: they only press one button)."""
    page = next((p for p in pages if getattr(p, "tb_user", "") == username), None)
    if page is None:
        page = user_page(browser, live, username, width=1366)
        page.tb_user = username
        pages.append(page)
    open_return(page, title)
    action(page, "报送", confirm="报送")
    page.get_by_text("已报送").first.wait_for()
