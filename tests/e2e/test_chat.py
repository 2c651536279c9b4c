"""消息 as a reader lives with it, in headless Chromium at 1366 px and 375 px, normal and 长者模式: the
view stays on the newest message when a picture arrives, a reader further up gets a "新消息 ↓" button
and nothing is marked read that was not on screen, the @ picker works from the keyboard and shows
only the newest answer, each conversation (and 公文, 收文, meeting) has its own address, and a small
set of reactions is drawn in colour. axe-core finds nothing serious on the way."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_shell import login
from tests.factories import Org, new_client
from tests.factories import login as api_login
from tests.messaging.helpers import group
from tests.messaging.helpers import send as send_as

pytestmark = pytest.mark.browser

P = "/api/messages"
SIZES = [(1366, False), (375, False), (1366, True), (375, True)]
SIZE_IDS = ["1366", "375", "1366-elder", "375-elder"]


def start(browser: Any, live: Any, username: str, *, width: int, elder: bool = False, bypass_csp: bool = False) -> Any:
    page = open_page(browser, live.url, width=width, height=800 if width > 600 else 740, bypass_csp=bypass_csp)
    login(page, username)
    seen_all_guides(page)
    if elder:
        page.evaluate("""() => fetch('/api/me/preferences', {method: 'PUT', headers: {'content-type':
            'application/json', 'x-csrf-token': document.cookie.match(/tb_csrf=([^;]+)/)[1]},
            body: JSON.stringify({elder_mode: true})})""")
        page.reload()
        page.get_by_role("navigation", name="主要栏目").wait_for()
    return page


def busy_group(org: Org, name: str = "周例会筹备组", count: int = 50) -> int:
    cid = group(org, "hamlet", name, ["ophelia", "polonius"])
    for i in range(count):
        send_as(org, "ophelia" if i % 2 else "polonius", cid, f"第 {i} 条：请各位把材料在周五前报送综合处。")
    return cid


def open_conversation(page: Any, cid: int, name: str) -> Any:
    page.goto(f"/#/messages/{cid}")
    page.get_by_role("heading", name=name, level=2).wait_for()
    page.locator(".msg-items .msg-item").last.wait_for()
    return page.locator(".msg-scroller")


def gap_below(page: Any) -> float:
    """How far the reader is from the newest message (0: at the bottom)."""
    return float(
        page.evaluate(
            "() => { const s = document.querySelector('.msg-scroller'); "
            "return s.scrollHeight - s.scrollTop - s.clientHeight; }"
        )
    )


def conversation(live: Any, username: str, cid: int) -> dict[str, Any]:
    client = new_client(live.app)
    api_login(client, username)
    items = client.get(f"{P}/conversations").json()["items"]
    found: dict[str, Any] = next(c for c in items if c["id"] == cid)
    return found


def read_position(live: Any, username: str, cid: int) -> int:
    return int(conversation(live, username, cid)["last_read_seq"])


def wait_read(live: Any, username: str, cid: int, seq: int | None = None) -> None:
    """Until the reader's position reaches ``seq`` (default: the newest message)."""
    seq = seq or int(conversation(live, username, cid)["last_seq"])
    deadline = time.monotonic() + 5
    while read_position(live, username, cid) < seq and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read_position(live, username, cid) == seq


def png(width: int = 800, height: int = 600) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def send_picture(live: Any, username: str, cid: int) -> dict[str, Any]:
    client = new_client(live.app)
    api_login(client, username)
    r = client.post(f"{P}/conversations/{cid}/attachments", files={"file": ("现场照片.png", png(), "image/png")})
    assert r.status_code == 201, r.text
    sent = client.post(f"{P}/conversations/{cid}/messages", json={"attachment_id": r.json()["id"]})
    assert sent.status_code in (200, 201), sent.text
    message: dict[str, Any] = sent.json()
    return message


@pytest.mark.parametrize("width,elder", SIZES, ids=SIZE_IDS)
def test_the_view_stays_on_the_newest_message_when_a_picture_arrives(
    browser: Any, live: Any, live_org: Org, artifacts: Path, width: int, elder: bool
) -> None:
    cid = busy_group(live_org)
    page = start(browser, live, "hamlet", width=width, elder=elder)
    held: list[Any] = []
    try:
        open_conversation(page, cid, "周例会筹备组")
        assert gap_below(page) < 4
        # The thumbnail is held on its way, as on a slow network: the picture's box must be there
        # before the picture, and the reader must still be at the bottom after it lands.
        page.route(lambda url: "/attachments/" in url and "thumb=1" in url, lambda route: held.append(route))
        send_picture(live, "ophelia", cid)
        picture = page.locator(".msg-item").last.locator("img.msg-thumb")
        picture.wait_for(state="attached")
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(25)
        assert held, "the thumbnail was never asked for"
        item = page.locator(".msg-item").last
        before = item.bounding_box()["height"]
        assert gap_below(page) < 4
        held[0].fulfill(response=held[0].fetch())
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
        page.wait_for_timeout(200)
        assert item.bounding_box()["height"] == pytest.approx(before, abs=1)  # the box was reserved
        assert gap_below(page) < 4  # and the reader is still at the newest message
        page.screenshot(path=artifacts / f"chat-picture-{width}{'-elder' if elder else ''}.png")
        assert page.console_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("width,elder", SIZES, ids=SIZE_IDS)
def test_a_reader_further_up_gets_a_new_messages_button_and_nothing_is_read_unseen(
    browser: Any, live: Any, live_org: Org, artifacts: Path, width: int, elder: bool
) -> None:
    cid = busy_group(live_org)
    page = start(browser, live, "hamlet", width=width, elder=elder)
    try:
        scroller = open_conversation(page, cid, "周例会筹备组")
        wait_read(live, "hamlet", cid)
        newest = read_position(live, "hamlet", cid)
        scroller.evaluate("s => { s.scrollTop = 0; }")
        page.wait_for_timeout(600)  # older messages may load; the reader stays up there
        scroller.evaluate("s => { s.scrollTop = 40; }")
        sent = send_as(live_org, "ophelia", cid, "新通知：周五的会改到下午三点。")
        pill = page.get_by_role("button", name="新消息 ↓")
        pill.wait_for()
        page.screenshot(path=artifacts / f"chat-new-pill-{width}{'-elder' if elder else ''}.png")
        page.wait_for_timeout(800)
        assert read_position(live, "hamlet", cid) < sent["seq"]  # not on screen: not read
        assert newest <= read_position(live, "hamlet", cid)
        pill.click()
        pill.wait_for(state="hidden")
        assert gap_below(page) < 4
        wait_read(live, "hamlet", cid, sent["seq"])  # seen now: read
        assert page.console_errors == []
    finally:
        page.context.close()


def test_nothing_is_read_while_the_list_is_shown_on_a_phone_or_the_page_is_hidden(
    browser: Any, live: Any, live_org: Org
) -> None:
    cid = busy_group(live_org, count=3)
    page = start(browser, live, "hamlet", width=375)
    try:
        open_conversation(page, cid, "周例会筹备组")
        wait_read(live, "hamlet", cid)  # what was on screen is read
        page.get_by_role("button", name="‹ 会话列表").click()
        page.wait_for_url("**/#/messages")
        conv = page.locator(".msg-conv", has_text="周例会筹备组")
        conv.wait_for()
        sent = send_as(live_org, "ophelia", cid, "列表里看得到的一条新消息")
        conv.locator(".msg-badge").filter(has_text="1").wait_for()
        page.wait_for_timeout(800)
        assert read_position(live, "hamlet", cid) < sent["seq"]
        conv.click()
        page.locator(".msg-text", has_text="列表里看得到的一条新消息").wait_for()
        wait_read(live, "hamlet", cid, sent["seq"])

        # The tab in the background (another tab in front): a message arriving is not read until
        # the page is shown again. The browser's visibility is set the way a hidden tab reports it.
        page.evaluate("""() => {
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
        later = send_as(live_org, "ophelia", cid, "后台时到达的消息")
        page.locator(".msg-text", has_text="后台时到达的消息").wait_for()
        page.wait_for_timeout(800)
        assert read_position(live, "hamlet", cid) < later["seq"]
        page.evaluate("""() => {
            delete document.visibilityState; delete document.hidden;
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
        wait_read(live, "hamlet", cid, later["seq"])
        assert page.console_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("width,elder", [(1366, False), (375, True)], ids=["1366", "375-elder"])
def test_the_mention_picker_works_from_the_keyboard_and_shows_only_the_newest_answer(
    browser: Any, live: Any, live_org: Org, artifacts: Path, width: int, elder: bool
) -> None:
    cid = group(live_org, "hamlet", "材料组", ["ophelia", "polonius", "horatio"])
    page = start(browser, live, "hamlet", width=width, elder=elder)
    held: list[Any] = []
    try:
        open_conversation_empty(page, cid, "材料组")
        box = page.get_by_label("消息内容")
        box.fill("请 ")
        box.press("End")

        # "@" asks for everyone; its answer is held while "@王" is asked and answered.
        def everyone(url: str) -> bool:
            return f"/conversations/{cid}/members?" in url and "q=" not in url

        page.route(everyone, lambda route: held.append(route))
        box.type("@")
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(25)
        assert held, "the first question never left"
        box.type("王")
        options = page.get_by_role("listbox", name="选择要提及的同事").get_by_role("option")
        options.first.wait_for()
        assert options.all_inner_texts() == ["王强"]
        held[0].fulfill(response=held[0].fetch())  # the older, wider answer lands last
        page.wait_for_timeout(400)
        assert options.all_inner_texts() == ["王强"]  # still the answer to "@王"

        # ↑/↓ move, Enter picks (and does not send), Esc closes.
        page.unroute(everyone)
        box.fill("请 ")
        box.press("End")
        box.type("@")
        options.nth(2).wait_for()
        names = options.all_inner_texts()
        assert page.get_by_role("option", selected=True).inner_text() == names[0]
        box.press("ArrowDown")
        box.press("ArrowDown")
        assert page.get_by_role("option", selected=True).inner_text() == names[2]
        box.press("ArrowUp")
        active = page.get_by_role("option", selected=True)
        assert active.inner_text() == names[1]
        assert box.get_attribute("aria-activedescendant") == active.get_attribute("id")
        page.screenshot(path=artifacts / f"chat-mention-{width}{'-elder' if elder else ''}.png")
        box.press("Enter")
        assert box.input_value() == f"请 @{names[1]} "
        assert page.get_by_role("listbox", name="选择要提及的同事").is_hidden()
        assert page.locator(".msg-item.is-mine").count() == 0  # Enter picked, it did not send
        box.type("@")
        options.first.wait_for()
        box.press("Escape")
        page.get_by_role("listbox", name="选择要提及的同事").wait_for(state="hidden")
        box.type("刘")  # typing on after Esc does not bring the list back for the same @
        page.wait_for_timeout(400)
        assert page.get_by_role("listbox", name="选择要提及的同事").is_hidden()
        box.press("Backspace")
        box.press("Backspace")
        box.type("@刘")
        options.first.wait_for()
        box.press("Enter")
        box.press("Enter")  # the list is closed: this Enter sends
        mine = page.locator(".msg-item.is-mine .msg-text").last
        mine.wait_for()
        assert mine.inner_text().strip() == f"请 @{names[1]} @刘洋"
        assert page.console_errors == []
    finally:
        page.context.close()


def open_conversation_empty(page: Any, cid: int, name: str) -> None:
    page.goto(f"/#/messages/{cid}")
    page.get_by_role("heading", name=name, level=2).wait_for()


@pytest.mark.parametrize("width", [1366, 375])
def test_each_conversation_document_and_meeting_has_its_own_address(
    browser: Any, live: Any, live_org: Org, width: int
) -> None:
    from docs_flow import service
    from docs_flow.schemas import DocumentCreate
    from tests.docs_flow.conftest import Clients
    from tests.meetings.conftest import booking
    from typeset.layout import DocType

    first = group(live_org, "hamlet", "第一组", ["ophelia"])
    second = group(live_org, "hamlet", "第二组", ["ophelia"])
    send_as(live_org, "ophelia", first, "第一组的消息")
    send_as(live_org, "ophelia", second, "第二组的消息")
    with live_org.db.write() as s:
        doc = service.check_create_document(
            s, live_org.actor("gertrude"), DocumentCreate(doc_type=DocType.tongzhi, title="关于地址的通知")
        )
    users = Clients(live.app)
    try:
        r = users["gertrude"].post(
            "/api/incoming", json={"title": "关于来文地址的函", "source_agency_name": "省统计局"}
        )
        assert r.status_code == 201, r.text
        incoming = r.json()
        body = booking(live_org, start="2027-03-02T09:00:00+08:00", end="2027-03-02T10:00:00+08:00", people=("hamlet",))
        r = users["gertrude"].post("/api/meetings", json=body | {"title": "地址测试会"})
        assert r.status_code == 201, r.text
        meeting = r.json()["meeting"]
    finally:
        users.close()
    page = start(browser, live, "hamlet", width=width)
    try:
        page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="消息").click()
        page.locator(".msg-conv", has_text="第一组").click()
        page.wait_for_url(f"**/#/messages/{first}")
        page.get_by_role("heading", name="第一组", level=2).wait_for()
        if width < 600:
            page.get_by_role("button", name="‹ 会话列表").click()
            page.wait_for_url("**/#/messages")
        page.locator(".msg-conv", has_text="第二组").click()
        page.wait_for_url(f"**/#/messages/{second}")
        page.locator(".msg-text", has_text="第二组的消息").wait_for()
        page.reload()  # a reload opens the same conversation
        page.locator(".msg-text", has_text="第二组的消息").wait_for()
        assert page.get_by_role("heading", name="第二组", level=2).is_visible()
        page.go_back()
        if width < 600:
            # On a phone ‹ went back to the list before the second was opened: back is the list.
            page.wait_for_url("**/#/messages")
            page.locator(".msg-conv", has_text="第一组").wait_for()
            assert page.locator(".msg-pane").is_hidden()
        else:
            page.wait_for_url(f"**/#/messages/{first}")
            page.locator(".msg-text", has_text="第一组的消息").wait_for()
        page.go_forward()
        page.wait_for_url(f"**/#/messages/{second}")
        page.locator(".msg-text", has_text="第二组的消息").wait_for()
        # A link from elsewhere (a notification, another tab) opens it directly.
        other = open_page(browser, live.url, width=width)
        login(other, "hamlet")
        other.goto(f"/#/messages/{first}")
        other.locator(".msg-text", has_text="第一组的消息").wait_for()
        other.context.close()
        # Not a member: said so, and the list is shown instead.
        stranger = group(live_org, "ophelia", "别的组", ["polonius"])
        page.goto(f"/#/messages/{stranger}")
        page.wait_for_url("**/#/messages")
        page.get_by_text("会话不存在或你不是成员").wait_for()
        page.console_errors.clear()  # that deliberate 404
        assert page.console_errors == []
        page.context.close()

        # 公文, 收文 and a meeting, as the clerk who drafted, registered and booked them.
        page = start(browser, live, "gertrude", width=width)
        for address, title in (
            (f"#/docs/{doc.id}", "关于地址的通知"),
            (f"#/incoming/{incoming['id']}", "关于来文地址的函"),
            (f"#/meetings/{meeting['id']}", "地址测试会"),
        ):
            section = address.split("/")[1]
            page.goto(f"/#/{section}")
            page.locator(".page h1").first.wait_for()
            page.goto(f"/{address}")
            page.get_by_role("heading", name=title, level=1).wait_for()
            page.reload()
            page.get_by_role("heading", name=title, level=1).wait_for()
            page.go_back()
            page.wait_for_url(f"**/#/{section}")
            page.go_forward()
            page.get_by_role("heading", name=title, level=1).wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()


def green_pixels(png_bytes: bytes) -> int:
    """Clearly green pixels: ✅ in colour is a green square; a one-colour glyph takes the (blue) text colour."""
    hsv = Image.open(io.BytesIO(png_bytes)).convert("HSV")
    hue = hsv.getchannel("H").point(lambda h: 255 if 45 <= h <= 115 else 0)  # about 65°–160°
    strong = Image.composite(hsv.getchannel("S"), Image.new("L", hsv.size, 0), hsv.getchannel("V"))
    strong = strong.point(lambda x: 255 if x > 100 else 0)
    both = Image.composite(hue, Image.new("L", hsv.size, 0), strong)
    return int(both.histogram()[255])


@pytest.mark.parametrize("width,elder", [(1366, False), (375, True)], ids=["1366", "375-elder"])
def test_reactions_from_a_small_set_drawn_in_colour_and_live_for_the_other_side(
    browser: Any, live: Any, live_org: Org, artifacts: Path, width: int, elder: bool
) -> None:
    cid = group(live_org, "hamlet", "反馈组", ["ophelia"])
    sent = send_as(live_org, "ophelia", cid, "材料已上传，请查收。")
    zhang = start(browser, live, "hamlet", width=width, elder=elder)
    li = start(browser, live, "ophelia", width=1366)
    try:
        open_conversation(li, cid, "反馈组")
        open_conversation(zhang, cid, "反馈组")
        item = zhang.locator(f'.msg-item[data-seq="{sent["seq"]}"]')
        react = item.get_by_role("button", name="表情回应")
        react.focus()
        zhang.keyboard.press("Enter")
        choices = item.get_by_role("group", name="选择表情回应")
        assert choices.get_by_role("button").all_inner_texts() == ["👍", "✅", "🙏", "👏", "😄", "🌹"]
        assert zhang.evaluate("() => document.activeElement.getAttribute('aria-label')") == "赞"
        zhang.keyboard.press("Escape")  # closes, focus back on 表情
        choices.wait_for(state="detached")
        assert zhang.evaluate("() => document.activeElement.getAttribute('aria-label')") == "表情回应"
        zhang.keyboard.press("Enter")
        choices.get_by_role("button", name="收到").click()
        chip = item.get_by_role("button", name="收到 1 人，再按一次取消")
        chip.wait_for()
        li.locator(f'.msg-item[data-seq="{sent["seq"]}"]').get_by_role("button", name="收到 1 人").wait_for()
        zhang.screenshot(path=artifacts / f"chat-reactions-{width}{'-elder' if elder else ''}.png")
        # Drawn with the colour emoji font the setup installs (scripts/deps.sh: fonts-noto-color-emoji).
        assert green_pixels(chip.locator(".msg-emoji").screenshot()) > 30
        chip.click()  # again: taken back, on both sides
        chip.wait_for(state="detached")
        li.locator(f'.msg-item[data-seq="{sent["seq"]}"] .msg-reaction').wait_for(state="detached")
        assert zhang.console_errors == [] and li.console_errors == []
    finally:
        zhang.context.close()
        li.context.close()


@pytest.mark.parametrize("width,elder", SIZES, ids=SIZE_IDS)
def test_axe_finds_nothing_serious_in_a_busy_conversation(
    browser: Any,
    live: Any,
    live_org: Org,
    axe_source: str,  # noqa: F811 (the fixture imported above)
    width: int,
    elder: bool,
) -> None:
    cid = busy_group(live_org, count=30)
    send_picture(live, "ophelia", cid)
    page = start(browser, live, "hamlet", width=width, elder=elder, bypass_csp=True)
    found: dict[str, list[str]] = {}
    try:
        scroller = open_conversation(page, cid, "周例会筹备组")
        page.locator("img.msg-thumb").wait_for()
        last = page.locator(".msg-item").last
        last.get_by_role("button", name="表情回应").click()
        if problems := serious_violations(page, axe_source):
            found["reactions open"] = problems
        scroller.evaluate("s => { s.scrollTop = 0; }")
        page.wait_for_timeout(300)
        send_as(live_org, "ophelia", cid, "一条新消息")
        page.get_by_role("button", name="新消息 ↓").wait_for()
        box = page.get_by_label("消息内容")
        box.fill("@")
        page.get_by_role("listbox", name="选择要提及的同事").wait_for()
        if problems := serious_violations(page, axe_source):
            found["pill and mention picker"] = problems
        assert not found, json.dumps(found, ensure_ascii=False, indent=1)
    finally:
        page.context.close()
