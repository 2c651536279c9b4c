"""Agenda and materials: organiser and presenters add, attendees read, nobody else sees them."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking


def test_agenda_and_materials(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    mid = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small)).json()["meeting"]["id"]
    items = [
        {"title": "传达上级会议精神", "presenter_id": org.users["hamlet"], "start_minute": 0, "duration_minutes": 20},
        {"title": "讨论年度工作要点", "presenter_name": "外请专家", "start_minute": 20, "duration_minutes": 60},
    ]
    r = client.put(f"/api/meetings/{mid}/agenda", json={"items": items})
    assert [(i["title"], i["presenter_name"]) for i in r.json()["items"]] == [
        ("传达上级会议精神", "张伟"),
        ("讨论年度工作要点", "外请专家"),
    ]
    too_long = items + [{"title": "其他", "start_minute": 80, "duration_minutes": 30}]
    r = client.put(f"/api/meetings/{mid}/agenda", json={"items": too_long})
    assert r.status_code == 422 and r.json()["error"] == "agenda_overrun"
    assert len(client.get(f"/api/meetings/{mid}/agenda").json()["items"]) == 2
    for bad in ("javascript:alert(1)", "//evil.example/x", "ftp://x"):
        assert client.post(f"/api/meetings/{mid}/materials/links", json={"name": "x", "url": bad}).status_code == 422
    assert (
        client.post(
            f"/api/meetings/{mid}/materials/links", json={"name": "年度要点（征求意见稿）", "url": "#/docs/12"}
        ).status_code
        == 201
    )
    # A presenter uploads; a plain attendee may not.
    login(client, "ophelia")
    files = {"file": ("意见.txt", "不宜公开的内容".encode(), "text/plain")}
    assert client.post(f"/api/meetings/{mid}/materials/files", files=files).status_code == 403
    login(client, "hamlet")
    r = client.post(
        f"/api/meetings/{mid}/materials/files",
        files={"file": ("汇报材料.docx", b"PK\x03\x04 data", "application/octet-stream")},
    )
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    login(client, "ophelia")
    listed = client.get(f"/api/meetings/{mid}/materials").json()["items"]
    assert [m["name"] for m in listed] == ["年度要点（征求意见稿）", "汇报材料.docx"]
    r = client.get(f"/api/meetings/{mid}/materials/{fid}")
    assert r.content == b"PK\x03\x04 data" and "attachment" in r.headers["content-disposition"]
    assert client.delete(f"/api/meetings/{mid}/materials/{fid}").status_code == 403
    login(client, "horatio")
    assert client.get(f"/api/meetings/{mid}/materials/{fid}").status_code == 404
    assert client.get(f"/api/meetings/{mid}/agenda").status_code == 404
    login(client, "hamlet")
    assert client.delete(f"/api/meetings/{mid}/materials/{fid}").status_code == 204
    assert client.get(f"/api/meetings/{mid}/materials/{fid}").status_code == 404
