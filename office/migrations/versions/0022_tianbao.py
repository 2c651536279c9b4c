"""数据填报 (tianbao): the data item registry, stored values and their history, collection scopes,
collection tasks, units' returns and comments on cells

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:00:16.380726
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import office.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("definition", sa.Text(), server_default="", nullable=False),
        sa.Column("unit_label", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("owner_dept_id", sa.Integer(), nullable=False),
        sa.Column("owner_agency_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Enum("month", "quarter", "half", "year", "once", name="itemcycle"), nullable=False),
        sa.Column("level", sa.Enum("public", "internal", "sensitive", name="itemlevel"), nullable=False),
        sa.Column("reader_agency_ids", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("status", sa.Enum("proposed", "active", "rejected", "retired", name="itemstatus"), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=True),
        sa.Column("proposed_by_dept_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("tb_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tb_item_owner_agency_id"), ["owner_agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_item_owner_dept_id"), ["owner_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_item_status"), ["status"], unique=False)

    op.create_table(
        "tb_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_agency_id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collector_agency_id", "root_id", name="uq_tb_scope"),
    )
    with op.batch_alter_table("tb_scope", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tb_scope_collector_agency_id"), ["collector_agency_id"], unique=False)

    op.create_table(
        "tb_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_agency_id", sa.Integer(), nullable=False),
        sa.Column("collector_dept_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("deadline", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("remind_hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("draft", "issued", "withdrawn", "closed", name="taskstatus"), nullable=False),
        sa.Column("withdraw_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tb_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tb_task_collector_agency_id"), ["collector_agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_task_collector_dept_id"), ["collector_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_task_status"), ["status"], unique=False)

    op.create_table(
        "tb_value_current",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("value_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "item_id", "period"),
    )
    op.create_table(
        "tb_return",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_agency_id", sa.Integer(), nullable=False),
        sa.Column("filler_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "filling",
                "in_review",
                "submitted",
                "returned",
                "accepted",
                "withdrawn",
                name="returnstatus",
            ),
            nullable=False,
        ),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("prefilled_count", sa.Integer(), nullable=False),
        sa.Column("typed_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("reminded_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("urged_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tb_task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "unit_id", name="uq_tb_return_unit"),
    )
    with op.batch_alter_table("tb_return", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tb_return_filler_id"), ["filler_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_return_reviewer_id"), ["reviewer_id"], unique=False)
        batch_op.create_index("ix_tb_return_task_status", ["task_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_return_unit_agency_id"), ["unit_agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_return_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "tb_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column(
            "origin", sa.Enum("typed", "xlsx", "computed", "corrected", "owner", name="valueorigin"), nullable=False
        ),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["tb_item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tb_value", schema=None) as batch_op:
        batch_op.create_index("ix_tb_value_key", ["item_id", "unit_id", "period", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tb_value_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "tb_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("column", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["tb_return.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tb_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tb_comment_return_id"), ["return_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tb_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tb_comment_return_id"))

    op.drop_table("tb_comment")
    with op.batch_alter_table("tb_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tb_value_unit_id"))
        batch_op.drop_index("ix_tb_value_key")

    op.drop_table("tb_value")
    with op.batch_alter_table("tb_return", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tb_return_unit_id"))
        batch_op.drop_index(batch_op.f("ix_tb_return_unit_agency_id"))
        batch_op.drop_index("ix_tb_return_task_status")
        batch_op.drop_index(batch_op.f("ix_tb_return_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_tb_return_filler_id"))

    op.drop_table("tb_return")
    op.drop_table("tb_value_current")
    with op.batch_alter_table("tb_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tb_task_status"))
        batch_op.drop_index(batch_op.f("ix_tb_task_collector_dept_id"))
        batch_op.drop_index(batch_op.f("ix_tb_task_collector_agency_id"))

    op.drop_table("tb_task")
    with op.batch_alter_table("tb_scope", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tb_scope_collector_agency_id"))

    op.drop_table("tb_scope")
    with op.batch_alter_table("tb_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tb_item_status"))
        batch_op.drop_index(batch_op.f("ix_tb_item_owner_dept_id"))
        batch_op.drop_index(batch_op.f("ix_tb_item_owner_agency_id"))

    op.drop_table("tb_item")
    # PostgreSQL keeps an enum type after its table goes: drop them, or upgrading again fails.
    if op.get_bind().dialect.name == "postgresql":
        for name in ("returnstatus", "taskstatus", "valueorigin", "itemstatus", "itemlevel", "itemcycle"):
            op.execute(f"DROP TYPE IF EXISTS {name}")
