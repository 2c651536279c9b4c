"""chat search on SQLite: FTS5 table chat_message_fts instead of one row per bigram

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 18:30:00.000000

``chat_message_gram`` put one B-tree row (in three indexes) per distinct bigram of every message:
~45 scattered pages per chat send, two thirds of what a send wrote to the WAL. On SQLite the index
moves to the contentless FTS5 table ``chat_message_fts``; existing messages are indexed here and
``chat_message_gram`` is emptied (PostgreSQL keeps using it).

The document format below is a frozen copy of ``messaging.search_index.fts_document`` at this
revision (a migration must not change when application code does); the two must agree, since a
contentless table removes a message's tokens by being given them again.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chat_message_fts USING fts5(text, content='', detail=none, "
    "columnsize=0, tokenize='unicode61 remove_diacritics 0')"
)
BATCH = 2000


def fts_document(conversation_id: int, text: str) -> str:
    t = text.lower()
    keys = sorted({t[i : i + 2] for i in range(len(t) - 1)})
    return " ".join([f"c{conversation_id}", *("g" + "".join(f"{ord(ch):06x}" for ch in k) for k in keys)])


def _indexed_messages(conn: sa.Connection) -> Iterator[list[sa.Row]]:
    """(id, conversation_id, body) of every searchable message, in batches."""
    last = 0
    while rows := conn.execute(
        sa.text(
            "SELECT id, conversation_id, body FROM chat_message WHERE id > :last AND recalled_at IS NULL "
            "AND kind != 'system' ORDER BY id LIMIT :n"
        ),
        {"last": last, "n": BATCH},
    ).all():
        yield list(rows)
        last = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    conn.execute(sa.text(FTS_DDL))
    for rows in _indexed_messages(conn):
        conn.execute(
            sa.text("INSERT INTO chat_message_fts(rowid, text) VALUES (:id, :t)"),
            [{"id": r[0], "t": fts_document(r[1], r[2])} for r in rows],
        )
    conn.execute(sa.text("DELETE FROM chat_message_gram"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    conn.execute(sa.text("DROP TABLE IF EXISTS chat_message_fts"))
    for rows in _indexed_messages(conn):
        grams = []
        for mid, cid, body in rows:
            t = body.lower()
            grams += [{"g": g, "m": mid, "c": cid} for g in {t[i : i + 2] for i in range(len(t) - 1)}]
        if grams:
            conn.execute(
                sa.text("INSERT INTO chat_message_gram(gram, message_id, conversation_id) VALUES (:g, :m, :c)"), grams
            )
