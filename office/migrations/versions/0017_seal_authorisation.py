"""esign: 用印授权 (approved 用印申请) — esign_seal.requires_authorisation, esign_seal_authorisation,
esign_seal_use.authorisation_id

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:30:00.000000

A seal the keeper marks ``requires_authorisation`` is applied only under an approved 用印申请
(``esign.authorisations``); each grant names the one file (SHA-256) and how many uses it allows, and
every 用印登记 row made under it links to it. Existing seals: off (no change for them).
"""

import sqlalchemy as sa
from alembic import op

import office.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "esign_seal", sa.Column("requires_authorisation", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "esign_seal_authorisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seal_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("times_allowed", sa.Integer(), nullable=False),
        sa.Column("times_used", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["seal_id"], ["esign_seal.id"]),
        sa.ForeignKeyConstraint(["applicant_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("seal_id", "agency_id", "reference"):
        op.create_index(f"ix_esign_seal_authorisation_{column}", "esign_seal_authorisation", [column], unique=False)
    # Plain ADD COLUMN: esign_seal_use is append-only (triggers refuse the table copy a batch would make).
    # SQLite adds a column's REFERENCES inline (no ALTER ... ADD CONSTRAINT there).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE esign_seal_use ADD COLUMN authorisation_id INTEGER REFERENCES esign_seal_authorisation (id)"
        )
    else:
        op.add_column("esign_seal_use", sa.Column("authorisation_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_esign_seal_use_authorisation",
            "esign_seal_use",
            "esign_seal_authorisation",
            ["authorisation_id"],
            ["id"],
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("ALTER TABLE esign_seal_use DROP COLUMN authorisation_id")
    else:
        op.drop_constraint("fk_esign_seal_use_authorisation", "esign_seal_use", type_="foreignkey")
        op.drop_column("esign_seal_use", "authorisation_id")
    for column in ("reference", "agency_id", "seal_id"):
        op.drop_index(f"ix_esign_seal_authorisation_{column}", table_name="esign_seal_authorisation")
    op.drop_table("esign_seal_authorisation")
    if sqlite:
        op.execute("ALTER TABLE esign_seal DROP COLUMN requires_authorisation")
    else:
        op.drop_column("esign_seal", "requires_authorisation")
