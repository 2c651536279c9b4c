"""Other agencies' staff in the directory and presence (``office.directory.visibility``): by default
one sees one's own agency and, of another agency, its 机关领导 and 收发员 only (cross-agency 公文
goes through them); presence adds the people one shares a conversation with.
``OFFICE_DIRECTORY_ACROSS_AGENCIES`` shows everyone; administrators always see everyone.

Agency B (省财政厅, 办公室) has 郑军 (othello, 科员), 冯涛 (iago, 主任) and 何芳 (desdemona, 厅长)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from office.config import load_settings
from office.db import Database
from office.directory import lookup
from tests.factories import Org, login, new_client, settings_changed


def _names(c: TestClient, q: str, **params: Any) -> list[str]:
    r = c.get("/api/directory/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [p["name"] for p in r.json()["items"]]


def _as(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c


def test_the_default_hides_other_agencies_staff(tmp_path: Any) -> None:
    assert load_settings({}, data_dir=tmp_path).directory_across_agencies is False
    assert load_settings({"OFFICE_DIRECTORY_ACROSS_AGENCIES": "1"}, data_dir=tmp_path).directory_across_agencies


def test_search_shows_ones_own_agency_and_other_agencies_leaders(client: TestClient, org: Org) -> None:
    ham = _as(client, "hamlet")
    for _ in range(2):  # the second answer may come from the event-loop fast path: the same rule
        assert "何芳" in _names(ham, "hefang")  # 厅长 of 省财政厅: whom cross-agency 公文 reaches
        assert _names(ham, "zhengjun") == [] and _names(ham, "fengtao") == []  # their 科员 and 主任
        assert _names(ham, "郑") == [] and _names(ham, "办公室") == ["何芳"]
        assert "李娜" in _names(ham, "lina")  # one's own agency, whatever the role
    assert _names(_as(client, "othello"), "lina") == []  # the other way round too
    assert "孙丽" in _names(_as(client, "othello"), "sunli")  # 收发员 of 省政府办公厅
    assert "郑军" in _names(_as(client, "prospero"), "zhengjun")  # an administrator sees everyone
    with client.app.state.db.read() as s:  # the SQL search, used while a large index is built: the same
        for q in ("办公室", "z", "zhengjun", "he", "ke", "处长", "主任", "hefang", "sunli"):
            assert _names(ham, q) == [p["name"] for p in lookup.search(s, org.actor("hamlet"), q)], q
        assert [p["name"] for p in lookup.search(s, org.actor("hamlet"), "办公室")] == ["何芳"]


def test_the_setting_shows_everyone(db: Database, client: TestClient, org: Org) -> None:
    ham = _as(client, "hamlet")
    assert _names(ham, "zhengjun") == []
    with settings_changed(db, directory_across_agencies=True):
        assert _names(ham, "zhengjun") == ["郑军"]
        with db.read() as s:
            assert [p["name"] for p in lookup.search(s, org.actor("hamlet"), "zhengjun")] == ["郑军"]
        members = ham.get(f"/api/directory/departments/{org.depts['B1']}/members").json()
        assert members["total"] == 3


def test_another_agencys_department_lists_only_whom_the_rule_admits(client: TestClient, org: Org) -> None:
    ham = _as(client, "hamlet")
    members = ham.get(f"/api/directory/departments/{org.depts['B1']}/members").json()
    assert members["total"] == 1 and [p["name"] for p in members["items"]] == ["何芳"]
    own = ham.get(f"/api/directory/departments/{org.depts['A1']}/members", params={"limit": 3}).json()
    assert own["total"] == 7 and len(own["items"]) == 3
    # The tree still names every agency and department: 公文 is addressed to them.
    assert [n["name"] for n in ham.get("/api/directory/tree").json()["items"]] == ["省政府办公厅", "省财政厅"]


@pytest.mark.parametrize("across", [False, True])
def test_presence_follows_the_same_rule_and_adds_shared_conversations(
    db: Database, client: TestClient, org: Org, across: bool
) -> None:
    ham = _as(client, "hamlet")
    u = org.users
    ids = [u["ophelia"], u["othello"], u["iago"], u["desdemona"]]

    def watched() -> set[int]:
        r = ham.get("/api/messages/presence", params={"user_ids": ",".join(map(str, ids))})
        assert r.status_code == 200, r.text
        return {int(k) for k in r.json()["statuses"]}

    with settings_changed(db, directory_across_agencies=across):
        if across:
            assert watched() == set(ids)
            return
        assert watched() == {u["ophelia"], u["desdemona"]}
        with settings_changed(db, directory_across_agencies=True):  # a contact made while all showed
            r = ham.post("/api/messages/direct", json={"user_id": u["othello"]})
            assert r.status_code in (200, 201), r.text
        assert watched() == {u["ophelia"], u["othello"], u["desdemona"]}  # a contact keeps the dot
        again = ham.post("/api/messages/direct", json={"user_id": u["othello"]})  # and stays open
        assert again.status_code in (200, 201) and again.json()["id"] == r.json()["id"], again.text


def test_a_hidden_persons_card_answers_as_missing(db: Database, client: TestClient, org: Org) -> None:
    ham, u = _as(client, "hamlet"), org.users
    missing = ham.get("/api/directory/people/999999")
    hidden = ham.get(f"/api/directory/people/{u['othello']}")  # 科员 of 省财政厅
    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert {**hidden.json(), "request_id": ""} == {**missing.json(), "request_id": ""}
    assert ham.get(f"/api/directory/people/{u['desdemona']}").json()["name"] == "何芳"  # its 厅长 shows
    assert ham.get(f"/api/directory/people/{u['ophelia']}").status_code == 200  # one's own agency
    assert _as(client, "othello").get(f"/api/directory/people/{u['hamlet']}").status_code == 404
    assert _as(client, "othello").get(f"/api/directory/people/{u['gertrude']}").status_code == 200  # 收发员
    assert _as(client, "prospero").get(f"/api/directory/people/{u['othello']}").status_code == 200  # admin
    with settings_changed(db, directory_across_agencies=True):
        assert ham.get(f"/api/directory/people/{u['othello']}").json()["name"] == "郑军"


def test_a_direct_chat_with_a_hidden_person_is_refused_as_with_a_missing_one(
    db: Database, client: TestClient, org: Org
) -> None:
    ham, u = _as(client, "hamlet"), org.users
    missing = ham.post("/api/messages/direct", json={"user_id": 999999})
    hidden = ham.post("/api/messages/direct", json={"user_id": u["othello"]})
    assert hidden.status_code == missing.status_code == 422, hidden.text
    assert hidden.json()["error"] == missing.json()["error"] == "unknown_user"
    assert hidden.json()["message"].replace(str(u["othello"]), "N") == missing.json()["message"].replace("999999", "N")
    kinds = [c["kind"] for c in ham.get("/api/messages/conversations").json()["items"]]
    assert "direct" not in kinds, kinds  # nothing was created
    ok = ham.post("/api/messages/direct", json={"user_id": u["desdemona"]})  # another agency's 厅长
    assert ok.status_code in (200, 201), ok.text
    with settings_changed(db, directory_across_agencies=True):
        assert ham.post("/api/messages/direct", json={"user_id": u["othello"]}).status_code in (200, 201)
