"""Browser fixtures: one headless Debian Chromium per test session, a fresh context per test.

``page`` records console errors and page errors (CSP violations are reported there) in
``page.console_errors``; tests assert that list is empty at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _is_expected(msg: Any) -> bool:
    # A section whose page module is not written yet is probed and answers 404 (the shell then
    # shows "即将上线"); that is the documented fallback, not an error.
    url = (msg.location or {}).get("url", "")
    return "Failed to load resource" in msg.text and "/static/js/pages/" in url


def open_page(browser: Any, base_url: str, *, width: int = 1280, height: int = 860, bypass_csp: bool = False) -> Any:
    """A page in a fresh context; ``bypass_csp`` only where axe-core is injected as an inline script."""
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": height},
        locale="zh-CN",
        device_scale_factor=1,
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not _is_expected(m)
            and page.console_errors.append(f"{m.text} @ {(m.location or {}).get('url', '')}")
        ),
    )
    page.on("pageerror", lambda e: page.console_errors.append(f"pageerror: {e}"))
    return page


@pytest.fixture
def page(browser: Any, live: Any) -> Iterator[Any]:
    page = open_page(browser, live.url)
    yield page
    page.context.close()
