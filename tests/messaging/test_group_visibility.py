"""Picking people for a group follows the directory's cross-agency rule (``office.directory.visibility``,
as ``open_direct`` does): a person of another agency the picker does not see answers exactly as a
missing id, and nothing is created or changed. Existing memberships stay; a meeting's chat holds
its attendees whoever they are (the meeting's rules chose them, not a member's pick).

Agency B (省财政厅, 办公室) has 郑军 (othello, 科员), 冯涛 (iago, 主任) and 何芳 (desdemona, 厅长): hamlet
sees only 何芳 of them."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from office.db import Database
from office.models import AuditEntry
from tests.factories import Org, settings_changed
from tests.messaging.helpers import group, user_client

P = "/api/messages"
MISSING = 999999


def _same_refusal(hidden: Any, missing: Any, hidden_id: int) -> None:
    assert hidden.status_code == missing.status_code == 422, hidden.text
    assert hidden.json()["error"] == missing.json()["error"] == "unknown_user"
    assert hidden.json()["message"].replace(str(hidden_id), "N") == missing.json()["message"].replace(str(MISSING), "N")


def _chat_audit(db: Database) -> list[str]:
    """What members did to groups (the lazy repair of department groups is the system's)."""
    picks = ("chat.group_create", "chat.member_add")
    with db.read() as s:
        return list(s.exec(select(AuditEntry.action).where(col(AuditEntry.action).in_(picks))).all())


def test_a_group_of_a_hidden_person_is_refused_as_of_a_missing_one(db: Database, client: Any, org: Org) -> None:
    ham, u = user_client(client.app, "hamlet"), org.users
    audited = _chat_audit(db)
    for others in ([], [u["ophelia"]]):  # alone, and beside someone one may pick
        missing = ham.post(f"{P}/conversations", json={"name": "专项组", "member_ids": [*others, MISSING]})
        hidden = ham.post(f"{P}/conversations", json={"name": "专项组", "member_ids": [*others, u["othello"]]})
        _same_refusal(hidden, missing, u["othello"])
    assert [c for c in ham.get(f"{P}/conversations").json()["items"] if c["kind"] == "group"] == []
    assert _chat_audit(db) == audited  # nothing created, nothing recorded
    ok = ham.post(f"{P}/conversations", json={"name": "专项组", "member_ids": [u["desdemona"], u["ophelia"]]})
    assert ok.status_code == 201, ok.text  # another agency's 厅长 shows, one's own agency all do
    with settings_changed(db, directory_across_agencies=True):
        assert ham.post(f"{P}/conversations", json={"name": "组", "member_ids": [u["othello"]]}).status_code == 201
    prospero = user_client(client.app, "prospero")  # an administrator sees everyone
    assert prospero.post(f"{P}/conversations", json={"name": "组", "member_ids": [u["othello"]]}).status_code == 201


def test_adding_a_hidden_person_is_refused_and_existing_members_stay(db: Database, client: Any, org: Org) -> None:
    ham, u = user_client(client.app, "hamlet"), org.users
    g = group(org, "hamlet", "专项组", ["ophelia"])

    def members() -> set[int]:
        return {m["user_id"] for m in ham.get(f"{P}/conversations/{g}/members").json()["items"]}

    before, audited = members(), _chat_audit(db)
    missing = ham.post(f"{P}/conversations/{g}/members", json={"user_ids": [u["horatio"], MISSING]})
    hidden = ham.post(f"{P}/conversations/{g}/members", json={"user_ids": [u["horatio"], u["othello"]]})
    _same_refusal(hidden, missing, u["othello"])
    assert members() == before and _chat_audit(db) == audited  # horatio was not added either
    with settings_changed(db, directory_across_agencies=True):  # added while everyone showed
        assert ham.post(f"{P}/conversations/{g}/members", json={"user_ids": [u["othello"]]}).json()["added"] == [
            u["othello"]
        ]
    again = ham.post(f"{P}/conversations/{g}/members", json={"user_ids": [u["othello"], u["desdemona"]]})
    assert again.status_code == 200 and again.json()["added"] == [u["desdemona"]], again.text  # othello stays
    assert u["othello"] in members()
    oph = user_client(client.app, "ophelia")  # hamlet made her an admin: she picks by her own sight
    assert ham.put(f"{P}/conversations/{g}/members/{u['ophelia']}", json={"role": "admin"}).status_code == 204
    _same_refusal(
        oph.post(f"{P}/conversations/{g}/members", json={"user_ids": [u["iago"]]}),
        oph.post(f"{P}/conversations/{g}/members", json={"user_ids": [MISSING]}),
        u["iago"],
    )
