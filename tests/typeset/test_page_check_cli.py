"""``office check FILE.pdf``: the page rules on a rendered PDF, from the command line."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from tests.typeset.official import official_pool  # noqa: F401 - fixture
from typeset import gbt9704 as g
from typeset import paginate
from typeset.convert import ConverterPool
from typeset.layout import DocType
from typeset.render import PagePlan, render_docx
from typeset.samples import type_sample


def _check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office", "check", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_office_check_exit_codes_and_report(tmp_path: Path, official_pool: ConverterPool) -> None:  # noqa: F811
    doc, fmt = type_sample(DocType.tongbao, long=True)
    good = tmp_path / "good.pdf"
    good.write_bytes(paginate.lay_out(doc, fmt, official_pool.convert).pdf)
    r = _check(good)
    assert r.returncode == 0 and "页面符合 GB/T 9704-2012" in r.stdout and "按文件格式" in r.stdout, r.stdout
    bad = tmp_path / "bad.pdf"  # the 版记 spacer meant for a page before: blank page, 版记 on an odd page
    spacer = (g.TYPE_AREA_HEIGHT - g.LINE_PITCH) // g.LINE_PITCH * g.LINE_PITCH
    plain = dataclasses.replace(doc, annexes=[])  # the 主体 alone, as the defect was found
    bad.write_bytes(official_pool.convert(render_docx(plain, fmt="standard", plan=PagePlan(colophon=(0, spacer)))))
    r = _check(bad)
    assert r.returncode == 1 and "[blank_page]" in r.stdout and "空白页" in r.stdout and "不符合" in r.stdout
    r = _check(bad, "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 1 and not report["ok"] and report["pages"] % 2 == 1
    assert {"blank_page", "colophon_odd_page"} <= {v["code"] for v in report["violations"]}
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7 not really")
    r = _check(junk)
    assert r.returncode == 2 and "错误" in r.stderr
    word = tmp_path / "a.docx"
    word.write_bytes(render_docx(doc))
    r = _check(word)
    assert r.returncode == 2 and "office docx check" in r.stderr
    assert _check(tmp_path / "missing.pdf").returncode == 2
