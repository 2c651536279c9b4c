"""Render a demo 通知 through LibreOffice and measure the printed page (skipped locally without soffice).

Artifacts go to test-artifacts/typeset/ at the repo root (gitignored) for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from typeset.render import render_docx
from typeset.samples import demo_notice

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "typeset"
DPI = 150
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
{aliases}
  <match target="pattern"><test name="family"><string>方正小标宋简体</string></test>
    <edit name="weight" mode="assign"><const>bold</const></edit></match>
</fontconfig>
"""
# The names our .docx asks for are not in Debian; map them to Noto CJK for the preview only.
ALIASES = {
    "仿宋_GB2312": "Noto Serif CJK SC",
    "楷体_GB2312": "Noto Serif CJK SC",
    "宋体": "Noto Serif CJK SC",
    "方正小标宋简体": "Noto Serif CJK SC",
    "黑体": "Noto Sans CJK SC",
}


def _tools() -> tuple[str, str]:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if soffice and pdftoppm:
        return soffice, pdftoppm
    if os.environ.get("CI") == "true":
        pytest.fail("soffice/pdftoppm missing under CI=true: install libreoffice-writer-nogui poppler-utils")
    pytest.skip("soffice/pdftoppm not installed")


def _rows(image: Image.Image, want: str) -> list[tuple[float, float]]:
    """Vertical extents (mm from the page top) of red or dark ink bands."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    pixels = rgb.load()
    hits = []
    for y in range(height):
        for x in range(0, width, 2):
            r, g, b = pixels[x, y]
            if (want == "red" and r > 180 and g < 90 and b < 90) or (
                want == "dark" and r < 110 and g < 110 and b < 110
            ):
                hits.append(y)
                break
    bands: list[tuple[float, float]] = []
    for y in hits:
        mm = y * 25.4 / DPI
        if bands and mm - bands[-1][1] < 0.5:
            bands[-1] = (bands[-1][0], mm)
        else:
            bands.append((mm, mm))
    return bands


def test_demo_notice_prints_like_a_red_header_document(tmp_path: Path) -> None:
    soffice, pdftoppm = _tools()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    docx_path = ARTIFACTS / "notice.docx"
    docx_path.write_bytes(render_docx(demo_notice(pages=3)))
    aliases = "\n".join(
        f'  <alias binding="same"><family>{name}</family><prefer><family>{target}</family></prefer></alias>'
        for name, target in ALIASES.items()
    )
    (tmp_path / "fonts.conf").write_text(FONTS_CONF.format(aliases=aliases), encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(tmp_path / "fonts.conf"), HOME=str(tmp_path))
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(ARTIFACTS),
            str(docx_path),
        ],
        check=True,
        env=env,
        timeout=180,
        capture_output=True,
    )
    pdf = ARTIFACTS / "notice.pdf"
    assert pdf.exists()
    subprocess.run([pdftoppm, "-r", str(DPI), "-png", str(pdf), str(ARTIFACTS / "notice")], check=True, timeout=120)
    pages = sorted(ARTIFACTS.glob("notice-*.png"))
    assert len(pages) == 4  # three pages of body, 版记 on the even fourth page
    page1 = Image.open(pages[0])
    assert abs(page1.size[0] * 25.4 / DPI - 210) < 1 and abs(page1.size[1] * 25.4 / DPI - 297) < 1

    red = _rows(page1, "red")
    mark, separator = red[0], red[-1]
    assert abs(mark[0] - 72) <= 1.5, red  # 37 mm 天头 + 35 mm
    assert separator[1] - separator[0] < 1.0  # a rule, not text
    dark = _rows(page1, "dark")
    number = max(b for b in dark if b[1] < separator[0])
    assert 3 <= separator[0] - number[1] <= 5, (number, separator)  # 4 mm under the 发文字号
    title = min(b for b in dark if b[0] > separator[1])
    assert title[0] - separator[1] > 15  # 空二行
    footer = dark[-1]
    assert abs((footer[0] + footer[1]) / 2 - (297 - 35 + 7)) <= 1.5, footer  # 一字线 7 mm under the type area
    body = [b for b in dark if title[1] < b[0] < 262]
    assert body[-1][1] <= 262 + 0.5  # nothing spills below the type area

    last = Image.open(pages[-1])
    rules = _rows(last, "dark")
    colophon_bottom = max(b[1] for b in rules if b[1] < 262 + 2)
    assert abs(colophon_bottom - 262) <= 3, rules  # last 版记 rule on the type area's bottom edge
