"""One sealed record: the Word file and the official PDF sealed at 用印 are what the downloads, the archive
package and the receiving agency's 收文 hold, byte for byte, and each copy verifies."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
from starlette.testclient import TestClient

from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create, get, ok
from tests.esign.test_pdf_sig import _pdfsig, _pyhanko, _root
from tests.factories import Org
from typeset.conformance import check_docx


def _verify(c: TestClient, data: bytes) -> dict:
    r = c.post("/api/esign/verify", files={"file": ("d.docx", data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_notice_keeps_its_sealed_bytes_from_seal_to_archive_and_to_the_receiving_agency(
    users: Clients, org: Org, tmp_path: Path
) -> None:
    doc = create(users, org, main_recipients=["省财政厅"], title="关于做好2027年预算编制工作的通知")
    for name in ("预算编制说明.pdf", "报送表.xlsx"):
        r = users["hamlet"].post(
            f"/api/docs/{doc['id']}/attachments",
            files={"file": (name, name.encode() * 10)},
            data={"version": str(get(users, "hamlet", doc)["version"])},
        )
        assert r.status_code == 201, r.text
    doc = advance(users, get(users, "hamlet", doc), "核发/分发")
    assert doc["status"] == "sealed"

    sealed = users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content
    digest = hashlib.sha256(sealed).hexdigest()
    assert doc["sealed_sha256"] == digest
    report = _verify(users["hamlet"], sealed)
    assert report["valid"] and report["signatures"][0]["seal_name"]
    # The 印发日期 is settled at 用印, so the sealed file's 版记 carries it.
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    colophon = "".join(p.text for p in docx.Document(io.BytesIO(sealed)).paragraphs)
    assert f"{today.year}年{today.month}月{today.day}日印发" in colophon
    assert doc["issued_date"] == today.isoformat()
    report = check_docx(sealed)
    assert report.ok, report.to_json()

    # The official copy (版式 PDF), sealed at the same step: valid for us, for pdfsig and for pyHanko.
    pdf = users["hamlet"].get(f"/api/docs/{doc['id']}/pdf").content
    assert pdf.startswith(b"%PDF") and doc["official_pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    pdf_report = _verify(users["hamlet"], pdf)
    assert pdf_report["valid"] and pdf_report["format"] == "pdf", pdf_report
    root = _root(org)
    report_text = _pdfsig(pdf, root, tmp_path)
    assert "Signature is Valid." in report_text and "Certificate is Trusted." in report_text, report_text
    assert _pyhanko(pdf, root).bottom_line
    # The same pages as OFD (GB/T 33190), sealed in its own signature structure.
    ofd = users["hamlet"].get(f"/api/docs/{doc['id']}/ofd").content
    assert doc["official_ofd_sha256"] == hashlib.sha256(ofd).hexdigest()
    ofd_report = _verify(users["hamlet"], ofd)
    assert ofd_report["valid"] and ofd_report["format"] == "ofd", ofd_report

    doc = advance(users, doc, "end")
    assert doc["status"] == "archived" and doc["issued_date"] == today.isoformat()
    assert users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content == sealed

    packages = ok(users["gertrude"].get("/api/archive?kind=outgoing"))["items"]
    package = next(p for p in packages if p["doc_id"] == doc["id"])
    with zipfile.ZipFile(io.BytesIO(users["gertrude"].get(f"/api/archive/{package['id']}/download").content)) as z:
        assert z.read("document.docx") == sealed
        assert z.read("document.pdf") == pdf
        assert z.read("document.ofd") == ofd
        assert len([n for n in z.namelist() if n.startswith("attachments/")]) == 2
    assert ok(users["gertrude"].get(f"/api/archive/{package['id']}/verify"))["ok"]

    item = ok(users["iago"].get("/api/incoming?box=todo"))["items"][0]
    received = ok(users["iago"].get(f"/api/incoming/{item['id']}"))
    main = next(f for f in received["files"] if f["role"] == "main" and f["name"].endswith(".docx"))
    copy = users["iago"].get(f"/api/incoming/{received['id']}/files/{main['id']}").content
    assert copy == sealed
    assert _verify(users["iago"], copy)["valid"]
    main_pdf = next(f for f in received["files"] if f["role"] == "main" and f["name"].endswith(".pdf"))
    assert users["iago"].get(f"/api/incoming/{received['id']}/files/{main_pdf['id']}").content == pdf
    main_ofd = next(f for f in received["files"] if f["role"] == "main" and f["name"].endswith(".ofd"))
    received_ofd = users["iago"].get(f"/api/incoming/{received['id']}/files/{main_ofd['id']}").content
    assert received_ofd == ofd and _verify(users["iago"], received_ofd)["valid"]
    assert len([f for f in received["files"] if f["role"] == "attachment"]) == 2
