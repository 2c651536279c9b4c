"""The chat search index, written in the same transaction as the message it indexes.

A message is found by any two or more consecutive characters of its text, Chinese or not, case
aside. Its index keys are therefore its distinct lower-cased character bigrams (``office.bigrams``,
the document index's keys too): every message
containing a query contains all of the query's bigrams, and a LIKE over the text confirms. Text,
file and image messages are indexed while not recalled; system messages never.

* **SQLite:** the contentless FTS5 table ``chat_message_fts`` (rowid = message id, ``detail=none``,
  ``columnsize=0``). A message's document is its conversation's token (``c42``) followed by one
  token per bigram, written as the hex of both code points (``g006d88 00606f`` without the space),
  so that spaces and punctuation are bigram characters like any other and the ``unicode61``
  tokenizer keeps every token whole. Why not rows: a B-tree row per bigram put ~45 random pages
  into the WAL per chat message, two thirds of what a send wrote and a third of its time; FTS5
  writes a transaction's postings as one small segment (~5 pages) and merges segments as it goes.
  Contentless means a message's tokens are removed by giving them again: :func:`unindex` needs
  the text as it was indexed. The token format is part of the stored index (migration 0012 keeps
  a frozen copy): change it only with a migration that rebuilds the table.
* **PostgreSQL:** ``chat_message_gram`` rows (gram, message, conversation), searched through the
  rarest of the query's bigrams.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, text
from sqlmodel import Session

from messaging.models import MessageGram, MessageKind
from office.bigrams import bigrams
from office.db import escape_like, insert_plain_rows, raw_many

FTS_TABLE = "chat_message_fts"
FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, content='', detail=none, "
    "columnsize=0, tokenize='unicode61 remove_diacritics 0')"
)
_GRAM = MessageGram.__table__  # type: ignore[attr-defined]
_FTS_INSERT = f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (?, ?)"
_FTS_DELETE = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', ?, ?)"
# Up to this many conversations go into the FTS query as tokens (c1 OR c2 ...): the index then
# skips other conversations' matches. Beyond it the SQL filter alone restricts them.
MAX_CONVERSATION_TOKENS = 64


def gram_token(gram: str) -> str:
    return "g" + "".join(f"{ord(ch):06x}" for ch in gram)


def conversation_token(conversation_id: int) -> str:
    return f"c{conversation_id}"


def fts_document(conversation_id: int, text_: str) -> str:
    """What the FTS table is given for one message (sorted, so the same text always gives the same)."""
    return " ".join([conversation_token(conversation_id), *map(gram_token, sorted(bigrams(text_)))])


def indexed(kind: MessageKind | str, recalled: bool) -> bool:
    return not recalled and MessageKind(kind) != MessageKind.system


def is_sqlite(conn: Any) -> bool:
    return bool(conn.dialect.name == "sqlite")


def index(conn: Any, rows: Sequence[tuple[int, int, str]]) -> None:
    """Index messages ``(id, conversation_id, text)`` that :func:`indexed` says belong in the index."""
    if not rows:
        return
    if is_sqlite(conn):
        raw_many(conn, _FTS_INSERT, [(mid, fts_document(cid, body)) for mid, cid, body in rows])
        return
    insert_plain_rows(
        conn,
        _GRAM,
        ("gram", "message_id", "conversation_id"),
        [(g, mid, cid) for mid, cid, body in rows for g in bigrams(body)],
    )


def unindex(conn: Any, message_id: int, conversation_id: int, indexed_text: str) -> None:
    """Remove one message from the index; ``indexed_text`` is its text as it was indexed."""
    if is_sqlite(conn):
        conn.exec_driver_sql(_FTS_DELETE, (message_id, fts_document(conversation_id, indexed_text)))
        return
    conn.execute(delete(MessageGram).where(MessageGram.message_id == message_id))  # type: ignore[arg-type]


def candidates(session: Session, q: str, floors: Mapping[int, int], *, before_id: int | None, limit: int) -> list[int]:
    """Ids of messages containing ``q`` (2+ characters), newest first, in the conversations of
    ``floors``, after each one's floor: the newest seq the searcher may not read (0 for none,
    ``rules.history_floor``)."""
    conv_ids = sorted(floors)
    like = f"%{escape_like(q.lower())}%"
    marks = ", ".join(f":c{i}" for i in range(len(conv_ids)))
    params: dict[str, Any] = {f"c{i}": c for i, c in enumerate(conv_ids)}
    params.update(like=like, limit=limit, before=before_id or (1 << 62))
    confirm = f"m.conversation_id IN ({marks}) AND m.recalled_at IS NULL AND lower(m.body) LIKE :like ESCAPE '\\'"
    hidden = [(i, floors[c]) for i, c in enumerate(conv_ids) if floors[c] > 0]
    if hidden:  # conversations that show this searcher only what came after they joined
        params.update({f"f{i}": floor for i, floor in hidden})
        confirm += " AND m.seq > CASE m.conversation_id " + " ".join(f"WHEN :c{i} THEN :f{i}" for i, _ in hidden)
        confirm += " ELSE 0 END"
    conn = session.connection()
    if is_sqlite(conn):
        keys = [f'"{gram_token(g)}"' for g in sorted(bigrams(q))]
        if len(conv_ids) <= MAX_CONVERSATION_TOKENS:
            keys.insert(0, "(" + " OR ".join(f'"{conversation_token(c)}"' for c in conv_ids) + ")")
        params["match"] = " AND ".join(keys)
        # CROSS JOIN keeps the FTS table outermost: it yields ids newest first and the LIMIT stops it.
        sql = (
            f"SELECT f.rowid FROM {FTS_TABLE} f CROSS JOIN chat_message m ON m.id = f.rowid "
            f"WHERE f.{FTS_TABLE} MATCH :match AND f.rowid < :before AND {confirm} "
            "ORDER BY f.rowid DESC LIMIT :limit"
        )
    else:
        params["gram"] = _rarest(session, sorted(bigrams(q)))
        sql = (
            "SELECT g.message_id FROM chat_message_gram g JOIN chat_message m ON m.id = g.message_id "
            f"WHERE g.gram = :gram AND g.conversation_id IN ({marks}) AND g.message_id < :before AND {confirm} "
            "ORDER BY g.message_id DESC LIMIT :limit"
        )
    return [row[0] for row in session.execute(text(sql), params)]


RARITY_PROBE = 5000


def _rarest(session: Session, keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    best, best_n = keys[0], None
    for k in keys[:8]:
        n = session.execute(
            text("SELECT count(*) FROM (SELECT 1 FROM chat_message_gram WHERE gram = :g LIMIT :n) t"),
            {"g": k, "n": RARITY_PROBE},
        ).scalar_one()
        if best_n is None or n < best_n:
            best, best_n = k, n
    return best


def rebuild(session: Session, *, batch: int = 2000) -> int:
    """Empty the index and index every message again (after a token format change). Returns the count."""
    conn = session.connection()
    if is_sqlite(conn):
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
    else:
        conn.execute(delete(MessageGram))
    last, n = 0, 0
    while True:
        rows = conn.execute(
            text(
                "SELECT id, conversation_id, body FROM chat_message WHERE id > :last "
                "AND recalled_at IS NULL AND kind != 'system' ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": batch},
        ).all()
        if not rows:
            return n
        index(conn, [(r[0], r[1], r[2]) for r in rows])
        last, n = rows[-1][0], n + len(rows)


__all__ = ["candidates", "fts_document", "index", "indexed", "rebuild", "unindex"]
