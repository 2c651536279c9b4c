"""Domains meet only through events: a booked meeting becomes a chat group and 工作通知 messages;
a document waiting for someone becomes a 工作通知 message with a link to it."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factories import Org, login
from tests.meetings.conftest import Rooms, booking


def _conversations(client: TestClient) -> list[dict]:  # type: ignore[type-arg]
    return client.get("/api/messages/conversations").json()["items"]  # type: ignore[no-any-return]


def test_meeting_creates_its_group_and_invitations_arrive_as_work_notices(
    client: TestClient, org: Org, rooms_a: Rooms
) -> None:
    login(client, "gertrude")
    # othello (科员 of 省财政厅) comes through his agency's 会议通知: its contact iago names him while the
    # large room waits for approval. The directory hides him from gertrude, and the meeting's chat
    # still holds him: its members are the meeting's, not the organiser's pick.
    people = ("hamlet", "ophelia")
    agencies = [{"agency_id": org.agencies["B"], "quota": 1}]
    r = client.post(
        "/api/meetings",
        json=booking(org, room_id=rooms_a.large, people=people) | {"title": "年终工作部署会", "agencies": agencies},
    )
    assert r.status_code == 201, r.text
    mid = r.json()["meeting"]["id"]
    login(client, "iago")
    r = client.post(
        f"/api/meetings/{mid}/agencies/{org.agencies['B']}/nominees", json={"user_ids": [org.users["othello"]]}
    )
    assert r.status_code == 200, r.text
    login(client, "laertes")
    assert client.post(f"/api/meetings/{mid}/approval", json={"approve": True}).status_code == 200
    login(client, "hamlet")
    convs = _conversations(client)
    group = next(c for c in convs if c["name"] == "会议：年终工作部署会")
    members = {m["user_id"] for m in client.get(f"/api/messages/conversations/{group['id']}/members").json()["items"]}
    assert members == {org.users[u] for u in ("gertrude", *people, "othello")}
    notices = next(c for c in convs if c["kind"] == "notice")
    texts = [m["text"] for m in client.get(f"/api/messages/conversations/{notices['id']}/messages").json()["items"]]
    assert any("年终工作部署会" in t for t in texts)
    login(client, "horatio")  # not invited: no group
    assert all(c["name"] != "会议：年终工作部署会" for c in _conversations(client))


def test_document_waiting_for_you_becomes_a_work_notice(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    body = [{"kind": "paragraph", "text": "请各处室按时报送。"}]
    doc = client.post(
        "/api/docs",
        json={"doc_type": "通知", "title": "关于报送材料的通知", "body": body, "main_recipients": ["各处室"]},
    ).json()
    r = client.post(f"/api/docs/{doc['id']}/actions", json={"action": "submit", "version": doc["version"]})
    assert r.status_code == 200, r.text
    login(client, "polonius")
    notices = next(c for c in _conversations(client) if c["kind"] == "notice")
    assert notices["unread"] >= 1
    items = client.get(f"/api/messages/conversations/{notices['id']}/messages").json()["items"]
    last = items[-1]
    assert "关于报送材料的通知" in last["text"] and last["meta"]["link"] == f"/docs/{doc['id']}"


def test_meeting_invitation_notice_links_to_the_meeting(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    login(client, "gertrude")
    mid = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small)).json()["meeting"]["id"]
    login(client, "ophelia")
    notices = next(c for c in _conversations(client) if c["kind"] == "notice")
    items = client.get(f"/api/messages/conversations/{notices['id']}/messages").json()["items"]
    assert items[-1]["meta"]["link"] == f"/meetings/{mid}"
