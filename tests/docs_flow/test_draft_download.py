"""Reviewers see the draft as it will print: the Word download works before 编号 for every type, at
every step before the number is given (a blank 〔　　〕号 and 草稿 on each page), and carries the
number from 编号 on."""

from __future__ import annotations

import io

import docx
import pytest

from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import ROUTE, advance, check_download, create, get
from tests.factories import Org
from typeset.layout import DocType

STANDARD_TYPES = [t.value for t in DocType if t.value not in ("函", "纪要")]


@pytest.mark.parametrize("doc_type", STANDARD_TYPES)
def test_every_file_format_type_downloads_as_a_draft(users: Clients, org: Org, doc_type: str) -> None:
    doc = create(users, org, doc_type=doc_type, main_recipients=["省财政厅"], title=f"关于测试{doc_type}的{doc_type}")
    check_download(users["hamlet"], doc, numbered=False)


def test_the_draft_downloads_at_each_step_before_numbering_and_numbered_after(users: Clients, org: Org) -> None:
    doc = create(users, org)
    for who, step in ROUTE[:5]:  # 核稿, 办公室审核, 会签, 签发, 复核
        doc = advance(users, doc, step)
        check_download(users[who], get(users, who, doc), numbered=False)
    doc = advance(users, doc, "用印")
    check_download(users["yorick"], get(users, "yorick", doc), numbered=True)


def test_a_letter_draft_has_no_number_line_and_says_draft_after_its_first_page(users: Clients, org: Org) -> None:
    doc = create(users, org, doc_type="函", main_recipients=["省财政厅"], title="关于商请支持数据共享的函")
    r = users["hamlet"].get(f"/api/docs/{doc['id']}/docx")
    assert r.status_code == 200
    word = docx.Document(io.BytesIO(r.content))
    assert "〔\u3000\u3000〕号" not in "".join(p.text for p in word.paragraphs)
    assert "".join(p.text for p in word.sections[0].header.paragraphs).startswith("草稿")


def test_recipients_keep_the_punctuation_typed_and_each_named_agency_still_gets_its_copy(
    users: Clients, org: Org
) -> None:
    doc = create(users, org, main_recipients=["各处室、各直属单位"], cc_recipients=["省财政厅、粤府办"])
    word = docx.Document(io.BytesIO(users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content))
    assert "各处室、各直属单位：" in [p.text for p in word.paragraphs]
    doc = advance(users, doc, "end")
    receipts = users["hamlet"].get(f"/api/docs/{doc['id']}/receipts").json()["items"]
    assert [(r["recipient"], r["status"]) for r in receipts] == [
        ("各处室", "external"),
        ("各直属单位", "external"),
        ("省财政厅", "delivered"),
        ("粤府办", "delivered"),
    ]
