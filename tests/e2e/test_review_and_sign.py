"""What a reviewer and a signer see first (issue #16 §6), in headless Chromium: the drafter's 送审说明 at
the top of the reviewer's panel, not folded in the history; a leader without a personal signing key
is told so, with the way to make one, before any PIN is asked, and asked for the PIN once he has one.
Screenshots in test-artifacts/review/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import act, advance, create, ok
from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import seen_all_guides
from tests.e2e.test_shell import login
from tests.esign.svc import enrol
from tests.factories import Org

pytestmark = pytest.mark.browser
NOTE = "请重点审核第三条的报送时限"


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "review"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def users(live: Any) -> Iterator[Clients]:
    clients = Clients(live.app)
    yield clients
    clients.close()


def open_as(browser: Any, live: Any, username: str, doc_id: int, *, width: int = 1366) -> Any:
    page = open_page(browser, live.url, width=width, height=860)
    login(page, username)
    seen_all_guides(page)
    page.goto(f"/#/docs/{doc_id}")
    page.get_by_role("heading", name="关于做好年终工作的通知", level=1).wait_for()
    return page


@pytest.mark.parametrize("width", [1366, 375])
def test_reviewer_reads_the_submit_note_first(
    browser: Any, live: Any, live_org: Org, users: Clients, out: Path, width: int
) -> None:
    doc = create(users, live_org)
    ok(act(users["hamlet"], doc, "submit", opinion=NOTE))
    page = open_as(browser, live, "polonius", doc["id"], width=width)
    try:
        note = page.locator(".action-panel blockquote", has_text=NOTE)
        note.wait_for()
        assert note.inner_text() == f"张伟的送审说明：{NOTE}"
        # Above the body and the opinion box, on the first screen, without opening anything.
        body = page.get_by_role("heading", name="正文", level=2)
        assert note.bounding_box()["y"] < page.get_by_label("办理意见").bounding_box()["y"] < body.bounding_box()["y"]
        assert note.bounding_box()["y"] < 860
        page.screenshot(path=out / f"submit-note-{width}.png")
        assert page.console_errors == []
    finally:
        page.context.close()


def test_signer_without_a_key_is_told_before_the_pin(
    browser: Any, live: Any, live_org: Org, users: Clients, out: Path
) -> None:
    doc = advance(users, create(users, live_org), "机关领导签发")
    page = open_as(browser, live, "claudius", doc["id"])
    try:
        notice = page.locator(".action-panel .notice", has_text="您还没有开通个人电子签名")
        notice.wait_for()
        assert notice.get_by_role("link", name="开通电子签名").get_attribute("href") == "#/esign"
        assert (
            page.get_by_label("您的签名密码（PIN）").count() == 0
            or not page.get_by_label("您的签名密码（PIN）").is_visible()
        )
        assert page.get_by_role("button", name="签发", exact=True).is_disabled()
        page.screenshot(path=out / "no-key-1366.png")

        notice.get_by_role("link", name="开通电子签名").click()
        page.get_by_role("heading", name="开通电子签名").wait_for()
        enrol(live_org, "claudius")
        page.goto(f"/#/docs/{doc['id']}")
        page.get_by_label("您的签名密码（PIN）").wait_for()
        assert page.locator(".action-panel .notice").count() == 0
        assert page.get_by_role("button", name="签发", exact=True).is_enabled()
        assert page.console_errors == []
    finally:
        page.context.close()
