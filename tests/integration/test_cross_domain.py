"""Domains meet only through events: a booked meeting becomes a chat group and 工作通知 messages;
a document waiting for someone becomes a 工作通知 message with a link to it."""

from __future__ import annotations

from sqlmodel import select
from starlette.testclient import TestClient

from office.models import AuditEntry
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


def _members(client: TestClient, conversation_id: int) -> set[int]:
    items = client.get(f"/api/messages/conversations/{conversation_id}/members").json()["items"]
    return {m["user_id"] for m in items}


def test_meeting_chat_follows_the_people_the_meeting_adds_and_removes(
    client: TestClient, org: Org, rooms_a: Rooms
) -> None:
    # The small room needs no approval: the meeting, and its chat, exist at once. Then 省财政厅's
    # contact nominates othello, the organiser adds ophelia, hamlet declines (he stays: declining
    # is an answer, not a removal) and is then removed (he leaves the chat).
    login(client, "gertrude")
    agencies = [{"agency_id": org.agencies["B"], "quota": 1}]
    body = booking(org, room_id=rooms_a.small, people=("hamlet",)) | {"title": "专题协调会", "agencies": agencies}
    r = client.post("/api/meetings", json=body)
    assert r.status_code == 201, r.text
    mid = r.json()["meeting"]["id"]
    group = next(c for c in _conversations(client) if c["name"] == "会议：专题协调会")
    assert _members(client, group["id"]) == {org.users["gertrude"], org.users["hamlet"]}
    login(client, "iago")
    r = client.post(
        f"/api/meetings/{mid}/agencies/{org.agencies['B']}/nominees", json={"user_ids": [org.users["othello"]]}
    )
    assert r.status_code == 200, r.text
    login(client, "gertrude")
    r = client.post(f"/api/meetings/{mid}/attendees", json={"attendees": [{"user_id": org.users["ophelia"]}]})
    assert r.status_code == 200, r.text
    everyone = {org.users[u] for u in ("gertrude", "hamlet", "othello", "ophelia")}
    assert _members(client, group["id"]) == everyone
    r = client.post(f"/api/messages/conversations/{group['id']}/messages", json={"text": "请带上材料"})
    assert r.status_code in (200, 201), r.text
    for newcomer in ("othello", "ophelia"):
        login(client, newcomer)
        assert any(c["id"] == group["id"] for c in _conversations(client))
        texts = [m["text"] for m in client.get(f"/api/messages/conversations/{group['id']}/messages").json()["items"]]
        assert "请带上材料" in texts
    login(client, "hamlet")
    r = client.post(f"/api/meetings/{mid}/rsvp", json={"status": "declined", "reason": "出差"})
    assert r.status_code == 200, r.text
    login(client, "gertrude")
    assert _members(client, group["id"]) == everyone
    assert client.delete(f"/api/meetings/{mid}/attendees/{org.users['hamlet']}").status_code in (200, 204)
    assert _members(client, group["id"]) == everyone - {org.users["hamlet"]}
    login(client, "hamlet")
    assert all(c["id"] != group["id"] for c in _conversations(client))


def test_meeting_members_changed_handled_twice_changes_nothing(client: TestClient, org: Org, rooms_a: Rooms) -> None:
    # Each change is one audited membership change; the same events delivered again change nothing.
    from messaging import subscribers
    from office import events

    login(client, "gertrude")
    r = client.post("/api/meetings", json=booking(org, room_id=rooms_a.small, people=("hamlet",)) | {"title": "碰头会"})
    mid = r.json()["meeting"]["id"]
    group = next(c for c in _conversations(client) if c["name"] == "会议：碰头会")
    seen: list[events.Event] = []

    def record(_db: object, ev: events.Event) -> None:
        seen.append(ev)

    events.subscribe("meeting.members_changed", record)
    try:
        client.post(f"/api/meetings/{mid}/attendees", json={"attendees": [{"user_id": org.users["ophelia"]}]})
        assert client.delete(f"/api/meetings/{mid}/attendees/{org.users['hamlet']}").status_code in (200, 204)
    finally:
        events.unsubscribe(record)
    assert [e.payload for e in seen] == [
        {"meeting_id": mid, "added": [org.users["ophelia"]], "removed": []},
        {"meeting_id": mid, "added": [], "removed": [org.users["hamlet"]]},
    ]

    def syncs() -> int:
        with org.db.read() as s:
            return len(s.exec(select(AuditEntry).where(AuditEntry.action == "chat.rule_group_sync")).all())

    assert syncs() == 2
    for ev in seen:  # delivered again
        subscribers.on_meeting_members_changed(org.db, ev)
    assert syncs() == 2
    assert _members(client, group["id"]) == {org.users["gertrude"], org.users["ophelia"]}
    # meeting.created again (a meeting confirmed anew after a room change) keeps the one group.
    created = {"meeting_id": mid, "title": "碰头会", "organizer_id": org.users["gertrude"], "member_ids": []}
    subscribers.on_meeting_created(org.db, events.Event("meeting.created", created))
    assert [c["id"] for c in _conversations(client) if c["name"] == "会议：碰头会"] == [group["id"]]
    # A substitute sent (代参会) joins; withdrawn, leaves.
    login(client, "ophelia")
    sub = {"status": "delegated", "substitute_id": org.users["horatio"]}
    assert client.post(f"/api/meetings/{mid}/rsvp", json=sub).status_code == 200
    assert org.users["horatio"] in _members(client, group["id"])
    assert client.post(f"/api/meetings/{mid}/rsvp", json={"status": "accepted"}).status_code == 200
    assert org.users["horatio"] not in _members(client, group["id"])
