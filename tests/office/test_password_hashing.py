"""Which Argon2id parameters passwords are hashed with: cheap ones only when ``settings.testing``."""

from __future__ import annotations

from pathlib import Path

from argon2.profiles import RFC_9106_LOW_MEMORY
from starlette.testclient import TestClient

from office.config import Settings, load_settings
from office.models import User
from office.secrets_box import hash_password, verify_password
from tests.factories import Org, login

PRODUCTION = (
    f"m={RFC_9106_LOW_MEMORY.memory_cost},t={RFC_9106_LOW_MEMORY.time_cost},p={RFC_9106_LOW_MEMORY.parallelism}"
)


def _parameters(stored: str) -> str:
    return stored.split("$")[3]


def test_the_testing_app_hashes_passwords_with_cheap_parameters(client: TestClient, org: Org) -> None:
    settings = org.db.settings
    assert settings.testing
    login(client, "hamlet")
    r = client.post("/api/me/password", json={"current": "correct-horse-battery-staple", "new": "a-new-long-pass-2026"})
    assert r.status_code == 200, r.text
    with org.db.read() as s:
        user = s.get(User, org.users["hamlet"])
        assert user is not None
        stored = user.password_hash
    assert _parameters(stored) == "m=1024,t=1,p=1" != PRODUCTION
    assert verify_password(settings, stored, "a-new-long-pass-2026")


def test_settings_without_testing_hash_with_the_production_parameters(settings: Settings, tmp_path: Path) -> None:
    assert _parameters(hash_password(settings, "x")) != PRODUCTION  # a testing app's hashing ran first ...
    for deployed in (
        Settings(),
        load_settings({}, data_dir=tmp_path / "a"),
        # no OFFICE_* variable turns the cheap parameters on
        load_settings({"OFFICE_TESTING": "1", "TESTING": "1"}, data_dir=tmp_path / "b"),
    ):
        assert not deployed.testing
        assert _parameters(hash_password(deployed, "x")) == PRODUCTION  # ... and did not change these
