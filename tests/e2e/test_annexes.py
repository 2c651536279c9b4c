"""Bound attachments (随文装订的附件) in a real browser: 张伟 types one with the body's block editor, imports
one from Word (told what was taken), moves it up (the 附件说明's order), edits and unbinds one; a bad title
is answered in Chinese on the page and changes nothing. The Word download lays out the bound ones."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest

from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.factories import PASSWORD, Org

pytestmark = pytest.mark.browser

TITLE = "关于做好2027年预算编制工作的通知"


def _word_attachment() -> bytes:
    word = docx.Document()
    word.add_paragraph("附件2")
    p = word.add_paragraph()
    p.alignment = 1
    p.add_run("预算报送表填报说明").bold = True
    word.add_paragraph("各单位按本说明填报。")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_bound_attachments_typed_imported_ordered_and_unbound(
    browser: Any, live: Any, live_org: Org, tmp_path: Path, artifacts: Path
) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as http:
        r = http.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
        http.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
        r = http.post(
            "/api/docs",
            json={
                "doc_type": "通知",
                "title": TITLE,
                "main_recipients": ["省财政厅"],
                "body": [{"kind": "paragraph", "text": "请认真做好预算编制工作。"}],
            },
        )
        doc_id = r.json()["id"]
    word_file = tmp_path / "填报说明.docx"
    word_file.write_bytes(_word_attachment())
    page = open_page(browser, live.url)
    try:
        login(page, "hamlet")
        page.goto(f"/#/docs/{doc_id}")
        page.get_by_role("heading", name=TITLE, level=1).wait_for()
        panel = page.locator("section", has=page.locator(f"#annexes-{doc_id}"))  # "附件" and a count

        # Typed, with the body's block editor; an empty title is refused in Chinese, nothing added.
        panel.get_by_role("button", name="＋ 新增随文附件").click()
        panel.get_by_label("附件第 1 段内容").fill("各单位于12月31日前报送。")
        panel.get_by_role("button", name="添加附件").click()
        panel.get_by_role("alert").get_by_text("附件标题不能为空").wait_for()
        panel.get_by_label("附件标题").fill("工作任务清单")
        panel.get_by_role("button", name="＋ 表格").click()
        panel.get_by_label("附件第 2 段内容").fill("单位\t联系人\n综合处\t张伟")
        panel.get_by_role("button", name="添加附件").click()
        panel.get_by_text("1. 工作任务清单").wait_for()
        panel.locator(".tag", has_text="随文装订").wait_for()

        # Imported from Word: the toast says what was taken.
        panel.locator("input[type=file]").set_input_files(str(word_file))
        page.get_by_text(re.compile("已导入附件：标题“预算报送表填报说明”（取自 Word 标题），内容 1 段")).wait_for()
        panel.get_by_text("2. 预算报送表填报说明").wait_for()

        # The 附件说明's order is the pages' order.
        panel.get_by_role("button", name="附件“预算报送表填报说明”上移").click()
        panel.get_by_text("1. 预算报送表填报说明").wait_for()
        panel.locator("li", has_text="1. 预算报送表填报说明").locator(".tag", has_text="随文装订").wait_for()
        page.screenshot(path=str(artifacts / "annexes-panel.png"), full_page=True)

        # Unbound, it is listed in the 附件说明 only.
        row = panel.locator("li", has_text="2. 工作任务清单")
        row.get_by_role("button", name="改为不随文装订").click()
        panel.locator("li", has_text="2. 工作任务清单").get_by_text("仅列入附件说明").wait_for()
    finally:
        page.context.close()
    with httpx.Client(base_url=live.url, timeout=60) as http:
        r = http.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
        texts = [p.text for p in docx.Document(io.BytesIO(http.get(f"/api/docs/{doc_id}/docx").content)).paragraphs]
    assert "预算报送表填报说明" in texts and "附件1" in texts and "工作任务清单" not in texts
