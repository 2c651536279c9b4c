"""电子签章 in real browsers: a leader enrols (sets his signing PIN); the seal keeper makes the agency's
official seal from a preview and authorises himself; anyone verifies a sealed Word file by dropping it
on the page, and a tampered copy is reported invalid with the changed part named."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from esign import seals as seal_service
from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.esign.svc import PIN, SEAL_PIN, enrol, replace_part, seal_doc
from tests.factories import Org

pytestmark = pytest.mark.browser

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def drop_file(page: Any, selector: str, name: str, data: bytes) -> None:
    """Drop a file on an element the way a person drags one from the desktop."""
    page.evaluate(
        """([selector, name, b64, type]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type }));
      const zone = document.querySelector(selector);
      for (const kind of ["dragenter", "dragover", "drop"]) {
        zone.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    }""",
        [selector, name, base64.b64encode(data).decode(), DOCX_TYPE],
    )


def test_enrol_make_seal_authorise_and_verify(browser: Any, live: Any, live_org: Org, artifacts: Path) -> None:
    enrol(live_org, "yorick")
    zhao = open_page(browser, live.url)
    zhou = open_page(browser, live.url)
    try:
        # 赵刚 sets his signing PIN.
        login(zhao, "claudius")
        zhao.get_by_role("navigation", name="主要栏目").get_by_role("link", name="签章").click()
        zhao.get_by_role("heading", name="电子签章", level=1).wait_for()
        zhao.get_by_role("heading", name="开通电子签名").wait_for()
        zhao.get_by_label("设置签名 PIN 码").fill(PIN)
        zhao.get_by_label("再次输入").fill(PIN)
        zhao.screenshot(path=artifacts / "esign-enrol.png", full_page=True)
        zhao.get_by_role("button", name="开通电子签名").click()
        zhao.get_by_role("heading", name="我的签名证书").wait_for()
        zhao.locator(".facts").get_by_text("启用").wait_for()
        zhao.screenshot(path=artifacts / "esign-mine.png", full_page=True)

        # 周敏 makes the official seal from its preview and authorises himself.
        login(zhou, "yorick")
        zhou.goto("/#/esign/seals")
        zhou.get_by_role("heading", name="制作新印章").wait_for()
        zhou.get_by_text("还没有印章").wait_for()
        zhou.get_by_label("印章种类").select_option("official")
        zhou.get_by_role("button", name="生成预览").click()
        zhou.get_by_role("img", name="印模预览").wait_for()
        zhou.get_by_label("设置印章 PIN 码").fill(SEAL_PIN)
        zhou.screenshot(path=artifacts / "esign-seal-new.png", full_page=True)
        zhou.get_by_role("button", name="制作印章").click()
        card = zhou.locator(".seal-card", has_text="省政府办公厅公章")
        card.wait_for()
        card.locator("summary").click()
        card.get_by_role("combobox", name="授权使用人").fill("周敏")
        card.get_by_role("listbox", name="授权使用人：查找结果").get_by_role("option", name="周敏").click()
        card.get_by_role("button", name="保存授权（需印章 PIN 码）").click()
        dialog = zhou.get_by_role("dialog", name="请输入印章 PIN 码")
        dialog.get_by_label("印章 PIN 码").fill(SEAL_PIN)
        dialog.get_by_role("button", name="确定").click()
        dialog.wait_for(state="detached")
        card = zhou.locator(".seal-card", has_text="省政府办公厅公章")
        card.locator(".seal-users li").get_by_text("周敏", exact=True).wait_for()
        with live_org.db.read() as s:
            seal_id = seal_service.list_seals(s, live_org.actor("yorick"))[0].id
        zhou.screenshot(path=artifacts / "esign-seals.png", full_page=True)

        # A Word file sealed with it (through the service), and a copy changed after sealing.
        sealed = seal_doc(live_org, "yorick", seal_id)  # type: ignore[arg-type]
        tampered = replace_part(sealed, "word/document.xml", lambda x: x.replace("通知".encode(), "通报".encode()))

        zhao.get_by_role("link", name="验证文件").click()
        zhao.get_by_role("heading", name="验证文件").wait_for()
        drop_file(zhao, ".dropzone", "粤府办〔2026〕1号.docx", sealed)
        report = zhao.locator(".verify-report")
        report.get_by_text("签章有效，内容未被修改").wait_for()
        assert "周敏" in report.inner_text() and "省政府办公厅公章" in report.inner_text()
        zhao.screenshot(path=artifacts / "esign-verify-ok.png", full_page=True)

        zhao.locator("#esign-verify-file").set_input_files(
            files=[{"name": "改过的.docx", "mimeType": DOCX_TYPE, "buffer": tampered}]
        )
        report.get_by_text("验证未通过").wait_for()
        assert "签章后被修改" in report.inner_text() and "word/document.xml" in report.inner_text()
        zhao.screenshot(path=artifacts / "esign-verify-bad.png", full_page=True)
        zhao.set_viewport_size({"width": 375, "height": 800})
        zhao.screenshot(path=artifacts / "esign-verify-bad-phone.png", full_page=True)

        assert zhao.console_errors == []
        assert zhou.console_errors == []
    finally:
        zhao.context.close()
        zhou.context.close()
