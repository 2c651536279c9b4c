"""meetings: meeting.client_id, the organiser's idempotency key for a booking

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 19:50:00.000000

A booking whose answer was lost left its organiser unsure whether the room was theirs: trying again
made a second meeting or was refused as a conflict with their own first one. The web client now
sends a ``client_id`` per booking attempt; a repeat with the same key answers the meeting the first
try made (``meetings.booking``). Unique per organiser; NULL (no key) is never a duplicate.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("meeting", sa.Column("client_id", sa.String(length=64), nullable=True))
    op.create_index("uq_meeting_client", "meeting", ["organizer_id", "client_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_meeting_client", table_name="meeting")
    # SQLite's own DROP COLUMN, not a batch copy of the table: other tables' rows point at meetings,
    # and the copy's DROP TABLE meeting fails their foreign keys.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE meeting DROP COLUMN client_id")
    else:
        op.drop_column("meeting", "client_id")
