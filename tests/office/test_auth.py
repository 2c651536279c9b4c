"""Login, sessions, CSRF, lockout, TOTP, passwords — through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlmodel import select
from starlette.testclient import TestClient

from office.models import AuditEntry, AuthSession, Role
from tests.factories import PASSWORD, Org, login, new_client


def test_login_me_logout(client: TestClient, org: Org) -> None:
    r = client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["totp_required"] is False and body["user"]["name"] == "张伟"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    client.headers["x-csrf-token"] = body["user"]["csrf_token"]
    me = client.get("/api/me").json()
    assert me["username"] == "hamlet" and me["posts"][0]["department"] == "综合处"
    assert client.post("/api/auth/logout").status_code == 200
    assert client.get("/api/me").status_code == 401


def test_wrong_password_is_401_json_and_audited(client: TestClient, org: Org) -> None:
    r = client.post("/api/auth/login", json={"username": "hamlet", "password": "nope-nope-nope"})
    assert r.status_code == 401
    assert r.json() == {"error": "bad_credentials", "message": "用户名或密码错误"}
    r = client.post("/api/auth/login", json={"username": "nobody", "password": "nope-nope-nope"})
    assert r.json()["error"] == "bad_credentials"  # same answer for unknown users
    with org.db.read() as s:
        actions = [e.action for e in s.exec(select(AuditEntry)).all()]
    assert actions.count("auth.login_failed") == 2


def test_lockout_after_repeated_failures(client: TestClient, org: Org) -> None:
    for _ in range(5):
        assert client.post("/api/auth/login", json={"username": "ophelia", "password": "wrong-wrong-wrong"}).status_code == 401
    r = client.post("/api/auth/login", json={"username": "ophelia", "password": PASSWORD})
    assert r.status_code == 423 and r.json()["error"] == "account_locked"
    # Another account from the same address still works (the per-address limit is higher).
    assert client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD}).status_code == 200


def test_csrf_required_on_state_changes(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    token = client.headers.pop("x-csrf-token")
    r = client.put("/api/me/preferences", json={"elder_mode": True})
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    r = client.put("/api/me/preferences", json={"elder_mode": True}, headers={"x-csrf-token": "forged"})
    assert r.status_code == 403
    r = client.put("/api/me/preferences", json={"elder_mode": True}, headers={"x-csrf-token": token})
    assert r.status_code == 200 and r.json()["elder_mode"] is True


def test_cross_origin_post_refused(client: TestClient, org: Org) -> None:
    r = client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD},
                    headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "bad_origin"


def test_idle_and_absolute_expiry(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    with org.db.write() as s:
        row = s.exec(select(AuthSession)).one()
        row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
        s.add(row)
    assert client.get("/api/me").status_code == 401
    login(client, "hamlet")
    with org.db.write() as s:
        row = s.exec(select(AuthSession).where(AuthSession.revoked_at == None)).all()[-1]  # noqa: E711
        row.expires_at = row.created_at
        s.add(row)
    assert client.get("/api/me").status_code == 401


def test_totp_enrol_login_and_recovery_code(client: TestClient, org: Org, app: object) -> None:
    login(client, "hamlet")
    setup = client.post("/api/me/2fa/setup").json()
    assert setup["qr_svg"].startswith("data:image/svg+xml;base64,")
    assert client.post("/api/me/2fa/enable", json={"code": "000000"}).status_code == 422
    codes = client.post("/api/me/2fa/enable", json={"code": pyotp.TOTP(setup["secret"]).now()}).json()["recovery_codes"]
    assert len(codes) == 10
    client.post("/api/auth/logout")

    other = new_client(app)
    r = other.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    assert r.json() == {"totp_required": True}
    other.headers["x-csrf-token"] = other.cookies.get("tb_csrf") or ""
    assert other.get("/api/me").status_code == 401  # half-authenticated grants nothing
    assert other.post("/api/auth/totp", json={"code": "123456"}).status_code == 401
    r = other.post("/api/auth/totp", json={"code": pyotp.TOTP(setup["secret"]).now()})
    assert r.status_code == 200 and other.get("/api/me").json()["totp_enabled"] is True

    third = new_client(app)
    third.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    third.headers["x-csrf-token"] = third.cookies.get("tb_csrf") or ""
    assert third.post("/api/auth/totp", json={"code": codes[0]}).status_code == 200
    fourth = new_client(app)
    fourth.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD})
    fourth.headers["x-csrf-token"] = fourth.cookies.get("tb_csrf") or ""
    assert fourth.post("/api/auth/totp", json={"code": codes[0]}).status_code == 401  # single use


def test_mandatory_2fa_per_role_is_reported(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    r = client.put("/api/admin/role-policies", json={"role": "leader", "require_2fa": True})
    assert r.status_code == 200 and r.json()["items"]["leader"] is True
    client.post("/api/auth/logout")
    login(client, "claudius")
    assert client.get("/api/me").json()["totp_setup_required"] is True
    login(client, "hamlet")
    assert client.get("/api/me").json()["totp_setup_required"] is False


def test_password_change_policy_and_other_sessions_end(client: TestClient, org: Org, app: object) -> None:
    other = new_client(app)
    login(other, "hamlet")
    login(client, "hamlet")
    r = client.post("/api/me/password", json={"current": "wrong-password!", "new": "a-much-better-pass-2026"})
    assert r.status_code == 403
    r = client.post("/api/me/password", json={"current": PASSWORD, "new": "short"})
    assert r.status_code == 422 and "12" in r.json()["message"]
    r = client.post("/api/me/password", json={"current": PASSWORD, "new": "a-much-better-pass-2026"})
    assert r.status_code == 200
    assert client.get("/api/me").status_code == 200
    assert other.get("/api/me").status_code == 401
    assert client.post("/api/auth/login", json={"username": "hamlet", "password": "a-much-better-pass-2026"}).status_code == 200


def test_sessions_listed_and_revocable(client: TestClient, org: Org, app: object) -> None:
    other = new_client(app)
    login(other, "hamlet")
    login(client, "hamlet")
    items = client.get("/api/me/sessions").json()["items"]
    assert len(items) == 2 and sum(i["current"] for i in items) == 1
    victim = next(i for i in items if not i["current"])
    assert client.delete(f"/api/me/sessions/{victim['id']}").status_code == 200
    assert other.get("/api/me").status_code == 401
    # Someone else's session id answers as missing.
    login(other, "ophelia")
    mine = other.get("/api/me/sessions").json()["items"][0]["id"]
    assert client.delete(f"/api/me/sessions/{mine}").status_code == 404


def test_disabled_account_cannot_log_in_and_loses_sessions(client: TestClient, org: Org, app: object) -> None:
    victim = new_client(app)
    login(victim, "horatio")
    login(client, "prospero")
    assert client.post(f"/api/admin/users/{org.users['horatio']}/disable").status_code == 200
    assert victim.get("/api/me").status_code == 401
    r = victim.post("/api/auth/login", json={"username": "horatio", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"] == "account_disabled"


def test_admin_reset_password(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    uid = org.users["othello"]
    assert client.post(f"/api/admin/users/{uid}/reset-password", json={"password": "fresh-pass-from-admin-26"}).status_code == 200
    client.post("/api/auth/logout")
    assert client.post("/api/auth/login", json={"username": "othello", "password": "fresh-pass-from-admin-26"}).status_code == 200
    login(client, "hamlet")
    assert client.post(f"/api/admin/users/{uid}/reset-password", json={"password": "x" * 20}).status_code == 403
    assert Role.admin.value == "admin"


def test_mandatory_2fa_blocks_everything_but_enrolment(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    client.put("/api/admin/role-policies", json={"role": "leader", "require_2fa": True})
    login(client, "claudius")
    r = client.get("/api/directory/search?q=zw")
    assert r.status_code == 403 and r.json()["error"] == "2fa_setup_required"
    setup = client.post("/api/me/2fa/setup").json()
    client.post("/api/me/2fa/enable", json={"code": pyotp.TOTP(setup["secret"]).now()})
    assert client.get("/api/directory/search?q=zw").status_code == 200
