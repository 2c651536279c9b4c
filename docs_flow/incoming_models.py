"""Tables for 收文 (incoming documents), 分发回执, 传阅, 督办, 归档 and the document search index.

收文 rides on the generic engine (``wf_case`` of kind ``incoming_document``); these tables hold what
the engine does not know: the registration data, the files, the handling results.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow


class IncomingSource(str, enum.Enum):
    internal = "internal"  # distributed by another agency inside Tongban
    paper = "paper"  # 纸质来文, scanned
    electronic = "electronic"  # external electronic document


class IncomingStatus(str, enum.Enum):
    """Where a 收文 stands; ``archived`` is final and immutable, ``returned`` means refused at 初审."""

    received = "received"  # 待签收
    signed = "signed"  # 已签收, 待登记
    registered = "registered"  # 已登记, 待初审
    reviewed = "reviewed"  # 初审通过, 待拟办
    proposed = "proposed"  # 已拟办, 待批办
    handling = "handling"  # 已批办, 承办中
    replying = "replying"  # 承办完毕, 待答复/办结
    archived = "archived"  # 已办结归档
    returned = "returned"  # 初审退回


class IncomingDocument(SQLModel, table=True):
    """A 收文: how it arrived, its registration (收文编号), the 拟办/批办 opinions and handling results."""

    __tablename__ = "doc_incoming"
    # Search checks who may read each candidate row through this narrow index, not the wide row.
    __table_args__ = (
        Index("ix_doc_incoming_visibility", "id", "agency_id", "lead_department_id", "created_by", "case_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    case_id: int | None = Field(default=None, foreign_key="wf_case.id")
    source: IncomingSource = Field(default=IncomingSource.paper)
    source_agency_id: int | None = None
    source_agency_name: str = Field(default="", max_length=100)
    source_document_id: int | None = Field(default=None, index=True)  # the outgoing document, if internal
    original_number: str = Field(default="", max_length=60)  # 来文字号
    title: str = Field(max_length=200)
    doc_type: str = Field(default="", max_length=20)
    urgency: str = Field(default="", max_length=10)
    secrecy: str = Field(default="", max_length=10)
    copies: int = 1
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    signed_for_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    signed_for_by: int | None = None
    reg_number: str = Field(default="", max_length=60)  # 收文编号
    reg_number_id: int | None = None
    deadline: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    status: IncomingStatus = Field(default=IncomingStatus.received, index=True)
    return_reason: str = Field(default="", max_length=500)
    proposal: str = Field(default="", sa_column=Column(Text, nullable=False))  # 拟办意见
    instruction: str = Field(default="", sa_column=Column(Text, nullable=False))  # 批办意见
    instructed_by: int | None = None
    lead_department_id: int | None = None  # 主办
    co_department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # 协办
    results: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reply_document_id: int | None = None  # an outgoing document started as the reply
    created_by: int = 0
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))


class IncomingFile(SQLModel, table=True):
    """A file of a 收文: the main document (Word file or scan), attachments, handling replies."""

    __tablename__ = "doc_incoming_file"
    id: int | None = Field(default=None, primary_key=True)
    incoming_id: int = Field(foreign_key="doc_incoming.id", index=True)
    role: str = Field(default="main", max_length=20)  # main | attachment | reply | signature
    name: str = Field(max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    size: int = 0
    sha256: str = Field(max_length=64)
    data: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class DistributionReceipt(SQLModel, table=True):
    """回执: one addressee of a distributed outgoing document and how far its copy has got."""

    __tablename__ = "doc_distribution"
    __table_args__ = (UniqueConstraint("outgoing_id", "recipient_name"),)
    id: int | None = Field(default=None, primary_key=True)
    outgoing_id: int = Field(index=True)
    recipient_name: str = Field(max_length=100)
    recipient_agency_id: int | None = None  # None: outside Tongban, send on paper
    role: str = Field(default="main", max_length=10)  # main 主送 | cc 抄送
    incoming_id: int | None = Field(default=None, index=True)
    status: str = Field(default="delivered", max_length=20)  # delivered | signed | handled | returned | external
    note: str = Field(default="", max_length=500)
    delivered_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    signed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    handled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Circulation(SQLModel, table=True):
    """传阅: a 收文 sent round named readers, one after another (sequential) or all at once (parallel)."""

    __tablename__ = "doc_circulation"
    id: int | None = Field(default=None, primary_key=True)
    incoming_id: int = Field(foreign_key="doc_incoming.id", index=True)
    mode: str = Field(default="sequential", max_length=12)
    note: str = Field(default="", max_length=500)
    created_by: int
    state: str = Field(default="open", max_length=12)  # open | done
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class CirculationReader(SQLModel, table=True):
    """One reader of a circulation: waiting (not yet reached), holding (has it now), read (with a comment)."""

    __tablename__ = "doc_circulation_reader"
    __table_args__ = (UniqueConstraint("circulation_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    circulation_id: int = Field(foreign_key="doc_circulation.id", index=True)
    user_id: int = Field(index=True)
    position: int = 0
    state: str = Field(default="waiting", max_length=10)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    received_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    read_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class SupervisionItem(SQLModel, table=True):
    """督办事项: anything with an owner and a deadline (a 收文, a meeting task, a leader's instruction).

    ``reminders`` lists the reminder stages already sent (so the automatic loop never repeats one);
    ``history`` is the item's own log (created, reminded, escalated, completed)."""

    __tablename__ = "doc_supervision"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id"),
        # Both cover every column the dashboard reads, so it never reads the wide rows: "dash"
        # serves deadline ranges across departments, "stats" per-department counts and ranges.
        Index(
            "ix_doc_supervision_dash",
            "agency_id",
            "status",
            "deadline",
            "created_at",
            "completed_at",
            "owner_department_id",
            "source_kind",
            "owner_user_id",
        ),
        Index(
            "ix_doc_supervision_stats",
            "agency_id",
            "status",
            "owner_department_id",
            "deadline",
            "created_at",
            "completed_at",
            "handling_hours",
            "escalation_level",
            "source_kind",
            "owner_user_id",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int
    source_kind: str = Field(max_length=20)  # incoming | meeting_task | instruction
    source_id: str = Field(max_length=60)
    title: str = Field(max_length=200)
    owner_department_id: int | None = Field(default=None, index=True)
    owner_user_id: int | None = None
    deadline: datetime = Field(sa_column=utc_column())
    status: str = Field(default="open", max_length=10)  # open | done
    escalation_level: int = 0
    link: str = Field(default="", max_length=200)
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    history: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    completed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    handling_hours: float | None = None  # completed_at - created_at, kept for the dashboard's average
    last_reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ArchivePackage(SQLModel, table=True):
    """归档: the immutable package of a finished document (a zip with a SHA-256 manifest).

    Nothing changes a package except destruction (销毁) by an administrator once ``retain_until``
    has passed, which drops the bytes and keeps this row, the hash and the reason."""

    __tablename__ = "doc_archive"
    __table_args__ = (UniqueConstraint("doc_kind", "doc_id"),)
    id: int | None = Field(default=None, primary_key=True)
    doc_kind: str = Field(max_length=20)  # outgoing | incoming
    doc_id: int
    agency_id: int = Field(index=True)
    title: str = Field(max_length=200)
    number: str = Field(default="", max_length=60)
    doc_type: str = Field(default="", max_length=20)
    retention: str = Field(default="", max_length=20)  # 永久 | 30年 | 10年
    retain_until: date | None = None  # None: permanent
    size: int = 0
    sha256: str = Field(max_length=64)
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    data: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    created_by: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    destroyed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    destroyed_by: int | None = None
    destroy_reason: str = Field(default="", max_length=500)


class SearchDoc(SQLModel, table=True):
    """The searchable text of one document (outgoing or incoming), kept in step with it."""

    __tablename__ = "doc_search"
    # The visibility index: what a search reads for each candidate before it needs the text.
    __table_args__ = (
        UniqueConstraint("doc_kind", "doc_id"),
        Index(
            "ix_doc_search_visibility",
            "id",
            "doc_kind",
            "doc_id",
            "agency_id",
            "status",
            "doc_type",
            "year",
            "doc_date",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    doc_kind: str = Field(max_length=20)
    doc_id: int
    agency_id: int = Field(index=True)
    doc_type: str = Field(default="", max_length=20)
    status: str = Field(default="", max_length=20)
    year: int = 0
    doc_date: date | None = None
    title: str = Field(default="", max_length=200)
    number: str = Field(default="", max_length=200)
    agencies: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))


class SearchTerm(SQLModel, table=True):
    """Bigram index: every distinct lower-cased character bigram of a document's searchable text."""

    __tablename__ = "doc_search_term"
    __table_args__ = (Index("ix_doc_search_term_doc", "doc_kind", "doc_id"),)
    term: str = Field(max_length=2, primary_key=True)
    doc_kind: str = Field(max_length=20, primary_key=True)
    doc_id: int = Field(primary_key=True)
