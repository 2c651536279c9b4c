"""``office demo``'s organisation: every account has its own password hash and logs in."""

from __future__ import annotations

from sqlmodel import select
from starlette.testclient import TestClient

from office import demo
from office.db import Database
from office.models import User
from office.secrets_box import hash_password
from tests.factories import new_client

PASSWORD = "demo-password-2026"


def test_every_demo_account_has_its_own_salted_hash_and_logs_in(client: TestClient, db: Database) -> None:
    with db.write() as s:
        accounts = demo.seed(s, password=PASSWORD)
    with db.read() as s:
        hashes = [u.password_hash for u in s.exec(select(User)).all()]
    assert len(hashes) == len(accounts) > 50
    assert len(set(hashes)) == len(hashes)  # no two accounts share a salt (nor, so, a hash)
    real_parameters = hash_password("a-real-account-password").split("$")[3]  # e.g. m=65536,t=3,p=4
    assert {h.split("$")[1:4:2] == ["argon2id", real_parameters] for h in hashes} == {True}
    for username in ("zhangwei", "admin", accounts[len(accounts) // 2].username):
        r = new_client(client.app).post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200 and r.json()["user"]["username"] == username, r.text
