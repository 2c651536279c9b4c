"""A 通知 converted to PDF once per test session (LibreOffice is slow to start), for the measuring
and PDF-sealing tests. Import the fixture into a test module: ``from tests.typeset.official import notice_pdf``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from typeset import paginate, pdf_measure
from typeset.convert import ConverterPool
from typeset.layout import OfficialDocument
from typeset.samples import demo_notice


@dataclass(frozen=True)
class OfficialPdf:
    docx: bytes
    pdf: bytes
    signature_text: str
    date_text: str


@pytest.fixture(scope="session")
def official_pool() -> Iterator[ConverterPool]:
    if not shutil.which("soffice"):
        if os.environ.get("CI") == "true":
            pytest.fail("soffice missing under CI=true: install libreoffice-writer-nogui")
        pytest.skip("LibreOffice not installed")
    pool = ConverterPool(workers=1, timeout=120)
    yield pool
    pool.close()


def official(pool: ConverterPool, doc: OfficialDocument, fmt: str = "standard") -> OfficialPdf:
    """The official copy as 用印 makes it: laid out, converted, measured and adjusted (typeset.paginate)."""
    laid = paginate.lay_out(doc, fmt, pool.convert)
    signature, date = pdf_measure.seal_anchor_texts(laid.docx)
    return OfficialPdf(laid.docx, laid.pdf, signature, date)


@pytest.fixture(scope="session")
def notice_pdf(official_pool: ConverterPool) -> OfficialPdf:
    return official(official_pool, demo_notice(pages=3))
