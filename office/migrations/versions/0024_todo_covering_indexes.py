"""banshi 待我审批: ix_wf_task_assignee_state holds the case id, ix_bs_request_case the status and agency

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 20:10:00.000000

待我审批 (``banshi.listing.todo_ids``) goes from a person's pending tasks to their cases and on to the
requests. With the case id in the task index and the request's status and agency in the case index, it
reads neither the task rows nor the request rows: for an approver with 2,000 pending requests among
10^6, 39 M SQLite instructions became 18 M (bench/banshi_load_bench.py).
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_wf_task_assignee_state", table_name="wf_task")
    op.create_index("ix_wf_task_assignee_state", "wf_task", ["assignee_id", "state", "case_id"], unique=False)
    op.drop_index("ix_bs_request_case", table_name="bs_request")
    op.create_index("ix_bs_request_case", "bs_request", ["case_id", "status", "agency_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bs_request_case", table_name="bs_request")
    op.create_index("ix_bs_request_case", "bs_request", ["case_id"], unique=False)
    op.drop_index("ix_wf_task_assignee_state", table_name="wf_task")
    op.create_index("ix_wf_task_assignee_state", "wf_task", ["assignee_id", "state"], unique=False)
