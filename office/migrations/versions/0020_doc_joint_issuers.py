"""发文: 联合行文 (joint issuers) on doc_outgoing

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:10:00.000000

A document issued jointly by several agencies names the other issuers in issuing order; the lead
agency is the document's own. Empty for every single-issuer document.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy: other tables' rows point at this one).
    op.add_column("doc_outgoing", sa.Column("joint_issuers", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE doc_outgoing DROP COLUMN joint_issuers")
    else:
        op.drop_column("doc_outgoing", "joint_issuers")
