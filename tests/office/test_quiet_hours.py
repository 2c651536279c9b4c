"""免打扰 (office/quiet_hours.py): quiet hours kept per person on the server, checked and audited."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.testclient import TestClient

from office.models import AuditEntry
from tests.factories import Org, login


def test_quiet_hours_are_kept_on_the_server_checked_and_audited(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    assert client.get("/api/me").json()["quiet_hours"] is None
    r = client.put("/api/me/preferences", json={"quiet_hours": {"start": "22:00", "end": "7:30"}})
    assert r.status_code == 200 and r.json()["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    assert client.get("/api/me").json()["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    # Changing another preference leaves the quiet hours as they are.
    assert client.put("/api/me/preferences", json={"elder_mode": True}).json()["quiet_hours"]["start"] == "22:00"
    for bad in ({"start": "24:00", "end": "07:00"}, {"start": "22:00", "end": "22:00"}, {"start": "晚上", "end": "7"}):
        r = client.put("/api/me/preferences", json={"quiet_hours": bad})
        assert r.status_code == 422 and r.json()["error"] == "bad_quiet_hours", bad
    r = client.put("/api/me/preferences", json={"quiet_hours": {"start": "22:00"}})
    assert r.status_code == 422 and r.json()["error"] == "invalid_field"
    assert client.get("/api/me").json()["quiet_hours"] == {"start": "22:00", "end": "07:30"}  # nothing changed
    assert client.put("/api/me/preferences", json={"quiet_hours": None}).json()["quiet_hours"] is None
    login(client, "ophelia")
    assert client.get("/api/me").json()["quiet_hours"] is None  # per person
    with org.db.read() as s:
        details = s.exec(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "user.preferences", AuditEntry.target_id == str(org.users["hamlet"]))
            .order_by(col(AuditEntry.id))
        ).all()
    assert [d["quiet_hours"] for d in details] == [
        {"start": "22:00", "end": "07:30"},
        {"start": "22:00", "end": "07:30"},
        None,
    ]
