"""The chat search index (``messaging.search_index``) follows every send, edit and recall, on both
databases, and finds any two or more consecutive characters, whatever they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from messaging import messages, search, search_index
from messaging.sendbatch import SendBatch, SendOp
from office.bigrams import bigrams
from office.groupcommit import _run_items
from tests.factories import Org
from tests.messaging.helpers import group, send


def texts(org: Org, user: str, q: str, **kw: Any) -> list[str]:
    with org.db.read() as s:
        return [h["message"]["text"] for h in search.search(s, org.actor(user), q, **kw)["items"]]


def in_index(org: Org, cid: int, q: str) -> set[int]:
    """Messages the index itself holds for every bigram of ``q`` (before any LIKE confirms)."""
    keys = sorted(bigrams(q))
    with org.db.read() as s:
        if s.get_bind().dialect.name == "sqlite":
            match = " AND ".join([f'"c{cid}"', *(f'"{search_index.gram_token(k)}"' for k in keys)])
            rows = s.execute(text("SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH :q"), {"q": match})
            return set(rows.scalars())
        sets = [
            set(
                s.execute(
                    text("SELECT message_id FROM chat_message_gram WHERE gram = :g AND conversation_id = :c"),
                    {"g": k, "c": cid},
                ).scalars()
            )
            for k in keys
        ]
        return set.intersection(*sets)


def fts_consistent(org: Org) -> None:
    with org.db.write() as s:
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text("INSERT INTO chat_message_fts(chat_message_fts, rank) VALUES ('integrity-check', 0)"))


def test_any_two_characters_are_found_punctuation_spaces_and_mid_word_included(org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    send(org, "hamlet", g, "Meeting at 3PM, 会议室 A-301！")
    send(org, "ophelia", g, "100%_完成 a\\b")
    for q in ["eeting", "MEET", "t 3", "3pm,", "A-3", "室 a", "301！", "会议"]:
        assert texts(org, "hamlet", q) == ["Meeting at 3PM, 会议室 A-301！"], q
    assert texts(org, "ophelia", "0%_完") == ["100%_完成 a\\b"]
    assert texts(org, "ophelia", "a\\b") == ["100%_完成 a\\b"]
    assert texts(org, "ophelia", "0%x") == [] and texts(org, "ophelia", "0_") == []  # LIKE wildcards are literal
    assert texts(org, "hamlet", "会议室已订") == []  # every bigram occurs, the phrase does not
    fts_consistent(org)


def test_the_index_follows_edits_and_recalls_through_both_write_paths(org: Org) -> None:
    g = group(org, "hamlet", "组", ["ophelia"])
    orm = send(org, "hamlet", g, "第一版方案")
    with org.db.write() as s:  # the group-commit fast path
        ((ok, batched),) = _run_items(s, [SendOp(org.actor("ophelia"), g, {"text": "批量发送的方案"})])
    assert ok and SendOp(org.actor("ophelia"), g, {"text": "x"}).batch_type is SendBatch
    assert sorted(texts(org, "hamlet", "方案")) == ["批量发送的方案", "第一版方案"]
    with org.db.write() as s:
        messages.edit_message(s, org.actor("hamlet"), conversation_id=g, seq=orm["seq"], text="第二版计划")
    assert texts(org, "hamlet", "方案") == ["批量发送的方案"]
    assert texts(org, "hamlet", "二版计") == ["第二版计划"] and texts(org, "hamlet", "一版") == []
    assert in_index(org, g, "方案") == {batched["id"]} and in_index(org, g, "计划") == {orm["id"]}
    with org.db.write() as s:
        messages.recall_message(s, org.actor("ophelia"), conversation_id=g, seq=batched["seq"])
        messages.recall_message(s, org.actor("hamlet"), conversation_id=g, seq=orm["seq"])
    assert texts(org, "hamlet", "方案") == [] and texts(org, "hamlet", "计划") == []
    assert in_index(org, g, "方案") == set() and in_index(org, g, "计划") == set()
    fts_consistent(org)
    with org.db.write() as s:
        assert search_index.rebuild(s) >= 0
    send(org, "hamlet", g, "重建后的方案")
    assert texts(org, "hamlet", "方案") == ["重建后的方案"]
    fts_consistent(org)


def test_only_the_users_conversations_newest_first_and_paged(org: Org) -> None:
    mine = group(org, "hamlet", "我的组", ["ophelia"])
    other = group(org, "othello", "别人的组", ["iago"])
    for i in range(5):
        send(org, "hamlet", mine, f"周报第{i}期")
        send(org, "othello", other, f"周报第{i}期（外）")
    with org.db.read() as s:
        first = search.search(s, org.actor("hamlet"), "周报", limit=3)
        assert [h["message"]["text"] for h in first["items"]] == ["周报第4期", "周报第3期", "周报第2期"]
        rest = search.search(s, org.actor("hamlet"), "周报", limit=3, before_id=first["next_before_id"])
        assert [h["message"]["text"] for h in rest["items"]] == ["周报第1期", "周报第0期"]
        assert rest["next_before_id"] is None


def test_members_of_many_conversations_are_filtered_by_sql_beyond_the_token_list(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = [group(org, "hamlet", f"组{i}", ["ophelia"]) for i in range(3)]
    other = group(org, "othello", "别人的组", ["iago"])
    for cid in [*mine, other]:
        send(org, "othello" if cid == other else "hamlet", cid, f"通知{cid}")
    monkeypatch.setattr(search_index, "MAX_CONVERSATION_TOKENS", 1)
    assert sorted(texts(org, "hamlet", "通知")) == sorted(f"通知{c}" for c in mine)
    assert texts(org, "hamlet", "通知", conversation_id=mine[1]) == [f"通知{mine[1]}"]


def test_migration_indexes_messages_already_present(tmp_path: Path) -> None:
    from alembic import command

    from office.config import load_settings
    from office.db import Database
    from office.migrate import alembic_config, pending_differences, upgrade

    db = Database(load_settings({}, data_dir=tmp_path, testing=True))
    if not db.is_sqlite:
        pytest.skip("the FTS5 index is SQLite's")
    command.upgrade(alembic_config(db), "0011")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO chat_conversation (id, kind, name, announcement, muted_all, last_seq, "
                "last_message_at, created_at) VALUES (5, 'group', '组', '', 0, 3, '2026-11-01 00:00:00', "
                "'2026-11-01 00:00:00')"
            )
        )
        for seq, kind, body, recalled in [
            (1, "text", "河湖治理情况", None),
            (2, "system", "张伟加入了群聊", None),
            (3, "text", "", "2026-11-01 00:01:00"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO chat_message (id, conversation_id, seq, kind, body, mentions, mention_all, "
                    "is_ding, meta, created_at, recalled_at) VALUES (:id, 5, :seq, :kind, :body, '[]', 0, 0, "
                    "'{}', '2026-11-01 00:00:00', :r)"
                ),
                {"id": 10 + seq, "seq": seq, "kind": kind, "body": body, "r": recalled},
            )
        conn.execute(text("INSERT INTO chat_message_gram (gram, message_id, conversation_id) VALUES ('河湖', 11, 5)"))
    upgrade(db)
    with db.engine.connect() as conn:
        match = text("SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH :q")
        q = " AND ".join(f'"{search_index.gram_token(g)}"' for g in bigrams("湖治理"))
        assert conn.execute(match, {"q": f'"c5" AND {q}'}).scalars().all() == [11]
        assert conn.execute(match, {"q": '"c5"'}).scalars().all() == [11]  # not the system or recalled message
        assert conn.execute(text("SELECT count(*) FROM chat_message_gram")).scalar() == 0
        conn.execute(text("INSERT INTO chat_message_fts(chat_message_fts, rank) VALUES ('integrity-check', 0)"))
    assert pending_differences(db) == []
    db.dispose()


def test_the_migration_keeps_a_faithful_copy_of_the_document_format() -> None:
    import importlib

    frozen = importlib.import_module("office.migrations.versions.0012_chat_search_fts")
    for cid, body in [(1, "Meeting at 3PM, 会议室 A-301！"), (42, "x"), (7, ""), (3, "İstanbul ß 𠀋𠀋 \t\n")]:
        assert frozen.fts_document(cid, body) == search_index.fts_document(cid, body)
