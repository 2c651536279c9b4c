"""消息's 待办 source on the 工作台 (messaging/todo.py): a DING waits on its recipients' lists until each
confirms it; it goes when recalled or when the person leaves the conversation; the sender sees it
under 我发起的. Nothing reaches anyone else."""

from __future__ import annotations

from starlette.testclient import TestClient

from messaging import messages, service
from messaging.todo import Dings
from office.db import utcnow
from tests.factories import Org, login
from tests.messaging.helpers import group, send

EVERYONE = ("hamlet", "ophelia", "polonius", "horatio", "othello", "iago")


def listed(org: Org, box: str = "todo") -> dict[str, list[str]]:
    out = {}
    with org.db.read() as s:
        for name in EVERYONE:
            actor = org.actor(name)
            found = [i.key for i in Dings().items(s, actor, box=box, now=utcnow(), limit=50)]
            if box == "todo":
                assert Dings().count(s, actor, now=utcnow()) == len(found), name
            if found:
                out[name] = found
    return out


def test_a_ding_waits_for_each_recipient_until_confirmed(client: TestClient, org: Org) -> None:
    cid = group(org, "polonius", "综合处工作群", ["hamlet", "ophelia", "horatio"])
    ding = send(
        org, "polonius", cid, "下午三点前报送材料", ding=True, ding_user_ids=[org.users["hamlet"], org.users["ophelia"]]
    )
    plain = send(org, "polonius", cid, "普通消息")
    key = str(ding["id"])
    assert listed(org) == {"hamlet": [key], "ophelia": [key]}  # not 刘洋, not the sender, not agency B
    with org.db.read() as s:
        (item,) = Dings().items(s, org.actor("hamlet"), box="todo", now=utcnow(), limit=5)
    assert item.link == f"#/messages/{cid}?seq={ding['seq']}" and item.urgent and "王强" in item.detail
    assert item.title == "下午三点前报送材料" and plain["seq"] == ding["seq"] + 1
    with org.db.write() as s:
        messages.ding_ack(s, org.actor("hamlet"), conversation_id=cid, seq=ding["seq"])
    assert listed(org) == {"ophelia": [key]}
    assert listed(org, "done") == {"hamlet": [key]}
    assert listed(org, "mine") == {"polonius": [key]}
    with org.db.write() as s:
        service.leave(s, org.actor("ophelia"), cid)
    assert listed(org) == {}  # she can no longer open it


def test_a_recalled_ding_is_no_longer_waiting(client: TestClient, org: Org) -> None:
    cid = group(org, "hamlet", "小组", ["ophelia"])
    ding = send(org, "hamlet", cid, "请确认", ding=True)
    assert listed(org) == {"ophelia": [str(ding["id"])]}
    with org.db.write() as s:
        messages.recall_message(s, org.actor("hamlet"), conversation_id=cid, seq=ding["seq"])
    assert listed(org) == {}


def test_http_summary_counts_the_ding(client: TestClient, org: Org) -> None:
    cid = group(org, "hamlet", "小组", ["ophelia"])
    send(org, "hamlet", cid, "请确认", ding=True)
    login(client, "ophelia")
    summary = client.get("/api/todo/summary").json()
    assert {k["kind"]: k["count"] for k in summary["kinds"]}["ding"] == 1
    assert summary["recent"][0]["kind"] == "ding" and summary["recent"][0]["action"] == "确认收到"
    login(client, "othello")
    assert client.get("/api/todo/summary").json()["total"] == 0
