"""``office demo``'s organisation: every account has its own password hash and logs in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from office import demo
from office.config import Settings
from office.db import Database
from office.models import User
from office.secrets_box import hash_password
from tests.factories import new_client

PASSWORD = "demo-password-2026"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A deployment's settings: the demo's hashes must carry the real accounts' Argon2 parameters, not
    the cheap ones ``testing`` hashes with (no converters: with ``testing`` off the app would start
    LibreOffice, seconds of CPU this test has no use for)."""
    return replace(settings, testing=False, official_copy_workers=0)


def test_every_demo_account_has_its_own_salted_hash_and_logs_in(client: TestClient, db: Database) -> None:
    with db.write() as s:
        accounts = demo.seed(s, password=PASSWORD)
    with db.read() as s:
        hashes = [u.password_hash for u in s.exec(select(User)).all()]
    assert len(hashes) == len(accounts) > 50
    assert len(set(hashes)) == len(hashes)  # no two accounts share a salt (nor, so, a hash)
    assert not db.settings.testing
    real_parameters = hash_password(db.settings, "a-real-account-password").split("$")[3]  # m=65536,t=3,p=4
    assert {h.split("$")[1:4:2] == ["argon2id", real_parameters] for h in hashes} == {True}
    for username in ("zhangwei", "admin", accounts[len(accounts) // 2].username):
        r = new_client(client.app).post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200 and r.json()["user"]["username"] == username, r.text
