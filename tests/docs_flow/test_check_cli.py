"""``office docx check`` and the in-app GB/T 9704 check, on our own output and on a foreign file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import docx
from starlette.testclient import TestClient

from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_routes import advance, create
from tests.factories import Org, login
from typeset.render import render_docx
from typeset.samples import demo_notice


def _foreign_docx() -> bytes:
    d = docx.Document()
    d.add_paragraph("广东省人民政府办公厅文件")
    d.add_paragraph("粤府办[2026]12号")
    d.add_paragraph("关于某事的通知")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office", "docx", "check", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exit_codes_and_report(tmp_path: Path) -> None:
    good = tmp_path / "good.docx"
    good.write_bytes(render_docx(demo_notice()))
    r = _check(good)
    assert r.returncode == 0 and "符合 GB/T 9704-2012" in r.stdout
    bad = tmp_path / "bad.docx"
    bad.write_bytes(_foreign_docx())
    r = _check(bad)
    assert r.returncode == 1 and "不符合" in r.stdout and "第 " in r.stdout
    r = _check(bad, "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 1 and not report["ok"] and report["deviations"]
    junk = tmp_path / "junk.docx"
    junk.write_bytes(b"not a word file")
    r = _check(junk)
    assert r.returncode == 2 and "错误" in r.stderr
    assert _check(tmp_path / "missing.docx").returncode == 2


def test_check_any_file_in_the_app(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    r = client.post("/api/docs/check", files={"file": ("x.docx", _foreign_docx(), "application/octet-stream")})
    assert r.status_code == 200 and r.json()["ok"] is False
    codes = {d["code"] for d in r.json()["deviations"]}
    assert any("number" in c for c in codes), codes
    r = client.post(
        "/api/docs/check", files={"file": ("x.docx", render_docx(demo_notice()), "application/octet-stream")}
    )
    assert r.json()["ok"] is True
    assert client.post("/api/docs/check", files={"file": ("x.docx", b"zzz", "text/plain")}).status_code == 415


def test_check_result_is_stored_with_the_sealed_document(users: Clients, org: Org) -> None:
    doc = advance(users, create(users, org), "end")
    report = users["hamlet"].get(f"/api/docs/{doc['id']}/conformance").json()
    assert report["stored"] is True and report["ok"] is True, report
