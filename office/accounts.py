"""Login, sessions, two-factor authentication and passwords.

Session tokens are 256-bit random values; only their SHA-256 is stored. A session whose password
step passed but whose TOTP step is pending (``mfa_pending``) grants nothing but the TOTP step.
Failed logins (either factor) are counted per account, per account and address, and per address in
the database (``office.login_limits``); past a limit the account is locked until the window passes.
"""

from __future__ import annotations

import base64
import io
import os
import threading
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from office import actor_cache, audit, events, login_limits
from office.actor import SYSTEM, Actor
from office.config import Settings
from office.db import settings_of, utcnow
from office.directory.service import get_user, get_user_by_username, posts_of, roles_of
from office.errors import Conflict, PermissionDenied, Unauthenticated, ValidationError
from office.models import AuthSession, RecoveryCode, Role, RolePolicy, User
from office.secrets_box import (
    SecretBox,
    hash_password,
    needs_rehash,
    new_token,
    password_problem,
    token_digest,
    verify_password,
)
from office.timefmt import iso

TOTP_ISSUER = "通办 Tongban"


@dataclass
class LoginResult:
    token: str
    session: AuthSession
    totp_required: bool
    totp_setup_required: bool


# Login ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    """A password verified ahead of the write transaction against one stored hash."""

    ok: bool
    new_hash: str | None  # the password hashed again with today's parameters, when the stored hash needs it


# Keyed by (stored hash, password): the transaction uses an answer only for the very hash it reads.
_AHEAD: ContextVar[dict[tuple[str, str], _Checked] | None] = ContextVar("accounts_password_ahead", default=None)


def _login_name(username: str) -> str:
    return (username or "").strip().lower()[:64]


def password_checked_ahead(
    session: Session, settings: Settings, *, username: str, password: str, ip: str
) -> AbstractContextManager[None] | None:
    """``before_write`` for the password step: run the Argon2 verification (~0.1 s of CPU, and the
    re-hash a login may need) on a read session, before the write lock, so a morning's logins do
    not stall every other writer, chat included. It only prepares: inside the transaction
    ``authenticate`` still checks the lockout, counts a failure and decides, using this answer only
    when the stored hash is still the one verified against. A locked account is not hashed for
    (the transaction refuses it as before)."""
    username = _login_name(username)
    if login_limits.account_locked(session, settings, username, ip):
        return None  # the transaction refuses it, and counts the lockout once
    user = get_user_by_username(session, username) if username else None
    stored, password = (user.password_hash if user else ""), password or ""
    checked = _HASHING.submit(_verify, settings, stored, password).result()
    return _use_ahead({(stored, password): checked})


def _lower_priority() -> None:
    # Linux keeps a nice value per thread, and the Argon2 library's own lane threads inherit it.
    with suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# Logins verified ahead hash here: at most two at a time, and below the event loop and the writers
# in the scheduler's eyes. Twenty concurrent logins (each Argon2 hash runs four lanes) otherwise
# took nearly all of a two-core machine from chat, whose acks then waited seconds (bench/messaging_bench.py).
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hash", initializer=_lower_priority)


@contextmanager
def _use_ahead(checked: dict[tuple[str, str], _Checked]) -> Iterator[None]:
    token = _AHEAD.set(checked)
    try:
        yield
    finally:
        _AHEAD.reset(token)
        checked.clear()  # the password goes with the request


def _checked(settings: Settings, stored: str, password: str) -> _Checked:
    """The answer verified ahead for this stored hash, or verify now (no ahead, or the hash changed)."""
    ahead = _AHEAD.get()
    found = ahead.get((stored, password)) if ahead else None
    if found is not None:
        return found
    return _verify(settings, stored, password)


def _verify(settings: Settings, stored: str, password: str) -> _Checked:
    ok = verify_password(settings, stored, password)
    return _Checked(ok, hash_password(settings, password) if ok and needs_rehash(settings, stored) else None)


def authenticate(
    session: Session, settings: Settings, *, username: str, password: str, ip: str, user_agent: str
) -> LoginResult:
    """Check the password and open a session (pending TOTP when the account has 2FA on). The
    password itself is normally verified before the write transaction (``password_checked_ahead``).

    Failures are recorded even though the caller's request fails: the caller must commit the
    session it passed in before raising (see ``office.routes_auth``).
    """
    username = _login_name(username)
    login_limits.check_account(session, settings, username, ip)
    user = get_user_by_username(session, username) if username else None
    checked = _checked(settings, user.password_hash if user else "", password or "")
    ok = checked.ok
    if not ok or user is None:
        raise (
            login_limits.record_failure(session, settings, username, ip, "bad_credentials")
            or Unauthenticated("用户名或密码错误", code="bad_credentials")
        )
    if not user.is_active:
        raise (
            login_limits.record_failure(session, settings, username, ip, "disabled")
            or Unauthenticated("账号已停用，请联系系统管理员", code="account_disabled")
        )
    if user.totp_enabled:
        login_limits.password_passed(session, username)  # wrong codes stay counted until a right one
    else:
        login_limits.login_completed(session, username, ip)
    rehashed = _upgrade_hash(session, user, checked.new_hash)
    must_enrol = not user.totp_enabled and _role_requires_2fa(session, user.id)  # type: ignore[arg-type]
    token, row = _open_session(session, settings, user, ip=ip, user_agent=user_agent, mfa_pending=user.totp_enabled)
    audit.record(
        session,
        _actor_for(user, ip, row.id),
        "auth.login",
        target_type="user",
        target_id=user.id,
        detail={"totp_pending": user.totp_enabled, **({"password_rehashed": True} if rehashed else {})},
    )
    return LoginResult(token, row, user.totp_enabled, must_enrol)


def _upgrade_hash(session: Session, user: User, new_hash: str | None) -> bool:
    """Store a just-verified password hashed again (``_Checked.new_hash``) when its stored hash was
    made with older or weaker Argon2 parameters than ``secrets_box`` uses now: the only moment the
    password itself is at hand."""
    if new_hash is None:
        return False
    user.password_hash = new_hash
    session.add(user)
    return True


def _role_requires_2fa(session: Session, user_id: int) -> bool:
    return roles_require_2fa(session, roles_of(session, user_id))


def roles_require_2fa(session: Session, roles: Any) -> bool:
    return bool(roles) and bool(roles_with_2fa(session) & set(roles))


#: Roles that must use two-step verification whatever the role policy says, unless the deployment
#: turns it off (``OFFICE_ADMIN_2FA``): whoever holds them can change every account or seal documents.
ADMIN_2FA_ROLES = frozenset({Role.admin, Role.seal_keeper})


def roles_with_2fa(session: Session) -> frozenset[Role]:
    """The roles whose holders must use two-step verification: ``required_2fa`` of the role policy."""
    by_policy: frozenset[Role] | None = actor_cache.get(session, "roles_2fa")
    if by_policy is None:
        by_policy = frozenset(session.exec(select(col(RolePolicy.role)).where(RolePolicy.require_2fa == True)).all())  # noqa: E712
        actor_cache.put(session, "roles_2fa", by_policy)
    return required_2fa(settings_of(session), by_policy)


def required_2fa(settings: Settings, by_policy: AbstractSet[Role]) -> frozenset[Role]:
    """The roles an administrator chose (``RolePolicy.require_2fa``) and, by default, the
    administrators' and seal keepers' (``ADMIN_2FA_ROLES``, a floor the role policy cannot lower).
    The one statement of the rule: ``roles_with_2fa`` and the event-loop fast path
    (``office.hotpath``, which holds the role policy in its cache) both ask it."""
    return frozenset(by_policy) | (ADMIN_2FA_ROLES if settings.admin_2fa else frozenset())


def _open_session(
    session: Session, settings: Settings, user: User, *, ip: str, user_agent: str, mfa_pending: bool
) -> tuple[str, AuthSession]:
    assert user.id is not None  # a stored account
    token = new_token()
    now = utcnow()
    row = AuthSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=new_token(24),
        mfa_pending=mfa_pending,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return token, row


def verify_totp_step(
    session: Session, settings: Settings, auth: AuthSession, code: str, ip: str, *, user_agent: str = ""
) -> tuple[str, AuthSession]:
    """Complete a pending login with a TOTP code or a recovery code: returns the new full session's
    token and row; the pending session is revoked.

    Wrong codes are counted for the account (``office.login_limits``) and only a correct second
    factor clears them; like ``authenticate``, the caller must commit before raising."""
    user = get_user(session, auth.user_id)
    if not auth.mfa_pending:
        raise ValidationError("当前会话不需要两步验证", code="not_pending")
    login_limits.check_account(session, settings, user.username, ip)
    if not _check_second_factor(session, settings, user, code):
        raise (
            login_limits.record_failure(session, settings, user.username, ip, "bad_totp", second_factor=True)
            or Unauthenticated("验证码错误或已过期", code="bad_totp")
        )
    login_limits.login_completed(session, user.username, ip)
    # A new token once fully authenticated: whoever saw or planted the half-authenticated token (its
    # cookie was set before the second factor) does not inherit the full session (ASVS 3.2.1).
    auth.revoked_at = utcnow()
    session.add(auth)
    token, row = _open_session(
        session, settings, user, ip=ip, user_agent=user_agent or auth.user_agent, mfa_pending=False
    )
    audit.record(
        session,
        _actor_for(user, ip, row.id),
        "auth.totp_verified",
        target_type="user",
        target_id=user.id,
        detail={"pending_session_id": auth.id},
    )
    return token, row


def _check_second_factor(session: Session, settings: Settings, user: User, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not user.totp_secret_enc:
        return False
    secret = SecretBox(settings.secret_key, "totp").open(user.totp_secret_enc)
    if code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1):
        return True
    digest = token_digest(code.lower())
    rc = session.exec(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest, col(RecoveryCode.used_at).is_(None)
        )
    ).first()
    if rc is None:
        return False
    rc.used_at = utcnow()
    session.add(rc)
    return True


def resolve_session(session: Session, settings: Settings, token: str | None) -> AuthSession | None:
    """The live session for a cookie token, or None (expired, idle too long, revoked, disabled)."""
    if not token:
        return None
    found = session.exec(
        select(AuthSession, actor_cache.newest_seq_query()).where(AuthSession.token_hash == token_digest(token))
    ).first()
    if found is None:
        return None
    row, seq = found
    actor_cache.seen(session, seq)  # the same snapshot tells whether cached actors are current
    until = live_until(settings, row)
    if until is None or utcnow() >= until:
        return None
    return row


class SessionState(Protocol):
    """What the session rules read of a session: an ``AuthSession`` row, or the event-loop fast
    path's raw copy of one (``office.hotpath``)."""

    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def mfa_pending(self) -> bool: ...


def live_until(settings: Settings, row: SessionState) -> datetime | None:
    """When the session stops being live unless it is used again: its absolute expiry or the end of
    its idle window, whichever comes first; None once revoked. The one statement of the rule: HTTP
    requests (``resolve_session``) and open websockets (``office.ws_session``) both apply it."""
    if row.revoked_at is not None:
        return None
    return min(row.expires_at, row.last_seen_at + timedelta(minutes=settings.session_idle_minutes))


def session_admits(
    settings: Settings, row: SessionState, *, is_active: bool, now: datetime, allow_pending: bool = False
) -> bool:
    """Whether a session may act for its account at ``now``: it is live (``live_until``), its second
    factor is done (``allow_pending`` admits a password-only session: for the TOTP step itself),
    and the account is active. The one statement of the rule: every ``@api`` request
    (``office.web``), the event-loop fast path (``office.hotpath``) and websockets, at the handshake
    and after (``office.ws_session``), apply it."""
    until = live_until(settings, row)
    return until is not None and now < until and (allow_pending or not row.mfa_pending) and is_active


def must_enrol_2fa(totp_enabled: bool, roles: AbstractSet[Role], required: AbstractSet[Role]) -> bool:
    """The account holds a role that requires two-step verification (``required``, from
    ``roles_with_2fa``) and has not set it up: it may do nothing but enrol
    (``@api(allow_unenrolled=True)``). Both ``office.web`` and ``office.hotpath`` ask this."""
    return not totp_enabled and bool(required & roles)


TOUCH_EVERY = timedelta(seconds=60)


def touch_due(row: SessionState, now: datetime | None = None) -> bool:
    """The session's last-seen time is due a refresh (a write), at most once a minute."""
    return (now or utcnow()) - row.last_seen_at > TOUCH_EVERY


def touch_session(session: Session, row: AuthSession) -> None:
    """Refresh the idle timer at most once a minute, to keep reads from becoming writes."""
    if touch_due(row):
        refresh_last_seen(session, row.id)  # type: ignore[arg-type]


def refresh_last_seen(session: Session, session_id: int, at: datetime | None = None) -> None:
    """Set the session's last-seen time to ``at`` (default now), never moving it back."""
    at = at or utcnow()
    session.execute(
        update(AuthSession)
        .where(col(AuthSession.id) == session_id, col(AuthSession.last_seen_at) < at)
        .values(last_seen_at=at)
    )


def load_actor(session: Session, user_id: int, *, ip: str = "", session_id: int | None = None) -> Actor:
    cached = actor_cache.get(session, ("actor", user_id), user_id)
    if cached is None:
        cached = _actor_for(get_user(session, user_id), "", None, session=session)
        actor_cache.put(session, ("actor", user_id), cached, user_id)
    return cached.acting(ip=ip, session_id=session_id)


def _actor_for(user: User, ip: str, session_id: int | None, *, session: Session | None = None) -> Actor:
    roles: set[Role] = set()
    agency_id = dept_id = None
    dept_ids: set[int] = set()
    if session is not None and user.id is not None:
        roles = roles_of(session, user.id)
        posts = posts_of(session, [user.id])[user.id]
        dept_ids = {p["department_id"] for p in posts}
        primary = next((p for p in posts if p["is_primary"]), None)
        if primary:
            dept_id, agency_id = primary["department_id"], primary["agency_id"]
    headed = frozenset({dept_id}) if (Role.dept_head in roles and dept_id) else frozenset()
    return Actor(
        user_id=user.id or 0,
        username=user.username,
        name=user.name,
        roles=frozenset(roles),
        agency_id=agency_id,
        department_id=dept_id,
        department_ids=frozenset(dept_ids),
        headed_department_ids=headed,
        ip=ip,
        session_id=session_id,
    )


# Logout and session management -----------------------------------------------------------------


def end_session(session: Session, actor: Actor | None, row: AuthSession, *, reason: str = "已退出登录") -> None:
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(
        session,
        actor,
        "auth.logout" if actor and actor.session_id == row.id else "auth.session_revoked",
        target_type="session",
        target_id=row.id,
        detail={"user_id": row.user_id},
    )
    events.publish_on_commit(
        session, "auth.session_ended", {"session_ids": [row.id], "reason": reason}, user_ids=[row.user_id]
    )


def end_all_sessions(session: Session, user_id: int, *, reason: str, keep: int | None = None) -> list[int]:
    rows = session.exec(
        select(AuthSession).where(AuthSession.user_id == user_id, col(AuthSession.revoked_at).is_(None))
    ).all()
    ids = [r.id for r in rows if r.id != keep and r.id is not None]
    now = utcnow()
    for r in rows:
        if r.id in ids:
            r.revoked_at = now
            session.add(r)
    if ids:
        events.publish_on_commit(
            session, "auth.session_ended", {"session_ids": ids, "reason": reason}, user_ids=[user_id]
        )
    return ids


def list_sessions(session: Session, settings: Settings, actor: Actor) -> list[dict[str, Any]]:
    rows = session.exec(
        select(AuthSession)
        .where(AuthSession.user_id == actor.user_id, col(AuthSession.revoked_at).is_(None))
        .order_by(col(AuthSession.last_seen_at).desc())
    ).all()
    now = utcnow()
    out = []
    for r in rows:
        until = live_until(settings, r)
        if until is None or now >= until:
            continue
        out.append(
            {
                "id": r.id,
                "created_at": iso(r.created_at),
                "last_seen_at": iso(r.last_seen_at),
                "ip": r.ip,
                "user_agent": r.user_agent,
                "current": r.id == actor.session_id,
            }
        )
    return out


def revoke_own_session(session: Session, actor: Actor, session_id: int) -> None:
    row = session.get(AuthSession, session_id)
    if row is None or row.user_id != actor.user_id or row.revoked_at is not None:
        from office.errors import NotFound

        raise NotFound("会话不存在", code="session_not_found")
    end_session(session, actor, row, reason="会话已被撤销")


# Passwords ------------------------------------------------------------------------------------


def change_password(session: Session, actor: Actor, *, current: str, new: str) -> None:
    user = get_user(session, actor.user_id)
    settings = settings_of(session)
    if not verify_password(settings, user.password_hash, current or ""):
        audit.record(session, actor, "auth.password_change_failed", target_type="user", target_id=user.id)
        raise PermissionDenied("当前密码不正确", code="bad_password")
    if problem := password_problem(new or "", username=user.username):
        raise ValidationError(problem, code="weak_password")
    if verify_password(settings, user.password_hash, new):
        raise ValidationError("新密码不能与当前密码相同", code="same_password")
    user.password_hash = hash_password(settings, new)
    user.password_changed_at = utcnow()
    session.add(user)
    end_all_sessions(session, user.id, reason="密码已修改，请重新登录", keep=actor.session_id)  # type: ignore[arg-type]
    audit.record(session, actor, "auth.password_changed", target_type="user", target_id=user.id)


def reset_password(session: Session, actor: Actor, user_id: int, *, new: str) -> None:
    from office import policy

    policy.require(actor, "user.manage")
    user = get_user(session, user_id)
    if problem := password_problem(new or "", username=user.username):
        raise ValidationError(problem, code="weak_password")
    user.password_hash = hash_password(settings_of(session), new)
    user.password_changed_at = utcnow()
    session.add(user)
    end_all_sessions(session, user_id, reason="密码已被管理员重置")
    audit.record(session, actor, "auth.password_reset", target_type="user", target_id=user_id)


# Two-factor enrolment ---------------------------------------------------------------------------


def begin_totp(session: Session, settings: Settings, actor: Actor) -> dict[str, str]:
    """Create a new secret (not yet active) and return it with an otpauth URI and QR code."""
    user = get_user(session, actor.user_id)
    if user.totp_enabled:
        raise ValidationError("两步验证已开启；如需更换，请先关闭", code="already_enabled")
    secret = pyotp.random_base32()
    user.totp_secret_enc = SecretBox(settings.secret_key, "totp").seal(secret)
    session.add(user)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    buf = io.BytesIO()
    img.save(buf)
    audit.record(session, actor, "auth.totp_setup", target_type="user", target_id=user.id)
    return {
        "secret": secret,
        "otpauth_uri": uri,
        "qr_svg": "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode(),
    }


def enable_totp(session: Session, settings: Settings, actor: Actor, code: str) -> list[str]:
    user = get_user(session, actor.user_id)
    if user.totp_enabled or not user.totp_secret_enc:
        raise ValidationError("请先生成两步验证密钥", code="no_pending_secret")
    secret = SecretBox(settings.secret_key, "totp").open(user.totp_secret_enc)
    if not pyotp.TOTP(secret).verify((code or "").strip(), valid_window=1):
        raise ValidationError("验证码不正确，请核对手机上的 6 位数字", code="bad_totp")
    codes = _turn_on(session, user)
    audit.record(session, actor, "auth.totp_enabled", target_type="user", target_id=user.id)
    return codes


def _turn_on(session: Session, user: User) -> list[str]:
    """Two-step verification on for ``user`` (its secret already sealed in): its new recovery codes."""
    user.totp_enabled = True
    session.add(user)
    codes = [new_token(6).lower().replace("-", "x").replace("_", "y")[:10] for _ in range(10)]
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))  # type: ignore[arg-type]
    for c in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=token_digest(c)))  # type: ignore[arg-type]
    return codes


def enrol_for_demo(session: Session, settings: Settings, user: User) -> tuple[str, list[str]]:
    """Turn two-step verification on with a new random secret, without a code from a phone: for
    ``office demo`` only, which prints the secret and recovery codes on the terminal of whoever ran
    it (so a demo folder reachable from a network is not opened by the published demo password
    alone). Returns the secret and the recovery codes."""
    secret = pyotp.random_base32()
    user.totp_secret_enc = SecretBox(settings.secret_key, "totp").seal(secret)
    codes = _turn_on(session, user)
    audit.record(session, SYSTEM, "auth.totp_enabled", target_type="user", target_id=user.id, detail={"demo": True})
    return secret, codes


def disable_totp(session: Session, settings: Settings, actor: Actor, *, password: str, code: str) -> None:
    user = get_user(session, actor.user_id)
    if not user.totp_enabled:
        raise ValidationError("两步验证未开启", code="not_enabled")
    if not verify_password(settings, user.password_hash, password or "") or not _check_second_factor(
        session, settings, user, code
    ):
        raise PermissionDenied("密码或验证码不正确", code="bad_credentials")
    if _role_requires_2fa(session, user.id):  # type: ignore[arg-type]
        raise PermissionDenied("您的角色要求必须开启两步验证", code="2fa_mandatory")
    user.totp_enabled = False
    user.totp_secret_enc = None
    session.add(user)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))  # type: ignore[arg-type]
    audit.record(session, actor, "auth.totp_disabled", target_type="user", target_id=user.id)


def set_role_policy(session: Session, actor: Actor, role: Role, *, require_2fa: bool) -> None:
    from office import policy

    policy.require(actor, "settings.manage")
    if not require_2fa and role in required_2fa(settings_of(session), frozenset()):
        raise Conflict(
            "系统管理员和印章管理员必须开启两步验证（由部署设置 OFFICE_ADMIN_2FA 决定）",
            code="2fa_required_by_deployment",
        )
    row = session.get(RolePolicy, role) or RolePolicy(role=role)
    row.require_2fa = require_2fa
    session.add(row)
    actor_cache.record(session, None)
    audit.record(
        session,
        actor,
        "settings.role_2fa",
        target_type="role",
        target_id=role.value,
        detail={"require_2fa": require_2fa},
    )


def role_policies(session: Session) -> dict[str, bool]:
    """Whether each role must use two-step verification, the deployment's floor included."""
    rows = {r.role: r.require_2fa for r in session.exec(select(RolePolicy)).all()}
    floor = required_2fa(settings_of(session), frozenset())
    return {r.value: rows.get(r, False) or r in floor for r in Role}
