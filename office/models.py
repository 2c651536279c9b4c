"""Core tables: organisation, accounts, sessions, audit chain, stored events."""

from __future__ import annotations

import datetime as dt
import enum
from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow


class Role(str, enum.Enum):
    """Roles a person may hold; scope is their agency (leader, clerk, seal keeper) or department (head)."""

    staff = "staff"
    dept_head = "dept_head"
    leader = "leader"
    clerk = "clerk"
    seal_keeper = "seal_keeper"
    admin = "admin"


ROLE_LABELS = {
    Role.staff: "科员",
    Role.dept_head: "处室负责人",
    Role.leader: "机关领导",
    Role.clerk: "文书/收发员",
    Role.seal_keeper: "印章管理员",
    Role.admin: "系统管理员",
}


class DeptKind(str, enum.Enum):
    agency = "agency"  # 机关
    department = "department"  # 处室/科室


class Department(SQLModel, table=True):
    """A node of the organisation tree: an agency (机关) or a department under one."""

    __tablename__ = "department"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: DeptKind = Field(default=DeptKind.department)
    parent_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    agency_id: int | None = Field(default=None, index=True)  # self for agencies; the owning agency otherwise
    code: str | None = Field(default=None, max_length=20)  # 机关代字, e.g. 粤府办
    sort_order: int = 0
    path: str = Field(default="", max_length=400)  # "/1/4/9/" for subtree queries
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=50)
    staff_no: str = Field(default="", max_length=32)
    pinyin: str = Field(default="", max_length=200)
    initials: str = Field(default="", max_length=50)
    phone: str = Field(default="", max_length=40)
    office: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=200)
    is_active: bool = True
    password_hash: str = Field(default="", max_length=200)
    password_changed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    totp_secret_enc: str | None = Field(default=None, max_length=400)
    totp_enabled: bool = False
    elder_mode: bool = False
    # 免打扰 (office/quiet_hours.py): minutes after midnight, China time; both None: off.
    quiet_from: int | None = None
    quiet_to: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Post(SQLModel, table=True):
    """A position held: one primary post, any number of concurrent posts (兼职)."""

    __tablename__ = "post"
    __table_args__ = (UniqueConstraint("user_id", "department_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    title: str = Field(default="", max_length=50)
    is_primary: bool = True
    rank: int = 100  # display order: lower first


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    role: Role = Field(primary_key=True)


class RolePolicy(SQLModel, table=True):
    """Per-role login requirements set by an administrator."""

    __tablename__ = "role_policy"
    role: Role = Field(primary_key=True)
    require_2fa: bool = False


class DirectoryKey(SQLModel, table=True):
    """Search keys per person (name suffixes, pinyin, initials, title, department) for prefix lookup."""

    __tablename__ = "directory_key"
    __table_args__ = (Index("ix_directory_key_key", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    key: str = Field(max_length=200)
    weight: int = 0  # lower is a better match kind


class CacheChange(SQLModel, table=True):
    """A committed change to who someone is (roles, posts, account) or how the directory shows them.

    Every process keeps caches of actors and an in-memory directory index; each request compares
    the newest ``seq`` with what its process has applied, and applies the rows in between before
    trusting a cached entry. ``user_id`` None means "everyone" (a role policy, a department).
    AUTOINCREMENT on SQLite so a pruned or rolled-back ``seq`` is never handed out again.
    """

    __tablename__ = "cache_change"
    __table_args__ = {"sqlite_autoincrement": True}
    seq: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    csrf_token: str = Field(max_length=64)
    mfa_pending: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failure"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)  # "user:<name>" or "ip:<addr>"
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AuditEntry(SQLModel, table=True):
    """Append-only, hash-chained: hash = SHA-256(prev_hash || canonical entry)."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(default="", max_length=100)
    action: str = Field(max_length=80, index=True)
    target_type: str = Field(default="", max_length=50)
    target_id: str = Field(default="", max_length=80)
    ip: str = Field(default="", max_length=64)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row: the chain's tip. Locked by every append so the chain never forks."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class StoredEvent(SQLModel, table=True):
    """An event as delivered to users; kept for the retention window so clients can resume."""

    __tablename__ = "stored_event"
    __table_args__ = (Index("ix_stored_event_audience", "audience", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=60)
    # Set for events that go to everyone in a group the owning domain keeps (e.g. "chat:17"): they
    # have no ``event_recipient`` rows; resume asks that domain who belongs (office.eventstore).
    audience: str | None = Field(default=None, max_length=80)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))


class EventRecipient(SQLModel, table=True):
    __tablename__ = "event_recipient"
    __table_args__ = (Index("ix_event_recipient_user_event", "user_id", "event_id"),)
    event_id: int = Field(foreign_key="stored_event.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(primary_key=True)


class SystemSetting(SQLModel, table=True):
    __tablename__ = "system_setting"
    key: str = Field(primary_key=True, max_length=80)
    value: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# The working calendar (meetings, 办事 leave and deadlines count working days) ------------------------


class DayKind(str, enum.Enum):
    holiday = "holiday"  # 法定节假日 / 调休放假
    workday = "workday"  # 调休上班 (a weekend day that is a working day)


class CalendarDay(SQLModel, table=True):
    """A day that differs from the Monday–Friday rule: a public holiday or an adjusted working day."""

    # The name it had when meetings owned the calendar: renaming a table is a migration for nothing.
    __tablename__ = "meeting_calendar_day"
    day: dt.date = Field(primary_key=True)
    kind: DayKind
    name: str = Field(default="", max_length=50)
    year: int = Field(index=True)
