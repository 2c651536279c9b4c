"""chat: 新成员可查看历史消息 per conversation; messages found by attachment

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:00:00.000000

``chat_conversation.history_visible``: whether members who joined later read the history from
before them, over HTTP and on websocket resume alike (it was read over HTTP and not replayed). On
for existing conversations, as it is for new ones, so nothing anyone reads today disappears.

``ix_chat_message_attachment``: a download is allowed through a message that shows the file (not
recalled, visible to the reader), looked up by attachment.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy: other tables' rows point at this one).
    op.add_column(
        "chat_conversation", sa.Column("history_visible", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.create_index("ix_chat_message_attachment", "chat_message", ["attachment_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_message_attachment", table_name="chat_message")
    # A plain DROP COLUMN (SQLite >= 3.35): a batch table copy would drop chat_conversation while
    # other tables' foreign keys point at it, which SQLite refuses with foreign keys on.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE chat_conversation DROP COLUMN history_visible")
    else:
        op.drop_column("chat_conversation", "history_visible")
