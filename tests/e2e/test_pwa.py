"""通办 as an installed web app, in headless Chromium: a manifest with icons, and a service worker
(/sw.js, office/pwa.py) that keeps the shell, never an API answer or a file, starts the app without a
network, leaves the strict CSP in force, and gives way to the next release at the next navigation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from office import pwa
from office.app import STATIC_DIR
from tests.e2e.conftest import open_page
from tests.e2e.test_chat import send_picture
from tests.e2e.test_shell import login
from tests.factories import Org
from tests.messaging.helpers import group

pytestmark = pytest.mark.browser


def controlled(page: Any) -> str:
    """Wait until the worker is active, reload so that it controls the page; its cache's name."""
    ready = page.evaluate("""() => Promise.race([navigator.serviceWorker.ready.then(() => true),
                                             new Promise((done) => setTimeout(() => done(false), 10000))])""")
    assert ready, "no service worker became active"
    page.reload()
    page.get_by_role("navigation", name="主要栏目").wait_for()
    assert page.evaluate("() => Boolean(navigator.serviceWorker.controller)")
    names: list[str] = page.evaluate("() => caches.keys()")
    assert len(names) == 1, names
    return names[0]


def cached_paths(page: Any, name: str) -> list[str]:
    paths: list[str] = page.evaluate(
        "(n) => caches.open(n).then(c => c.keys()).then(rs => rs.map(r => new URL(r.url).pathname + new URL(r.url).search))",
        name,
    )
    return paths


def test_installable_and_the_worker_keeps_only_the_shell(browser: Any, live: Any, live_org: Org) -> None:
    cid = group(live_org, "hamlet", "图片组", ["ophelia"])
    send_picture(live, "ophelia", cid)
    page = open_page(browser, live.url, width=375, height=740)
    try:
        login(page, "hamlet")
        manifest = page.evaluate("() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
        assert manifest["short_name"] == "通办" and manifest["start_url"] == "/" and manifest["display"] == "standalone"
        for icon in manifest["icons"]:
            size = page.evaluate(
                "(src) => new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth + 'x' + i.naturalHeight); i.src = src; })",
                icon["src"],
            )
            assert size == icon["sizes"], icon
        assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}

        script = page.evaluate("() => fetch('/sw.js').then(r => r.text())")
        release = re.search(r'const RELEASE = "(\w+)"', script).group(1)  # type: ignore[union-attr]
        assert controlled(page) == f"tongban-shell-{release}"

        # Use the app with the worker in control: a page module, API answers, a picture (a file).
        served: dict[str, bool] = {}
        page.on(
            "response", lambda r: served.setdefault(r.url.split("//", 1)[1].split("/", 1)[1], r.from_service_worker)
        )
        page.goto(f"/#/messages/{cid}")
        page.locator("img.msg-thumb").wait_for()
        page.wait_for_function("() => document.querySelector('img.msg-thumb').complete")
        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="公文").click()
        page.get_by_role("heading", name="公文", level=1).wait_for()
        page.wait_for_load_state("networkidle")
        assert served["static/js/pages/docs.js"] is True  # the shell comes through the worker
        assert not any(v for k, v in served.items() if k.startswith("api/")), served  # answers never do
        paths = cached_paths(page, f"tongban-shell-{release}")
        assert "/" in paths and "/static/js/app.js" in paths and "/static/js/pages/docs.js" in paths
        assert all(p == "/" or (p.startswith("/static/") and "?" not in p) for p in paths), paths

        # A page the worker served still runs under the strict CSP: injected inline script does not run.
        blocked = page.evaluate("""() => new Promise(ok => {
            document.addEventListener('securitypolicyviolation', (e) => ok(e.violatedDirective), {once: true});
            const s = document.createElement('script');
            s.textContent = 'window.__inline_ran = true';
            document.body.appendChild(s);
        })""")
        assert blocked.startswith("script-src") and page.evaluate("() => window.__inline_ran") is None
        page.console_errors.clear()  # the browser reports that refusal as an error

        # Without a network the shell still starts, and says what is wrong.
        page.context.set_offline(True)
        page.reload()
        page.get_by_text("网络连接失败，请检查网络后重试").wait_for()
        page.get_by_role("button", name="重试").wait_for()
        page.context.set_offline(False)
        page.get_by_role("button", name="重试").click()
        page.get_by_role("navigation", name="主要栏目").wait_for()
        assert [e for e in page.console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    finally:
        page.context.close()


def test_the_next_release_takes_over_at_the_next_navigation(
    browser: Any, live: Any, live_org: Org, tmp_path: Path
) -> None:
    page = open_page(browser, live.url)
    try:
        login(page, "hamlet")
        old = controlled(page)
        page.evaluate("() => caches.open('tongban-shell-left-behind')")  # from a release before the last
        page.evaluate("() => { window.__same_page = true; }")

        # The next release: one shell file changed (a copy of static/ here), so /sw.js changes.
        static = tmp_path / "static"
        shutil.copytree(STATIC_DIR, static)
        with (static / "js" / "pages" / "docs.js").open("a", encoding="utf-8") as f:
            f.write("\n// the next release\n")
        new = f"tongban-shell-{pwa.shell(static)[0]}"
        assert new != old
        routes = live.app.router.routes
        at = next(i for i, r in enumerate(routes) if getattr(r, "path", "") == "/sw.js")
        routes[at] = Route("/sw.js", pwa.endpoint(static))

        page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
        for _ in range(200):  # the new worker installs, takes over and clears the old caches
            if page.evaluate("() => caches.keys()") == [new]:
                break
            page.wait_for_timeout(50)
        assert page.evaluate("() => caches.keys()") == [new]
        assert page.evaluate("() => window.__same_page") is True  # nothing reloads under the reader

        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="公文").click()
        page.get_by_role("heading", name="公文", level=1).wait_for()
        page.wait_for_function("() => window.__same_page === undefined")  # the next page is the new release
        assert page.url.endswith("#/docs")
        assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
        assert "/static/js/pages/docs.js" in cached_paths(page, new)
        assert page.console_errors == []
    finally:
        page.context.close()
