"""发文 create idempotency: doc_outgoing.client_id, unique per drafter

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 19:30:00.000000

A create whose answer was lost (a dropped connection, a crash after the commit) left the drafter
unsure whether to press 创建草稿 again; a second press made a second draft. The page now sends a key
per form, and a create repeating a key returns the draft made the first time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("doc_outgoing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ux_doc_outgoing_client", ["drafter_id", "client_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("doc_outgoing", schema=None) as batch_op:
        batch_op.drop_index("ux_doc_outgoing_client")
        batch_op.drop_column("client_id")
