"""发文: 纪要 attendance (出席 / 请假 / 列席) on doc_outgoing

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 08:00:00.000000

A 纪要 drafted in 办文 printed no attendance block (GB/T 9704 §10.3): the document had nowhere to
keep it. A JSON column, empty for every other document.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy: other tables' rows point at this one).
    op.add_column("doc_outgoing", sa.Column("attendance", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE doc_outgoing DROP COLUMN attendance")
    else:
        op.drop_column("doc_outgoing", "attendance")
