"""An OFD reader that is not ours: easyofd (Apache-2.0) parses the package and draws it into a PDF
with ReportLab; the pages and text of that PDF are what a reader shows. Test-only dependency.

easyofd draws every character with a font it registers as "宋体" from ``simsun.ttc`` and skips
text when that font is missing; a free TrueType CJK font (WenQuanYi Micro Hei, the Debian package
fonts-wqy-microhei that ``scripts/test`` installs) stands in, registered under that name."""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pytest

WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@dataclass(frozen=True)
class Rendered:
    pages: list[str]  # the text of each page, as the reader drew it
    pdf: bytes
    font_files: dict[str, bytes]  # font ID -> the embedded font file the reader found (FontFile)
    drawn: dict[str, set[str]]  # font ID -> the characters the reader draws with that font


def render(ofd: bytes) -> Rendered:
    try:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
    except ImportError:
        pytest.fail("easyofd (test extra) is not installed")
    if not os.path.exists(WQY):
        if os.environ.get("CI") == "true":
            pytest.fail("fonts-wqy-microhei missing under CI=true")
        pytest.skip("fonts-wqy-microhei not installed")
    logging.getLogger().setLevel(logging.ERROR)  # easyofd logs every glyph it cannot place
    from loguru import logger

    logger.remove()
    from easyofd import OFD

    pdfmetrics.registerFont(TTFont("宋体", WQY, subfontIndex=0))
    reader = OFD()
    reader.read(ofd, fmt="binary")
    font_files, drawn = _fonts(reader.data)
    pdf = reader.to_pdf()
    doc = pdfium.PdfDocument(pdf)
    pages = ["".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]
    doc.close()
    return Rendered(pages, pdf, font_files, drawn)


def _fonts(data: list[dict[str, Any]]) -> tuple[dict[str, bytes], dict[str, set[str]]]:
    """The font resources and text runs as the reader parsed them (its ``data``: one dict per document)."""
    files: dict[str, bytes] = {}
    drawn: dict[str, set[str]] = {}
    for doc in data:
        for font_id, font in doc.get("fonts", {}).items():
            if font.get("font_b64"):
                files[font_id] = base64.b64decode(font["font_b64"])
        for page in doc.get("page_info", {}).values():
            for run in page.get("text_list") or []:
                drawn.setdefault(str(run.get("font")), set()).update(run.get("text") or "")
    return files, drawn
