"""Tables for 数据填报 (data returns to superiors): the data item registry (一数一源), stored values
with their full history, collection tasks, each receiving unit's return, and comments on cells.

A *unit* is a node of the organisation tree (``department``: an agency or a department). A value
is kept per (item, unit, period), where the period is the item's own cycle period ("2026",
"2026H2", "2026Q4", "2026-11", or "once"); ``tb_value`` is the append-only history and
``tb_value_current`` the latest value of each key, so a prefilled form reads one row per item.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow

# The registry ------------------------------------------------------------------------------------


class ItemStatus(str, enum.Enum):
    proposed = "proposed"  # asked for by a collector; the owner department has not approved it yet
    active = "active"  # usable in collection tasks
    rejected = "rejected"  # the owner department said no (review_note says why)
    retired = "retired"  # no new task may use it; its values stay


class ItemCycle(str, enum.Enum):
    month = "month"
    quarter = "quarter"
    half = "half"
    year = "year"
    once = "once"  # a standing fact (a unit's founding year): one value, valid until changed


class ItemLevel(str, enum.Enum):
    """分级: who may read an item's values beyond the unit that reported them and the task's collector."""

    public = "public"  # 公开: every agency
    internal = "internal"  # 内部: the owner agency and the agencies in reader_agency_ids
    sensitive = "sensitive"  # 敏感: as 内部, and exported only after two-factor login, watermarked


class DataItem(SQLModel, table=True):
    """One registered data item. ``spec`` is a field definition in 办事's form-engine shape
    (``banshi.fields``: type number | money | text | textarea | date | select | multiselect |
    table, with its limits and options; a table item's columns are the rows' fields). ``source``
    names a computed source (``tianbao.sources``) that can fill it, "" when only people type it."""

    __tablename__ = "tb_item"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)  # "A01.003": one code, one definition, one source
    name: str = Field(max_length=100)
    definition: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # 口径
    unit_label: str = Field(default="", max_length=20)  # 计量单位: 万人, 万元, 个, %
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    owner_dept_id: int = Field(index=True)  # 数源部门: the only one allowed to define or change it
    owner_agency_id: int = Field(index=True)
    cycle: ItemCycle = Field(default=ItemCycle.year)
    level: ItemLevel = Field(default=ItemLevel.internal)
    reader_agency_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(default="", max_length=60)
    status: ItemStatus = Field(default=ItemStatus.active, index=True)
    proposed_by: int | None = None  # a collector who asked for a new item (采集需求审核)
    proposed_by_dept_id: int | None = None
    reviewed_by: int | None = None
    reviewed_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    review_note: str = Field(default="", max_length=200)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CollectScope(SQLModel, table=True):
    """数据采集关系: an agency may issue tasks to the units under ``root_id`` (besides its own subtree).
    A grant by an administrator of the agency that owns ``root_id`` (the unit side consents; see
    ``tianbao.scopes``); this is the rule that lets a collection cross agencies."""

    __tablename__ = "tb_scope"
    __table_args__ = (UniqueConstraint("collector_agency_id", "root_id", name="uq_tb_scope"),)
    id: int | None = Field(default=None, primary_key=True)
    collector_agency_id: int = Field(index=True)
    root_id: int  # a department row (usually a subordinate agency)
    created_by: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ValueOrigin(str, enum.Enum):
    typed = "typed"  # typed by the unit in a task's form
    xlsx = "xlsx"  # uploaded in a filled-in spreadsheet
    computed = "computed"  # taken from a computed source when the return was submitted
    corrected = "corrected"  # a prefilled value changed by the unit, with a reason
    owner = "owner"  # set by the item's owner department outside a task


class DataValue(SQLModel, table=True):
    """One stored value in the history of (item, unit, period): who, when, which task, and the value
    it replaced. Never updated or deleted."""

    __tablename__ = "tb_value"
    __table_args__ = (Index("ix_tb_value_key", "item_id", "unit_id", "period", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="tb_item.id")
    unit_id: int = Field(index=True)
    period: str = Field(max_length=10)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    origin: ValueOrigin = Field(default=ValueOrigin.typed)
    reason: str = Field(default="", max_length=200)  # required when a prefilled value is changed
    task_id: int | None = None
    assignment_id: int | None = None
    previous_id: int | None = None  # the tb_value row this one replaced
    author_id: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CurrentValue(SQLModel, table=True):
    """The latest ``tb_value`` of each (item, unit, period): what a prefilled form shows."""

    __tablename__ = "tb_value_current"
    unit_id: int = Field(primary_key=True)
    item_id: int = Field(primary_key=True)
    period: str = Field(primary_key=True, max_length=10)
    value_id: int
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    origin: str = Field(default="typed", max_length=12)  # the ValueOrigin of value_id
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


# Collection tasks --------------------------------------------------------------------------------


class TaskStatus(str, enum.Enum):
    draft = "draft"
    issued = "issued"
    withdrawn = "withdrawn"  # 撤回, with a reason: every open return stops
    closed = "closed"  # the collector closed it; late units can no longer submit


class CollectTask(SQLModel, table=True):
    """A 填报任务: a form built from registered items, for one period, with a deadline, issued by a
    collecting department to units. ``items`` is the form: [{"item_id", "section", "required"}] in order."""

    __tablename__ = "tb_task"
    id: int | None = Field(default=None, primary_key=True)
    collector_agency_id: int = Field(index=True)
    collector_dept_id: int = Field(index=True)
    title: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    period: str = Field(max_length=10)  # "2026Q4", "2026-11", "2026", "2026H2"
    deadline: dt.datetime = Field(sa_column=utc_column())
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # the receiving units while a draft: [{"unit_id", "filler_id", "reviewer_id"}] (issue makes the returns)
    units: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    remind_hours: int = 24  # the automatic reminder this long before the deadline
    status: TaskStatus = Field(default=TaskStatus.draft, index=True)
    withdraw_reason: str = Field(default="", max_length=200)
    created_by: int
    issued_by: int | None = None
    issued_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    version: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ReturnStatus(str, enum.Enum):
    not_started = "not_started"  # 未开始: nobody has opened it
    filling = "filling"  # 填报中
    in_review = "in_review"  # 审核中: the filler passed it to the unit's reviewer
    submitted = "submitted"  # 已报送: the unit's reviewer sent it up
    returned = "returned"  # 已退回: the collector sent it back with comments on cells
    accepted = "accepted"  # 已采纳
    withdrawn = "withdrawn"  # the task was withdrawn


class UnitReturn(SQLModel, table=True):
    """One receiving unit's return for a task. ``draft`` holds the values being filled ({item_id: value});
    ``prefill`` what the form opened with ({item_id: {"value", "source", "period", "at"}}); the values
    reach the registry (tb_value) when the collector accepts. Late is derived: not submitted or
    accepted while now > the task's deadline."""

    __tablename__ = "tb_return"
    __table_args__ = (
        UniqueConstraint("task_id", "unit_id", name="uq_tb_return_unit"),
        Index("ix_tb_return_task_status", "task_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tb_task.id")
    unit_id: int = Field(index=True)
    unit_agency_id: int = Field(index=True)
    filler_id: int = Field(index=True)
    reviewer_id: int = Field(index=True)
    status: ReturnStatus = Field(default=ReturnStatus.not_started)
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prefill: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # changed prefilled values: {item_id: reason}
    reasons: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # the burden figures (基层减负), fixed at submission
    items_total: int = 0
    prefilled_count: int = 0
    typed_count: int = 0
    opened_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    submitted_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    accepted_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    returned_count: int = 0
    reminded_at: dt.datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    urged_count: int = 0  # 催报 sent
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CellComment(SQLModel, table=True):
    """A collector's comment on one cell of a returned return (``row``/``column`` inside a table item)."""

    __tablename__ = "tb_comment"
    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="tb_return.id", index=True)
    item_id: int
    row: int | None = None
    column: str = Field(default="", max_length=40)
    text: str = Field(max_length=500)
    round: int = 1  # which 退回 it belongs to (returned_count at the time)
    author_id: int
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=utc_column())
