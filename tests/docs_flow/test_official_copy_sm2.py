"""用印 by a holder whose key is SM2 (a deployment with ``OFFICE_ESIGN_ALG`` = SM2), through HTTP.

The Word file and the OFD official copy are sealed with SM2/SM3 and verify; the PDF cannot be (PAdES
validators know no SM2), so the record says so, the document goes on, and asking for the PDF
answers 404 with that reason in Chinese, not a 500."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from esign import crypto
from office.config import Settings
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create, get, ok
from tests.factories import Org


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's settings (conftest's) with ``OFFICE_ESIGN_ALG`` = SM2: every key made is SM2."""
    pytest.importorskip("tongsuopy", reason="the SM2 backend (extra sm2) is not installed")
    return replace(settings, esign_alg=crypto.ALG_SM2)


def _verify(c: TestClient, name: str, data: bytes) -> dict:  # type: ignore[type-arg]
    r = c.post("/api/esign/verify", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_an_sm2_seal_holder_seals_the_word_file_and_the_ofd_and_is_told_why_there_is_no_pdf(
    users: Clients, org: Org
) -> None:
    assert ok(users["yorick"].get("/api/esign/me"))["alg"] == crypto.ALG_SM2
    doc = advance(users, create(users, org), "核发/分发")
    assert doc["status"] == "sealed", doc

    sealed = users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content
    report = _verify(users["hamlet"], "d.docx", sealed)
    assert report["valid"] and report["signatures"][0]["alg"] == crypto.ALG_SM2, report

    ofd = users["hamlet"].get(f"/api/docs/{doc['id']}/ofd")
    assert ofd.status_code == 200 and doc["official_ofd_sha256"] == hashlib.sha256(ofd.content).hexdigest()
    ofd_report = _verify(users["hamlet"], "d.ofd", ofd.content)
    assert ofd_report["valid"] and ofd_report["format"] == "ofd", ofd_report
    sig = ofd_report["signatures"][0]
    assert sig["alg"] == crypto.ALG_SM2 and sig["time_trusted"]

    # No PDF: a clear answer that names SM2, for the download and in the document.
    assert doc["official_pdf_sha256"] is None
    pdf = users["hamlet"].get(f"/api/docs/{doc['id']}/pdf")
    assert pdf.status_code == 404 and pdf.json()["error"] == "no_official_pdf", pdf.text
    assert "SM2" in pdf.json()["message"]

    # The document goes on to 归档 with what was sealed.
    doc = advance(users, get(users, "gertrude", doc), "end")
    assert doc["status"] == "archived"
    assert users["hamlet"].get(f"/api/docs/{doc['id']}/docx").content == sealed
