"""用印 seals the laid-out official copy: its pages keep the GB/T 9704 page rules on the real rendering
(``typeset.paginate`` measures and adjusts them), and the sealed Word file gives the same pages.

The body has Latin and digits in it (wider in the fonts the converter has than the estimate counts),
so the estimate alone ends the content a page off and puts the 版记 on an odd page."""

from __future__ import annotations

import io
import zipfile

from docs_flow import body as body_mod
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create, get
from tests.factories import Org
from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset.convert import ConverterPool
from typeset.layout import ListItem, numbered_texts
from typeset.page_rules import check_pdf
from typeset.samples import body_text

LATIN = ListItem(
    "按照 GB/T 9704-2012 的要求排版，Tongban v1.2 用 office check 检查 2026-12-01 12:00 的版面。" * 2, marker="1."
)


BOUND = [
    (
        "2027年预算报送表",
        [
            {"kind": "paragraph", "text": "各单位按下表报送2027年预算。"},
            {"kind": "table", "rows": [["项目", "金额（万元）"], ["基本支出", "1200"], ["项目支出", "800"]]},
        ],
    ),
    ("各地预算编制联系人名单", [{"kind": "table", "rows": [["地市", "联系人"], ["广州市", "张三"]]}]),
]


def _body() -> list[dict[str, object]]:
    blocks = body_text(8)
    texts = numbered_texts(blocks)  # authors type their own 一、（一） markers
    items: list[object] = [
        {"kind": "heading", "level": b.level, "text": t} if t else b  # type: ignore[attr-defined]
        for b, t in zip(blocks, texts, strict=True)
    ]
    for at in (len(items) // 2, 1, 3):
        items.insert(at, LATIN)
    return body_mod.from_objects(items)


def test_the_sealed_official_copy_keeps_the_page_rules(users: Clients, org: Org, official_pool: ConverterPool) -> None:  # noqa: F811
    doc = create(users, org, main_recipients=["省财政厅"], title="关于做好2027年预算编制工作的通知", body=_body())
    r = users["hamlet"].post(  # a file listed in the 附件说明 only
        f"/api/docs/{doc['id']}/attachments",
        files={"file": ("预算编制说明.pdf", b"%PDF" * 10)},
        data={"version": str(get(users, "hamlet", doc)["version"])},
    )
    assert r.status_code == 201, r.text
    for title, blocks in BOUND:  # two bound attachments, laid out on pages of their own
        version = get(users, "hamlet", doc)["version"]
        r = users["hamlet"].post(
            f"/api/docs/{doc['id']}/annexes", json={"version": version, "title": title, "blocks": blocks}
        )
        assert r.status_code == 201, r.text
    doc = advance(users, get(users, "hamlet", doc), "核发/分发")
    pdf = users["hamlet"].get(f"/api/docs/{doc['id']}/pdf").content
    report = check_pdf(pdf)  # recognised from the pages alone, the real seal (signature widget) judged
    assert report.ok and report.pages % 2 == 0, report.violations
    m = report.measured
    assert m is not None and m.sealed and len(m.attachments) == 3
    assert [(a.label.text, "".join(line.text for line in a.title)) for a in m.annexes] == [
        ("附件2", "2027年预算报送表"),
        ("附件3", "各地预算编制联系人名单"),
    ]
    assert m.seal is not None and m.seal.page == m.date.page < m.annexes[0].label.page  # type: ignore[union-attr]
    # The sealed Word file is the one the official copy was rendered from: the same pages, its seal in place.
    sealed = users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content
    again = check_pdf(official_pool.convert(sealed))
    assert again.ok and again.pages == report.pages, again.violations
    assert [a.label.text for a in again.measured.annexes] == ["附件2", "附件3"]  # type: ignore[union-attr]
    # The OFD is written from the same pages: the attachments' pages and texts are in it.
    ofd = zipfile.ZipFile(io.BytesIO(users["hamlet"].get(f"/api/docs/{doc['id']}/ofd").content))
    pages = [n for n in ofd.namelist() if n.endswith("/Content.xml") and "/Pages/" in n]
    assert len(pages) == report.pages
    text = "".join(ofd.read(n).decode() for n in pages)
    assert "附件3" in text and "各地预算编制联系人名单" in text
