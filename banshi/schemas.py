"""Request bodies for the 办事 API (validated by ``office.web``: unknown fields are refused). Form
values are free JSON here: the template's fields check them (``banshi.fields.clean_values``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from banshi.models import TemplateStatus
from office.web import Body

Action = Literal["approve", "reject", "return", "transfer", "add_signer", "withdraw", "urge"]


class PreviewIn(Body):
    template_id: int
    values: dict[str, Any] = Field(default_factory=dict)
    partial: bool = False  # the form is still being filled: required fields not checked yet


class RequestCreate(Body):
    template_id: int
    values: dict[str, Any] = Field(default_factory=dict)
    client_id: str | None = Field(default=None, min_length=1, max_length=64)  # idempotency key (optional)
    submit: bool = False


class RequestUpdate(Body):
    values: dict[str, Any]
    version: int


class SubmitIn(Body):
    version: int


class ActionIn(Body):
    version: int
    opinion: str = Field(default="", max_length=2000)
    target: str | None = Field(default=None, max_length=40)  # return: a step key or "draft" (the applicant)
    user_id: int | None = None  # transfer / add_signer
    user_ids: list[int] | None = Field(default=None, max_length=20)  # add_signer
    position: Literal["with", "before", "after"] = "with"  # add_signer
    file_ids: list[int] | None = Field(default=None, max_length=20)


class BatchItem(Body):
    id: int
    version: int


class BatchIn(Body):
    items: list[BatchItem] = Field(min_length=1, max_length=100)
    opinion: str = Field(default="", max_length=2000)


class TemplateCreate(Body):
    name: str = Field(min_length=1, max_length=60)
    category: str = Field(default="其他", max_length=20)
    description: str = Field(default="", max_length=200)
    code: str | None = Field(default=None, max_length=40)


class TemplateUpdate(Body):
    name: str | None = Field(default=None, max_length=60)
    category: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    reader_department_ids: list[int] | None = Field(default=None, max_length=50)
    status: TemplateStatus | None = None
    sort: int | None = Field(default=None, ge=0, le=10_000)


class DraftIn(Body):
    fields: list[Any] = Field(max_length=200)
    route: dict[str, Any]
    options: dict[str, Any] = Field(default_factory=dict)


class SupervisorIn(Body):
    department_id: int
    user_id: int


class LeadersIn(Body):
    principal: int | None = None  # 主要领导
    supervisors: list[SupervisorIn] = Field(default_factory=list, max_length=2000)  # 分管领导 by department


class OfficesIn(Body):
    personnel_department_id: int | None = None  # 人事处
    finance_department_id: int | None = None  # 财务处
