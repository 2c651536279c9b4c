"""Shared helpers for typesetting tests: rendered samples and their XML."""

from __future__ import annotations

import io
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from typeset.render import render_docx
from typeset.samples import demo_letter, demo_minutes, demo_notice, demo_request


@pytest.fixture(scope="module")
def notice_bytes() -> bytes:
    return render_docx(demo_notice())


def load(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def find_para(word: Any, text: str) -> Any:
    return next(p for p in word.paragraphs if text in p.text)


def run_props(run: Any) -> dict[str, str | None]:
    rpr = run._r.find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    color = rpr.find(qn("w:color"))
    spacing = rpr.find(qn("w:spacing"))
    return {
        "eastAsia": fonts.get(qn("w:eastAsia")),
        "ascii": fonts.get(qn("w:ascii")),
        "sz": rpr.find(qn("w:sz")).get(qn("w:val")),
        "color": color.get(qn("w:val")) if color is not None else None,
        "spacing": spacing.get(qn("w:val")) if spacing is not None else None,
    }


ALL_FORMATS = [
    (demo_notice, "standard"),
    (demo_request, "standard"),
    (demo_letter, "letter"),
    (demo_minutes, "minutes"),
]
