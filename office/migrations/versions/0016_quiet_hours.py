"""accounts: 免打扰 (quiet hours) per person on user_account

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 09:00:00.000000

``quiet_from`` and ``quiet_to``: minutes after midnight, China time, between which the web client
shows no pop-up notices or system notifications (office/quiet_hours.py). NULL for everyone: off.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table copy: other tables' rows point at this one).
    op.add_column("user_account", sa.Column("quiet_from", sa.Integer(), nullable=True))
    op.add_column("user_account", sa.Column("quiet_to", sa.Integer(), nullable=True))


def downgrade() -> None:
    for column in ("quiet_to", "quiet_from"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE user_account DROP COLUMN {column}")
        else:
            op.drop_column("user_account", column)
