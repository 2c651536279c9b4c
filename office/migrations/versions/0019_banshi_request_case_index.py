"""banshi: index bs_request.case_id, and (agency_id, serial)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:00:00.000000

待我审批 and the reading rule (``banshi.visibility``) find a person's requests through the cases their
tasks are on; without this index SQLite walked every running request (bench/banshi_load_bench.py).
Every submission reads the agency's last 审批编号 of the day (``banshi.service.next_serial``): without
(agency_id, serial) that read every request of the agency, under the write lock.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bs_request_case", "bs_request", ["case_id"], unique=False)
    op.create_index("ix_bs_request_agency_serial", "bs_request", ["agency_id", "serial"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bs_request_agency_serial", table_name="bs_request")
    op.drop_index("ix_bs_request_case", table_name="bs_request")
