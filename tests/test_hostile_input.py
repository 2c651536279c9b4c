"""Hostile input through the HTTP API: every free-text field of the main create routes takes script,
HTML, RTL overrides, zero-width characters, 4-byte emoji, control characters and 1 MB strings, and is
either stored exactly (and read back unchanged) or refused with a 4xx that writes nothing; never a
500. Uploads with lying names and types, traversal names, zip bombs, XXE and billion laughs inside a
.docx, and truncated files get a 4xx on every upload route; deeply nested and huge JSON on every JSON
route; every CSV/XLSX export neutralises spreadsheet formulas.
(The same strings are checked in the browser by tests/e2e/test_hardening_ui.py.)"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
from sqlalchemy import func, select
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.authz_world import build_world
from tests.esign.test_docx_sig import build_docx

XSS = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>"
HOSTILE = {
    "script": XSS,
    "html": '<b>粗体</b><a href="javascript:alert(1)">点我</a>',
    "rtl": "报告\u202egnp.exe",
    "zero_width": "张\u200b伟\u200d\ufeff",
    "emoji": "收到👍🏻🀄𠀀",
    "control": "a\x00b\x07c\x1b[31m\x7f",
    "sql": "'; DROP TABLE user_account; --",
    "template": "{{7*7}} ${7*7} {% raw %}",
    "huge": "长" * (1024 * 1024 // 3),
}
FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1"]


def _create_routes(w: Any) -> list[tuple[str, str, str, Any, Any]]:
    """(who, url, field, body builder, read-back) for the main free-text fields."""
    users, cid, mid, doc = w.org.users, w.ids["cid"], w.ids["meeting_id"], w.ids["doc_id"]
    soon = (datetime.now(UTC) + timedelta(days=5)).isoformat()

    def dept(v: str) -> dict[str, Any]:
        return {"name": v, "parent_id": w.org.agencies["A"]}

    def user(v: str) -> dict[str, Any]:
        return {
            "username": f"u{len(v)}x{abs(hash(v)) % 10**8}",
            "name": v,
            "password": "Very-long-passw0rd-2026",
            "posts": [{"department_id": w.org.depts["A1"], "title": v[:50]}],
        }

    return [
        ("prospero", "/api/admin/departments", "name", dept, None),
        ("prospero", "/api/admin/users", "name", user, None),
        (
            "hamlet",
            "/api/messages/conversations",
            "name",
            lambda v: {"name": v, "member_ids": [users["polonius"]]},
            None,
        ),
        (
            "hamlet",
            f"/api/messages/conversations/{cid}/messages",
            "text",
            lambda v: {"text": v},
            lambda c, r: c.get(f"/api/messages/conversations/{cid}/messages").json()["items"][-1]["text"],
        ),
        ("hamlet", f"/api/docs/{doc}/comments", "text", lambda v: {"text": v}, None),
        (
            "hamlet",
            "/api/docs",
            "title",
            lambda v: {
                "doc_type": "通知",
                "title": v,
                "body": [{"kind": "paragraph", "text": v}],
                "main_recipients": [v[:100]],
            },
            lambda c, r: c.get(f"/api/docs/{r['id']}").json()["title"],
        ),
        (
            "hamlet",
            "/api/meetings",
            "title",
            lambda v: {"title": v, "description": v, "start": soon, "end": _plus_hour(soon)},
            None,
        ),
        ("hamlet", f"/api/meetings/{mid}/agenda", "items", lambda v: {"items": [{"title": v}]}, None),
        (
            "gertrude",
            "/api/incoming",
            "title",
            lambda v: {"title": v, "source_agency_name": v[:100], "doc_type": "函", "body_text": v},
            None,
        ),
        (
            "gertrude",
            "/api/supervision/items",
            "title",
            lambda v: {"title": v, "deadline": soon, "note": v[:500], "owner_department_id": w.org.depts["A2"]},
            None,
        ),
    ]


def _plus_hour(iso: str) -> str:
    return (datetime.fromisoformat(iso) + timedelta(hours=1)).isoformat()


def _count_rows(app: Any) -> dict[str, int]:
    from sqlmodel import SQLModel

    with app.state.db.read() as s:
        return {
            t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
            if not t.name.startswith(("audit", "event", "login"))
        }


def test_hostile_text_is_stored_exactly_or_refused_without_a_partial_write(app: Any, client: TestClient) -> None:
    w = build_world(app)
    w.main = client
    failures = []
    for who, url, _field, build, read_back in _create_routes(w):
        c = w.client(who)
        method = "PUT" if url.endswith("/agenda") else "POST"
        for kind, value in HOSTILE.items():
            before = _count_rows(app) if kind in ("huge", "control") else None
            r = c.request(method, url, json=build(value))
            if r.status_code >= 500:
                failures.append(f"{url} {kind}: {r.status_code} {r.text[:200]}")
                continue
            if r.status_code >= 400:
                assert set(r.json()) >= {"error", "message"}, (url, kind, r.text[:200])
                if before is not None:
                    after = _count_rows(app)
                    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
                    if changed:
                        failures.append(f"{url} {kind}: refused with {r.status_code} but wrote {changed}")
                continue
            if read_back is not None:
                got = read_back(c, r.json())
                if got != value:
                    failures.append(f"{url} {kind}: stored {got[:60]!r} for {value[:60]!r}")
    w.close()
    assert not failures, "\n".join(failures)


def _docx_with(document_xml: bytes) -> bytes:
    """A real .docx whose word/document.xml is replaced."""
    src = zipfile.ZipFile(io.BytesIO(build_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, document_xml if info.filename == "word/document.xml" else src.read(info))
    return out.getvalue()


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (300 * 1024 * 1024))
    return out.getvalue()


def bad_files() -> dict[str, tuple[str, bytes, str]]:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
        b"<w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
    )
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9))
        + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        b"<w:p><w:r><w:t>&j;</w:t></w:r></w:p></w:body></w:document>"
    )
    good = build_docx()
    return {
        "html as png": ("photo.png", b"<!doctype html><script>alert(1)</script>", "image/png"),
        "svg script": (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        "exe as docx": ("报告.docx", b"MZ\x90\x00\x03" + b"\0" * 100, DOCX),
        "traversal": ("../../etc/passwd", b"root:x:0:0", "text/plain"),
        "rtl name": ("报告\u202excod.exe", good, DOCX),
        "windows device name": ("Aux.docx", good, DOCX),
        "truncated docx": ("t.docx", good[: len(good) // 2], DOCX),
        "zip bomb": ("bomb.docx", _bomb(), DOCX),
        "xxe docx": ("xxe.docx", _docx_with(xxe), DOCX),
        "billion laughs": ("laughs.docx", _docx_with(laughs), DOCX),
        "not xml": ("broken.docx", _docx_with(b"<w:document><unclosed"), DOCX),
    }


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WINDOWS_DEVICE = re.compile(r"(?i)(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\.|$)")


def test_hostile_uploads_on_every_upload_route(app: Any, client: TestClient) -> None:
    w = build_world(app)
    ids = w.ids
    routes = [
        ("hamlet", f"/api/docs/{ids['doc_id']}/import", {}),
        ("hamlet", "/api/docs/check", {}),
        ("hamlet", "/api/esign/sign-docx", {"pin": "246810"}),
        ("yorick", f"/api/esign/seals/{ids['seal_id']}/apply", {"pin": "246810", "reference": "粤府办〔2026〕3号"}),
        ("anonymous", "/api/esign/verify", {}),
        ("hamlet", f"/api/docs/{ids['doc_id']}/attachments", {"version": "0"}),  # version refreshed below
        ("hamlet", f"/api/meetings/{ids['meeting_id']}/materials/files", {}),
        ("hamlet", f"/api/messages/conversations/{ids['cid']}/attachments", {}),
        ("gertrude", f"/api/incoming/{ids['incoming_id']}/files", {"role": "main"}),
    ]
    from docs_flow.models import OutgoingDocument

    failures = []
    for who, url, data in routes:
        c = w.clients["anonymous"] if who == "anonymous" else w.client(who)
        for kind, (name, content, ctype) in bad_files().items():
            if url.endswith("/attachments") and "/docs/" in url:
                with app.state.db.read() as s:
                    data = {"version": str(s.get(OutgoingDocument, ids["doc_id"]).version)}
            r = c.post(url, data=data, files={"file": (name, content, ctype)})
            text = r.text
            if r.status_code >= 500 or "root:x:0" in text or "aaaaaaaaaa" * 10 in text:
                failures.append(f"{url} {kind}: {r.status_code} {text[:160]}")
            elif r.status_code < 300 and r.headers.get("content-type", "").startswith("application/json"):
                stored = r.json()
                shown = str(stored.get("filename") or stored.get("name") or "")
                if re.search(r"[/\\\u202e\u200b\x00]", shown) or WINDOWS_DEVICE.match(shown):
                    failures.append(f"{url} {kind}: stored under the name {shown!r}")
    w.close()
    assert not failures, "\n".join(failures)


def test_windows_device_names_are_not_kept_as_upload_names(client: TestClient, org: Any) -> None:
    from office.web import safe_upload_name
    from tests.factories import login
    from tests.messaging.helpers import group

    devices = [
        "CON",
        "con",
        "NUL.txt",
        "aux.docx",
        "Prn.tar.gz",
        "COM1",
        "com9.pdf",
        "LPT1",
        "lpt3.xlsx",
        "COM¹.txt",
        "CON .txt",
        "conin$",
        "CONOUT$.log",
        " nul.txt",
    ]
    for name in devices:
        kept = safe_upload_name(name)
        assert kept.startswith("_") and not WINDOWS_DEVICE.match(kept), (name, kept)
    for name in ("CONSOLE.txt", "icon.png", "COM10.txt", "nul_x", "会议纪要.docx"):
        assert safe_upload_name(name) == name  # only the device names themselves
    cid = group(org, "hamlet", "组", ["ophelia"])
    login(client, "hamlet")
    r = client.post(
        f"/api/messages/conversations/{cid}/attachments", files={"file": ("NUL.txt", b"hello", "text/plain")}
    )
    assert r.status_code == 201 and r.json()["filename"] == "_NUL.txt", r.text


def test_deep_and_huge_json_on_every_json_route(app: Any, client: TestClient, org: Any) -> None:
    from tests.factories import login

    login(client, "prospero")
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    wide = b'{"name": [' + b",".join([b'"x"'] * 400_000) + b"]}"
    checked = 0
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api"):
            continue
        for method in sorted((route.methods or set()) - {"GET", "HEAD"}):
            url = re.sub(r"{(\w+)(:\w+)?}", lambda m: "1" if m.group(2) == ":int" else "x", route.path)
            for body in (deep, wide):
                r = client.request(method, url, content=body, headers={"content-type": "application/json"})
                assert 400 <= r.status_code < 500, (method, route.path, r.status_code, r.text[:200])
                assert set(r.json()) >= {"error", "message"}, (method, route.path)
            checked += 1
    assert checked > 80


def _assert_neutral(cells: list[str], where: str) -> None:
    for cell in cells:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"{where}: formula cell {cell!r}"


def test_every_export_neutralises_spreadsheet_formulas(app: Any, client: TestClient) -> None:
    w = build_world(app)
    mid = w.ids["meeting_id"]
    pro, ham, ger = w.client("prospero"), w.client("hamlet"), w.client("gertrude")
    payload = FORMULAS[0]
    # Org export: a person whose every free field is a formula.
    r = pro.post(
        "/api/admin/users",
        json={
            "username": "formula",
            "name": FORMULAS[1],
            "password": "Very-long-passw0rd-2026",
            "office": FORMULAS[2],
            "email": "",
            "posts": [{"department_id": w.org.depts["A1"], "title": FORMULAS[3]}],
        },
    )
    assert r.status_code in (200, 201), r.text
    pro.post("/api/admin/departments", json={"name": payload, "parent_id": w.org.agencies["A"]})
    rows = list(csv.reader(io.StringIO(pro.get("/api/admin/org/export").content.decode("utf-8-sig"))))
    assert any(FORMULAS[1].lstrip("+") in "".join(row) for row in rows)
    for row in rows[1:]:
        _assert_neutral(row, "org export")
    # Meeting attendance: an attendee declines with a formula as the reason.
    polonius = w.client("polonius")
    assert polonius.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": payload}).status_code == 200
    rows = list(csv.reader(io.StringIO(ham.get(f"/api/meetings/{mid}/attendance.csv").content.decode("utf-8-sig"))))
    assert any("HYPERLINK" in "".join(row) for row in rows)
    for row in rows[1:]:
        _assert_neutral(row, "attendance")
    # 督办 export, CSV and XLSX: an item whose title is a formula.
    soon = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    for formula in FORMULAS:
        r = ger.post(
            "/api/supervision/items",
            json={"title": formula, "deadline": soon, "owner_department_id": w.org.depts["A2"]},
        )
        assert r.status_code == 201, r.text
    text = ger.get("/api/supervision/export", params={"format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sum("SUM(1)" in "".join(r) for r in rows) == 1
    for row in rows[1:]:
        _assert_neutral(row, "supervision csv")
    book = openpyxl.load_workbook(io.BytesIO(ger.get("/api/supervision/export", params={"format": "xlsx"}).content))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "formula cells in the XLSX export"
    _assert_neutral([str(c.value) for c in cells if isinstance(c.value, str)], "supervision xlsx")
    w.close()


def test_ids_and_numbers_beyond_what_a_column_holds_are_4xx_not_500(client: TestClient, org: Any) -> None:
    """Found by the fuzzer: a 25-digit path id or JSON integer reached SQLite and answered 500."""
    from tests.factories import login

    login(client, "hamlet")
    huge = 10**24
    for method, url in (
        ("GET", f"/api/meetings/{huge}"),
        ("PATCH", f"/api/meetings/{huge}"),
        ("GET", f"/api/docs/{huge}"),
        ("GET", f"/api/messages/conversations/{huge}"),
    ):
        r = client.request(method, url, json={"title": "x"} if method == "PATCH" else None)
        assert r.status_code == 404 and r.json()["error"] == "not_found", (url, r.text)
    r = client.post("/api/messages/conversations", json={"name": "组", "member_ids": [huge]})
    assert r.status_code == 422 and r.json()["error"] == "number_out_of_range"


def test_digits_that_are_not_ascii_are_4xx_not_500(client: TestClient, org: Any) -> None:
    """Found by the fuzzer: '¹' passes str.isdigit() and int() refuses it, so a presence query with
    one answered 500. Every integer read from text asks office.jsonin.is_digits."""
    from office.jsonin import is_digits
    from tests.factories import login

    assert not any(is_digits(t) for t in ("¹", "①", "٣", "12¹", "")) and is_digits("0123")
    login(client, "hamlet")
    for raw in ("\x0c¹", "1,¹", "٣"):
        r = client.get("/api/messages/presence", params={"user_ids": raw})
        assert r.status_code == 422 and r.json()["error"] == "bad_query", (raw, r.text)
    r = client.post("/api/meetings", json={"title": "x", "recurrence": "FREQ=WEEKLY;COUNT=¹"})
    assert r.status_code < 500, r.text
