"""Tables for 办事 (online approvals): form templates and their versions, requests, 抄送, files, and
the personnel and finance data the built-in forms need (leave balances, travel standards).

A request runs on the route engine (``workflow``): ``bs_request.case_id`` points at its ``wf_case``
(kind ``banshi``), whose route is the concrete list of steps ``banshi.routing`` resolved from the
template's branches at submission. A request keeps the template version it was made with.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow

# Templates ---------------------------------------------------------------------------------------


# A form's code (``FormTemplate.code``): what the designer's API accepts and what a link field's
# ``link_form`` names (banshi.field_defs).
FORM_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class TemplateStatus(str, enum.Enum):
    active = "active"  # staff may start requests on its published version
    disabled = "disabled"  # kept for the requests made on it; nobody starts a new one


class FormTemplate(SQLModel, table=True):
    """An agency's form (请假, 差旅费报销, 采购申请, …). ``builtin`` names the built-in form it came from
    ("leave", "travel", "expense", "vehicle", "reception", "overtime", "supplies", "purchase", "seal"):
    the code that gives those forms their behaviour (leave balances, allowances, seal authorisation)
    keys on it, never on the name an administrator may change."""

    __tablename__ = "bs_template"
    __table_args__ = (UniqueConstraint("agency_id", "code", name="uq_bs_template_code"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    code: str = Field(max_length=40)  # stable per agency (FORM_CODE): "leave", "purchase_2", "form_3", ...
    name: str = Field(max_length=60)
    category: str = Field(default="其他", max_length=20)  # the group on the 发起 page: 人事, 财务, 行政, ...
    description: str = Field(default="", max_length=200)
    builtin: str = Field(default="", max_length=20)
    status: TemplateStatus = Field(default=TemplateStatus.active)
    published_version_id: int | None = None
    # Offices that read every request of this form (人事处 reads leave, 财务处 expenses): department ids.
    reader_department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sort: int = 0
    created_by: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class VersionState(str, enum.Enum):
    draft = "draft"  # being designed; one per template at most
    published = "published"  # the one staff start requests on
    retired = "retired"  # an earlier published version, kept for the requests made on it


class FormVersion(SQLModel, table=True):
    """One version of a template: its fields, its route (branches with conditions and approvers) and
    options. Published versions never change (a request points at the one it was made with)."""

    __tablename__ = "bs_template_version"
    __table_args__ = (UniqueConstraint("template_id", "no", name="uq_bs_template_version_no"),)
    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="bs_template.id", index=True)
    no: int
    state: VersionState = Field(default=VersionState.draft)
    fields: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    route: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    author_id: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    published_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


# Requests ----------------------------------------------------------------------------------------


class RequestStatus(str, enum.Enum):
    draft = "draft"  # saved, not submitted
    running = "running"  # on its route
    returned = "returned"  # 退回 to the applicant: they may change it and submit again
    approved = "approved"  # every step agreed
    rejected = "rejected"  # 拒绝 at some step
    withdrawn = "withdrawn"  # 撤销 by the applicant while nobody had acted


class ApprovalRequest(SQLModel, table=True):
    """One request (申请). ``values`` holds the cleaned form values by field key (money in 分, dates
    ISO); the summary columns (``amount_fen``, ``days``, ``start_date``, ``end_date``) are copied
    out of them at submission for lists and ledgers."""

    __tablename__ = "bs_request"
    __table_args__ = (
        Index("ix_bs_request_applicant", "applicant_id", "id"),
        Index("ix_bs_request_agency_template", "agency_id", "template_id", "id"),
        # 待我审批 and the reading rule find requests by their case (migration 0019); status and agency
        # too, so 待我审批 checks them without reading the request's row (0024).
        Index("ix_bs_request_case", "case_id", "status", "agency_id"),
        Index("ix_bs_request_agency_serial", "agency_id", "serial"),  # the day's last 审批编号 (0019)
        UniqueConstraint("applicant_id", "client_id", name="uq_bs_request_client"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int
    template_id: int = Field(foreign_key="bs_template.id")
    version_id: int = Field(foreign_key="bs_template_version.id")
    serial: str = Field(default="", max_length=20, index=True)  # 审批编号, e.g. 202612070001 (set at submit)
    title: str = Field(max_length=200)  # e.g. 张三的请假申请
    applicant_id: int
    applicant_dept_id: int | None = None
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: RequestStatus = Field(default=RequestStatus.draft, index=True)
    case_id: int | None = Field(default=None, foreign_key="wf_case.id")
    # BIGINT: a money field allows up to 10^14 分, past PostgreSQL's 32-bit INTEGER.
    amount_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    days: float | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    # The system's signature over the canonical request and its route history, once approved.
    proof: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    client_id: str | None = Field(default=None, max_length=64)  # a retried create returns the same draft
    version: int = 1  # optimistic lock (workflow.versioning)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    submitted_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    finished_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class RequestCc(SQLModel, table=True):
    """抄送: a person told of a request (at submission, after a step, or at the end); they may read it."""

    __tablename__ = "bs_request_cc"
    __table_args__ = (
        UniqueConstraint("request_id", "user_id", name="uq_bs_request_cc"),
        Index("ix_bs_request_cc_user", "user_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="bs_request.id")
    user_id: int
    stage: str = Field(default="end", max_length=40)  # "submit", a step key, or "end"
    at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    read_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class RequestFile(SQLModel, table=True):
    """A file attached to a request (an attachment field's value lists these ids) or to a step's
    opinion. Uploaded before the request or the action that uses it; ``request_id`` is set then."""

    __tablename__ = "bs_file"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="bs_request.id", index=True)
    name: str = Field(max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    size: int = 0
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: int = Field(index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


# Personnel: leave ---------------------------------------------------------------------------------


class PersonnelRecord(SQLModel, table=True):
    """What the personnel office keeps about a person for leave: when they started work (累计工作年限
    decides the paid annual leave: 5, 10 or 15 days) and the cases that forfeit it this year."""

    __tablename__ = "bs_personnel"
    user_id: int = Field(primary_key=True)
    work_start: dt.date | None = None  # 参加工作时间
    note: str = Field(default="", max_length=200)
    updated_by: int | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class LeaveEntry(SQLModel, table=True):
    """The leave ledger, append-only: a grant, a use (an approved request), a return (a request
    cancelled after approval) or an adjustment by the personnel office (with its reason). A person's
    balance of a kind in a year is the sum of ``days``."""

    __tablename__ = "bs_leave_entry"
    __table_args__ = (Index("ix_bs_leave_entry_user_year", "user_id", "year", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int
    year: int
    kind: str = Field(max_length=20)  # annual, sick, personal, marriage, maternity, home_visit, ...
    days: float  # + granted / returned, - used
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    request_id: int | None = Field(default=None, foreign_key="bs_request.id")
    by_id: int | None = None
    at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


# Finance: travel standards -------------------------------------------------------------------------


class TravelStandard(SQLModel, table=True):
    """差旅费标准, per agency: the lodging cap (住宿费, per night) and the allowances (伙食补助费,
    市内交通费, per day) by destination and rank. Editable by the finance office; the shipped rows
    are examples (``is_example``) until it confirms them."""

    __tablename__ = "bs_travel_standard"
    __table_args__ = (UniqueConstraint("agency_id", "region", "rank", name="uq_bs_travel_standard"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    region: str = Field(max_length=40)  # 省 or 省/市 as typed in the form; "*" is everywhere else
    rank: str = Field(max_length=20)  # 部级, 司局级, 其他人员
    lodging_fen: int  # cap per night
    meal_fen: int  # 伙食补助费 per day
    transport_fen: int  # 市内交通费 per day
    is_example: bool = True
    updated_by: int | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


# Who is who for 办事 in an agency -----------------------------------------------------------------


class LeaderAssignment(SQLModel, table=True):
    """分管领导 of a department (``kind`` "supervisor"), or the agency's 主要领导 (``kind`` "principal",
    ``department_id`` the agency's own id). Approver kinds ``supervisor`` and ``principal`` read it."""

    __tablename__ = "bs_leader"
    department_id: int = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=12)
    user_id: int
    updated_by: int | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class AgencyOffices(SQLModel, table=True):
    """The offices 办事 needs in an agency: the personnel office (人事处: leave balances, sees leave)
    and the finance office (财务处: travel standards, sees expenses, the ledgers)."""

    __tablename__ = "bs_offices"
    agency_id: int = Field(primary_key=True)
    personnel_department_id: int | None = None
    finance_department_id: int | None = None
    updated_by: int | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
