"""Tables for 办文: outgoing documents (发文) with their versions, comments, route templates and
document numbers. Their routes run on the engine's tables (``workflow.models``)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow
from typeset.layout import DocType

# Outgoing documents --------------------------------------------------------------------------------


class Secrecy(str, enum.Enum):
    """Only non-classified material may enter this networked system (条例 第二十六条, GB/T 33481)."""

    none = ""  # 非密
    internal = "内部"


CLASSIFIED_LEVELS = ("秘密", "机密", "绝密")


class Urgency(str, enum.Enum):
    normal = ""
    urgent = "加急"
    very_urgent = "特急"


class DocStatus(str, enum.Enum):
    draft = "draft"  # 拟稿 (also after being returned to the drafter)
    routing = "routing"  # 审核/会签/签发中
    signed = "signed"  # 已签发: body locked
    sealed = "sealed"  # 已用印
    issued = "issued"  # 已核发/分发
    archived = "archived"  # 已归档 (route finished)
    withdrawn = "withdrawn"  # 已撤回


class OutgoingDocument(SQLModel, table=True):
    """A 发文: the draft sheet (发文稿纸) fields, the structured body and its sign-off/seal records.

    ``body`` is a JSON list of blocks ({"kind": "heading", "level", "text"} | {"kind": "paragraph",
    "text"} | {"kind": "list_item", "text"} | {"kind": "table", "rows"}) that the renderer consumes.
    ``version`` is the optimistic lock every change must quote.
    """

    # Search checks who may read each candidate row through this narrow index, not the wide row.
    __table_args__ = (
        Index("ix_doc_outgoing_visibility", "id", "agency_id", "status", "drafter_id", "case_id"),
        # A retried create (the answer was lost) names the same key: one draft, not two.
        Index("ux_doc_outgoing_client", "drafter_id", "client_id", unique=True),
    )

    __tablename__ = "doc_outgoing"
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    case_id: int | None = Field(default=None, foreign_key="wf_case.id")
    doc_type: DocType
    title: str = Field(max_length=200)
    status: DocStatus = Field(default=DocStatus.draft, index=True)
    number_code: str = Field(default="", max_length=20)  # 机关代字, chosen when drafting
    number: str = Field(default="", max_length=60)  # 发文字号, e.g. 粤府办〔2026〕12号
    number_id: int | None = None
    copy_no: str = Field(default="", max_length=20)  # 份号
    secrecy: Secrecy = Field(default=Secrecy.none)
    secrecy_period: str = Field(default="", max_length=40)
    urgency: Urgency = Field(default=Urgency.normal)
    open_attribute: str = Field(default="", max_length=20)  # 公开属性
    main_recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cc_recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    countersign_department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body_hash: str = Field(default="", max_length=64)
    body_version_no: int = 0
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=500)  # 附注
    # 纪要: 出席 / 请假 / 列席, each a list of "单位 姓名" (GB/T 9704 §10.3 attendance block).
    attendance: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    # 联合行文: the other issuing agencies in issuing order, each {"agency_id": int, "name": str}; the
    # document's own agency is the lead (主办) and is not listed. Empty for a single issuer.
    joint_issuers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    drafter_id: int = Field(index=True)
    client_id: str | None = Field(default=None, max_length=64)  # the drafter's idempotency key for the create
    drafting_dept_id: int | None = None
    drafter_phone: str = Field(default="", max_length=40)
    signer_name: str = Field(default="", max_length=100)  # 签发人
    signed_by_id: int | None = None
    signed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    signed_version_no: int | None = None
    signed_hash: str = Field(default="", max_length=64)
    sign_record: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    written_date: date | None = None  # 成文日期: the sign-off date
    issuing_agency_name: str = Field(default="", max_length=100)  # 印发机关
    issued_date: date | None = None  # 印发日期
    seal_record: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))


class DocumentVersion(SQLModel, table=True):
    """A saved state of the title and body (留痕): who saved it, when, at which step."""

    __tablename__ = "doc_version"
    __table_args__ = (UniqueConstraint("document_id", "no"),)
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="doc_outgoing.id", index=True)
    no: int
    title: str = Field(max_length=200)
    body: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body_hash: str = Field(max_length=64)
    # The bound attachments as they were then, in order: [{"file_id", "title", "blocks"}] (留痕 of 附件 pages).
    annexes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    author_id: int
    author_name: str = Field(default="", max_length=100)
    step_name: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class DocumentComment(SQLModel, table=True):
    """讨论: a comment on a document, tied to the body version it was written against."""

    __tablename__ = "doc_comment"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="doc_outgoing.id", index=True)
    version_no: int
    author_id: int
    author_name: str = Field(default="", max_length=100)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class DocAttachment(SQLModel, table=True):
    """An attached file (附件); its name is printed in the 附件说明."""

    __tablename__ = "doc_attachment"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="doc_outgoing.id", index=True)
    name: str = Field(max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    size: int = 0
    sha256: str = Field(max_length=64)
    data: bytes = Field(default=b"")
    # A bound attachment (随文装订) is laid out on its own pages after the body and before the 版记
    # (GB/T 9704 §8): "附件N" top left, ``title`` centred on line 3, ``blocks`` in the body's format.
    bound: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    title: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    uploaded_by: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class RouteTemplate(SQLModel, table=True):
    """An agency's route for one document type (``doc_type`` "*" is the agency's generic route)."""

    __tablename__ = "doc_route_template"
    __table_args__ = (UniqueConstraint("agency_id", "doc_type"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    doc_type: str = Field(max_length=20)
    name: str = Field(max_length=100)
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    revision: int = 1
    updated_by: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class NumberState(str, enum.Enum):
    reserved = "reserved"  # 预留
    assigned = "assigned"  # 已使用
    void = "void"  # 作废 (with a reason; the number is never reused)


class DocNumberCounter(SQLModel, table=True):
    """The last sequence handed out per agency, 代字 and year."""

    __tablename__ = "doc_number_counter"
    agency_id: int = Field(primary_key=True)
    code: str = Field(primary_key=True, max_length=20)
    year: int = Field(primary_key=True)
    last_seq: int = 0


class DocNumber(SQLModel, table=True):
    """Every number ever handed out, so the sequence is gapless and each gap-looking void is explained."""

    __tablename__ = "doc_number"
    __table_args__ = (UniqueConstraint("agency_id", "code", "year", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    code: str = Field(max_length=20)
    year: int
    seq: int
    state: NumberState = Field(default=NumberState.assigned)
    document_id: int | None = Field(default=None, index=True)
    reason: str = Field(default="", max_length=200)
    created_by: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    voided_by: int | None = None
    voided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    void_reason: str = Field(default="", max_length=200)

    @property
    def text(self) -> str:
        return format_number(self.code, self.year, self.seq)


# 纪要 are numbered by 期 in a series of their own per agency and year, not with the 文件 numbers.
MINUTES_SERIES = "纪要"
# 令 are numbered 第N号 in a series of their own per agency that runs on across years (政府令第312号):
# its numbers are all kept under one year, ORDER_SERIES_YEAR.
ORDER_SERIES = "令"
ORDER_SERIES_YEAR = 2000


def format_number(code: str, year: int, seq: int) -> str:
    """发文字号: 机关代字 + 〔年份〕 + 序号 (GB/T 9704-2012 7.2.4: hexagonal brackets, no leading zeros);
    for the 纪要 series the 期号 （第N期）, for the 令 series the 令号 第N号."""
    if code == MINUTES_SERIES:
        return f"（第{seq}期）"
    if code == ORDER_SERIES:
        return f"第{seq}号"
    return f"{code}〔{year}〕{seq}号"


from docs_flow.incoming_models import (  # noqa: E402,F401  (收文, 督办, 归档 and search tables)
    ArchivePackage,
    Circulation,
    CirculationReader,
    DistributionReceipt,
    IncomingDocument,
    IncomingFile,
    SearchDoc,
    SearchTerm,
    SupervisionItem,
)
