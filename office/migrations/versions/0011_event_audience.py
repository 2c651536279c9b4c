"""event audience: group events stored once, resumed through the group's membership

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 15:40:00.000000

A chat message to a 100-person group wrote 100 ``event_recipient`` rows, each into a different
page of the per-user index: a hundred scattered page writes per message, which dominated the
commit. Such events now carry ``stored_event.audience`` ("chat:<conversation id>") and no
recipient rows; ``chat_member.joined_event_id`` and ``chat_member_past`` (memberships that ended)
bound what resume replays to a person. Existing members get 0 (they see what the retention window
still holds, as before).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stored_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_stored_event_audience", ["audience", "id"], unique=False)
    with op.batch_alter_table("chat_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_event_id", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "chat_member_past",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_event_id", sa.Integer(), nullable=False),
        sa.Column("left_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_chat_member_past_user", "chat_member_past", ["user_id", "left_event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_member_past_user", table_name="chat_member_past")
    op.drop_table("chat_member_past")
    with op.batch_alter_table("chat_member", schema=None) as batch_op:
        batch_op.drop_column("joined_event_id")
    with op.batch_alter_table("stored_event", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_event_audience")
        batch_op.drop_column("audience")
