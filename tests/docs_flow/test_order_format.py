"""命令（令） in the 令 format: ×××令, 令号 第N号 in a series that runs on, the 签发人's job title and
签名章 (not the agency's 公章), no red line and no 发文字号."""

from __future__ import annotations

import io

import docx
from sqlmodel import select

from esign.models import SealKind
from office.models import Post
from tests.docs_flow.conftest import Clients, act
from tests.docs_flow.test_routes import create, get, ok
from tests.esign.svc import PIN, make_seal
from tests.factories import Org
from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset.conformance import check_docx
from typeset.convert import ConverterPool
from typeset.page_rules import check_pdf

ROUTE = [
    ("polonius", "处室负责人核稿"),
    ("claudius", "机关领导签发"),
    ("gertrude", "编号"),
    ("yorick", "用印"),
    ("gertrude", "核发/分发"),
    ("gertrude", "归档"),
]


def _drive(users: Clients, doc: dict, upto: str) -> dict:
    doc = ok(act(users["hamlet"], doc, "submit")) if doc["status"] == "draft" else doc
    for who, step in ROUTE[doc["route"]["current_step"] :]:
        if step == upto:
            return get(users, who, doc)
        doc = get(users, who, doc)
        if step == "编号":
            doc = ok(users[who].post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]}))
        doc = ok(act(users[who], doc, "approve", **({"pin": PIN} if step in ("机关领导签发", "用印") else {})))
    return doc


def test_an_order_is_laid_out_numbered_and_sealed_as_a_ling(
    users: Clients,
    org: Org,
    official_pool: ConverterPool,  # noqa: F811
) -> None:
    with org.db.write() as s:
        post = s.exec(select(Post).where(Post.user_id == org.users["claudius"])).first()
        post.title = "省长"
        s.add(post)
    doc = create(
        users,
        org,
        doc_type="命令（令）",
        title="省政务数据管理办法",
        main_recipients=[],
        body=[{"kind": "paragraph", "text": "《省政务数据管理办法》已经省人民政府常务会议通过，现予公布。"}],
    )
    doc = _drive(users, doc, "用印")
    assert doc["number"] == "第1号"
    # The agency's 公章 will not do: a 令 takes the 签发人's 签名章.
    r = act(users["yorick"], doc, "approve", pin=PIN)
    assert r.status_code == 409 and r.json()["error"] == "no_name_seal", r.text
    make_seal(org, kind=SealKind.name, holder_user_id=org.users["claudius"], users=("yorick",))
    doc = _drive(users, get(users, "yorick", doc), "end")
    assert doc["status"] == "archived" and doc["sealed"]

    sealed = users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content
    word = docx.Document(io.BytesIO(sealed))
    texts = [p.text for p in word.paragraphs]
    assert "省政府办公厅令" in texts and "第1号" in texts
    assert not any(p.endswith("文件") for p in texts) and "省政务数据管理办法" not in texts
    signature = next(p for p in word.paragraphs if p.text.startswith("省长"))
    assert "赵刚" in signature.text and signature._p.xpath(".//wp:anchor")  # the 签名章 sits on the name
    # Rendered, the Word file's 签名章 is on the name, not on the middle of "省长　　赵刚" (as in the PDF).
    word_pages = check_pdf(official_pool.convert(sealed))
    assert word_pages.ok and word_pages.measured.sealed, word_pages.violations  # type: ignore[union-attr]
    checked = check_docx(sealed)
    assert checked.ok and checked.fmt == "order", checked.to_json()
    report = users["hamlet"].post("/api/esign/verify", files={"file": ("d.docx", sealed)}).json()
    assert report["valid"] and report["signatures"][0]["seal_name"].startswith("赵刚")
    # The official PDF carries the 签名章 on the 签发人's name, level with his title (typeset.page_rules).
    pages = check_pdf(users["hamlet"].get(f"/api/docs/{doc['id']}/pdf").content)
    assert pages.ok and pages.fmt == "order" and pages.measured is not None and pages.measured.sealed, pages.violations

    # The next 令 takes 第2号 (the series runs on; the 文件 numbers are untouched).
    second = _drive(users, create(users, org, doc_type="命令（令）", title="第二个令", main_recipients=[]), "用印")
    assert second["number"] == "第2号"
