"""发文: bound attachments (随文装订的附件) with their own title and body blocks

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 16:10:00.000000

An attachment could only be a file whose name the 附件说明 printed. A bound attachment is laid out
on its own pages after the body and before the 版记 (GB/T 9704): it needs a title and a body. Each
saved version (doc_version) keeps them as they were (``annexes``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = ("bound", "title", "blocks")


def upgrade() -> None:
    op.add_column("doc_attachment", sa.Column("bound", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("doc_attachment", sa.Column("title", sa.String(200), nullable=False, server_default=""))
    op.add_column("doc_attachment", sa.Column("blocks", sa.JSON(), nullable=False, server_default="[]"))
    # 留痕: each saved version keeps the bound attachments as they were.
    op.add_column("doc_version", sa.Column("annexes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE doc_version DROP COLUMN annexes")
    else:
        op.drop_column("doc_version", "annexes")
    for name in reversed(COLUMNS):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE doc_attachment DROP COLUMN {name}")
        else:
            op.drop_column("doc_attachment", name)
