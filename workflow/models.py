"""Tables of the route engine: cases, their tasks and history, and delegations (委托).

The ``wf_*`` tables know nothing about a subject: a case points at it by ``kind`` and ``subject_id``,
so 发文, 收文 and 办事 requests all run on the same engine.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow


class CaseState(str, enum.Enum):
    """A case is drafted, then runs along its route until finished; the initiator may withdraw it."""

    draft = "draft"
    running = "running"
    withdrawn = "withdrawn"
    finished = "finished"


class TaskState(str, enum.Enum):
    pending = "pending"
    approved = "approved"
    returned = "returned"
    transferred = "transferred"
    cancelled = "cancelled"  # another person completed an "any" step, or the case was withdrawn/returned


class WfCase(SQLModel, table=True):
    """One run of a route. ``route`` is a snapshot of the template's steps taken at creation, so
    later template edits never change a case in flight. ``version`` is the optimistic lock."""

    __tablename__ = "wf_case"
    __table_args__ = (Index("ix_wf_case_subject", "kind", "subject_id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    subject_id: int = 0
    agency_id: int | None = Field(default=None, index=True)
    initiator_id: int = Field(index=True)
    initiator_dept_id: int | None = None
    state: CaseState = Field(default=CaseState.draft, index=True)
    route: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    current_step: int | None = None
    round: int = 0
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    submitted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WfTask(SQLModel, table=True):
    """One person's work item at one step in one round (rounds increase when a case is returned)."""

    __tablename__ = "wf_task"
    __table_args__ = (
        # With the case: a person's pending tasks give their cases without reading the task rows (0024).
        Index("ix_wf_task_assignee_state", "assignee_id", "state", "case_id"),
        Index("ix_wf_task_case_step", "case_id", "step_index", "round"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="wf_case.id")
    step_index: int
    step_key: str = Field(max_length=40)
    round: int = 0
    assignee_id: int
    state: TaskState = Field(default=TaskState.pending)
    is_added: bool = False  # 加签: added by a leader at this step
    added_by_id: int | None = None
    transferred_from_id: int | None = None
    acted_by_id: int | None = Field(default=None, index=True)  # differs from assignee when a deputy acted (委托)
    opinion: str = Field(default="", sa_column=Column(Text, nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    due_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    acted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WfHistory(SQLModel, table=True):
    """The route history: every transition, who did it (and for whom), with the opinion."""

    __tablename__ = "wf_history"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="wf_case.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    actor_id: int
    actor_name: str = Field(default="", max_length=100)
    on_behalf_of_id: int | None = None
    action: str = Field(max_length=30)
    step_index: int | None = None
    step_name: str = Field(default="", max_length=100)
    round: int = 0
    opinion: str = Field(default="", sa_column=Column(Text, nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class WfDelegation(SQLModel, table=True):
    """委托: while absent, ``principal_id``'s tasks may be handled by ``deputy_id``."""

    __tablename__ = "wf_delegation"
    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(index=True)
    deputy_id: int = Field(index=True)
    starts_at: datetime = Field(sa_column=utc_column())
    ends_at: datetime = Field(sa_column=utc_column())
    reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
