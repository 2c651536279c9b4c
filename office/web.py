"""The thin HTTP layer every package's routes use.

``@api(action=..., body=Model)`` wraps a plain sync handler ``fn(ctx) -> data``: it resolves the
session cookie into an ``Actor``, refuses half-authenticated sessions, checks CSRF on
state-changing methods, checks the declared policy action, parses and validates the JSON body
(unknown fields, wrong types, depth), runs the handler in the threadpool with a read or write
transaction, and serialises the result. Errors become ``{"error", "message"}`` JSON.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from office import accounts, policy, session_touch
from office.actor import Actor
from office.db import utcnow
from office.errors import (
    NotFound,
    OfficeError,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationError,
)
from office.jsonin import MAX_ID, is_digits, parse_json, refuse_nul
from office.models import User

log = logging.getLogger("office.web")
DEFERRED_TIMEOUT = 60.0  # seconds a deferred write's answer may take before the request fails (500)
SESSION_COOKIE = "tb_session"
CSRF_COOKIE = "tb_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Over HTTPS (``cookie_secure``) both carry the ``__Host-`` prefix: the browser then accepts them only
# when Secure, for path /, from this very host (no Domain), so a sibling subdomain cannot plant or
# overwrite them (ASVS 3.4.x). Plain-HTTP deployments (the embedded demo) cannot use the prefix.
HOST_PREFIX = "__Host-"


def cookie_names(settings: Any) -> tuple[str, str]:
    """(session cookie, CSRF cookie) names for this deployment."""
    prefix = HOST_PREFIX if getattr(settings, "cookie_secure", False) else ""
    return prefix + SESSION_COOKIE, prefix + CSRF_COOKIE


class Body(BaseModel):
    """Base for request bodies: unknown fields are an error, strings are not coerced from numbers."""

    model_config = ConfigDict(extra="forbid", strict=False, str_max_length=1_000_000)


@dataclass
class Ctx:
    request: Request
    actor: Actor | None
    session: Session
    body: Any = None
    raw: bytes = b""
    form: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> Any:
        return self.request.app

    @property
    def settings(self) -> Any:
        return self.request.app.state.settings

    @property
    def user(self) -> Actor:
        assert self.actor is not None
        return self.actor

    def path_int(self, name: str) -> int:
        value = self.request.path_params[name]
        if not isinstance(value, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError(f"{name} 必须是整数", code="bad_path") from None
        if value > MAX_ID:
            raise NotFound()  # no row has such an id (and the database could not even compare it)
        return value

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def query_int(self, name: str, default: int, *, lo: int = 0, hi: int = 1_000_000) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError(f"参数 {name} 必须是整数", code="bad_query") from None
        if not lo <= value <= hi:
            raise ValidationError(f"参数 {name} 超出范围（{lo}–{hi}）", code="bad_query")
        return value


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\"\\/:*?<>|]")


# Windows opens a device, not a file, for these names in any case and with any extension ("nul.txt",
# "Aux.docx", "COM1.tar.gz"); a download saved under one is lost or hangs the saving program.
_WINDOWS_DEVICES = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        "CONIN$",
        "CONOUT$",
        *(f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³"),
    }
)


def safe_upload_name(name: str | None, default: str = "文件") -> str:
    """An uploaded file's name as we keep and show it: no path parts, control, bidi-override or
    zero-width characters (which disguise ``exe`` as ``docx``), no Windows device name (prefixed
    with "_"), at most 120 characters."""
    cleaned = _UNSAFE_NAME.sub("_", name or "").strip(" .")
    if cleaned.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        cleaned = "_" + cleaned
    if len(cleaned) > 120:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[:110] + dot + ext[:9]) if dot and len(ext) <= 9 else cleaned[:120]
    return cleaned or default


def clean_upload_names(form: Any) -> None:
    for _key, value in form.multi_items():
        if hasattr(value, "filename") and not isinstance(value, str):
            value.filename = safe_upload_name(value.filename)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def error_response(exc: OfficeError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers())


def check_request_text(request: Request, form: Any = None) -> None:
    refuse_nul(request.scope.get("path", ""))
    for key, value in request.query_params.multi_items():
        refuse_nul(key)
        refuse_nul(value)
    if form is not None:
        for key, value in form.multi_items():
            refuse_nul(key)
            if isinstance(value, str):
                refuse_nul(value)


def validate_body(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValidationError("请求体必须是 JSON 对象", code="not_object")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        kind = first.get("type", "")
        if kind == "extra_forbidden":
            msg = f"不认识的字段：{loc}"
        elif kind == "missing":
            msg = f"缺少必填字段：{loc}"
        else:
            msg = f"字段 {loc} 不符合要求：{first.get('msg', '')}"
        raise ValidationError(msg, code="invalid_field", field=loc) from None


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and is_digits(declared) and int(declared) > limit:
        raise PayloadTooLarge(f"请求体超过上限（{limit // 1024} KB）")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"请求体超过上限（{limit // 1024} KB）")
        chunks.append(chunk)
    return b"".join(chunks)


def resolve_actor(request: Request, session: Session, *, allow_pending: bool = False) -> Actor | None:
    """The acting user for this request's cookie, or None; also caches the session row on the request.
    The session must pass ``accounts.session_admits``; ``accounts.must_enrol_2fa`` is noted in
    ``actor.extra`` (``office.hotpath`` asks both the same)."""
    settings = request.app.state.settings
    token = cookie_token(request)
    if not token:
        return None
    row = accounts.resolve_session(session, settings, token)
    if row is None:
        return None
    request.state.auth_session = row
    now = utcnow()
    user = session.get(User, row.user_id)
    if user is None or not accounts.session_admits(
        settings, row, is_active=user.is_active, now=now, allow_pending=allow_pending
    ):
        return None
    if accounts.touch_due(row, now):
        request.state.touch_session = (row.id, now)  # the moment it was found live: what the refresh writes
    actor = accounts.load_actor(session, row.user_id, ip=client_ip(request), session_id=row.id)
    if accounts.must_enrol_2fa(user.totp_enabled, actor.roles, accounts.roles_with_2fa(session)):
        actor.extra["must_enrol_2fa"] = True
    return actor


def _touch(request: Request, session: Session | None) -> None:
    """Refresh the session's idle timer (at most once a minute, so most reads stay reads): inside
    the request's own write transaction, or, for a read, in the background after the answer
    (``office.session_touch``), so a read never waits for the write lock."""
    due = getattr(request.state, "touch_session", None)
    if due is None:
        return
    request.state.touch_session = None
    session_id, at = due
    if session is not None:
        accounts.refresh_last_seen(session, session_id, at)
        return
    session_touch.of(request.app.state.db).note(session_id, at)


def cookie_token(conn: HTTPConnection) -> str | None:
    """The session token in a request's or websocket's signed session cookie, or None."""
    signed = conn.cookies.get(cookie_names(conn.app.state.settings)[0])
    if not signed:
        return None
    token: str | None = conn.app.state.signer.unsign_token(signed)
    return token


@dataclass(frozen=True)
class ApiOptions:
    """How ``@api`` serves one endpoint: the keyword arguments of ``api``, checked once when the
    route module is imported.

    ``action``: the policy action checked before the handler runs ("public", "authenticated", or a
    registered rule); handlers check object-level permissions themselves through ``office.policy``.
    ``body``: the pydantic model the JSON body is validated into (``ctx.body``); without one, a
    state-changing request may carry no body, or any bytes with ``raw`` (``ctx.raw``).
    ``multipart``: an upload (``ctx.form``), counted against the upload rate limits.
    ``max_bytes``: the body or upload limit, instead of the settings' default.
    ``write``: a GET that writes (in a write transaction). ``status``: the success status.
    ``allow_pending``: admits a session whose second factor is pending (the TOTP step itself).
    ``allow_unenrolled``: admits an account that must set up two-step verification first.

    ``deferred_write``: a state-changing handler that does its writing elsewhere (a group-commit
    batcher with its own write transaction) gets a read session, so it does not hold the write
    lock while it waits; CSRF, origin and policy checks are unchanged. It may return the writer's
    ``Future`` (``GroupCommit.submit``) instead of waiting for it: the answer is then sent once the
    future resolves, awaited on the event loop, so requests waiting for a busy writer hold none of
    the threadpool's threads and reads keep being served.

    ``before_write(ctx)``: slow work the handler needs that must not hold the database's single
    write lock (deriving a signing key from its PIN takes 0.1-0.3 s, and every other writer, chat
    included, would wait). It runs first, on a read session, after the same authentication, policy
    and body checks; the context manager it may return is held around the write transaction. It
    only prepares: the handler still checks and decides everything inside the transaction."""

    action: str
    body: type[BaseModel] | None = None
    write: bool = False
    raw: bool = False
    multipart: bool = False
    allow_pending: bool = False
    allow_unenrolled: bool = False
    status: int = 200
    max_bytes: int | None = None
    deferred_write: bool = False
    before_write: Callable[[Ctx], AbstractContextManager[Any] | None] | None = None

    def __post_init__(self) -> None:
        if not policy.known(self.action) and "." not in self.action:
            raise RuntimeError(f"unknown policy action {self.action!r}")

    def reads_only(self, method: str) -> bool:
        """Whether the handler runs on a read session (no write lock)."""
        return (method in SAFE_METHODS and not self.write) or self.deferred_write


def api(
    *,
    action: str,
    body: type[BaseModel] | None = None,
    write: bool = False,
    raw: bool = False,
    multipart: bool = False,
    allow_pending: bool = False,
    allow_unenrolled: bool = False,
    status: int = 200,
    max_bytes: int | None = None,
    deferred_write: bool = False,
    before_write: Callable[[Ctx], AbstractContextManager[Any] | None] | None = None,
) -> Callable[[Callable[[Ctx], Any]], Callable[[Request], Any]]:
    """Wrap a sync handler ``fn(ctx)`` into a Starlette endpoint, served as ``ApiOptions`` (which
    explains each argument) says."""
    options = ApiOptions(
        action=action,
        body=body,
        write=write,
        raw=raw,
        multipart=multipart,
        allow_pending=allow_pending,
        allow_unenrolled=allow_unenrolled,
        status=status,
        max_bytes=max_bytes,
        deferred_write=deferred_write,
        before_write=before_write,
    )

    def deco(fn: Callable[[Ctx], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await _serve(options, fn, request)

        endpoint.__name__ = fn.__name__
        endpoint.__doc__ = fn.__doc__
        endpoint.__policy__ = action  # type: ignore[attr-defined]
        endpoint.__body__ = body  # type: ignore[attr-defined]
        endpoint.__handler__ = fn  # type: ignore[attr-defined]  # office.openapi reads its query parameters
        endpoint.__multipart__ = multipart  # type: ignore[attr-defined]
        return endpoint

    return deco


async def _serve(options: ApiOptions, fn: Callable[[Ctx], Any], request: Request) -> Response:
    """On the event loop: refuse bad text and foreign origins, read the body or the upload, then run
    the rest in the threadpool (``_run``)."""
    settings = request.app.state.settings
    check_request_text(request)
    if request.method not in SAFE_METHODS:
        _check_origin(request)
    data = b""
    form = None
    if options.multipart:
        form = await _read_form(request, options.max_bytes or settings.max_upload_bytes)
    elif request.method not in SAFE_METHODS:
        data = await read_body(request, options.max_bytes or settings.max_body_bytes)
    try:
        answer = await run_in_threadpool(_run, options, fn, request, data, form)
        if isinstance(answer, Future):
            # Bounded as GroupCommit.run was: an accepted write is answered long before this.
            return _respond(await asyncio.wait_for(asyncio.wrap_future(answer), DEFERRED_TIMEOUT), options.status)
        return answer
    finally:
        if form is not None:
            await form.close()


async def _read_form(request: Request, limit: int) -> Any:
    await run_in_threadpool(check_upload_rate, request)
    declared = request.headers.get("content-length")
    if declared and is_digits(declared) and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(f"文件超过上限（{limit // (1024 * 1024)} MB）", code="file_too_large")
    try:
        form = await request.form(max_files=10, max_fields=50, max_part_size=limit)
    except OfficeError:
        raise
    except Exception as exc:
        raise ValidationError(f"上传内容格式错误：{str(exc)[:100]}", code="bad_multipart") from None
    clean_upload_names(form)
    try:
        check_request_text(request, form)
    except OfficeError:
        await form.close()
        raise
    return form


def _run(
    options: ApiOptions, fn: Callable[[Ctx], Any], request: Request, data: bytes, form: Any
) -> Response | Future[Any]:
    """In the threadpool: the handler in a read transaction, or in the write transaction (after
    ``before_write``'s preparation on a read session). A ``deferred_write`` handler's future is
    returned as it is, for ``_serve`` to await."""
    db = request.app.state.db
    if options.reads_only(request.method):
        with db.read() as session:
            result = fn(_prepare(options, request, session, data, form))
            response = (
                result if options.deferred_write and isinstance(result, Future) else _respond(result, options.status)
            )
        _touch(request, None)
        return response
    ahead = None
    if options.before_write is not None:
        with db.read() as session:
            ahead = options.before_write(_prepare(options, request, session, data, form))
    with ahead or nullcontext(), db.write() as session:
        ctx = _prepare(options, request, session, data, form)
        _touch(request, session)
        result = fn(ctx)
        response = _respond(result, options.status)
    return response


def _prepare(options: ApiOptions, request: Request, session: Session, data: bytes, form: Any) -> Ctx:
    actor = _authenticate(options, request, session)
    policy.require(actor, options.action)
    # The body is validated only after authentication, so strangers learn nothing from it.
    payload = _parse_body(options, request, data)
    return Ctx(request=request, actor=actor, session=session, body=payload, raw=data, form=form)


def _authenticate(options: ApiOptions, request: Request, session: Session) -> Actor | None:
    if options.action == policy.PUBLIC and not options.allow_pending:
        return None
    actor = resolve_actor(request, session, allow_pending=options.allow_pending)
    request.scope.setdefault("state", {})["user_id"] = actor.user_id if actor else None  # office.logs
    if actor is None:
        if options.action != policy.PUBLIC:
            raise Unauthenticated()
        return None
    if request.method not in SAFE_METHODS:
        _check_csrf(request)
    if actor.extra.get("must_enrol_2fa") and not options.allow_unenrolled:
        raise PermissionDenied("您的角色要求开启两步验证，请先在“个人设置”中完成设置", code="2fa_setup_required")
    return actor


def _parse_body(options: ApiOptions, request: Request, data: bytes) -> Any:
    if request.method in SAFE_METHODS or options.multipart:
        return None
    if options.body is not None:
        return validate_body(options.body, parse_json(data))
    if data and not options.raw and parse_json(data) not in ({}, None):
        raise ValidationError("此接口不接受请求体", code="unexpected_body")
    return None


def _upload_buckets(app: Any) -> Any:
    buckets = getattr(app.state, "upload_buckets", None)
    if buckets is None:
        from office.ratelimit import make_buckets

        s = app.state.settings
        buckets = app.state.upload_buckets = {
            "user": make_buckets(s.hub_url, "upload:user", lambda: (s.upload_per_minute / 60, s.upload_burst)),
            "ip": make_buckets(
                s.hub_url, "upload:ip", lambda: (s.upload_per_minute_address / 60, s.upload_burst_address)
            ),
        }
    return buckets


def check_upload_rate(request: Request) -> None:
    """Uploads cost disk and parsing: each user and each address gets a bucket of them. Anonymous
    uploads (public verification) are limited by address only. Checked before the body is read."""
    buckets = _upload_buckets(request.app)
    keys: list[tuple[str, Any]] = []
    with request.app.state.db.read() as session:
        token = cookie_token(request)
        row = accounts.resolve_session(session, request.app.state.settings, token) if token else None
        if row is not None:
            keys.append(("user", row.user_id))
    keys.append(("ip", client_ip(request)))
    for kind, key in keys:
        if not buckets[kind].allow(key):
            raise RateLimited("上传过于频繁，请稍后再试", code="upload_rate_limited")


def _respond(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    return JSONResponse(result, status_code=status)


def _check_csrf(request: Request) -> None:
    row = getattr(request.state, "auth_session", None)
    sent = request.headers.get(CSRF_HEADER, "")
    from office.secrets_box import constant_equal

    if row is None or not sent or not constant_equal(sent, row.csrf_token):
        raise PermissionDenied("安全校验失败（CSRF），请刷新页面后重试", code="csrf_failed")


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and not origin_allowed(request, origin):
        raise PermissionDenied("请求来源不被允许", code="bad_origin")


def origin_allowed(request: Any, origin: str) -> bool:
    origin = origin.rstrip("/")
    allowed = set(request.app.state.settings.allowed_origins)
    host = request.headers.get("host", "")
    scheme = "https" if request.url.scheme in ("https", "wss") else "http"
    allowed.add(f"{scheme}://{host}")
    return origin in allowed
