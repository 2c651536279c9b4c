"""联合行文 in a real browser: 张伟 picks the co-issuing agency with the directory picker on 新建发文 and
sees it on the 发文稿纸; after the lead's seal, 省财政厅's seal keeper finds the document on the 工作台 and
seals it with the agency's own 公章 from the 联合用印 panel. The steps between go through HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from office.models import Role
from tests.e2e.conftest import open_page
from tests.e2e.test_shell import login
from tests.esign.svc import PIN, enrol, make_seal
from tests.factories import PASSWORD, Org, make_user

pytestmark = pytest.mark.browser

TITLE = "关于联合开展预算绩效评价工作的通知"
ROUTE = [
    ("polonius", "处室负责人核稿"),
    ("laertes", "办公室审核"),
    ("claudius", "机关领导签发"),
    ("laertes", "复核"),
    ("gertrude", "编号"),
    ("yorick", "用印"),
]


@pytest.fixture
def http(live: Any, live_org: Org) -> Iterator[dict[str, httpx.Client]]:
    clients: dict[str, httpx.Client] = {}

    def client(username: str) -> httpx.Client:
        if username not in clients:
            c = httpx.Client(base_url=live.url, timeout=120)
            r = c.post("/api/auth/login", json={"username": username, "password": PASSWORD})
            c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
            clients[username] = c
        return clients[username]

    yield _Lazy(client)  # type: ignore[misc]
    for c in clients.values():
        c.close()


class _Lazy(dict):  # type: ignore[type-arg]
    def __init__(self, make: Any) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> httpx.Client:
        return self.make(key)  # type: ignore[no-any-return]


def _to_seal(http: Any, doc_id: int) -> None:
    """Along the 通知 route to 用印 and through the lead's seal, each step by the person who holds it."""
    who = {**dict((step, user) for user, step in ROUTE), "会签": "laertes"}
    doc = http["hamlet"].get(f"/api/docs/{doc_id}").json()
    doc = (
        http["hamlet"].post(f"/api/docs/{doc_id}/actions", json={"action": "submit", "version": doc["version"]}).json()
    )
    while True:
        name = doc["route"]["steps"][doc["route"]["current_step"]]["name"]
        c = http[who[name]]
        doc = c.get(f"/api/docs/{doc_id}").json()
        if name == "编号":
            doc = c.post(f"/api/docs/{doc_id}/number", json={"version": doc["version"]}).json()
        pin = {"pin": PIN} if name in ("机关领导签发", "用印") else {}
        r = c.post(f"/api/docs/{doc_id}/actions", json={"action": "approve", "version": doc["version"], **pin})
        assert r.status_code == 200, r.text
        doc = r.json()
        if name == "用印":
            return


def test_joint_issuer_picked_shown_and_sealed_by_the_co_issuer(
    browser: Any, live: Any, live_org: Org, http: Any, artifacts: Path
) -> None:
    org = live_org
    for user in ("claudius", "yorick"):
        enrol(org, user)
    make_seal(org, users=("yorick",))
    org.users["caliban"] = make_user(
        org.db, "caliban", "钱进", dept_id=org.depts["B1"], roles={Role.staff, Role.seal_keeper}
    )
    enrol(org, "caliban")
    make_seal(org, keeper="caliban", users=("caliban",))

    zhang = open_page(browser, live.url)
    try:
        login(zhang, "hamlet")
        zhang.goto("/#/docs/new")
        zhang.get_by_role("heading", name="新建发文").wait_for()
        zhang.get_by_label("标题").fill(TITLE)
        zhang.get_by_label("正文").fill("请各地按照本通知要求认真组织实施。")
        joint = zhang.get_by_role("combobox", name=re.compile("联合发文机关"))
        joint.fill("财政")
        zhang.get_by_role("option", name=re.compile("省财政厅")).first.click()
        zhang.get_by_role("button", name="创建草稿").click()
        zhang.get_by_role("heading", name=TITLE, level=1).wait_for()
        sheet = zhang.locator("section", has=zhang.get_by_role("heading", name="发文稿纸"))
        sheet.get_by_text("省政府办公厅、省财政厅（联合行文，第一个为主办机关）").wait_for()
        zhang.screenshot(path=str(artifacts / "joint-draft.png"), full_page=True)
        doc_id = int(zhang.url.rsplit("/", 1)[-1])
    finally:
        zhang.context.close()

    _to_seal(http, doc_id)

    qian = open_page(browser, live.url)
    try:
        login(qian, "caliban")
        qian.goto("/#/")
        qian.get_by_role("link", name=TITLE).first.click()
        qian.get_by_role("heading", name="联合用印").wait_for()
        qian.get_by_label(re.compile("签名密码")).fill(PIN)
        qian.get_by_role("button", name="加盖本机关公章").click()
        qian.get_by_text("省财政厅 · 已用印（钱进）").wait_for()
        qian.screenshot(path=str(artifacts / "joint-co-sealed.png"), full_page=True)
    finally:
        qian.context.close()
    doc = http["yorick"].get(f"/api/docs/{doc_id}").json()
    assert [s["agency"] for s in doc["joint_seal"]["seals"]] == ["省政府办公厅", "省财政厅"]
