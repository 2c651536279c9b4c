"""敏感 data leaves the system (an xlsx export) only from a session opened with the second factor.

A session is "opened with the second factor" when its account has TOTP on and the session was
opened after TOTP was switched on: a login of such an account starts half-authenticated
(``mfa_pending``) and only ``accounts.verify_totp_step`` opens a full session, so a live full
session opened after the switch passed the TOTP step. A session that was already open when its
owner switched TOTP on (the enrolment happens inside a password-only session) did not, and is
refused, as is every session of an account without TOTP.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from office.actor import Actor
from office.errors import PermissionDenied
from office.models import AuditEntry, AuthSession, User

CHINA = ZoneInfo("Asia/Shanghai")


def opened_with_second_factor(session: Session, actor: Actor) -> bool:
    if actor.session_id is None:
        return False
    row = session.get(AuthSession, actor.session_id)
    user = session.get(User, actor.user_id)
    if row is None or user is None or row.user_id != actor.user_id or row.mfa_pending or not user.totp_enabled:
        return False
    enabled_at = session.exec(
        select(AuditEntry.at)
        .where(
            AuditEntry.action == "auth.totp_enabled",
            AuditEntry.target_type == "user",
            AuditEntry.target_id == str(actor.user_id),
        )
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
    ).first()
    return enabled_at is not None and row.created_at > enabled_at


def require_second_factor(session: Session, actor: Actor) -> None:
    if not opened_with_second_factor(session, actor):
        raise PermissionDenied(
            "导出含敏感数据项的汇总须使用两步验证登录：请开启两步验证后重新登录再导出", code="needs_2fa"
        )
