"""消息 in two real browsers: 张伟 (hamlet) and 李娜 (ophelia), both of 综合处, chat in their
department group over the live websocket: delivery, read receipts, recall, DING and escaping."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from messaging.models import Message
from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.factories import Org
from tests.messaging.helpers import group
from tests.messaging.helpers import send as send_as
from tests.office.test_backpressure import saturated

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def open_group(page: Any, name: str = "综合处") -> Any:
    page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="消息").click()
    page.get_by_role("heading", name="消息", level=1).wait_for()
    page.locator(".msg-conv", has_text=name).first.click()
    page.get_by_role("heading", name=name, level=2).wait_for()
    return page.locator(".msg-items")


def send(page: Any, text: str) -> None:
    box = page.get_by_label("消息内容")
    box.fill(text)
    box.press("Enter")
    page.locator(".msg-item.is-mine .msg-text", has_text=text).last.wait_for()


def item(page: Any, text: str) -> Any:
    return page.locator(".msg-item", has=page.locator(".msg-text", has_text=text)).last


def test_two_people_chat_recall_ding_and_receipts(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    zhang = open_page(browser, live.url)
    li = open_page(browser, live.url)
    dialogs: list[str] = []
    for p in (zhang, li):
        p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        login(zhang, "hamlet")
        login(li, "ophelia")
        zhang_items = open_group(zhang)
        li_items = open_group(li)

        # A message reaches the other side at once, through the websocket (no reload).
        send(zhang, "各位好，下午三点在302会议室开周例会。")
        li_items.get_by_text("各位好，下午三点在302会议室开周例会。").wait_for(timeout=5000)
        assert li.locator(".msg-item", has_text="下午三点").locator(".msg-sender").inner_text() == "张伟"

        # 李娜 has the conversation open, so it is read: 张伟 sees the receipt turn to 已读.
        receipt = item(zhang, "下午三点").locator(".msg-reads")
        receipt.filter(has_text="1人已读").wait_for(timeout=5000)
        receipt.click()
        reads = zhang.get_by_role("dialog", name="已读情况")
        reads.get_by_text("李娜").wait_for()
        zhang.screenshot(path=artifacts / "messages-read-list.png")
        reads.get_by_role("button", name="关闭").click()

        send(li, "收到，我准备会议材料。")
        zhang_items.get_by_text("收到，我准备会议材料。").wait_for(timeout=5000)
        assert zhang.locator(".msg-typing").inner_text() == ""  # her message ends "李娜 正在输入…"

        # Markup in a message is shown as text, never run or rendered.
        send(zhang, XSS)
        li_items.locator(".msg-text", has_text=XSS).wait_for(timeout=5000)
        assert li.locator(".msg-items img").count() == 0
        assert zhang.locator(".msg-items img").count() == 0

        # Recall: both sides see the notice instead of the text.
        send(zhang, "这条发错了，请忽略")
        li_items.get_by_text("这条发错了，请忽略").wait_for(timeout=5000)
        item(zhang, "这条发错了").get_by_role("button", name="撤回").click()
        zhang.get_by_role("dialog", name="撤回消息").get_by_role("button", name="撤回").click()
        li_items.get_by_text("张伟撤回了一条消息").wait_for(timeout=5000)
        zhang_items.get_by_text("张伟撤回了一条消息").wait_for(timeout=5000)
        assert li_items.get_by_text("这条发错了，请忽略").count() == 0
        assert zhang_items.get_by_text("这条发错了，请忽略").count() == 0

        # DING to 李娜 only; she acknowledges, and 张伟 sees nobody left unacknowledged.
        zhang.get_by_label("消息内容").fill("请确认收到会议通知")
        zhang.get_by_label("DING 提醒").check()
        zhang.locator(".msg-ding-pick").get_by_label("李娜").check()
        zhang.screenshot(path=artifacts / "messages-ding-compose.png")
        zhang.get_by_role("button", name="发送", exact=True).click()
        item(zhang, "请确认收到会议通知").wait_for()
        ding = item(li, "请确认收到会议通知")
        ding.locator(".msg-ding").wait_for(timeout=5000)
        li.screenshot(path=artifacts / "messages-ding-received.png")
        ding.get_by_role("button", name="确认收到这条 DING").click()
        ding.get_by_text("已确认收到").wait_for()
        status = item(zhang, "请确认收到会议通知").locator(".msg-ding-status")
        status.filter(has_text="DING 全部已确认").wait_for(timeout=5000)
        status.click()
        ding_dialog = zhang.get_by_role("dialog", name="DING 确认情况")
        ding_dialog.get_by_text("全部已确认收到").wait_for()
        assert "未确认（0）" in ding_dialog.inner_text()
        assert "李娜" in ding_dialog.locator(".msg-people", has_text="已确认（1）").inner_text()
        zhang.screenshot(path=artifacts / "messages-ding-status.png")
        ding_dialog.get_by_role("button", name="关闭").click()

        # Everything 张伟 sent is now read by 李娜, and her reply was read by him (he answered right
        # after it arrived, which moved his read position without a separate read mark).
        item(zhang, "请确认收到会议通知").locator(".msg-reads").filter(has_text="1人已读").wait_for(timeout=5000)
        item(li, "收到，我准备会议材料。").locator(".msg-reads").filter(has_text="1人已读").wait_for(timeout=5000)
        zhang.screenshot(path=artifacts / "messages-zhang.png")
        li.screenshot(path=artifacts / "messages-li.png")

        # After a reload the history shows the same (persisted, not only live state).
        li.reload()
        li_items = open_group(li)
        li_items.get_by_text("张伟撤回了一条消息").wait_for()
        li_items.locator(".msg-text", has_text=XSS).wait_for()
        item(li, "请确认收到会议通知").get_by_text("已确认收到").wait_for()

        assert dialogs == []
        assert zhang.console_errors == []
        assert li.console_errors == []
    finally:
        zhang.context.close()
        li.context.close()


def test_messages_on_a_phone(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    page = open_page(browser, live.url, width=375, height=740)
    try:
        login(page, "hamlet")
        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="消息").click()
        page.get_by_role("heading", name="消息", level=1).wait_for()
        conv = page.locator(".msg-conv", has_text="综合处").first
        conv.wait_for()
        page.screenshot(path=artifacts / "messages-phone-list.png", full_page=True)
        # One column: the conversation list fills the width; the pane is not shown yet.
        assert page.locator(".msg-pane").is_hidden()
        conv.click()
        page.get_by_role("heading", name="综合处", level=2).wait_for()
        assert page.locator(".msg-side").is_hidden()
        send(page, "手机上发的一条消息，看看排版是否正常。")
        page.get_by_label("消息内容").scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "messages-phone-chat.png")
        # Nothing sticks out sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.get_by_role("button", name="‹ 会话列表").click()
        page.locator(".msg-conv", has_text="综合处").first.wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()


def test_a_message_arriving_while_the_history_loads_is_not_lost(browser: Any, live: Any, live_org: Org) -> None:
    """The history request is answered with what the server had before 李娜 wrote, after her
    message has already reached the browser live: the page must show both, not let the older
    history overwrite the live message."""
    cid = group(live_org, "hamlet", "周例会筹备组", ["ophelia"])
    page = open_page(browser, live.url)
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    try:
        login(page, "hamlet")

        def hold_history(route: Any) -> None:
            before = route.fetch()  # the history as it was; then a message arrives live
            with sockets[-1].expect_event("framereceived", predicate=lambda f: "历史加载时到达的消息" in str(f)):
                send_as(live_org, "ophelia", cid, "历史加载时到达的消息")
            time.sleep(0.2)  # the page's own handler runs on the frame before the stale history lands
            route.fulfill(response=before)

        page.route(f"**/api/messages/conversations/{cid}/messages?*", hold_history)
        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="消息").click()
        page.locator(".msg-conv", has_text="周例会筹备组").first.click()
        page.locator(".msg-items .msg-text", has_text="历史加载时到达的消息").wait_for(timeout=5000)
        page.unroute(f"**/api/messages/conversations/{cid}/messages?*")
        page.wait_for_load_state("networkidle")  # the held history has landed
        assert page.locator(".msg-items .msg-text", has_text="历史加载时到达的消息").count() == 1
        assert page.console_errors == []
    finally:
        page.context.close()


def test_the_group_owner_switches_whether_new_members_read_the_history(
    browser: Any, live: Any, live_org: Org, artifacts: Path
) -> None:
    cid = group(live_org, "hamlet", "周例会筹备", ["ophelia"])
    page = open_page(browser, live.url)
    try:
        login(page, "hamlet")
        open_group(page, "周例会筹备")
        page.get_by_role("button", name="群设置").click()
        dialog = page.get_by_role("dialog", name="群设置")
        box = dialog.get_by_label("新成员可查看历史消息")
        assert box.is_checked()  # on by default, as in DingTalk
        box.uncheck()
        page.screenshot(path=artifacts / "messages-group-settings.png")
        dialog.get_by_role("button", name="保存").click()
        page.locator(".msg-item", has_text="关闭了“新成员可查看历史消息”").wait_for(timeout=5000)
    finally:
        page.close()
    with live_org.db.read() as s:
        from messaging.models import Conversation

        assert s.get(Conversation, cid).history_visible is False  # type: ignore[union-attr]


def test_pressing_send_again_while_a_send_waits_to_be_retried_stores_it_once(
    browser: Any, live: Any, live_org: Org
) -> None:
    """The writer is held (its queue full), so 张伟's send is refused with a retry hint and waits
    for its automatic retry: pressing Enter or the button again sends the same message now, with
    the same client id, never a second copy; 取消 gives the text back to change or send anew."""
    g = group(live_org, "hamlet", "重发测试组", ["ophelia"])
    url = f"/api/messages/conversations/{g}/messages"
    page = open_page(browser, live.url)
    client_ids: list[str] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and r.url.endswith(url) and client_ids.append(r.post_data_json["client_id"]),
    )

    def answered(status: int | None = None) -> Any:  # None: any success
        return page.expect_response(lambda r: r.url.endswith(url) and (r.ok if status is None else r.status == status))

    try:
        login(page, "hamlet")
        open_group(page, "重发测试组")
        box, bar = page.get_by_label("消息内容"), page.locator(".msg-pending")
        with saturated(live_org.db, live.app.state.chat.batcher):
            box.fill("系统繁忙时发的消息")
            with answered(503):
                box.press("Enter")
            with answered(503):
                box.press("Enter")  # sends the waiting message again now, not a new one
            assert len(set(client_ids)) == 1, client_ids
            bar.get_by_text("重发中").wait_for()
            assert "系统繁忙" in bar.inner_text() and not box.is_editable()
            with answered(503):
                page.get_by_role("button", name="立即重发").click()
            assert len(set(client_ids)) == 1, client_ids
        with answered():  # the writer has room again: the next press sends it at once
            page.get_by_role("button", name="立即重发").click()
        page.locator(".msg-item.is-mine .msg-text", has_text="系统繁忙时发的消息").wait_for()
        assert bar.is_hidden() and box.input_value() == "" and box.is_editable()
        with saturated(live_org.db, live.app.state.chat.batcher):
            box.fill("先取消的消息")
            with answered(503):
                box.press("Enter")
            bar.get_by_role("button", name="取消").click()
            assert bar.is_hidden() and box.input_value() == "先取消的消息" and box.is_editable()
        with live_org.db.read() as s:
            texts = s.exec(select(Message.body).where(Message.conversation_id == g)).all()
        assert texts.count("系统繁忙时发的消息") == 1 and "先取消的消息" not in texts
        assert all("status of 503" in e for e in page.console_errors), page.console_errors  # the refusals
    finally:
        page.context.close()
