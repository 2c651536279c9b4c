"""People in headless Chromium (issue #16 §3): the person card (post titles, not roles; 发消息 opens the
one-to-one chat; 发DING; 电话) and the people-and-department picker wherever a person or a department
is chosen (meetings, 传阅, 主办/协办, seals, 转办, 主送, route templates): found by pinyin and initials,
browsed by department, operated from the keyboard, with axe-core finding nothing serious at 1366 px
and 375 px, normal and 长者模式. Screenshots in test-artifacts/people/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from docs_flow import actions, incoming, incoming_handling, incoming_listing
from docs_flow import service as docs
from docs_flow.models import RouteTemplate
from docs_flow.schemas import DocumentCreate
from esign.models import Seal
from meetings.access import attendees_of
from messaging.models import Conversation, ConversationKind, Member, Message
from office.actor import SYSTEM
from office.directory import service as directory
from tests.docs_flow.conftest import BODY
from tests.e2e.conftest import open_page
from tests.e2e.test_hardening_ui import axe_source, seen_all_guides, serious_violations  # noqa: F401 (a fixture)
from tests.e2e.test_shell import login
from tests.esign.svc import SEAL_PIN, enrol
from tests.factories import Org
from workflow import engine, tasks

pytestmark = pytest.mark.browser
SIZES = [(1366, False), (375, False), (1366, True), (375, True)]


@pytest.fixture
def out(artifacts: Path) -> Path:
    path = artifacts / "people"
    path.mkdir(exist_ok=True)
    return path


def start(browser: Any, live: Any, username: str, *, width: int = 1366, elder: bool = False) -> Any:
    page = open_page(browser, live.url, width=width, height=860 if width > 600 else 780, bypass_csp=True)
    login(page, username)
    seen_all_guides(page)
    if elder:
        page.evaluate("""() => fetch('/api/me/preferences', {method: 'PUT', headers: {'content-type':
            'application/json', 'x-csrf-token': document.cookie.match(/tb_csrf=([^;]+)/)[1]},
            body: JSON.stringify({elder_mode: true})})""")
        page.reload()
        page.locator("html.elder").wait_for(state="attached")
    return page


def goto(page: Any, address: str, heading: str) -> None:
    page.goto(f"/#/{address}")
    page.get_by_role("heading", name=heading, level=1).wait_for()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for p in opened:
        p.context.close()


def test_person_card_shows_posts_and_opens_chat_ding_and_phone(
    browser: Any, live: Any, live_org: Org, out: Path, pages: list[Any]
) -> None:
    with live_org.db.write() as s:
        directory.update_user(s, SYSTEM, live_org.users["claudius"], phone="020-83131234")
    page = start(browser, live, "hamlet")
    pages.append(page)
    goto(page, "directory", "通讯录")
    page.get_by_label("查找同事").fill("zg")
    page.locator(".person", has_text="赵刚").click()
    card = page.get_by_role("dialog", name="赵刚")
    card.get_by_text("综合处 · 副秘书长").wait_for()
    text = card.inner_text()
    assert "机关领导" not in text and "科员" not in text  # his roles are permissions, not his title
    assert card.get_by_role("link", name="电话").get_attribute("href") == "tel:020-83131234".replace("-", "")
    page.screenshot(path=out / "card-1366.png")

    # 发DING from the card: the one-to-one conversation is made and the DING lands in it.
    card.get_by_role("button", name="发DING").click()
    card.get_by_label("DING 赵刚（对方确认前会持续提醒）").fill("请今天下班前签发安全检查通知")
    card.get_by_role("button", name="发送 DING").click()
    page.locator(".toast", has_text="已向赵刚发出 DING").wait_for()
    hamlet, claudius = live_org.users["hamlet"], live_org.users["claudius"]
    with live_org.db.read() as s:
        ding = s.exec(select(Message).where(Message.sender_id == hamlet, Message.is_ding == True)).one()  # noqa: E712
        members = set(s.exec(select(Member.user_id).where(Member.conversation_id == ding.conversation_id)).all())
        conv = s.get(Conversation, ding.conversation_id)
        assert conv is not None and conv.kind is ConversationKind.direct and members == {hamlet, claudius}

    # 发消息 opens that same conversation at its own address.
    card.get_by_role("button", name="发消息").click()
    page.wait_for_url(f"**/#/messages/{ding.conversation_id}")
    page.get_by_role("heading", name="赵刚", level=2).wait_for()
    page.get_by_text("请今天下班前签发安全检查通知").first.wait_for()
    assert page.console_errors == []

    # An administrator sees the roles too (they assign them).
    admin = start(browser, live, "prospero")
    pages.append(admin)
    goto(admin, "directory", "通讯录")
    admin.get_by_label("查找同事").fill("zhaogang")
    admin.locator(".person", has_text="赵刚").click()
    admin.get_by_role("dialog", name="赵刚").get_by_text("科员、机关领导").wait_for()


def pick_by_keys(page: Any, label: str, query: str, expect: str) -> None:
    """Type into the picker called ``label``, move down to ``expect`` with ↓ and take it with Enter."""
    box = page.get_by_role("combobox", name=label)
    box.fill(query)
    options = page.get_by_role("listbox", name=f"{label}：查找结果")
    options.get_by_role("option").first.wait_for()
    for _ in range(options.get_by_role("option").count()):
        box.press("ArrowDown")
        active = box.get_attribute("aria-activedescendant")
        if expect in page.locator(f"#{active}").inner_text():
            break
    else:
        raise AssertionError(f"{expect} not offered for {query!r}")
    box.press("Enter")


def chips(page: Any, label: str) -> list[str]:
    return [
        t.strip() for t in page.get_by_role("list", name=f"已选{label}").locator(".picker-chip-name").all_inner_texts()
    ]


def test_meeting_attendees_found_by_initials_and_browsed_by_department_from_the_keyboard(
    browser: Any, live: Any, live_org: Org, out: Path, pages: list[Any]
) -> None:
    page = start(browser, live, "gertrude")
    pages.append(page)
    goto(page, "meetings/new", "预约会议")
    chosen = page.locator(".meet-chosen")
    pick_by_keys(page, "添加参会人员", "zw", "张伟")
    chosen.get_by_text("张伟").wait_for()
    assert page.get_by_role("combobox", name="添加参会人员").input_value() == ""  # ready for the next one
    pick_by_keys(page, "添加参会人员", "wangqiang", "王强")
    chosen.get_by_text("王强").wait_for()
    # 省财政厅's 厅长, whom the directory shows, is not offered: another agency comes by its 会议通知.
    page.get_by_role("combobox", name="添加参会人员").fill("hefang")
    page.get_by_text("没有找到，请换个写法").wait_for()
    page.get_by_role("combobox", name="添加参会人员").fill("")

    # Browse: 秘书处 in the tree, then 刘洋 from its members, all from the keyboard.
    page.get_by_role("button", name="按部门浏览").click()
    tree = page.get_by_role("tree", name="添加参会人员：部门")
    tree.get_by_role("treeitem", name="省政府办公厅").first.focus()
    page.keyboard.press("ArrowDown")  # 综合处
    page.keyboard.press("ArrowDown")  # 秘书处
    page.keyboard.press("Enter")
    members = page.get_by_role("listbox", name="秘书处的人员")
    members.get_by_role("option", name="刘洋").wait_for()
    members.focus()
    for _ in range(3):
        if "刘洋" in page.locator(f"#{members.get_attribute('aria-activedescendant')}").inner_text():
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    chosen.get_by_text("刘洋").wait_for()
    assert members.get_by_role("option", name="刘洋").get_attribute("aria-selected") == "true"
    page.screenshot(path=out / "meeting-picker-1366.png", full_page=True)
    assert [n.strip() for n in chosen.locator(".meet-person-name").all_inner_texts()] == ["张伟", "王强", "刘洋"]
    assert page.console_errors == []


def test_incoming_lead_and_co_departments_and_readers_are_picked_not_numbered(
    browser: Any, live: Any, live_org: Org, out: Path, pages: list[Any]
) -> None:
    clerk = live_org.actor("gertrude")
    with live_org.db.write() as s:
        doc = incoming_handling.check_register_manual(
            s, clerk, title="关于报送年度总结的函", source_agency_name="省审计厅"
        )
        for opinion in ("", "", "拟请综合处牵头办理"):
            doc = incoming_handling.check_act(
                s, clerk, doc.id or 0, action="approve", version=doc.version, opinion=opinion
            )
        doc_id = doc.id
    page = start(browser, live, "claudius")
    pages.append(page)
    goto(page, f"incoming/{doc_id}", "关于报送年度总结的函")
    pick_by_keys(page, "主办部门", "zhc", "综合处")
    assert chips(page, "主办部门") == ["综合处"]
    pick_by_keys(page, "协办部门（可多选）", "mishu", "秘书处")
    assert chips(page, "协办部门（可多选）") == ["秘书处"]
    page.get_by_label("批办意见").fill("请综合处牵头，秘书处配合")
    page.screenshot(path=out / "incoming-instruct-1366.png", full_page=True)
    page.get_by_role("button", name="批办", exact=True).click()
    page.get_by_role("combobox", name="主办部门").wait_for(state="detached")
    with live_org.db.read() as s:
        row = incoming.access_incoming(s, live_org.actor("claudius"), doc_id or 0)
        assert (row.lead_department_id, row.co_department_ids) == (live_org.depts["A1"], [live_org.depts["A2"]])

    # 传阅 in the order picked; a person of another agency is not offered.
    label = "传阅人（按选择顺序）"
    page.get_by_role("combobox", name=label).fill("郑军")  # 省财政厅
    page.get_by_text("没有找到").wait_for()
    pick_by_keys(page, label, "ln", "李娜")
    pick_by_keys(page, label, "liuyang", "刘洋")
    assert chips(page, label) == ["李娜", "刘洋"]
    page.get_by_role("combobox", name=label).press("Backspace")  # the last one goes
    assert chips(page, label) == ["李娜"]
    pick_by_keys(page, label, "ly", "刘洋")
    page.get_by_role("button", name="发起传阅").click()
    page.get_by_text("已阅 0/2").wait_for()
    with live_org.db.read() as s:
        readers = incoming_listing.detail(s, live_org.actor("claudius"), doc_id or 0)["circulations"][0]["readers"]
        assert [r["name"] for r in readers] == ["李娜", "刘洋"]
    assert page.console_errors == []


def test_seal_holders_and_users_are_picked(browser: Any, live: Any, live_org: Org, pages: list[Any]) -> None:
    enrol(live_org, "yorick")
    enrol(live_org, "claudius")
    page = start(browser, live, "yorick")
    pages.append(page)
    goto(page, "esign/seals", "电子签章")
    page.get_by_label("印章种类").select_option("department")
    pick_by_keys(page, "部门（部门章）", "秘书", "秘书处")
    page.get_by_label("设置印章 PIN 码").fill(SEAL_PIN)
    page.get_by_role("button", name="制作印章").click()
    card = page.locator(".seal-card", has_text="秘书处")
    card.wait_for()
    page.get_by_label("印章种类").select_option("name")
    pick_by_keys(page, "持章人（名章）", "zg", "赵刚")
    page.get_by_label("设置印章 PIN 码").fill(SEAL_PIN)
    page.get_by_role("button", name="制作印章").click()
    page.locator(".seal-card", has_text="赵刚").wait_for()
    with live_org.db.read() as s:
        made = {(x.kind.value, x.department_id, x.holder_user_id) for x in s.exec(select(Seal)).all()}
    assert made == {("department", live_org.depts["A2"], None), ("name", None, live_org.users["claudius"])}

    # Who may use the 部门章: picked, then confirmed with the seal PIN.
    card.locator("summary").click()
    pick_by_keys(card, "授权使用人", "liuyang", "刘洋")
    card.get_by_role("button", name="保存授权（需印章 PIN 码）").click()
    dialog = page.get_by_role("dialog", name="请输入印章 PIN 码")
    dialog.get_by_label("印章 PIN 码").fill(SEAL_PIN)
    dialog.get_by_role("button", name="确定").click()
    page.locator(".seal-card", has_text="秘书处").locator(".seal-users li").get_by_text("刘洋").wait_for()
    assert page.console_errors == []


def test_document_recipients_and_transfer_are_picked(browser: Any, live: Any, live_org: Org, pages: list[Any]) -> None:
    page = start(browser, live, "hamlet")
    pages.append(page)
    goto(page, "docs/new", "新建发文")
    page.get_by_label("标题").fill("关于报送统计数据的通知")
    pick_by_keys(page, "从通讯录添加主送机关", "sczt", "省财政厅")  # initials of 省财政厅
    pick_by_keys(page, "从通讯录添加主送机关", "粤府办", "省政府办公厅")  # its 机关代字
    assert page.get_by_label("主送机关", exact=True).input_value() == "省财政厅，省政府办公厅"
    pick_by_keys(page, "从通讯录添加抄送机关", "财政", "省财政厅")
    assert page.get_by_label("抄送机关", exact=True).input_value() == "省财政厅"
    pick_by_keys(page, "从通讯录添加抄送机关", "财政", "省财政厅")  # picked again: taken out
    assert page.get_by_label("抄送机关", exact=True).input_value() == ""

    hamlet = live_org.actor("hamlet")
    with live_org.db.write() as s:
        doc = docs.check_create_document(
            s,
            hamlet,
            DocumentCreate(doc_type="通知", title="关于开展安全检查的通知", body=BODY, main_recipients=["各处室"]),
        )
        actions.check_act(s, hamlet, doc.id or 0, action="submit", version=doc.version)
        doc_id = doc.id
    head = start(browser, live, "polonius")
    pages.append(head)
    goto(head, f"docs/{doc_id}", "关于开展安全检查的通知")
    head.get_by_text("转办或加签给其他人").click()
    pick_by_keys(head, "选择人员", "lina", "李娜")
    head.get_by_role("button", name="转办", exact=True).click()
    head.locator(".toast", has_text="已转办").wait_for()
    with live_org.db.read() as s:
        row = docs.access_document(s, hamlet, doc_id or 0)
        assert tasks.current_assignees(s, engine.get_case(s, row.case_id or 0)) == [live_org.users["ophelia"]]
    assert page.console_errors == [] and head.console_errors == []


def test_route_template_step_people_and_department_are_picked(
    browser: Any, live: Any, live_org: Org, out: Path, pages: list[Any]
) -> None:
    page = start(browser, live, "prospero")
    pages.append(page)
    goto(page, "admin/templates", "管理 · 发文流程")
    page.get_by_label("流程模板").select_option(label="通用发文流程（其他文种）")
    first, second = (page.get_by_role("group", name=f"第 {n} 步") for n in (1, 2))
    first.get_by_label("办理人").select_option("user")
    pick_by_keys(first, "指定人员", "wq", "王强")
    pick_by_keys(first, "指定人员", "cj", "陈静")
    second.get_by_label("办理人").select_option("role")
    pick_by_keys(second, "限定部门（可空：全机关）", "zonghe", "综合处")
    assert chips(first, "指定人员") == ["王强", "陈静"]  # still named after the other step was redrawn
    page.screenshot(path=out / "templates-1366.png", full_page=True)
    page.get_by_role("button", name="保存流程").click()
    page.locator(".toast", has_text="已保存").wait_for()
    with live_org.db.read() as s:
        row = s.exec(select(RouteTemplate).where(RouteTemplate.doc_type == "*")).one()
        one, two = row.steps[0]["actor"], row.steps[1]["actor"]
    assert one == {"kind": "user", "user_ids": sorted([live_org.users["polonius"], live_org.users["laertes"]])}
    assert two["kind"] == "role" and two["department_id"] == live_org.depts["A1"]
    # A 文种 without its own route gets one, starting from the generic steps.
    page.get_by_label("为其他文种单独设置流程").select_option("函")
    page.get_by_role("button", name="新建流程").click()
    assert page.get_by_label("模板名称").input_value() == "函发文流程"
    page.get_by_role("button", name="保存流程").click()
    page.locator(".toast", has_text="已新建“函发文流程”").wait_for()
    with live_org.db.read() as s:
        han = s.exec(select(RouteTemplate).where(RouteTemplate.doc_type == "函")).one()
    assert [st["key"] for st in han.steps] == [st["key"] for st in row.steps]
    page.get_by_label("流程模板").locator("option", has_text="函发文流程").wait_for(state="attached")
    assert page.get_by_label("模板名称").input_value() == "函发文流程"  # the new one is shown, saved
    assert page.console_errors == []


@pytest.mark.parametrize(("width", "elder"), SIZES, ids=[f"{w}{'-elder' if e else ''}" for w, e in SIZES])
def test_picker_and_card_pass_axe_at_every_size(
    browser: Any,
    live: Any,
    live_org: Org,
    axe_source: str,  # noqa: F811 (the fixture imported above)
    out: Path,
    pages: list[Any],
    width: int,
    elder: bool,
) -> None:
    page = start(browser, live, "prospero", width=width, elder=elder)
    pages.append(page)
    tag = f"{width}{'-elder' if elder else ''}"
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        if result := serious_violations(page, axe_source):
            found[name] = result

    goto(page, "meetings/new", "预约会议")
    page.get_by_role("combobox", name="添加参会人员").fill("zw")
    page.get_by_role("listbox", name="添加参会人员：查找结果").get_by_role("option").first.wait_for()
    page.get_by_role("combobox", name="添加参会人员").press("ArrowDown")
    page.get_by_role("listbox", name="添加参会人员：查找结果").scroll_into_view_if_needed()
    page.screenshot(path=out / f"picker-search-{tag}.png")
    check("search")
    page.get_by_role("combobox", name="添加参会人员").press("Enter")
    page.get_by_role("button", name="按部门浏览").click()
    page.get_by_role("tree", name="添加参会人员：部门").get_by_text("综合处").click()
    page.get_by_role("listbox", name="综合处的人员").get_by_role("option", name="王强").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing scrolls sideways
    page.get_by_role("listbox", name="综合处的人员").scroll_into_view_if_needed()
    page.screenshot(path=out / f"picker-browse-{tag}.png")
    check("browse")

    goto(page, "directory", "通讯录")
    page.get_by_label("查找同事").fill("zg")
    page.locator(".person", has_text="赵刚").click()
    page.get_by_role("dialog", name="赵刚").get_by_role("button", name="发DING").click()
    page.screenshot(path=out / f"card-{tag}.png")
    check("card")
    page.keyboard.press("Escape")

    goto(page, "admin/templates", "管理 · 发文流程")
    check("templates")
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
    assert page.console_errors == []


def test_group_members_are_picked(browser: Any, live: Any, live_org: Org, pages: list[Any]) -> None:
    page = start(browser, live, "hamlet")
    pages.append(page)
    goto(page, "messages", "消息")
    page.get_by_role("button", name="＋ 新建群聊").click()
    dialog = page.get_by_role("dialog", name="新建群聊")
    dialog.get_by_label("群名称").fill("防汛值班群")
    pick_by_keys(dialog, "添加成员", "ln", "李娜")
    dialog.get_by_role("button", name="按部门浏览").click()
    dialog.get_by_role("tree", name="添加成员：部门").get_by_text("秘书处").click()
    dialog.get_by_role("listbox", name="秘书处的人员").get_by_role("option", name="陈静").click()
    assert chips(dialog, "添加成员") == ["李娜", "陈静"]
    dialog.get_by_role("button", name="创建群聊").click()
    dialog.wait_for(state="detached")
    with live_org.db.read() as s:
        conv = s.exec(select(Conversation).where(Conversation.name == "防汛值班群")).one()
        members = set(s.exec(select(Member.user_id).where(Member.conversation_id == conv.id)).all())
    assert members == {live_org.users[u] for u in ("hamlet", "ophelia", "laertes")}
    assert page.console_errors == []


def test_substitute_is_picked(browser: Any, live: Any, live_org: Org, pages: list[Any]) -> None:
    """代参会人 was a number box ("代参会人编号"); now 张伟 picks 周敏."""
    from tests.e2e.test_signin_screen import book_soon

    mid = book_soon(live, live_org)
    page = start(browser, live, "hamlet")
    pages.append(page)
    goto(page, f"meetings/{mid}", "安全生产工作专题会")
    page.get_by_text("请假或请人代参会").click()
    pick_by_keys(page, "代参会人", "zm", "周敏")
    page.get_by_role("button", name="请人代参会").click()
    page.get_by_role("heading", name="我的答复：代参会").wait_for()
    with live_org.db.read() as s:
        rows = {a.user_id: a for a in attendees_of(s, mid)}
    assert rows[live_org.users["yorick"]].substitute_for == live_org.users["hamlet"]
    assert page.console_errors == []
