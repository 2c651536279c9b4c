"""search and 督办 at scale: FTS5 index of documents on SQLite, covering indexes for search and dashboard

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 10:10:00

On SQLite the search index moves from the bigram table ``doc_search_term`` (hundreds of millions of
rows at a million documents) to the contentless FTS5 table ``doc_search_fts``, fed pre-split tokens
(CJK runs as overlapping bigrams, other letters/digits as lower-cased words). Existing documents are
indexed here; ``doc_search_term`` is emptied on SQLite (PostgreSQL keeps using it).

The tokeniser below is a frozen copy of ``docs_flow.search_index.fts_tokens`` at this revision (a
migration must not change when application code does); the two must agree, since a contentless table
removes a document's tokens by being given them again. A later tokeniser change needs its own
migration that rebuilds the table.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS doc_search_fts USING fts5(text, content='', "
    "tokenize='unicode61 remove_diacritics 0')"
)
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
RUNS = re.compile(f"([{CJK}]+)|[^\\W{CJK}_]+")
BATCH = 2000


def fts_tokens(text: str) -> str:
    out: list[str] = []
    for m in RUNS.finditer(text.lower()):
        run = m.group()
        if m.group(1) is not None and len(run) > 1:
            out.extend(map(str.__add__, run, run[1:]))
        else:
            out.append(run)
    return " ".join(out)


def _rows(conn: sa.Connection, last: int) -> list[sa.Row]:
    return list(
        conn.execute(
            sa.text("SELECT id, title, number, agencies, body FROM doc_search WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        )
    )


VISIBILITY = {
    "doc_search": ["id", "doc_kind", "doc_id", "agency_id", "status", "doc_type", "year", "doc_date"],
    "doc_incoming": ["id", "agency_id", "lead_department_id", "created_by", "case_id"],
    "doc_outgoing": ["id", "agency_id", "status", "drafter_id", "case_id"],
}


STATS = [
    "agency_id",
    "status",
    "owner_department_id",
    "deadline",
    "created_at",
    "completed_at",
    "handling_hours",
    "escalation_level",
    "source_kind",
    "owner_user_id",
]


def upgrade() -> None:
    with op.batch_alter_table("wf_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wf_task_acted_by_id"), ["acted_by_id"], unique=False)
    for table, columns in VISIBILITY.items():  # narrow covering indexes the search probes row by row
        op.create_index(f"ix_{table}_visibility", table, columns, unique=False)
    op.create_index("ix_doc_supervision_stats", "doc_supervision", STATS, unique=False)
    if op.get_bind().dialect.name != "sqlite":
        return
    conn = op.get_bind()
    conn.execute(sa.text(FTS_DDL))
    last = 0
    while rows := _rows(conn, last):
        conn.execute(
            sa.text("INSERT INTO doc_search_fts(rowid, text) VALUES (:id, :t)"),
            [{"id": r.id, "t": fts_tokens(f"{r.title} {r.number} {r.agencies} {r.body}")} for r in rows],
        )
        last = rows[-1].id
    conn.execute(sa.text("DELETE FROM doc_search_term"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        conn = op.get_bind()
        conn.execute(sa.text("DROP TABLE IF EXISTS doc_search_fts"))
        last = 0
        while rows := _rows(conn, last):  # the bigram table again, as 0006 kept it
            for r in rows:
                t = f"{r.title} {r.number} {r.agencies} {r.body}".lower()
                keys = {t[i : i + 2] for i in range(len(t) - 1) if not t[i : i + 2].isspace()}
                conn.execute(
                    sa.text(
                        "INSERT INTO doc_search_term(term, doc_kind, doc_id) "
                        "SELECT :k, doc_kind, doc_id FROM doc_search WHERE id = :id"
                    ),
                    [{"k": k, "id": r.id} for k in keys],
                )
            last = rows[-1].id
    op.drop_index("ix_doc_supervision_stats", table_name="doc_supervision")
    for table in VISIBILITY:
        op.drop_index(f"ix_{table}_visibility", table_name=table)
    with op.batch_alter_table("wf_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wf_task_acted_by_id"))
