"""Without LibreOffice the server still runs, says official copies are unavailable (health output,
the 用印 step's page) and refuses 用印 with a clear error, changing nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from office.config import Settings
from tests.docs_flow.conftest import Clients, act
from tests.docs_flow.test_routes import advance, create, get
from tests.esign.svc import PIN
from tests.factories import Org


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    yield dataclasses.replace(settings, official_copy_workers=0)  # as on a server without LibreOffice


def test_no_converter_is_said_and_seal_is_refused_without_change(client: TestClient, users: Clients, org: Org) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["components"]["official_copy"]["available"] is False
    assert "不可用" in health["components"]["official_copy"]["message"]

    doc = advance(users, create(users, org), "用印")
    assert doc["official_copy"]["available"] is False
    r = act(users["yorick"], doc, "approve", pin=PIN)
    assert r.status_code == 503 and r.json()["error"] == "official_copy_unavailable", r.text
    assert "LibreOffice" in r.json()["message"]
    after = get(users, "yorick", doc)
    assert after["version"] == doc["version"] and not after["sealed"] and after["status"] == "signed"
