"""Request bodies for the 办文 API (validated by ``office.web``) and the shapes the service accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from office.web import Body
from typeset.layout import DocType

Box = Literal["todo", "done", "mine", "all"]
Action = Literal["submit", "approve", "return", "withdraw", "transfer", "add_signer"]


class AttachmentRef(Body):
    name: str = Field(min_length=1, max_length=200)
    file_id: int | None = None


class Attendance(Body):
    """纪要 attendance: 出席, 请假 (with the reason after the name, as people write it), 列席."""

    present: list[str] = Field(default_factory=list, max_length=200)
    on_leave: list[str] = Field(default_factory=list, max_length=200)
    sitting_in: list[str] = Field(default_factory=list, max_length=200)


class SheetFields(Body):
    """发文稿纸 fields a drafter (or an editor on the route) may change. ``secrecy`` is a free string
    so that 秘密/机密/绝密 are refused by the service with an explanation, not a type error."""

    title: str | None = Field(default=None, max_length=200)
    secrecy: str | None = Field(default=None, max_length=10)
    secrecy_period: str | None = Field(default=None, max_length=40)
    urgency: Literal["", "加急", "特急"] | None = None
    copy_no: str | None = Field(default=None, max_length=20)
    open_attribute: Literal["", "主动公开", "依申请公开", "不予公开"] | None = None
    main_recipients: list[str] | None = Field(default=None, max_length=100)
    cc_recipients: list[str] | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)
    drafter_phone: str | None = Field(default=None, max_length=40)
    issuing_agency_name: str | None = Field(default=None, max_length=100)
    number_code: str | None = Field(default=None, max_length=20)
    countersign_department_ids: list[int] | None = Field(default=None, max_length=50)
    # 联合行文: the other issuing agencies' ids in issuing order (at most 5: checked by the service)
    joint_issuers: list[int] | None = Field(default=None, max_length=50)
    attachments: list[AttachmentRef] | None = Field(default=None, max_length=100)
    attendance: Attendance | None = None  # 纪要 only
    body: list[dict[str, Any]] | None = None


class DocumentCreate(SheetFields):
    doc_type: DocType
    title: str = Field(min_length=1, max_length=200)
    client_id: str | None = Field(default=None, min_length=1, max_length=64)  # idempotency key (optional)


class DocumentUpdate(SheetFields):
    version: int
    note_for_version: str = Field(default="", max_length=200)


class ActionIn(Body):
    action: Action
    version: int
    opinion: str = Field(default="", max_length=5000)
    target: str | None = Field(default=None, max_length=40)  # return: step key or "draft"
    user_id: int | None = None  # transfer / add_signer
    reason: str = Field(default="", max_length=500)
    pin: str | None = Field(default=None, max_length=64)
    quote_comment_id: int | None = None


class AnnexIn(Body):
    """A bound attachment typed in the editor. Title and blocks are checked by ``docs_flow.annexes`` (a
    Chinese message naming the field), not here."""

    version: int
    title: Any = None
    blocks: Any = None


class AnnexUpdate(Body):
    version: int
    title: Any = None
    blocks: Any = None
    bound: bool | None = None


class NumberIn(Body):
    version: int
    reserved_id: int | None = None


class JointSealIn(Body):
    """联合行文: a co-issuer's seal keeper seals the record with the agency's 公章 (``docs_flow.joint_seal``)."""

    version: int
    pin: str | None = Field(default=None, max_length=64)


class ReserveIn(Body):
    code: str = Field(min_length=1, max_length=20)
    year: int | None = None
    reason: str = Field(min_length=1, max_length=200)


class VoidIn(Body):
    reason: str = Field(min_length=1, max_length=200)


class CommentIn(Body):
    text: str = Field(min_length=1, max_length=5000)


class ActorSpec(Body):
    kind: Literal["user", "role", "drafter_head", "drafter", "context_departments"]
    user_ids: list[int] | None = None
    role: str | None = None
    department_id: int | None = None
    key: str | None = None


class StepIn(Body):
    key: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    tag: str = Field(default="", max_length=20)
    actor: ActorSpec
    mode: Literal["any", "all"] = "any"
    can_edit: bool = False
    allow_add_signer: bool = False
    deadline_hours: int | None = None
    next: str | None = Field(default=None, max_length=40)


class TemplateIn(Body):
    name: str = Field(default="", max_length=100)
    steps: list[StepIn] = Field(max_length=60)


class DelegationIn(Body):
    deputy_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(default="", max_length=200)


# 收文, 传阅, 督办, 归档 -----------------------------------------------------------------------------------


class IncomingCreate(Body):
    title: str = Field(max_length=200)
    source_agency_name: str = Field(max_length=100)
    source: Literal["paper", "electronic"] = "paper"
    original_number: str = Field(default="", max_length=60)
    doc_type: str = Field(default="", max_length=20)
    urgency: Literal["", "加急", "特急"] = ""
    copies: int = Field(default=1, ge=1, le=1000)
    received_at: datetime | None = None
    deadline: datetime | None = None
    body_text: str = Field(default="", max_length=200_000)


class IncomingUpdate(Body):
    version: int
    title: str | None = Field(default=None, max_length=200)
    source_agency_name: str | None = Field(default=None, max_length=100)
    original_number: str | None = Field(default=None, max_length=60)
    doc_type: str | None = Field(default=None, max_length=20)
    urgency: Literal["", "加急", "特急"] | None = None
    body_text: str | None = Field(default=None, max_length=200_000)
    deadline: datetime | None = None


class IncomingActionIn(Body):
    action: Literal["approve", "reject", "return", "transfer", "add_signer"]
    version: int
    opinion: str = Field(default="", max_length=5000)
    reason: str = Field(default="", max_length=500)
    target: str | None = Field(default=None, max_length=40)
    user_id: int | None = None
    lead_department_id: int | None = None
    co_department_ids: list[int] = Field(default_factory=list, max_length=50)
    deadline: datetime | None = None
    reply_file_ids: list[int] = Field(default_factory=list, max_length=20)


class CirculationIn(Body):
    user_ids: list[int] = Field(max_length=50)
    mode: Literal["sequential", "parallel"] = "sequential"
    note: str = Field(default="", max_length=500)


class ReadIn(Body):
    comment: str = Field(default="", max_length=2000)


class SupervisionCreate(Body):
    title: str = Field(max_length=200)
    deadline: datetime
    owner_department_id: int | None = None
    owner_user_id: int | None = None
    note: str = Field(default="", max_length=500)


class RemindIn(Body):
    message: str = Field(default="", max_length=500)


class ReasonIn(Body):
    reason: str = Field(default="", max_length=500)


class ScheduleIn(Body):
    before_hours: list[int] = Field(default_factory=lambda: [72, 24], max_length=10)
    overdue_every_hours: int = 24
    escalate_after_hours: int = 48
    due_soon_hours: int = 72
