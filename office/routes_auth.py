"""Login, logout, the current user, password, two-factor and sessions."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from office import accounts, audit, health, quiet_hours
from office.directory.service import get_user, posts_of, roles_of
from office.errors import OfficeError, Unauthenticated
from office.models import ROLE_LABELS
from office.web import SESSION_COOKIE, Body, Ctx, api, client_ip, cookie_names, error_response


class LoginBody(Body):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class TotpBody(Body):
    code: str = Field(max_length=40)


class PasswordBody(Body):
    current: str = Field(max_length=1000)
    new: str = Field(max_length=1000)


class DisableTotpBody(Body):
    password: str = Field(max_length=1000)
    code: str = Field(max_length=40)


class QuietHoursBody(Body):
    start: str = Field(max_length=10)
    end: str = Field(max_length=10)


class PreferencesBody(Body):
    elder_mode: bool | None = None
    quiet_hours: QuietHoursBody | None = None  # null turns 免打扰 off; absent leaves it as it is


def _set_cookies(ctx: Ctx, response: Response, token: str, csrf: str) -> None:
    settings = ctx.settings
    signed = ctx.app.state.signer.sign_token(token)
    max_age = settings.session_absolute_hours * 3600
    session_name, csrf_name = cookie_names(settings)
    response.set_cookie(
        session_name, signed, max_age=max_age, httponly=True, samesite="strict", secure=settings.cookie_secure, path="/"
    )
    response.set_cookie(
        csrf_name, csrf, max_age=max_age, httponly=False, samesite="strict", secure=settings.cookie_secure, path="/"
    )


def _clear_cookies(ctx: Ctx, response: Response) -> None:
    secure = ctx.settings.cookie_secure
    for name in cookie_names(ctx.settings):
        response.delete_cookie(name, path="/", secure=secure, httponly=name.endswith(SESSION_COOKIE), samesite="strict")


def me_payload(ctx: Ctx) -> dict[str, Any]:
    actor = ctx.user
    user = get_user(ctx.session, actor.user_id)
    roles = roles_of(ctx.session, actor.user_id)
    row = ctx.request.state.auth_session
    must_enrol = not user.totp_enabled and accounts._role_requires_2fa(ctx.session, actor.user_id)
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "staff_no": user.staff_no,
        "phone": user.phone,
        "office": user.office,
        "email": user.email,
        "roles": sorted(r.value for r in roles),
        "role_labels": [ROLE_LABELS[r] for r in roles],
        "posts": posts_of(ctx.session, [actor.user_id])[actor.user_id],
        "agency_id": actor.agency_id,
        "department_id": actor.department_id,
        "totp_enabled": user.totp_enabled,
        "totp_setup_required": must_enrol,
        "elder_mode": user.elder_mode,
        "quiet_hours": quiet_hours.public(user),
        "csrf_token": row.csrf_token,
        "watermark": ctx.app.state.watermark_enabled(ctx.session),
    }


def _password_ahead(ctx: Ctx) -> Any:
    """``before_write``: verify the password before the write lock (``accounts.password_checked_ahead``)."""
    b: LoginBody = ctx.body
    return accounts.password_checked_ahead(
        ctx.session, ctx.settings, username=b.username, password=b.password, ip=client_ip(ctx.request)
    )


@api(action="public", body=LoginBody, write=True, before_write=_password_ahead)
def login(ctx: Ctx) -> Response:
    """Password step; answers ``{"totp_required": true}`` when the account has 2FA on."""
    b: LoginBody = ctx.body
    try:
        result = accounts.authenticate(
            ctx.session,
            ctx.settings,
            username=b.username,
            password=b.password,
            ip=client_ip(ctx.request),
            user_agent=ctx.request.headers.get("user-agent", ""),
        )
    except OfficeError as exc:
        # Return (not raise) so the failure counter and audit entry commit.
        return error_response(exc)
    if result.totp_required:
        response: Response = JSONResponse({"totp_required": True})
    else:
        ctx.request.state.auth_session = result.session
        ctx.actor = accounts.load_actor(
            ctx.session, result.session.user_id, ip=client_ip(ctx.request), session_id=result.session.id
        )
        response = JSONResponse({"totp_required": False, "user": me_payload(ctx)})
    _set_cookies(ctx, response, result.token, result.session.csrf_token)
    return response


@api(action="public", body=TotpBody, write=True, allow_pending=True)
def login_totp(ctx: Ctx) -> Response:
    row = getattr(ctx.request.state, "auth_session", None)
    if row is None:
        return error_response(Unauthenticated("登录已过期，请重新输入密码", code="no_pending_login"))
    try:
        token, row = accounts.verify_totp_step(
            ctx.session,
            ctx.settings,
            row,
            ctx.body.code,
            client_ip(ctx.request),
            user_agent=ctx.request.headers.get("user-agent", ""),
        )
    except OfficeError as exc:
        return error_response(exc)  # returned, not raised, so the failure count commits
    ctx.request.state.auth_session = row
    ctx.actor = accounts.load_actor(ctx.session, row.user_id, ip=client_ip(ctx.request), session_id=row.id)
    response = JSONResponse({"totp_required": False, "user": me_payload(ctx)})
    _set_cookies(ctx, response, token, row.csrf_token)  # the pending session's cookies are replaced
    return response


@api(action="public", write=True, allow_pending=True, allow_unenrolled=True)
def logout(ctx: Ctx) -> Response:
    row = getattr(ctx.request.state, "auth_session", None)
    if row is not None:
        accounts.end_session(ctx.session, ctx.actor, row)
    response = JSONResponse({"ok": True})
    _clear_cookies(ctx, response)
    return response


@api(action="authenticated", allow_unenrolled=True)
def me(ctx: Ctx) -> dict[str, Any]:
    return me_payload(ctx)


@api(action="authenticated", body=PreferencesBody, write=True, allow_unenrolled=True)
def preferences(ctx: Ctx) -> dict[str, Any]:
    user = get_user(ctx.session, ctx.user.user_id)
    if ctx.body.elder_mode is not None:
        user.elder_mode = ctx.body.elder_mode
    if "quiet_hours" in ctx.body.model_fields_set:
        quiet = ctx.body.quiet_hours
        quiet_hours.apply(user, quiet and quiet.start, quiet and quiet.end)
    ctx.session.add(user)
    saved = {"elder_mode": user.elder_mode, "quiet_hours": quiet_hours.public(user)}
    audit.record(ctx.session, ctx.actor, "user.preferences", target_type="user", target_id=user.id, detail=saved)
    return saved


@api(action="authenticated", body=PasswordBody, write=True)
def change_password(ctx: Ctx) -> dict[str, Any]:
    accounts.change_password(ctx.session, ctx.user, current=ctx.body.current, new=ctx.body.new)
    return {"ok": True}


@api(action="authenticated", write=True, allow_unenrolled=True)
def totp_setup(ctx: Ctx) -> dict[str, Any]:
    return accounts.begin_totp(ctx.session, ctx.settings, ctx.user)


@api(action="authenticated", body=TotpBody, write=True, allow_unenrolled=True)
def totp_enable(ctx: Ctx) -> dict[str, Any]:
    return {"recovery_codes": accounts.enable_totp(ctx.session, ctx.settings, ctx.user, ctx.body.code)}


@api(action="authenticated", body=DisableTotpBody, write=True)
def totp_disable(ctx: Ctx) -> dict[str, Any]:
    accounts.disable_totp(ctx.session, ctx.settings, ctx.user, password=ctx.body.password, code=ctx.body.code)
    return {"ok": True}


@api(action="authenticated")
def sessions(ctx: Ctx) -> dict[str, Any]:
    return {"items": accounts.list_sessions(ctx.session, ctx.settings, ctx.user)}


@api(action="authenticated", write=True)
def revoke_session(ctx: Ctx) -> dict[str, Any]:
    accounts.revoke_own_session(ctx.session, ctx.user, ctx.path_int("session_id"))
    return {"ok": True}


async def healthz(request: Request) -> Response:
    """Alive, and which optional parts work (official copies need LibreOffice): ``office.health``."""
    return JSONResponse(health.report())


healthz.__policy__ = "public"  # type: ignore[attr-defined]

routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/totp", login_totp, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/preferences", preferences, methods=["PUT"]),
    Route("/api/me/password", change_password, methods=["POST"]),
    Route("/api/me/2fa/setup", totp_setup, methods=["POST"]),
    Route("/api/me/2fa/enable", totp_enable, methods=["POST"]),
    Route("/api/me/2fa/disable", totp_disable, methods=["POST"]),
    Route("/api/me/sessions", sessions, methods=["GET"]),
    Route("/api/me/sessions/{session_id:int}", revoke_session, methods=["DELETE"]),
]
