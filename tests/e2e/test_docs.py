"""公文 in real browsers: one 通知 from draft to a numbered Word file through the default 通知 route
(docs_flow/templates.py), one browser per person, with a 退回 and a parallel 会签 on the way.

Route for 张伟 (hamlet, 综合处) with 会签部门 综合处 + 秘书处:
  核稿 王强 (polonius, head of 综合处) → 办公室审核 陈静 (laertes, head of 秘书处, the agency's office)
  → 会签 王强 and 陈静 at the same time → 签发 赵刚 (claudius, leader) → 复核 陈静 → 编号 孙丽 (gertrude,
  clerk) → 用印 周敏 (yorick, seal keeper) → 核发/分发 孙丽 → 归档 孙丽.
签发 and 用印 are real e-signatures: 赵刚 and 周敏 enter their signing PINs; the downloaded file carries
the agency seal over the date and verifies.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.esign.svc import PIN, enrol, make_seal
from tests.factories import Org

pytestmark = pytest.mark.browser

TITLE = "关于开展2025年度安全生产检查的通知"
BODY = "各处室：\n为切实做好安全生产工作，经研究，决定开展年度安全生产检查。\n一、检查范围\n机关各处室及所属单位。\n二、工作要求\n各处室要高度重视，认真组织自查。"
ADDED = "检查时间为2025年6月1日至6月30日。"


class People:
    """One logged-in browser context per person, opened on first use."""

    def __init__(self, browser: Any, url: str) -> None:
        self.browser, self.url, self.pages = browser, url, {}

    def __getitem__(self, username: str) -> Any:
        if username not in self.pages:
            page = open_page(self.browser, self.url)
            login(page, username)
            self.pages[username] = page
        return self.pages[username]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def open_doc(page: Any, doc_id: int) -> None:
    page.goto(f"/#/docs/{doc_id}")
    page.get_by_role("heading", name=TITLE, level=1).wait_for()


def act(page: Any, doc_id: int, step: str, button: str, opinion: str = "", pin: str | None = None) -> None:
    """As the person whose turn it is: open the document, write the opinion, press the button."""
    open_doc(page, doc_id)
    page.get_by_role("heading", name=f"请您办理：{step}").wait_for()
    if opinion:
        page.get_by_label("办理意见").fill(opinion)
    if pin is not None:
        page.get_by_label(re.compile("签名密码")).fill(pin)
    page.get_by_role("button", name=button, exact=True).click()
    page.get_by_role("heading", name=f"请您办理：{step}").wait_for(state="detached")


def test_tongzhi_from_draft_to_numbered_word_file(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    enrol(live_org, "claudius")
    enrol(live_org, "yorick")
    make_seal(live_org, users=("yorick",))
    people = People(browser, live.url)
    try:
        # 张伟 drafts the 通知 on the 发文稿纸, with two departments to countersign.
        zhang = people["hamlet"]
        zhang.get_by_role("navigation", name="主要栏目").get_by_role("link", name="公文").click()
        zhang.get_by_role("heading", name="公文", level=1).wait_for()
        zhang.get_by_text("没有待办公文").wait_for()
        zhang.get_by_role("link", name="＋ 新建发文").click()
        zhang.get_by_role("heading", name="新建发文").wait_for()
        zhang.get_by_label("标题").fill(TITLE)
        zhang.get_by_label("主送机关", exact=True).fill("各处室、各直属单位")
        zhang.get_by_label("紧急程度").select_option("加急")
        zhang.get_by_label("正文").fill(BODY)
        zhang.get_by_label("综合处").check()
        zhang.get_by_label("秘书处").check()
        zhang.get_by_label("拟稿人电话").fill("020-83130000")
        zhang.screenshot(path=artifacts / "docs-new.png", full_page=True)
        zhang.get_by_role("button", name="创建草稿").click()
        zhang.get_by_role("heading", name=TITLE, level=1).wait_for()
        doc_id = int(re.search(r"#/docs/(\d+)", zhang.url).group(1))  # type: ignore[union-attr]
        zhang.get_by_role("heading", name="草稿：请完善正文后送审").wait_for()
        preview = zhang.get_by_role("article", name="正文预览")
        preview.get_by_role("heading", name="一、检查范围").wait_for()
        zhang.get_by_role("button", name="送审").click()
        zhang.get_by_role("heading", name="草稿：请完善正文后送审").wait_for(state="detached")
        zhang.get_by_text("当前步骤：处室负责人核稿（王强办理）").wait_for()

        # 王强 finds it in 待办 and returns it to the drafter with a reason.
        wang = people["polonius"]
        wang.goto("/#/docs")
        wang.get_by_role("heading", name="公文", level=1).wait_for()
        wang.get_by_role("link", name=TITLE).click()
        wang.get_by_role("heading", name="请您办理：处室负责人核稿").wait_for()
        wang.get_by_label("办理意见").fill("请写明检查时间。")
        assert wang.get_by_label("退回到").input_value() == "draft"
        wang.screenshot(path=artifacts / "docs-review.png", full_page=True)
        wang.get_by_role("button", name="退回", exact=True).click()
        wang.get_by_role("heading", name="请您办理：处室负责人核稿").wait_for(state="detached")

        # 张伟 sees why, adds the dates (a new version), and sends it again.
        open_doc(zhang, doc_id)
        zhang.get_by_role("heading", name="已退回：请按意见修改后重新送审").wait_for()
        zhang.get_by_text("退回意见：请写明检查时间。").wait_for()
        zhang.screenshot(path=artifacts / "docs-returned.png", full_page=True)
        zhang.get_by_role("button", name="编辑正文").click()
        zhang.get_by_role("button", name="＋ 段落").click()
        zhang.locator(".block-row").last.locator("textarea").fill(ADDED)
        zhang.get_by_label("修改说明（可选）").fill("按核稿意见补充检查时间")
        zhang.screenshot(path=artifacts / "docs-editor.png", full_page=True)
        zhang.get_by_role("button", name="保存（生成新版本）").click()
        zhang.get_by_role("article", name="正文预览").get_by_text(ADDED).wait_for()
        zhang.locator(".panel-count", has_text="第 2 版").wait_for()
        zhang.get_by_label("送审说明（可选）").fill("已按意见修改，请审核。")
        zhang.get_by_role("button", name="送审").click()
        zhang.get_by_text("当前步骤：处室负责人核稿（王强办理）").wait_for()

        act(wang, doc_id, "处室负责人核稿", "审核通过", "同意，请办公室审核。")
        chen = people["laertes"]
        act(chen, doc_id, "办公室审核", "审核通过", "文字已核。")

        # 会签: both department heads hold the document at the same time.
        open_doc(chen, doc_id)
        chen.get_by_role("heading", name="请您办理：会签").wait_for()
        step = chen.locator(".step", has_text="会签").first
        assert step.locator(".task-pending").count() == 2
        assert "多人同时办理" in step.inner_text()
        chen.screenshot(path=artifacts / "docs-countersign.png", full_page=True)
        act(chen, doc_id, "会签", "会签同意", "秘书处无意见。")
        open_doc(wang, doc_id)
        wang.get_by_role("heading", name="请您办理：会签").wait_for()
        act(wang, doc_id, "会签", "会签同意", "综合处同意。")

        # 签发: the leader signs the exact text with the PIN of his signing key; the text is locked after it.
        zhao = people["claudius"]
        act(zhao, doc_id, "机关领导签发", "签发", "同意印发。", pin=PIN)
        open_doc(zhao, doc_id)
        zhao.locator(".facts").get_by_text("赵刚").wait_for()

        act(chen, doc_id, "复核", "复核通过")

        # 编号: the clerk gives it the next 发文字号 of 粤府办, then passes it on.
        sun = people["gertrude"]
        open_doc(sun, doc_id)
        sun.get_by_role("heading", name="请您办理：编号").wait_for()
        sun.get_by_role("button", name="编发文字号").click()
        number = sun.locator(".doc-header .doc-meta")
        number.filter(has_text=re.compile(r"文号：粤府办〔\d{4}〕1号")).wait_for()
        act(sun, doc_id, "编号", "编号完成，送下一步")

        act(people["yorick"], doc_id, "用印", "用印", pin=PIN)
        act(sun, doc_id, "核发/分发", "确认分发")
        act(sun, doc_id, "归档", "归档")

        # 张伟 sees it archived with its number and downloads the Word file.
        open_doc(zhang, doc_id)
        zhang.get_by_text("本公文已办结归档").wait_for()
        meta = zhang.locator(".doc-header").inner_text()
        doc_number = re.search(r"粤府办〔\d{4}〕1号", meta).group(0)  # type: ignore[union-attr]
        steps = zhang.locator(".route .step")
        assert steps.count() == 9 and zhang.locator(".route .step-done").count() == 9
        zhang.get_by_text("流转记录").click()
        history = zhang.locator(".history-list").inner_text()
        assert "王强 退回" in history and "请写明检查时间。" in history
        zhang.screenshot(path=artifacts / "docs-archived.png", full_page=True)
        with zhang.expect_download() as info:
            zhang.get_by_role("link", name="下载 Word").click()
        download = info.value
        assert download.suggested_filename == f"{doc_number}.docx"
        data = Path(download.path()).read_bytes()
        assert data[:2] == b"PK"
        import docx

        text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
        assert TITLE in text and ADDED in text and doc_number in text
        from esign import service as esign_service

        with live_org.db.read() as s:
            report = esign_service.verify_docx(s, data)
        assert report["valid"] and report["signatures"][0]["seal_name"] == "省政府办公厅公章", report

        # The list shows it with its number; nobody has it in 待办 any more.
        zhang.goto("/#/docs?box=mine")
        zhang.locator(".doc-item", has_text=TITLE).get_by_text("已归档").wait_for()
        zhang.screenshot(path=artifacts / "docs-list.png", full_page=True)
        wang.goto("/#/docs?box=todo")
        wang.get_by_text("没有待办公文").wait_for()

        # The 工作通知 in 消息 tells 张伟 it is done and leads back to the document.
        zhang.get_by_role("navigation", name="主要栏目").get_by_role("link", name="消息").click()
        zhang.locator(".msg-conv", has_text="工作通知").click()
        notice = zhang.locator(".msg-item", has_text=f"已办结：{TITLE}")
        notice.wait_for()
        assert notice.locator(".msg-sender").inner_text() == "公文"
        zhang.get_by_text("此会话只用于接收通知，不能发送消息").wait_for()
        assert zhang.get_by_label("消息内容").is_hidden()
        zhang.screenshot(path=artifacts / "docs-notice-in-messages.png")
        notice.get_by_role("link", name="查看详情").click()
        zhang.get_by_role("heading", name=TITLE, level=1).wait_for()
        assert zhang.url.endswith(f"#/docs/{doc_id}")

        for username, page in people.pages.items():
            assert page.console_errors == [], username
    finally:
        people.close()


def test_format_check_of_a_file_prepared_elsewhere(browser: Any, live: Any, live_org: Org, tmp_path: Path) -> None:
    import docx as docx_mod

    from typeset.render import render_docx
    from typeset.samples import demo_notice

    foreign = docx_mod.Document()
    foreign.add_paragraph("粤府办[2026]12号")
    bad, good = tmp_path / "外单位稿.docx", tmp_path / "规范稿.docx"
    foreign.save(bad)
    good.write_bytes(render_docx(demo_notice()))
    page = open_page(browser, live.url)
    try:
        login(page, "hamlet")
        page.goto(live.url + "/#/docs")
        page.get_by_role("heading", name="公文格式检查").wait_for()
        page.set_input_files("#docs-check-file", str(bad))
        page.get_by_text(re.compile("处不符合")).wait_for()
        assert page.locator(".check-list li").count() >= 1
        page.set_input_files("#docs-check-file", str(good))
        page.get_by_text("符合 GB/T 9704-2012 版式要求").wait_for()
        assert page.console_errors == []
    finally:
        page.context.close()


def test_a_slow_earlier_search_never_replaces_a_newer_one(browser: Any, live: Any, live_org: Org) -> None:
    """Typing 防, then 考核: if the answer for 防 arrives last, the list must still show 考核's."""
    from docs_flow import service
    from docs_flow.schemas import DocumentCreate

    with live_org.db.write() as s:
        for title in ("关于防汛工作的通知", "关于年终考核的通知"):
            service.check_create_document(s, live_org.actor("hamlet"), DocumentCreate(doc_type="通知", title=title))
    page = open_page(browser, live.url)
    held: list[Any] = []
    try:
        login(page, "hamlet")
        page.goto("/#/docs?box=mine")
        page.locator(".doc-link", has_text="关于防汛工作的通知").wait_for()
        page.route(lambda url: "/api/docs?" in url and "q=%E9%98%B2" in url, lambda route: held.append(route))
        page.get_by_label("查找公文").fill("防")
        for _ in range(200):  # the request for 防 is on its way and held
            if held:
                break
            page.wait_for_timeout(25)
        assert held, "the search for 防 never left the page"
        page.get_by_label("查找公文").fill("考核")
        page.locator(".doc-link", has_text="关于防汛工作的通知").wait_for(state="detached")  # 考核's answer is shown
        held[0].fulfill(response=held[0].fetch())  # now the older answer lands
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        links = page.locator(".doc-link").all_inner_texts()
        assert links == ["关于年终考核的通知"], links
        assert page.console_errors == []
    finally:
        page.context.close()
