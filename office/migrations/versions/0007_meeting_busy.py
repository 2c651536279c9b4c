"""meetings: materialised per-person busy time (meeting_busy), backfilled from existing meetings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 10:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import office.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The same rows meetings/busy.py writes, spelled out here so this migration does not change when
# the models do. Enum columns hold member names, which equal their values.
BACKFILL = (
    "INSERT INTO meeting_busy (occurrence_id, user_id, meeting_id, start_at, end_at, tentative) "
    "SELECT o.id, a.user_id, o.meeting_id, o.start_at, o.end_at, (a.rsvp = 'tentative' OR m.status = 'pending') "
    "FROM meeting_attendee a JOIN meeting_occurrence o ON o.meeting_id = a.meeting_id "
    "JOIN meeting m ON m.id = a.meeting_id "
    "WHERE a.rsvp NOT IN ('declined', 'delegated') AND o.status = 'active'"
)


def upgrade() -> None:
    op.create_table(
        "meeting_busy",
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("start_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tentative", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("occurrence_id", "user_id"),
    )
    # Indexes after the backfill: building them once is cheaper than maintaining them row by row.
    op.execute(BACKFILL)
    with op.batch_alter_table("meeting_busy", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_busy_meeting_user", ["meeting_id", "user_id"], unique=False)
        batch_op.create_index(
            "ix_meeting_busy_user_start", ["user_id", "start_at", "end_at", "meeting_id", "tentative"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting_busy", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_busy_user_start")
        batch_op.drop_index("ix_meeting_busy_meeting_user")

    op.drop_table("meeting_busy")
