"""cache_change: the change log that keeps per-process actor caches and the directory index exact

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

import office.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cache_change",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_cache_change_at"), "cache_change", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cache_change_at"), table_name="cache_change")
    op.drop_table("cache_change")
