"""系统管理员 and 印章管理员 must use two-step verification by default (``OFFICE_ADMIN_2FA``): one
who has not set it up may, after the password, do nothing but enrol; the server refuses the rest
with 403 ``2fa_setup_required`` (the UI's redirect to #/profile/2fa is not the guard). The role
policy cannot lower that floor; the deployment setting can. ``office demo`` enrols its
administrators with a secret it prints, so its printed logins work."""

from __future__ import annotations

from dataclasses import replace

import pyotp
import pytest
from starlette.testclient import TestClient

from office import demo, hotpath
from office.config import Settings, load_settings
from office.db import Database
from tests.factories import Org, login, new_client

REFUSED = "2fa_setup_required"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The deployment's default, which the suite's other tests turn off (tests/conftest.py)."""
    return replace(settings, admin_2fa=True)


def test_the_requirement_is_on_unless_the_deployment_turns_it_off(tmp_path: object) -> None:
    assert load_settings({}, data_dir=tmp_path).admin_2fa is True  # type: ignore[arg-type]
    assert load_settings({"OFFICE_ADMIN_2FA": "false"}, data_dir=tmp_path).admin_2fa is False  # type: ignore[arg-type]


@pytest.mark.parametrize("username", ["prospero", "yorick"])  # 系统管理员, 印章管理员
def test_an_unenrolled_administrator_may_only_enrol_then_everything_works(
    client: TestClient, org: Org, username: str
) -> None:
    staff = new_client(client.app)
    login(staff, "hamlet")
    hits = hotpath.hits
    for _ in range(2):  # builds the index and the caches: the event-loop fast path answers (office.hotpath)
        assert staff.get("/api/directory/search", params={"q": "zhang"}).status_code == 200
    assert hotpath.hits > hits or client.app.state.db.settings.database_url.startswith("postgresql")
    c = new_client(client.app)
    me = login(c, username)["user"]
    assert me["totp_setup_required"] is True  # the web client goes to #/profile/2fa at once
    for _ in range(2):  # the fast path refuses it too (it leaves it to the normal path)
        r = c.get("/api/directory/search", params={"q": "zhang"})
        assert r.status_code == 403 and r.json()["error"] == REFUSED, r.text
        assert "两步验证" in r.json()["message"]
    r = c.put("/api/admin/role-policies", json={"role": "leader", "require_2fa": True})  # nor a write
    assert r.status_code == 403 and r.json()["error"] == REFUSED
    assert c.get("/api/me").status_code == 200  # what the enrolment page needs
    secret = c.post("/api/me/2fa/setup").json()["secret"]
    r = c.post("/api/me/2fa/enable", json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    assert c.get("/api/directory/search", params={"q": "zhang"}).status_code == 200
    assert c.get("/api/me").json()["totp_setup_required"] is False
    # The next login asks for the code.
    again = new_client(client.app)
    assert login(again, username)["totp_required"] is True
    assert login(new_client(client.app), username, totp_secret=secret)["user"]["username"] == username


def test_other_roles_are_not_asked(client: TestClient, org: Org) -> None:
    c = new_client(client.app)
    assert login(c, "hamlet")["user"]["totp_setup_required"] is False
    assert c.get("/api/directory/search", params={"q": "zhang"}).status_code == 200


def test_the_role_policy_cannot_lower_the_floor(client: TestClient, org: Org) -> None:
    c = new_client(client.app)
    login(c, "prospero")
    secret = c.post("/api/me/2fa/setup").json()["secret"]
    c.post("/api/me/2fa/enable", json={"code": pyotp.TOTP(secret).now()})
    policies = c.get("/api/admin/role-policies").json()
    items = policies["items"]
    assert items["admin"] is True and items["seal_keeper"] is True and items["staff"] is False
    assert policies["fixed"] == ["admin", "seal_keeper"]  # the page shows them as not switchable
    r = c.put("/api/admin/role-policies", json={"role": "seal_keeper", "require_2fa": False})
    assert r.status_code == 409 and r.json()["error"] == "2fa_required_by_deployment", r.text
    assert c.put("/api/admin/role-policies", json={"role": "leader", "require_2fa": True}).status_code == 200


def test_the_deployment_setting_turns_it_off(db: Database, client: TestClient, org: Org) -> None:
    from tests.factories import settings_changed

    with settings_changed(db, admin_2fa=False):
        c = new_client(client.app)
        assert login(c, "prospero")["user"]["totp_setup_required"] is False
        assert c.get("/api/directory/search", params={"q": "zhang"}).status_code == 200
        assert c.get("/api/directory/search", params={"q": "zhang"}).status_code == 200
        policies = c.get("/api/admin/role-policies").json()
        assert policies["fixed"] == [] and policies["items"]["admin"] is False


def test_the_demo_enrols_its_administrators_with_the_secret_it_prints(client: TestClient, db: Database) -> None:
    with db.write() as s:
        accounts = demo.seed(s, password="demo-password-2026")
    enrolled = {a.username: a for a in accounts if a.totp_secret}
    roles = {a.role for a in enrolled.values()}
    assert "admin" in enrolled and roles == {"系统管理员", "印章管理员"}, roles
    assert all(not a.totp_secret for a in accounts if a.role not in roles)
    printed = demo.print_accounts(accounts, "demo-password-2026")
    for a in enrolled.values():
        assert f"验证器密钥 {a.totp_secret}" in printed and a.recovery_codes[0] in printed
    for username in ("admin", next(u for u, a in enrolled.items() if a.role == "印章管理员")):
        c = new_client(client.app)
        assert login(c, username, "demo-password-2026")["totp_required"] is True
        secret = enrolled[username].totp_secret
        assert login(c, username, "demo-password-2026", totp_secret=secret)["user"]["totp_setup_required"] is False
        assert c.get("/api/directory/search", params={"q": "zhang"}).status_code == 200
    # A printed recovery code works once, without an authenticator.
    c = new_client(client.app)
    login(c, "admin", "demo-password-2026")
    r = c.post("/api/auth/totp", json={"code": enrolled["admin"].recovery_codes[0]})
    assert r.status_code == 200, r.text
