"""督办 dashboard: ix_doc_supervision_dash covers what the dashboard's deadline ranges read

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 12:40:00.000000

The index (agency, status, deadline) sent the dashboard's deadline-range counts to the wide rows for
creation and completion times; SQLite prefers it to the covering ``ix_doc_supervision_stats`` for any
query with a deadline bound, so it now carries those columns and the ones the reader's scope and
filters test (department, source, owner).
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NARROW = ["agency_id", "status", "deadline"]
COVERING = [*NARROW, "created_at", "completed_at", "owner_department_id", "source_kind", "owner_user_id"]


def upgrade() -> None:
    op.drop_index("ix_doc_supervision_dash", table_name="doc_supervision")
    op.create_index("ix_doc_supervision_dash", "doc_supervision", COVERING, unique=False)


def downgrade() -> None:
    op.drop_index("ix_doc_supervision_dash", table_name="doc_supervision")
    op.create_index("ix_doc_supervision_dash", "doc_supervision", NARROW, unique=False)
