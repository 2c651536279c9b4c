"""banshi: index bs_request.case_id

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:00:00.000000

待我审批 and the reading rule (``banshi.visibility``) find a person's requests through the cases their
tasks are on; without this index SQLite walked every running request (bench/banshi_load_bench.py).
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bs_request_case", "bs_request", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bs_request_case", table_name="bs_request")
