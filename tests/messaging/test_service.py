"""Service-level behaviour: sequence numbers, idempotent sends, unread counts, receipts, recall,
edits, DING, department groups following the directory, 工作通知, search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from messaging import department_groups, messages, paging, search, service
from messaging.models import Message, MessageEdit
from office import events
from office.actor import SYSTEM
from office.db import utcnow
from office.directory import service as directory
from office.directory.service import PostSpec
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from tests.factories import Org
from tests.messaging.helpers import capture_events, config, dept_group, group, send


def test_seq_is_per_conversation_and_unread_excludes_own(db, org: Org) -> None:
    g1 = group(org, "hamlet", "项目组", ["ophelia", "horatio"])
    g2 = group(org, "hamlet", "另一个组", ["ophelia"])
    a = send(org, "hamlet", g1, "第一条")
    b = send(org, "ophelia", g1, "第二条")
    c = send(org, "hamlet", g2, "别处")
    assert (a["seq"], b["seq"]) == (2, 3)  # seq 1 is the "created the group" system message
    assert c["seq"] == 2
    with db.read() as s:
        ham = {i["id"]: i["unread"] for i in service.list_conversations(s, org.actor("hamlet"))["items"]}
        hor = service.unread_counts(s, org.actor("horatio"))
    assert ham[g1] == 1  # ophelia's message only; his own never count
    assert hor["conversations"][str(g1)] == 3
    with db.write() as s:
        messages.mark_read(s, org.actor("horatio"), conversation_id=g1, seq=2)
        messages.mark_read(s, org.actor("horatio"), conversation_id=g1, seq=1)  # never moves back
    with db.read() as s:
        assert service.unread_counts(s, org.actor("horatio"))["conversations"][str(g1)] == 1


def test_client_id_makes_retries_idempotent(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    first = send(org, "hamlet", g, "你好", client_id="abc-1")
    again = send(org, "hamlet", g, "你好", client_id="abc-1")
    assert again["id"] == first["id"] and again["seq"] == first["seq"] and again["duplicate"] is True
    with db.read() as s:
        assert len(s.exec(select(Message).where(Message.client_id == "abc-1")).all()) == 1


def test_bad_sends_store_nothing(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    with db.read() as s:
        before = len(s.exec(select(Message)).all())
    with pytest.raises(NotFound):
        send(org, "othello", g, "我不是成员")
    with pytest.raises(ValidationError) as info:
        send(org, "hamlet", g, "长" * 10_001)
    assert info.value.code == "text_too_long"
    with pytest.raises(ValidationError):
        send(org, "hamlet", g, "   ")
    with pytest.raises(PermissionDenied):
        send(org, "ophelia", g, "@所有人 开会", mention_all=True)
    with db.read() as s:
        assert len(s.exec(select(Message)).all()) == before


def test_read_lists_for_the_sender_only(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia", "horatio"])
    m = send(org, "hamlet", g, "请阅")
    with db.write() as s:
        messages.mark_read(s, org.actor("ophelia"), conversation_id=g, seq=m["seq"])
    with db.read() as s:
        lists = messages.read_list(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"])
        assert [p["name"] for p in lists["read"]] == ["李娜"]
        assert [p["name"] for p in lists["unread"]] == ["刘洋"]
        page = paging.history(s, org.actor("hamlet"), conversation_id=g)
        mine = next(i for i in page["items"] if i["seq"] == m["seq"])
        assert (mine["read_count"], mine["unread_count"]) == (1, 1)
        with pytest.raises(PermissionDenied):
            messages.read_list(s, org.actor("ophelia"), conversation_id=g, seq=m["seq"])


def test_replying_reads_what_came_before_and_tells_its_senders(db, org: Org) -> None:
    # Found in the browser: 李娜's message stayed "未读" for her after 张伟 answered it, because his
    # send moved his read position past it without a chat.read.
    g = group(org, "hamlet", "组", ["ophelia", "horatio"])
    question = send(org, "ophelia", g, "下午开会吗？")
    with capture_events("chat.") as seen:
        answer = send(org, "hamlet", g, "开，三点")
    reads = [e for e in seen if e.type == "chat.read"]
    assert len(reads) == 1
    payload = reads[0].payload
    assert (payload["user_id"], payload["seq"], payload["unread"]) == (org.users["hamlet"], answer["seq"], 0)
    assert payload["from_seq"] < question["seq"]
    assert org.users["ophelia"] in reads[0].user_ids
    with db.read() as s:
        page = paging.history(s, org.actor("ophelia"), conversation_id=g)
        mine = next(i for i in page["items"] if i["seq"] == question["seq"])
        assert (mine["read_count"], mine["unread_count"]) == (1, 1)
    # Nothing unread before it: a send publishes no chat.read.
    with capture_events("chat.read") as seen:
        send(org, "hamlet", g, "请准时")
    assert seen == []


def test_ding_recipients_travel_with_the_live_message(db, org: Org) -> None:
    # The page shows 收到 from the live chat.message, so its meta must name the DING recipients.
    g = group(org, "hamlet", "组", ["ophelia", "horatio"])
    with capture_events("chat.message") as seen:
        out = send(org, "hamlet", g, "请确认", ding=True, ding_user_ids=[org.users["ophelia"]])
    assert out["meta"]["ding_user_ids"] == [org.users["ophelia"]]
    assert seen[0].payload["message"]["meta"]["ding_user_ids"] == [org.users["ophelia"]]


def test_recall_window_and_edit_after_recall(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    m = send(org, "hamlet", g, "说错了")
    with db.write() as s, pytest.raises(PermissionDenied):
        messages.recall_message(s, org.actor("ophelia"), conversation_id=g, seq=m["seq"])
    with db.write() as s:
        messages.edit_message(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"], text="改正")
    with db.write() as s:
        out = messages.recall_message(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"])
    assert out["recalled"] and out["text"] == "" and out["recall_notice"] == "张伟撤回了一条消息"
    with db.read() as s:
        assert s.exec(select(MessageEdit)).all() == []  # the edit history went with it
    with db.write() as s, pytest.raises(InvalidTransition):
        messages.edit_message(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"], text="再改")
    late = send(org, "hamlet", g, "很久以前")
    with db.write() as s, pytest.raises(InvalidTransition) as info:
        messages.recall_message(
            s, org.actor("hamlet"), conversation_id=g, seq=late["seq"], now=utcnow() + timedelta(seconds=121)
        )
    assert info.value.code == "recall_window"
    with config(db, recall_seconds=600), db.write() as s:
        messages.recall_message(
            s, org.actor("hamlet"), conversation_id=g, seq=late["seq"], now=utcnow() + timedelta(seconds=121)
        )


def test_edit_keeps_history(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    m = send(org, "hamlet", g, "版本一")
    with db.write() as s:
        messages.edit_message(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"], text="版本二")
        messages.edit_message(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"], text="版本三")
    with db.read() as s:
        hist = messages.edit_history(s, org.actor("ophelia"), conversation_id=g, seq=m["seq"])
        page = paging.history(s, org.actor("ophelia"), conversation_id=g)
    assert [h["text"] for h in hist] == ["版本一", "版本二"]
    assert page["items"][-1]["text"] == "版本三" and page["items"][-1]["edited_at"]


def test_ding_ack_pending_and_reminders(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia", "horatio"])
    m = send(org, "hamlet", g, "紧急：下午三点开会", ding=True)
    with db.read() as s:
        st = messages.ding_status(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"])
    assert sorted(p["name"] for p in st["pending"]) == ["刘洋", "李娜"] and st["acked"] == []
    with capture_events("chat.ding") as seen, db.write() as s:
        messages.ding_ack(s, org.actor("ophelia"), conversation_id=g, seq=m["seq"])
    ack = next(e for e in seen if e.type == "chat.ding_ack")
    assert ack.payload["pending"] == 1 and set(ack.user_ids) == {org.users["hamlet"], org.users["ophelia"]}
    with db.write() as s:
        assert messages.send_ding_reminders(s) == 0  # not due yet
    with capture_events("chat.ding_remind") as seen, db.write() as s:
        assert messages.send_ding_reminders(s, now=utcnow() + timedelta(seconds=301)) == 1
    assert [e.user_ids for e in seen] == [(org.users["horatio"],)]
    with db.write() as s, pytest.raises(NotFound):
        messages.ding_ack(s, org.actor("hamlet"), conversation_id=g, seq=m["seq"])  # the sender isn't a recipient


def test_department_groups_follow_the_directory(db, org: Org) -> None:
    department_groups.sync_all_department_groups(db)
    a1, a2 = dept_group(db, org.depts["A1"]), dept_group(db, org.depts["A2"])
    with db.read() as s:
        names = {i["id"]: i["name"] for i in service.list_conversations(s, org.actor("hamlet"))["items"]}
    assert names[a1] == "综合处" and a2 not in names
    with db.write() as s:
        directory.set_posts(s, SYSTEM, org.users["hamlet"], [PostSpec(department_id=org.depts["A2"])])
    with db.write() as s:
        department_groups.sync_user_departments(s, org.users["hamlet"])
    with db.read() as s:
        ids = {i["id"] for i in service.list_conversations(s, org.actor("hamlet"))["items"]}
    assert a2 in ids and a1 not in ids
    with db.write() as s, pytest.raises(PermissionDenied):
        service.leave(s, org.actor("hamlet"), a2)


def test_directory_event_resyncs_through_the_running_app(client, db, org: Org) -> None:
    department_groups.sync_all_department_groups(db)
    a2 = dept_group(db, org.depts["A2"])
    with db.write() as s:
        directory.set_posts(s, SYSTEM, org.users["othello"], [PostSpec(department_id=org.depts["A2"])])
    with db.read() as s:
        members = [m["user_id"] for m in service.list_members(s, org.actor("horatio"), a2)]
    assert org.users["othello"] in members


def test_notify_events_become_work_notices(client, db, org: Org) -> None:
    with db.write() as s:
        events.publish_on_commit(
            s,
            "notify.document",
            {
                "user_ids": [org.users["ophelia"]],
                "title": "请审批公文",
                "body": "《关于开会的通知》",
                "link": "/docs/12",
                "source": "docs_flow",
            },
        )
        with events.unchecked():  # malformed on purpose: ignored, logged
            events.publish_on_commit(s, "notify.bad", {"user_ids": "all", "title": 1})
    with db.read() as s:
        items = service.list_conversations(s, org.actor("ophelia"))["items"]
    notice = next(i for i in items if i["kind"] == "notice")
    assert notice["name"] == "工作通知" and notice["unread"] == 1
    assert notice["last_message"]["meta"]["link"] == "/docs/12"
    with pytest.raises(PermissionDenied):
        send(org, "ophelia", notice["id"], "回复")


def test_search_chinese_two_and_more_chars_only_my_conversations(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    other = group(org, "othello", "外单位", ["iago"])
    send(org, "hamlet", g, "关于下周会议的安排")
    send(org, "ophelia", g, "会议室已经订好")
    send(org, "hamlet", g, "Meeting at 3PM")
    send(org, "othello", other, "会议纪要（外单位）")
    with db.read() as s:
        hits = search.search(s, org.actor("hamlet"), "会议")["items"]
        assert sorted(h["message"]["text"] for h in hits) == ["会议室已经订好", "关于下周会议的安排"]
        assert [h["message"]["text"] for h in search.search(s, org.actor("hamlet"), "会议的安")["items"]] == [
            "关于下周会议的安排"
        ]
        assert len(search.search(s, org.actor("hamlet"), "meeting")["items"]) == 1
        assert search.search(s, org.actor("hamlet"), "50%")["items"] == []
        with pytest.raises(ValidationError):
            search.search(s, org.actor("hamlet"), "会")
        with pytest.raises(NotFound):
            search.search(s, org.actor("hamlet"), "会议", conversation_id=other)


def test_group_management_permissions(db, org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia", "horatio"])
    with db.write() as s, pytest.raises(PermissionDenied):
        service.add_members(s, org.actor("ophelia"), g, user_ids=[org.users["laertes"]])
    with db.write() as s:
        service.set_member_role(s, org.actor("hamlet"), g, org.users["ophelia"], role=service.MemberRole.admin)
    with db.write() as s:
        service.add_members(s, org.actor("ophelia"), g, user_ids=[org.users["laertes"]])
        service.update_group(s, org.actor("ophelia"), g, name="新名字", announcement="明天放假")
    with db.write() as s, pytest.raises(PermissionDenied):
        service.remove_member(s, org.actor("ophelia"), g, org.users["hamlet"])
    with config(db, group_limit=4), db.write() as s, pytest.raises(ValidationError):
        service.add_members(s, org.actor("hamlet"), g, user_ids=[org.users["polonius"]])
    with db.write() as s:
        service.leave(s, org.actor("hamlet"), g)  # ownership passes to the admin
    with db.read() as s:
        roles = {m["name"]: m["role"] for m in service.list_members(s, org.actor("ophelia"), g)}
    assert roles["李娜"] == "owner" and "张伟" not in roles
    with db.write() as s:
        service.dissolve(s, org.actor("ophelia"), g)
    with pytest.raises(InvalidTransition):
        send(org, "horatio", g, "还在吗")
