"""The JSON request log and the request id (office/logs.py): one line per request with its id, user,
route template, status and duration; the id in the X-Request-ID header and in error bodies, an
incoming one believed from a trusted proxy only; and no secret in anything logged."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from docx import Document
from starlette.testclient import TestClient

from office import logs
from office.app import create_app
from office.config import Settings
from office.serving import uvicorn_options
from tests.conftest import Migrated
from tests.docs_flow.conftest import BODY
from tests.esign.svc import PIN, SEAL_PIN
from tests.factories import PASSWORD, Org, login, new_client


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything any logger writes at any level while the test runs, as text."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    ours = [logging.getLogger(n) for n in ("office.access", "office.event")]
    for logger in ours:
        logger.addHandler(handler)  # also if office.logs.configure() stopped their propagation
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for logger in ours:
            logger.removeHandler(handler)


def access_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for raw in text.splitlines():
        if raw.startswith("office.access INFO "):
            found.append(json.loads(raw[len("office.access INFO ") :]))
    return found


def secret_docx(text: str) -> bytes:
    doc = Document()
    doc.add_paragraph("某市人民政府办公室关于做好年终工作的通知")
    doc.add_paragraph(text)
    doc.add_paragraph("某市人民政府办公室")
    doc.add_paragraph("2026年11月29日")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_no_secret_is_logged(client: TestClient, org: Org, app: Any, captured: io.StringIO) -> None:
    secrets: list[str] = [PASSWORD, PIN, SEAL_PIN]
    wrong_password, wrong_pin = "Wrong-Pass-8841x", "975310"
    secrets += [wrong_password, wrong_pin]
    # A password login, a wrong password, then TOTP: the seed, a code, the recovery codes.
    hamlet = new_client(app)
    assert hamlet.post("/api/auth/login", json={"username": "hamlet", "password": wrong_password}).status_code == 401
    me = login(hamlet, "hamlet")
    secrets += [me["user"]["csrf_token"], *[v for v in hamlet.cookies.values() if len(v) >= 8]]
    setup = hamlet.post("/api/me/2fa/setup").json()
    code = pyotp.TOTP(setup["secret"]).now()
    enabled = hamlet.post("/api/me/2fa/enable", json={"code": code})
    assert enabled.status_code == 200, enabled.text
    secrets += [setup["secret"], code, *enabled.json()["recovery_codes"]]
    second = new_client(app)
    r = second.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    assert r.json() == {"totp_required": True}
    second.headers["x-csrf-token"] = second.cookies.get("tb_csrf") or ""
    secrets += [v for v in second.cookies.values() if len(v) >= 8]
    r = second.post("/api/auth/totp", json={"code": pyotp.TOTP(setup["secret"]).now()})
    assert r.status_code == 200, r.text
    second.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
    secrets.append(r.json()["user"]["csrf_token"])
    secrets += [v for v in second.cookies.values() if len(v) >= 8]
    # A 公文 draft: its body is document text.
    body_text = "绝密正文内容甲乙丙丁戊己庚辛"
    payload = {
        "doc_type": "通知",
        "title": "关于做好年终工作的通知",
        "body": [*BODY, {"kind": "paragraph", "text": body_text}],
        "main_recipients": ["各市人民政府"],
    }
    assert second.post("/api/docs", json=payload).status_code == 201
    secrets.append(body_text)
    # Sealing with a PIN: the seal keeper enrols a key, creates a seal (its own PIN), seals a file.
    yorick = new_client(app)
    login(yorick, "yorick")
    assert yorick.post("/api/esign/enrol", json={"pin": PIN}).status_code == 201
    seal = yorick.post("/api/esign/seals", data={"kind": "official", "seal_pin": SEAL_PIN})
    assert seal.status_code == 201, seal.text
    sealed_text = "用印文件的正文壬癸子丑寅卯"
    files = {"file": ("通知.docx", secret_docx(sealed_text))}
    r = yorick.post(
        f"/api/esign/seals/{seal.json()['id']}/apply",
        data={"pin": wrong_pin, "reference": "粤府办〔2026〕1号"},
        files=files,
    )
    assert r.status_code >= 400
    r = yorick.post(
        f"/api/esign/seals/{seal.json()['id']}/apply", data={"pin": PIN, "reference": "粤府办〔2026〕1号"}, files=files
    )
    assert r.status_code == 200, r.text
    signed = "签名的文字癸壬辛庚"
    assert yorick.post("/api/esign/sign-text", json={"pin": PIN, "text": signed, "purpose": "测试"}).status_code == 201
    secrets += [sealed_text, signed, *[v for v in yorick.cookies.values() if len(v) >= 8]]

    text = captured.getvalue()
    lines = access_lines(text)
    assert len(lines) >= 12, text[-2000:]  # the requests were logged, one JSON line each
    for secret in secrets:
        assert secret not in text, f"a secret is in the log: {secret[:4]}…"


def test_request_line_and_error_body(client: TestClient, org: Org, captured: io.StringIO) -> None:
    login(client, "hamlet")
    r = client.delete("/api/me/sessions/424242")
    rid = r.headers["x-request-id"]
    assert r.status_code == 404 and r.json()["request_id"] == rid and r.json()["error"]
    ok = client.get("/api/me")
    assert ok.status_code == 200 and "request_id" not in ok.json() and ok.headers["x-request-id"] != rid
    bad = client.get("/no/such/path")
    assert bad.status_code == 404 and bad.json()["request_id"] == bad.headers["x-request-id"]
    lines = {line["request_id"]: line for line in access_lines(captured.getvalue())}
    line = lines[rid]
    assert line["route"] == "/api/me/sessions/{session_id:int}" and line["method"] == "DELETE"
    assert line["status"] == 404 and line["user_id"] == org.users["hamlet"] and line["ms"] >= 0
    assert lines[ok.headers["x-request-id"]]["status"] == 200
    assert lines[bad.headers["x-request-id"]]["route"] == "<unmatched>"
    # A client's own X-Request-ID is not believed: it could write into someone else's lines.
    r = client.get("/api/me", headers={"x-request-id": "forged-id-1234"})
    assert r.headers["x-request-id"] != "forged-id-1234"


@pytest.fixture
def proxied(settings: Settings, migrated: Migrated) -> Iterator[Any]:
    behind = dataclasses.replace(settings, trusted_proxies=("10.0.0.5",))
    migrated.lay_down(behind)
    yield create_app(behind)


def test_request_id_from_a_trusted_proxy_only(proxied: Any, captured: io.StringIO) -> None:
    via_proxy = TestClient(proxied, client=("10.0.0.5", 1234))
    r = via_proxy.get("/healthz", headers={"x-request-id": "nginx-req-42", "x-forwarded-for": "203.0.113.9"})
    assert r.headers["x-request-id"] == "nginx-req-42"
    line = next(x for x in access_lines(captured.getvalue()) if x["request_id"] == "nginx-req-42")
    assert line["client"] == "203.0.113.9"  # the proxy's X-Forwarded-For is still applied
    r = via_proxy.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"  # not a sane id: replaced
    direct = TestClient(proxied, client=("203.0.113.7", 1234))
    r = direct.get("/healthz", headers={"x-request-id": "nginx-req-43", "x-forwarded-for": "10.0.0.5"})
    assert r.headers["x-request-id"] != "nginx-req-43"
    line = next(x for x in access_lines(captured.getvalue()) if x["request_id"] == r.headers["x-request-id"])
    assert line["client"] == "203.0.113.7"  # a forged X-Forwarded-For from elsewhere is ignored


def test_office_serve_writes_one_json_line(capfd: pytest.CaptureFixture[str]) -> None:
    """``office serve`` gives uvicorn a logging configuration that writes the lines to stderr."""
    config = uvicorn_options(Settings())["log_config"]
    logger = logging.getLogger("office.event")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        logging.config.dictConfig(config)
        logs.event("login_locked", user_id=7)
    finally:
        for name in ("office.access", "office.event"):
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
        logger.handlers, logger.propagate, logger.level = saved
    record = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert record["kind"] == "event" and record["event"] == "login_locked" and record["user_id"] == 7
