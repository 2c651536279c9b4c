"""Hardening checks in headless Chromium: axe-core on every page, keyboard-only main flow, hostile text
shown as text, 375 px and 长者模式 layouts (screenshots in test-artifacts/hardening/), touch targets,
the first-use guide, and the anti-leak watermark with its admin-only switch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from office.models import AuditEntry
from tests.conftest import require_tool
from tests.factories import PASSWORD, Org, new_client
from tests.factories import login as api_login
from tests.messaging.helpers import group, send

pytestmark = pytest.mark.browser
E2E = Path(__file__).resolve().parent
ARTIFACTS = E2E.parents[1] / "test-artifacts"
AXE = E2E / "node_modules" / "axe-core" / "axe.min.js"
XSS = "<img src=x onerror=window.__pwned=1>"
PAGES = [
    "messages",
    "docs",
    "incoming",
    "meetings",
    "banshi",
    "tianbao",
    "tianbao/tasks",
    "tianbao/items",
    "tianbao/burden",
    "directory",
    "esign",
    "profile",
    "admin/departments",
    "admin/users",
    "admin/import",
    "admin/policies",
    "admin/audit",
]
WATERMARKED = ["messages", "docs", "incoming", "meetings", "directory"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        npm = require_tool("npm")  # under CI a missing npm fails here
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=E2E, check=True, timeout=300)
    return AXE.read_text()


def context(browser: Any, live: Any, *, width: int = 1280, height: int = 860, bypass_csp: bool = False) -> Any:
    ctx = browser.new_context(
        base_url=live.url, viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=bypass_csp
    )
    ctx.set_default_timeout(10_000)
    return ctx


def sign_in(page: Any, username: str) -> None:
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("navigation", name="主要栏目").wait_for()


def serious_violations(page: Any, axe_source: str) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now ("rule: help @ where").
    The page's context needs ``bypass_csp=True``: axe is injected as an inline script."""
    page.add_script_tag(content=axe_source)
    found: list[str] = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    return found


def visit(page: Any, name: str) -> None:
    page.goto(f"/#/{name}")
    page.locator(f'.page[data-page="{name.split("/")[0]}"] h1').first.wait_for(state="attached")
    page.wait_for_load_state("networkidle")


def seen_all_guides(page: Any) -> None:
    page.evaluate("""() => { for (const n of ['messages','docs','incoming','meetings','directory','esign'])
                              localStorage.setItem('tb_guide_seen_' + n, '1'); }""")


def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    browser: Any, live: Any, live_org: Org, axe_source: str
) -> None:
    ctx = context(browser, live, bypass_csp=True)  # axe is injected as an inline script
    page = ctx.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        result = serious_violations(page, axe_source)
        if result:
            found[name] = result

    page.goto("/")
    page.get_by_role("heading", name="登录").wait_for()
    check("login")
    sign_in(page, "prospero")
    for name in PAGES:
        visit(page, name)
        check(name)
    ctx.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def _tab_to(page: Any, test: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const e = document.activeElement; return !!e && ({test}); }}"):
            return
    raise AssertionError(f"keyboard focus never reached {test}")


def test_main_flow_by_keyboard_alone(browser: Any, live: Any, live_org: Org) -> None:
    ctx = context(browser, live)
    page = ctx.new_page()
    page.goto("/")
    page.get_by_role("heading", name="登录").wait_for()
    _tab_to(page, "e.id && document.querySelector(`label[for='${e.id}']`)?.textContent.includes('用户名')")
    page.keyboard.type("hamlet")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("navigation", name="主要栏目").wait_for()
    _tab_to(page, "e.matches('a.nav-link') && e.textContent.includes('通讯录')")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="通讯录", level=1).wait_for()
    _tab_to(
        page,
        "e.matches('input') && e.getAttribute('aria-label')?.includes('查找') || "
        "e.id && document.querySelector(`label[for='${e.id}']`)?.textContent.includes('查找')",
    )
    page.keyboard.type("zw")
    page.get_by_role("heading", name="“zw”的查找结果").wait_for()
    _tab_to(page, "e.closest('.person') && e.textContent.includes('张伟')")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="张伟")
    dialog.wait_for()
    assert page.evaluate("() => document.querySelector('dialog[open], [role=dialog]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert page.evaluate("() => document.activeElement?.textContent?.includes('张伟')"), "focus not returned"
    ctx.close()


def test_hostile_text_is_shown_as_text_everywhere(browser: Any, live: Any, live_org: Org) -> None:
    org = live_org
    admin = new_client(live.app)
    api_login(admin, "prospero")
    assert admin.post("/api/admin/departments", json={"name": XSS, "parent_id": org.agencies["A"]}).status_code == 201
    r = admin.post(
        "/api/admin/users",
        json={
            "username": "pwned",
            "name": XSS[:50],
            "password": "Very-long-passw0rd-2026",
            "posts": [{"department_id": org.depts["A1"], "title": XSS[:50]}],
        },
    )
    assert r.status_code == 201, r.text
    g = group(org, "hamlet", XSS, ["ophelia"])
    send(org, "ophelia", g, XSS + " \u202e报告 👍🏻")
    ham = new_client(live.app)
    api_login(ham, "hamlet")
    assert (
        ham.post(
            "/api/docs",
            json={
                "doc_type": "通知",
                "title": XSS,
                "body": [{"kind": "paragraph", "text": XSS}],
                "main_recipients": ["各市人民政府"],
            },
        ).status_code
        == 201
    )
    ctx = context(browser, live, bypass_csp=True)  # no CSP safety net: the DOM itself must not run markup
    page = ctx.new_page()
    sign_in(page, "hamlet")
    seen_all_guides(page)
    for name in ("messages", "docs", "directory"):
        visit(page, name)
        if name == "directory":
            page.get_by_label("查找同事").fill("pwned")
        shown = "(t) => document.querySelector('main').innerText.includes(t)"
        if name == "docs":
            page.locator("main").get_by_text("我起草的", exact=True).click()
        page.wait_for_function(shown, arg=XSS)  # innerText: only what is rendered, as text
        if name == "messages":
            page.wait_for_function(shown, arg="报告")
        page.screenshot(path=ARTIFACTS / f"xss-{name}.png")
        assert page.evaluate("() => window.__pwned") is None, name
        assert page.locator("main img[src='x']").count() == 0, name
    ctx.close()


def _layout_problems(page: Any, *, elder: bool) -> list[str]:
    return page.evaluate(
        """(elder) => {
        const out = [];
        const root = document.scrollingElement;
        if (root.scrollWidth > window.innerWidth + 1) out.push(`horizontal scroll: ${root.scrollWidth}px`);
        if (!elder) return out;
        const sel = 'button, a.btn, a.nav-link, a.tab, select, input:not([type=hidden]):not([type=checkbox])' +
                    ':not([type=radio]):not([type=file]), textarea, [role=button], [role=tab], [role=treeitem]';
        for (const e of document.querySelectorAll(sel)) {
            const r = e.getBoundingClientRect();
            if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') continue;
            if (e.closest('[hidden], .sr-only, .skip-link, .watermark')) continue;
            if (r.height < 43.5 || r.width < 43.5)
                out.push(`small target ${Math.round(r.width)}x${Math.round(r.height)}: ` +
                         `${e.tagName.toLowerCase()}.${e.className} "${(e.textContent || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 20)}"`);
        }
        return out;
    }""",
        elder,
    )


def test_every_page_at_375px_and_in_elder_mode(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    out = artifacts / "hardening"
    out.mkdir(exist_ok=True)
    problems: dict[str, list[str]] = {}
    for elder in (False, True):
        ctx = context(browser, live, width=375, height=812)
        page = ctx.new_page()
        page.goto("/")
        page.get_by_role("heading", name="登录").wait_for()
        page.screenshot(path=out / f"login-375{'-elder' if elder else ''}.png")
        sign_in(page, "prospero")
        seen_all_guides(page)
        if elder:
            page.evaluate("""() => fetch('/api/me/preferences', {method: 'PUT', headers: {'content-type':
                'application/json', 'x-csrf-token': document.cookie.match(/tb_csrf=([^;]+)/)[1]},
                body: JSON.stringify({elder_mode: true})})""")
            page.reload()
            page.get_by_role("navigation", name="主要栏目").wait_for()
            assert page.evaluate("() => document.documentElement.classList.contains('elder')")
        for name in PAGES:
            visit(page, name)
            label = f"{name.replace('/', '-')}-375{'-elder' if elder else ''}"
            page.screenshot(path=out / f"{label}.png", full_page=True)
            found = _layout_problems(page, elder=elder)
            if found:
                problems[label] = found[:8]
        ctx.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def test_first_use_guide_is_dismissed_remembered_and_reopened_from_help(browser: Any, live: Any, live_org: Org) -> None:
    ctx = context(browser, live)
    page = ctx.new_page()
    sign_in(page, "hamlet")
    for name in ("messages", "docs", "incoming", "meetings", "directory", "esign"):
        visit(page, name)
        guide = page.get_by_role("complementary", name="使用提示")
        guide.wait_for()
        page.get_by_role("button", name="知道了，关闭使用提示").click()
        guide.wait_for(state="detached")
    page.reload()
    page.get_by_role("navigation", name="主要栏目").wait_for()
    visit(page, "directory")
    assert page.locator(".guide").count() == 0  # remembered
    page.get_by_role("button", name="帮助：显示本页使用提示").click()
    page.get_by_role("complementary", name="通讯录使用提示").wait_for()
    assert page.evaluate("() => document.activeElement?.classList.contains('guide-close')")
    ctx.close()


def test_watermark_on_every_sensitive_page_and_only_an_admin_switches_it_off(
    browser: Any, live: Any, live_org: Org
) -> None:
    ctx = context(browser, live)
    page = ctx.new_page()
    sign_in(page, "hamlet")
    seen_all_guides(page)
    for name in WATERMARKED:
        visit(page, name)
        mark = page.locator(".watermark")
        assert mark.count() == 1, name
        assert "张伟" in (mark.get_attribute("data-text") or ""), name
        box = page.evaluate("""() => { const w = document.querySelector('.watermark'); const s = getComputedStyle(w);
            const r = w.getBoundingClientRect();
            return {bg: s.backgroundImage, w: r.width, h: r.height, pe: s.pointerEvents, display: s.display}; }""")
        assert box["bg"].startswith("url(") and box["display"] != "none" and box["pe"] == "none", (name, box)
        assert box["w"] >= 1200 and box["h"] >= 800, (name, box)  # covers the whole window
    # Staff see no switch; the API refuses them (the authz matrix checks every caller).
    r = page.evaluate("""() => fetch('/api/admin/settings/watermark', {method: 'PUT', headers: {'content-type':
        'application/json', 'x-csrf-token': document.cookie.match(/tb_csrf=([^;]+)/)[1]},
        body: JSON.stringify({enabled: false})}).then(r => r.status)""")
    assert r == 403
    admin = context(browser, live).new_page()
    sign_in(admin, "prospero")
    seen_all_guides(admin)
    visit(admin, "admin/policies")
    switch = admin.get_by_label("在公文、消息、通讯录等页面显示防泄密水印（姓名、工号、日期）")
    assert switch.is_checked()
    switch.uncheck()
    admin.get_by_text("已关闭防泄密水印").wait_for()
    with live_org.db.read() as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "settings.watermark")).all()
    assert [e.detail for e in entries] == [{"enabled": False}]
    page.reload()
    page.get_by_role("navigation", name="主要栏目").wait_for()
    visit(page, "docs")
    assert page.locator(".watermark").count() == 0
    admin.context.close()
    ctx.close()


def test_new_messages_are_announced_by_a_live_region(browser: Any, live: Any, live_org: Org) -> None:
    g = group(live_org, "hamlet", "综合处小组", ["ophelia"])
    ctx = context(browser, live)
    page = ctx.new_page()
    sign_in(page, "hamlet")
    seen_all_guides(page)
    visit(page, "messages")
    page.get_by_text("综合处小组").first.click()
    live_region = page.locator("[aria-live=polite], [aria-live=assertive], [role=log]")
    live_region.first.wait_for(state="attached")
    send(live_org, "ophelia", g, "请查收会议通知")
    page.locator("[aria-live=polite], [aria-live=assertive], [role=log]").get_by_text("请查收会议通知").first.wait_for()
    ctx.close()
