"""Request bodies for the task and return API (validated by ``office.web``: unknown fields are refused).
Values are free JSON here: each item's spec checks them (``tianbao.items.clean_value``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from office.web import Body

MAX_ITEMS = 500
MAX_UNITS = 5000


class TaskItemIn(Body):
    item_id: int
    section: str = Field(default="", max_length=40)
    required: bool = False


class TaskUnitIn(Body):
    unit_id: int
    filler_id: int | None = None
    reviewer_id: int | None = None


class TaskIn(Body):
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=5000)
    period: str = Field(min_length=1, max_length=10)
    deadline: datetime
    items: list[TaskItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    units: list[TaskUnitIn] = Field(default_factory=list, max_length=MAX_UNITS)
    remind_hours: int = Field(default=24, ge=0, le=720)
    collector_dept_id: int | None = None  # default: the actor's own department


class TaskUpdate(Body):
    version: int
    title: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=5000)
    period: str | None = Field(default=None, min_length=1, max_length=10)
    deadline: datetime | None = None
    items: list[TaskItemIn] | None = Field(default=None, max_length=MAX_ITEMS)
    units: list[TaskUnitIn] | None = Field(default=None, max_length=MAX_UNITS)
    remind_hours: int | None = Field(default=None, ge=0, le=720)


class TaskAction(Body):
    version: int
    reason: str = Field(default="", max_length=200)


class UrgeIn(Body):
    return_ids: list[int] = Field(min_length=1, max_length=MAX_UNITS)
    message: str = Field(default="", max_length=200)


class ValuesIn(Body):
    version: int
    values: dict[str, Any] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)


class CommentIn(Body):
    item_id: int
    row: int | None = Field(default=None, ge=0, le=100_000)
    column: str = Field(default="", max_length=40)
    text: str = Field(min_length=1, max_length=500)


class ReturnAction(Body):
    version: int
    comment: str = Field(default="", max_length=500)
    comments: list[CommentIn] = Field(default_factory=list, max_length=200)
