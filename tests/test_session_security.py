"""Sessions and login, walked over the whole route table: fixation, CSRF on every state-changing route,
cookie flags, half-authenticated and dead sessions on the websocket, security headers on every kind of
response, and rate limits on uploads (login and message-send limits are in tests/office/test_auth.py
and tests/messaging/test_routes.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from office.app import create_app
from office.config import load_settings
from tests.factories import PASSWORD, Org, login, new_client

SAFE = {"GET", "HEAD", "OPTIONS"}
# Login itself cannot carry a token yet; the other public POSTs take no session (verification) or are
# checked with the pending session's token (totp, logout).
CSRF_EXEMPT = {("POST", "/api/auth/login"), ("POST", "/api/esign/verify")}


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: "1" if m.group(2) == ":int" else "x", path)


def state_changing(app: Any) -> list[tuple[str, str]]:
    return [(m, r.path) for r in app.routes if isinstance(r, Route) for m in sorted((r.methods or set()) - SAFE)]


def test_session_id_changes_at_login_and_a_planted_cookie_is_not_adopted(client: TestClient, org: Org) -> None:
    client.cookies.set("tb_session", "planted-by-attacker")
    r = client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    first = r.cookies["tb_session"]
    assert first != "planted-by-attacker" and len(first) > 40
    r = client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    second = r.cookies["tb_session"]
    assert second != first  # every login issues a new session id
    stranger = new_client(client.app)
    stranger.cookies.set("tb_session", "planted-by-attacker")
    assert stranger.get("/api/me").status_code == 401


def test_cookie_flags_and_hsts(tmp_path: Path, org: Org) -> None:
    def set_cookies(secure: bool) -> tuple[list[str], Any]:
        app = create_app(
            load_settings({}, data_dir=tmp_path / ("s" if secure else "p"), testing=True, cookie_secure=secure)
        )
        with TestClient(app, base_url="https://testserver" if secure else "http://testserver") as c:
            from tests.factories import make_org

            make_org(app.state.db)
            r = c.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
            # The cookies the browser was given carry the session: reads, the fast path, a write.
            assert c.get("/api/me").status_code == 200
            assert c.get("/api/directory/search", params={"q": "zw"}).status_code == 200
            c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
            assert c.post("/api/auth/logout").status_code == 200
            assert c.get("/api/me").status_code == 401
            return r.headers.get_list("set-cookie"), r.headers

    plain, headers = set_cookies(False)
    session = next(c for c in plain if c.startswith("tb_session="))
    assert re.search(r"(?i)httponly", session) and re.search(r"(?i)samesite=strict", session)
    assert "secure" not in session.lower() and "strict-transport-security" not in headers
    csrf = next(c for c in plain if c.startswith("tb_csrf="))
    assert "httponly" not in csrf.lower() and re.search(r"(?i)samesite=strict", csrf)  # the page must read it
    secure, headers = set_cookies(True)
    assert all(re.search(r"(?i);\s*secure", c) for c in secure)
    # Over HTTPS both are __Host- cookies: Secure, Path=/, no Domain (a sibling host cannot set them).
    assert sorted(c.split("=", 1)[0] for c in secure) == ["__Host-tb_csrf", "__Host-tb_session"]
    assert all(re.search(r"(?i);\s*path=/(;|$)", c) and "domain=" not in c.lower() for c in secure)
    assert headers["strict-transport-security"].startswith("max-age=")


def test_every_state_changing_route_refuses_a_missing_or_forged_csrf_token(client: TestClient, org: Org) -> None:
    login(client, "prospero")  # an admin, so no route is refused for the role before CSRF is checked
    token = client.headers.pop("x-csrf-token")
    walked = 0
    for method, path in state_changing(client.app):
        if (method, path) in CSRF_EXEMPT:
            continue
        url = concrete(path)
        for headers in ({}, {"x-csrf-token": "forged-" + token[7:]}):
            r = client.request(method, url, json={}, headers=headers)
            assert (r.status_code, r.json().get("error")) == (403, "csrf_failed"), (method, path, r.text)
        r = client.request(method, url, json={}, headers={"x-csrf-token": token, "origin": "https://evil.example"})
        assert (r.status_code, r.json().get("error")) == (403, "bad_origin"), (method, path, r.text)
        walked += 1
    assert walked > 80
    # Login is the exception: it has no session yet, and a cross-site login is still refused by origin.
    r = client.post(
        "/api/auth/login", json={"username": "hamlet", "password": PASSWORD}, headers={"origin": "https://evil.example"}
    )
    assert r.status_code == 403 and r.json()["error"] == "bad_origin"
    client.headers["x-csrf-token"] = token
    assert client.get("/api/me").status_code == 200  # the session survived the walk


def test_half_authenticated_disabled_and_expired_sessions_get_no_websocket(client: TestClient, org: Org) -> None:
    from tests.authz_world import World, _special_callers

    w = World(app=client.app, org=org)
    _special_callers(w)
    for kind in ("pending_2fa", "disabled", "expired", "anonymous"):
        client.cookies.clear()
        for name, value in w.clients[kind].cookies.items():
            client.cookies.set(name, value)
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws") as ws:
            ws.receive_json()  # the first thing the server does is close: no hello, no events
        assert closed.value.code == 1008, kind
    w.close()


def test_security_headers_on_every_kind_of_response(client: TestClient, org: Org) -> None:
    from starlette.routing import Route as R

    async def boom(_request: Any) -> Any:
        raise RuntimeError("deliberate")

    boom.__policy__ = "public"  # type: ignore[attr-defined]
    client.app.router.routes.append(R("/api/test-boom", boom))
    login(client, "hamlet")
    responses = {
        "page": client.get("/"),
        "json": client.get("/api/me"),
        "static": client.get("/static/js/app.js"),
        "missing static": client.get("/static/nope.js"),
        "404": client.get("/api/nope"),
        "405": client.delete("/healthz"),
        "401": new_client(client.app).get("/api/me"),
        "413": client.post(
            "/api/messages/conversations",
            content=b"x" * (3 * 1024 * 1024),
            headers={"content-type": "application/json"},
        ),
        "500": TestClient(client.app, raise_server_exceptions=False).get("/api/test-boom"),
        "websocket path over plain HTTP": client.get("/ws"),
        "download": client.get("/api/meetings/feed"),
    }
    for kind, r in responses.items():
        h = r.headers
        assert "script-src 'self'" in h.get("content-security-policy", ""), kind
        assert h.get("x-content-type-options") == "nosniff", kind
        assert h.get("x-frame-options") == "DENY" and h.get("referrer-policy") == "same-origin", kind
        assert h.get("cache-control") in ("no-store", "no-cache"), (kind, h.get("cache-control"))
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/json"), kind
            assert set(r.json()) >= {"error", "message"}, kind
    assert responses["500"].status_code == 500 and "deliberate" not in responses["500"].text
    assert responses["413"].status_code == 413


def test_uploads_are_rate_limited_per_user_and_per_address(tmp_path: Path) -> None:
    settings = load_settings(
        {},
        data_dir=tmp_path / "d",
        testing=True,
        upload_per_minute=1,
        upload_burst=3,
        upload_per_minute_address=1,
        upload_burst_address=5,
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as c:
        from tests.factories import make_org
        from tests.messaging.helpers import group

        org = make_org(app.state.db)
        g = group(org, "hamlet", "组", ["ophelia"])
        ham, oph = new_client(app), new_client(app)
        login(ham, "hamlet")
        login(oph, "ophelia")
        up = f"/api/messages/conversations/{g}/attachments"
        codes = [ham.post(up, files={"file": ("a.txt", b"hello", "text/plain")}).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        r = ham.post("/api/docs/1/attachments", files={"file": ("a.txt", b"x")})  # every upload route counts
        assert r.status_code == 429 and r.json()["error"] == "upload_rate_limited"
        # Another user from the same address still has their own bucket until the address's is spent.
        codes = [oph.post(up, files={"file": ("b.txt", b"hello", "text/plain")}).status_code for _ in range(3)]
        assert codes == [201, 201, 429]  # the address's 5 tokens: 3 for hamlet, 2 for ophelia
        anonymous = c.post("/api/esign/verify", files={"file": ("x.docx", b"PK")})
        assert anonymous.status_code == 429
