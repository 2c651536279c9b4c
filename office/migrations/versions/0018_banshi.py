"""办事 (banshi): form templates and their versions, requests, 抄送, files, the leave ledger and
personnel records, travel standards, 分管领导/主要领导 and the agency's offices

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00.000000

New tables only. ``bs_request.amount_fen`` is BIGINT: a money field allows up to 10^14 分.
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import office.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bs_leader",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("department_id", "kind"),
    )
    op.create_table(
        "bs_offices",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("personnel_department_id", sa.Integer(), nullable=True),
        sa.Column("finance_department_id", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency_id"),
    )
    op.create_table(
        "bs_personnel",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("work_start", sa.Date(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "bs_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("builtin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sa.Enum("active", "disabled", name="templatestatus"), nullable=False),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.Column("reader_department_ids", sa.JSON(), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "code", name="uq_bs_template_code"),
    )
    op.create_index(op.f("ix_bs_template_agency_id"), "bs_template", ["agency_id"], unique=False)
    op.create_table(
        "bs_travel_standard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("rank", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("lodging_fen", sa.Integer(), nullable=False),
        sa.Column("meal_fen", sa.Integer(), nullable=False),
        sa.Column("transport_fen", sa.Integer(), nullable=False),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "region", "rank", name="uq_bs_travel_standard"),
    )
    op.create_index(op.f("ix_bs_travel_standard_agency_id"), "bs_travel_standard", ["agency_id"], unique=False)
    op.create_table(
        "bs_template_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("no", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum("draft", "published", "retired", name="versionstate"), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["bs_template.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "no", name="uq_bs_template_version_no"),
    )
    op.create_index(op.f("ix_bs_template_version_template_id"), "bs_template_version", ["template_id"], unique=False)
    op.create_table(
        "bs_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("applicant_dept_id", sa.Integer(), nullable=True),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "running", "returned", "approved", "rejected", "withdrawn", name="requeststatus"),
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("days", sa.Float(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("proof", sa.JSON(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["wf_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["bs_template.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["bs_template_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("applicant_id", "client_id", name="uq_bs_request_client"),
    )
    op.create_index("ix_bs_request_agency_template", "bs_request", ["agency_id", "template_id", "id"], unique=False)
    op.create_index("ix_bs_request_applicant", "bs_request", ["applicant_id", "id"], unique=False)
    op.create_index(op.f("ix_bs_request_serial"), "bs_request", ["serial"], unique=False)
    op.create_index(op.f("ix_bs_request_status"), "bs_request", ["status"], unique=False)
    op.create_table(
        "bs_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("created_at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["bs_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_bs_file_request_id"), "bs_file", ["request_id"], unique=False)
    op.create_index(op.f("ix_bs_file_uploaded_by"), "bs_file", ["uploaded_by"], unique=False)
    op.create_table(
        "bs_leave_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["bs_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bs_leave_entry_user_year", "bs_leave_entry", ["user_id", "year", "kind"], unique=False)
    op.create_table(
        "bs_request_cc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("at", office.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", office.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["bs_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "user_id", name="uq_bs_request_cc"),
    )
    op.create_index("ix_bs_request_cc_user", "bs_request_cc", ["user_id", "id"], unique=False)


def downgrade() -> None:
    # WARNING: constraint name is None; this directive will fail as
    # rendered.  Add a name, or use a naming convention; see
    # https://alembic.sqlalchemy.org/en/latest/naming.html
    op.drop_index("ix_bs_request_cc_user", table_name="bs_request_cc")
    op.drop_table("bs_request_cc")
    op.drop_index("ix_bs_leave_entry_user_year", table_name="bs_leave_entry")
    op.drop_table("bs_leave_entry")
    op.drop_index(op.f("ix_bs_file_uploaded_by"), table_name="bs_file")
    op.drop_index(op.f("ix_bs_file_request_id"), table_name="bs_file")
    op.drop_table("bs_file")
    op.drop_index(op.f("ix_bs_request_status"), table_name="bs_request")
    op.drop_index(op.f("ix_bs_request_serial"), table_name="bs_request")
    op.drop_index("ix_bs_request_applicant", table_name="bs_request")
    op.drop_index("ix_bs_request_agency_template", table_name="bs_request")
    op.drop_table("bs_request")
    op.drop_index(op.f("ix_bs_template_version_template_id"), table_name="bs_template_version")
    op.drop_table("bs_template_version")
    op.drop_index(op.f("ix_bs_travel_standard_agency_id"), table_name="bs_travel_standard")
    op.drop_table("bs_travel_standard")
    op.drop_index(op.f("ix_bs_template_agency_id"), table_name="bs_template")
    op.drop_table("bs_template")
    op.drop_table("bs_personnel")
    op.drop_table("bs_offices")
    op.drop_table("bs_leader")
    # PostgreSQL keeps an enum type after its table goes: drop them, or upgrading again fails.
    if op.get_bind().dialect.name == "postgresql":
        for name in ("requeststatus", "versionstate", "templatestatus"):
            op.execute(f"DROP TYPE IF EXISTS {name}")
