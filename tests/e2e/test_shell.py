"""End-to-end tests of the web shell in headless Chromium against a real uvicorn server.

Screenshots go to test-artifacts/ (gitignored) for a human look at the layout.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import open_page
from tests.factories import PASSWORD, Org

pytestmark = pytest.mark.browser


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("navigation", name="主要栏目").wait_for()


def test_login_directory_search_card_and_logout(page: Any, live_org: Org, artifacts: Path) -> None:
    page.goto("/")
    page.get_by_role("heading", name="登录").wait_for()
    page.screenshot(path=artifacts / "login.png")

    # A wrong password is refused with the server's Chinese message.
    page.get_by_label("用户名").fill("hamlet")
    page.get_by_label("密码", exact=True).fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    alert = page.locator(".form-msg")
    alert.filter(has_text="用户名或密码错误").wait_for()
    page.screenshot(path=artifacts / "login-error.png")
    page.console_errors.clear()  # the browser logs that deliberate 401

    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    nav = page.get_by_role("navigation", name="主要栏目")
    nav.wait_for()
    assert page.locator(".user-name").inner_text() == "张伟"
    assert "综合处" in page.locator(".user-dept").inner_text()
    assert nav.get_by_role("link", name="管理").count() == 0  # staff see no admin section

    # An address that names no section lands on the 工作台 rather than an error.
    page.goto(page.url.split("#")[0] + "#/nosuch")
    page.wait_for_url("**/#/home")

    nav.get_by_role("link", name="通讯录").click()
    page.get_by_role("heading", name="通讯录", level=1).wait_for()
    page.get_by_role("tree", name="部门").wait_for()
    page.locator(".people .person-name", has_text="张伟").first.wait_for()
    page.screenshot(path=artifacts / "directory.png", full_page=True)

    search = page.get_by_label("查找同事")
    for query in ("zw", "zhangwei"):
        search.fill(query)
        page.get_by_role("heading", name=re.compile(f"“{query}”的查找结果")).wait_for()
        page.locator(".people .person-name", has_text="张伟").first.wait_for()

    page.locator(".people .person", has_text="张伟").first.click()
    dialog = page.get_by_role("dialog", name="张伟")
    dialog.wait_for()
    dialog.get_by_text("综合处").first.wait_for()
    dialog.get_by_text("科员").first.wait_for()
    page.screenshot(path=artifacts / "person-card.png")
    dialog.get_by_role("button", name="关闭").first.click()
    dialog.wait_for(state="detached")

    # Keyboard: focus the tree, move down, select with Enter.
    page.get_by_role("treeitem", name=re.compile("综合处")).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=re.compile("^秘书处")).wait_for()
    page.locator(".people .person-name", has_text="刘洋").wait_for()

    page.get_by_role("button", name="退出").click()
    page.get_by_role("heading", name="登录").wait_for()
    assert page.console_errors == []
    assert page.evaluate("fetch('/api/me').then(r => r.status)") == 401


def test_admin_creates_department_and_user_and_reads_audit(page: Any, live_org: Org, artifacts: Path) -> None:
    login(page, "prospero")
    nav = page.get_by_role("navigation", name="主要栏目")
    nav.get_by_role("link", name="管理").click()
    page.get_by_role("heading", name="管理 · 部门管理").wait_for()

    page.get_by_role("treeitem", name=re.compile("省政府办公厅")).locator(".tree-row").first.click()
    page.get_by_role("button", name="＋ 新建下级部门").click()
    page.get_by_label("新部门名称").fill("信息中心")
    page.get_by_role("button", name="创建").click()
    page.get_by_role("treeitem", name=re.compile("信息中心")).wait_for()
    page.screenshot(path=artifacts / "admin-departments.png", full_page=True)

    page.get_by_role("link", name="人员管理").click()
    page.get_by_role("heading", name="管理 · 人员管理").wait_for()
    page.locator("table").get_by_text("prospero").wait_for()
    page.screenshot(path=artifacts / "admin-users.png", full_page=True)
    page.get_by_role("link", name="＋ 新建人员").click()
    page.get_by_label("姓名").fill("钱多多")
    page.get_by_label("用户名（登录用）").fill("qianduoduo")
    page.get_by_label("初始密码").fill("Gov-Office-2025-pass")
    page.get_by_label("所在部门").select_option(label="\u3000信息中心")
    page.get_by_label("职务").fill("工程师")
    page.get_by_label("印章管理员").check()
    page.screenshot(path=artifacts / "admin-user-new.png", full_page=True)
    page.get_by_role("button", name="创建人员").click()
    row = page.locator("tbody tr", has_text="qianduoduo")
    row.wait_for()
    assert "信息中心" in row.inner_text() and "印章管理员" in row.inner_text()

    # Disabling asks first; cancelling changes nothing, confirming disables.
    row.get_by_role("link", name="编辑 钱多多").click()
    page.get_by_role("heading", name="钱多多（qianduoduo）").wait_for()
    page.get_by_role("button", name="停用账号").click()
    page.get_by_role("dialog", name="停用账号").get_by_role("button", name="取消").click()
    page.get_by_role("button", name="停用账号").click()
    page.get_by_role("dialog", name="停用账号").get_by_role("button", name="确定停用").click()
    page.get_by_role("button", name="重新启用账号").wait_for()
    page.screenshot(path=artifacts / "admin-user-edit.png", full_page=True)

    page.get_by_role("link", name="两步验证策略").click()
    page.get_by_label("印章管理员：必须开启两步验证").check()
    page.get_by_text("印章管理员：已要求两步验证").wait_for()

    page.get_by_role("link", name="审计日志").click()
    page.get_by_role("heading", name="管理 · 审计日志").wait_for()
    table = page.locator("table")
    table.get_by_text("新建部门").first.wait_for()
    table.get_by_text("新建人员").first.wait_for()
    page.get_by_role("button", name="校验日志完整性").click()
    page.get_by_text(re.compile("校验通过：\\d+ 条日志完整")).wait_for()
    page.screenshot(path=artifacts / "admin-audit.png", full_page=True)

    # The CSV dry run reports problems line by line and imports nothing.
    page.get_by_role("link", name="导入导出").click()
    page.get_by_label("选择 CSV 文件").set_input_files(
        files=[
            {
                "name": "bad.csv",
                "mimeType": "text/csv",
                "buffer": "机关,部门,姓名,用户名\n省政府办公厅,综合处,,nobody\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="检查文件").click()
    page.get_by_text(re.compile("第 2 行")).wait_for()
    page.screenshot(path=artifacts / "admin-import-errors.png", full_page=True)
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_phone_layout_and_elder_mode(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    page = open_page(browser, live.url, width=375, height=740)
    try:
        page.goto("/")
        page.get_by_role("heading", name="登录").wait_for()
        page.screenshot(path=artifacts / "phone-login.png")
        login(page, "hamlet")
        # On a phone the tab bar holds 工作台, 消息, 公文, 会议; 我的 holds the rest and the account.
        nav = page.get_by_role("navigation", name="主要栏目")
        nav.get_by_role("button", name="我的").click()
        mine = page.get_by_role("dialog", name="我的")
        mine.get_by_role("link", name="通讯录").click()
        page.locator(".people .person-name", has_text="张伟").first.wait_for()
        page.screenshot(path=artifacts / "phone-directory.png", full_page=True)

        # Nothing sticks out sideways at phone width.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        base = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert base >= 16

        nav.get_by_role("button", name="我的").click()
        elder = mine.get_by_role("button", name="长者模式")
        assert elder.get_attribute("aria-pressed") == "false"
        elder.click()
        page.wait_for_function("() => document.body.classList.contains('elder')")
        assert elder.get_attribute("aria-pressed") == "true"
        page.get_by_text("已开启长者模式").wait_for()
        page.keyboard.press("Escape")
        mine.wait_for(state="detached")
        big = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert big >= base * 1.3 - 0.5
        heights = page.eval_on_selector_all(
            ".btn, .nav-link, .tab-link",
            "els => els.map(e => e.getBoundingClientRect().height).filter(h => h > 0)",  # hidden ones: 0
        )
        assert min(heights) >= 44
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=artifacts / "phone-elder.png", full_page=True)

        # The preference is saved: it is still on after a reload.
        page.reload()
        nav.wait_for()
        assert page.evaluate("document.body.classList.contains('elder')")
        nav.get_by_role("button", name="我的").click()
        mine.get_by_role("link", name="个人设置").click()
        page.get_by_role("heading", name="修改密码").wait_for()
        page.screenshot(path=artifacts / "phone-profile.png", full_page=True)
        nav.get_by_role("button", name="我的").click()
        mine.get_by_role("button", name="长者模式").click()
        page.wait_for_function("() => !document.body.classList.contains('elder')")
        assert page.console_errors == []
    finally:
        page.context.close()


def test_required_two_factor_setup_then_login_with_recovery_code(page: Any, live_org: Org, artifacts: Path) -> None:
    import pyotp

    from office import accounts
    from office.actor import SYSTEM
    from office.models import Role

    with live_org.db.write() as s:
        accounts.set_role_policy(s, SYSTEM, Role.dept_head, require_2fa=True)

    login(page, "polonius")
    # The role requires two-factor: every route leads to the setup page, with an explanation.
    page.get_by_role("heading", name="请先开启两步验证").wait_for()
    assert page.url.endswith("#/profile/2fa")
    page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="通讯录").click()
    page.get_by_role("heading", name="请先开启两步验证").wait_for()
    page.screenshot(path=artifacts / "totp-required.png", full_page=True)

    page.get_by_role("button", name="开始设置两步验证").click()
    page.get_by_role("img", name=re.compile("两步验证二维码")).wait_for()
    secret = page.locator(".secret").inner_text().replace(" ", "")
    page.get_by_label("手机上显示的 6 位数字").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="验证并开启").click()
    page.get_by_text("验证码不正确").wait_for()
    page.console_errors.clear()  # that deliberate 422
    page.screenshot(path=artifacts / "totp-setup.png", full_page=True)
    page.get_by_label("手机上显示的 6 位数字").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="验证并开启").click()
    codes = page.locator(".codes code")
    codes.nth(9).wait_for()
    recovery = codes.first.inner_text()
    page.screenshot(path=artifacts / "totp-recovery-codes.png", full_page=True)
    page.get_by_role("button", name="我已妥善保存，继续").click()
    page.get_by_role("heading", name="工作台", level=1).wait_for()  # the default page, #/home
    assert page.url.endswith("#/home")

    page.get_by_role("button", name="退出").click()
    page.get_by_label("用户名").fill("polonius")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="两步验证").wait_for()
    page.get_by_role("button", name="手机不在身边？使用恢复码").click()
    page.get_by_label("恢复码").fill(recovery)
    page.screenshot(path=artifacts / "login-recovery.png")
    page.get_by_role("button", name="验证并登录").click()
    page.get_by_role("navigation", name="主要栏目").wait_for()

    page.get_by_role("link", name="个人设置").click()
    page.get_by_text("已开启：登录时需要输入").wait_for()
    page.locator(".session", has_text="本设备").wait_for()
    assert page.console_errors == []


def test_event_stream_resumes_dedupes_and_dispatches_by_prefix(page: Any, live_org: Org) -> None:
    login(page, "hamlet")
    # The shell's own stream connects and remembers the server's position for this tab.
    page.wait_for_function(f"() => sessionStorage.getItem('tb_ws_last:{live_org.users['hamlet']}') !== null")

    result = page.evaluate("""async () => {
        const { EventStream } = await import('/static/js/ws.js');
        const store = new Map([['tb_ws_last:7', '5']]);
        const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
        const s = new EventStream({ userId: 7, storage });
        const got = [];
        s.subscribe('doc', (f) => got.push('doc:' + f.type + ':' + (f.id ?? '')));
        s.subscribe('*', (f) => got.push('all:' + f.type));
        s.subscribe('resync', () => got.push('RESYNC'));
        const feed = (f) => s.onMessage(JSON.stringify(f));
        const resumedFrom = s.lastId;
        feed({ type: 'hello', last_event_id: 7, resync: false });
        feed({ id: 5, type: 'doc.updated' });   // already seen before the reconnect
        feed({ id: 6, type: 'doc.updated' });
        feed({ id: 6, type: 'doc.updated' });   // replay overlapping live delivery
        feed({ id: 7, type: 'document' });      // "doc" does not match "document"
        feed({ type: 'pong' });
        feed({ type: 'hello', last_event_id: 90, resync: true });
        s.clearTimers();
        return { resumedFrom, got, stored: store.get('tb_ws_last:7') };
    }""")
    assert result["resumedFrom"] == 5
    assert result["got"] == [
        "all:hello",
        "doc:doc.updated:6",
        "all:doc.updated",
        "all:document",
        "all:pong",
        "all:resync",
        "RESYNC",
        "all:hello",
    ]
    assert result["stored"] == "90"
    assert page.console_errors == []


def test_a_session_that_expires_with_the_page_open_brings_back_the_login_page(page: Any, live_org: Org) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from office.db import utcnow
    from office.models import AuthSession

    login(page, "hamlet")
    with live_org.db.write() as s:  # the absolute limit falls due three seconds from now
        s.execute(update(AuthSession).values(expires_at=utcnow() + timedelta(seconds=3)))
    page.reload()  # the socket opens knowing that limit
    page.get_by_role("navigation", name="主要栏目").wait_for()
    # The server closes the socket with 4401 (its timer runs every OFFICE_WS_SESSION_CHECK_SECONDS,
    # 5 s by default) and the shell goes to the login page straight away: no request answers 401
    # first (one would be in the console errors) and the stream does not try to reconnect.
    page.get_by_role("heading", name="登录").wait_for(timeout=15_000)
    page.get_by_text("登录已过期，请重新登录").wait_for()
    page.wait_for_timeout(1500)
    assert page.locator(".shell").count() == 0
    assert page.console_errors == []
