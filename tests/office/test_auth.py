"""Login, sessions, CSRF, lockout, TOTP, passwords — through the HTTP API."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pyotp
from sqlmodel import col, select
from starlette.testclient import TestClient

from office import hotpath
from office.app import create_app
from office.config import Settings
from office.models import AuditEntry, AuthSession, Role
from tests.conftest import PG_URL
from tests.factories import PASSWORD, Org, login, make_org, new_client


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
    assert r.json().items() >= {"error": "bad_credentials", "message": "用户名或密码错误"}.items()
    r = client.post("/api/auth/login", json={"username": "nobody", "password": "nope-nope-nope"})
    assert r.json()["error"] == "bad_credentials"  # same answer for unknown users
    with org.db.read() as s:
        actions = [e.action for e in s.exec(select(AuditEntry)).all()]
    assert actions.count("auth.login_failed") == 2


def test_lockout_after_repeated_failures(client: TestClient, org: Org) -> None:
    for _ in range(5):
        assert (
            client.post("/api/auth/login", json={"username": "ophelia", "password": "wrong-wrong-wrong"}).status_code
            == 401
        )
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
    r = client.post(
        "/api/auth/login", json={"username": "hamlet", "password": PASSWORD}, headers={"origin": "http://evil.example"}
    )
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
    assert (
        client.post("/api/auth/login", json={"username": "hamlet", "password": "a-much-better-pass-2026"}).status_code
        == 200
    )


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
    assert (
        client.post(f"/api/admin/users/{uid}/reset-password", json={"password": "fresh-pass-from-admin-26"}).status_code
        == 200
    )
    client.post("/api/auth/logout")
    assert (
        client.post("/api/auth/login", json={"username": "othello", "password": "fresh-pass-from-admin-26"}).status_code
        == 200
    )
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


def _enrol_totp(client: TestClient, username: str) -> str:
    login(client, username)
    secret: str = client.post("/api/me/2fa/setup").json()["secret"]
    assert client.post("/api/me/2fa/enable", json={"code": pyotp.TOTP(secret).now()}).status_code == 200
    client.post("/api/auth/logout")
    return secret


def _wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    valid = {totp.at(time.time() + step) for step in (-90, -60, -30, 0, 30, 60, 90)}
    return next(c for c in (f"{n:06d}" for n in range(100)) if c not in valid)


def _at(app: Any, address: str) -> TestClient:
    """A browser at another client address (the app sees it as ``request.client.host``)."""
    return TestClient(app, base_url="http://testserver", client=(address, 50000))


def _password_step(c: TestClient, username: str) -> int:
    r = c.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    c.headers["x-csrf-token"] = c.cookies.get("tb_csrf") or ""
    return r.status_code


def test_wrong_codes_count_per_account_and_a_correct_password_does_not_clear_them(
    client: TestClient, org: Org, app: Any
) -> None:
    secret = _enrol_totp(client, "hamlet")
    bad = _wrong_code(secret)
    answers, pending = [], []
    for _round in range(3):  # password, then four wrong codes; the limit is five
        c = new_client(app)
        answers.append(_password_step(c, "hamlet"))
        if answers[-1] == 200:
            pending.append(c)
            answers += [c.post("/api/auth/totp", json={"code": bad}).status_code for _ in range(4)]
    assert answers == [200, 401, 401, 401, 401, 200, 401, 423, 423, 423, 423]
    r = pending[-1].post("/api/auth/totp", json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 423 and r.json()["error"] == "account_locked"  # the right code comes too late
    # Codes are counted for the account, not the address: another address is locked out as well.
    assert _password_step(_at(app, "192.0.2.44"), "hamlet") == 423
    with org.db.read() as s:
        reasons = [
            e.detail.get("reason")
            for e in s.exec(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).all()
        ]
    assert reasons.count("bad_totp") == 5


def test_second_factor_issues_a_new_session_token_and_retires_the_pending_one(
    client: TestClient, org: Org, app: Any
) -> None:
    secret = _enrol_totp(client, "ophelia")
    c = new_client(app)
    assert _password_step(c, "ophelia") == 200
    pending_token, pending_csrf = c.cookies["tb_session"], c.cookies["tb_csrf"]
    r = c.post("/api/auth/totp", json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200
    assert r.cookies["tb_session"] != pending_token and len(r.cookies["tb_session"]) > 40
    assert r.json()["user"]["csrf_token"] == r.cookies["tb_csrf"] != pending_csrf
    c.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
    assert c.get("/api/me").json()["username"] == "ophelia"
    before = hotpath.hits
    for q in ("zhangwei", "zw"):  # the first search fills the caches, the second takes the fast path
        assert c.get("/api/directory/search", params={"q": q}).status_code == 200
    if not PG_URL:  # PostgreSQL always takes the threadpool path
        assert hotpath.hits > before
    items = c.get("/api/me/sessions").json()["items"]
    assert len(items) == 1 and items[0]["current"]  # the pending session is not listed as live

    old = new_client(app)  # whoever holds the password-step cookie gets nothing from it
    old.cookies.set("tb_session", pending_token)
    old.headers["x-csrf-token"] = pending_csrf
    assert old.get("/api/me").status_code == 401
    assert old.get("/api/directory/search", params={"q": "zw"}).status_code == 401  # fast path: normal answer
    r = old.post("/api/auth/totp", json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 401 and r.json()["error"] == "no_pending_login"


def test_address_limit_refuses_failures_but_never_a_correct_login(settings: Settings) -> None:
    app = create_app(replace(settings, login_max_failures_address=4))
    with TestClient(app, base_url="http://testserver") as c:
        make_org(app.state.db)
        for n in range(4):  # a stranger sprays the shared address (a reverse proxy, an office NAT)
            r = c.post("/api/auth/login", json={"username": f"nobody{n}", "password": "wrong-wrong-wrong"})
            assert r.status_code == 401
        r = c.post("/api/auth/login", json={"username": "ophelia", "password": "wrong-wrong-wrong"})
        assert r.status_code == 429 and r.json()["error"] == "address_locked"
        # Everyone else behind the address still logs in with the right password.
        for name in ("hamlet", "ophelia"):
            assert _password_step(new_client(app), name) == 200
        r = _at(app, "192.0.2.10").post("/api/auth/login", json={"username": "horatio", "password": "wrong-wrong-1"})
        assert r.status_code == 401  # another address has its own count


def test_failures_lock_an_account_per_address_and_then_everywhere(settings: Settings) -> None:
    app = create_app(replace(settings, login_max_failures_account=2, login_max_failures_account_all=5))
    with TestClient(app, base_url="http://testserver"):
        make_org(app.state.db)
        wrong = {"username": "ophelia", "password": "wrong-wrong-wrong"}
        attacker = _at(app, "198.51.100.1")
        assert [attacker.post("/api/auth/login", json=wrong).status_code for _ in range(3)] == [401, 401, 423]
        assert _password_step(attacker, "ophelia") == 423  # locked from the attacker's address
        office = _at(app, "192.0.2.10")
        assert _password_step(office, "ophelia") == 200  # not from hers
        for address in ("198.51.100.2", "198.51.100.3", "198.51.100.4"):  # 1 + 2 + 2 = 5 more failures
            other = _at(app, address)
            for _ in range(1 if address.endswith(".2") else 2):
                assert other.post("/api/auth/login", json=wrong).status_code == 401
        r = office.post("/api/auth/login", json={"username": "ophelia", "password": PASSWORD})
        assert r.status_code == 423 and r.json()["error"] == "account_locked"  # five from anywhere: everywhere


def test_login_upgrades_a_password_hash_made_with_weaker_parameters(settings: Settings) -> None:
    from argon2 import PasswordHasher
    from argon2.profiles import RFC_9106_LOW_MEMORY

    from office.models import User
    from office.secrets_box import needs_rehash, verify_password

    # A deployment's parameters, not the tests' cheap ones (no converters: with ``testing`` off the app
    # would start LibreOffice).
    production = replace(settings, testing=False, official_copy_workers=0)
    app = create_app(production)
    with TestClient(app, base_url="http://testserver") as client:
        org = make_org(app.state.db)
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)  # an older deployment's
        with org.db.write() as s:
            user = s.get(User, org.users["hamlet"])
            assert user is not None
            user.password_hash = weak
            s.add(user)

        def stored() -> str:
            with org.db.read() as s:
                user = s.get(User, org.users["hamlet"])
                assert user is not None
                return user.password_hash

        r = client.post("/api/auth/login", json={"username": "hamlet", "password": "wrong-wrong-wrong"})
        assert r.status_code == 401 and stored() == weak  # only a verified password is re-hashed
        assert client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD}).status_code == 200
        upgraded = stored()
        assert upgraded != weak and verify_password(production, upgraded, PASSWORD)
        assert not needs_rehash(production, upgraded)
        p = RFC_9106_LOW_MEMORY
        assert upgraded.split("$")[3] == f"m={p.memory_cost},t={p.time_cost},p={p.parallelism}"
        assert client.post("/api/auth/login", json={"username": "hamlet", "password": PASSWORD}).status_code == 200
        assert stored() == upgraded  # current parameters: left alone
        with org.db.read() as s:
            logins = s.exec(
                select(AuditEntry).where(AuditEntry.action == "auth.login").order_by(col(AuditEntry.id))
            ).all()
        assert [e.detail.get("password_rehashed", False) for e in logins] == [True, False]
