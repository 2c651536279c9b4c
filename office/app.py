"""``create_app(settings)``: the one place that composes every package's routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from office import (
    actor_cache,
    eventstore,
    health,
    hotpath,
    logs,
    looplag,
    metrics,
    openapi,
    pwa,
    routes_auth,
    routes_directory,
    routes_todo,
    routes_ws,
    todo,
    ws_direct,
)
from office.config import Settings, load_settings
from office.db import Database
from office.directory import index as directory_index
from office.errors import OfficeError
from office.hub import Hub, make_backend
from office.models import SystemSetting
from office.signing import CookieSigner

log = logging.getLogger("office.app")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The domain packages, in dependency order (docs/architecture.md). Each one's modules that the app
# composes are imported by name below, when first needed: ``office --help`` loads only the CLIs.
DOMAIN_PACKAGES = ("esign", "typeset", "workflow", "docs_flow", "meetings", "banshi", "tianbao", "messaging")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _models() -> list[ModuleType]:
    import banshi.models
    import docs_flow.models
    import esign.models
    import meetings.models
    import messaging.models
    import tianbao.models
    import workflow.models

    return [
        esign.models,
        workflow.models,
        docs_flow.models,
        meetings.models,
        banshi.models,
        tianbao.models,
        messaging.models,
    ]


def _routes() -> list[ModuleType]:
    import banshi.routes
    import docs_flow.routes
    import esign.routes
    import meetings.routes
    import messaging.routes
    import tianbao.routes

    return [esign.routes, docs_flow.routes, meetings.routes, banshi.routes, tianbao.routes, messaging.routes]


def _startup() -> list[ModuleType]:
    import banshi.startup
    import docs_flow.startup
    import esign.startup
    import meetings.startup
    import messaging.startup
    import tianbao.startup
    import typeset.startup

    return [
        esign.startup,
        typeset.startup,
        docs_flow.startup,
        meetings.startup,
        banshi.startup,
        tianbao.startup,
        messaging.startup,
    ]


def _cli() -> list[ModuleType]:
    import esign.cli
    import meetings.cli
    import typeset.cli

    return [esign.cli, typeset.cli, meetings.cli]


def _demo() -> list[ModuleType]:
    import banshi.demo
    import docs_flow.demo
    import esign.demo
    import meetings.demo
    import tianbao.demo

    return [esign.demo, docs_flow.demo, meetings.demo, banshi.demo, tianbao.demo]


_KINDS: dict[str, Callable[[], list[ModuleType]]] = {
    "models": _models,
    "routes": _routes,
    "startup": _startup,
    "cli": _cli,
    "demo": _demo,
}


def domain_modules(kind: str) -> list[ModuleType]:
    """The domain packages' ``models``, ``routes``, ``startup``, ``cli`` or ``demo`` modules, in
    dependency order."""
    return _KINDS[kind]()


def load_all_models() -> None:
    import office.models  # noqa: F401

    domain_modules("models")
    load_rules()  # every way in comes through here (the app, migrations, the CLI): no rule missing


def load_rules() -> None:
    """Register the policy rules, each package's in its ``rules.py``."""
    import banshi.rules  # noqa: F401
    import docs_flow.rules  # noqa: F401
    import esign.rules  # noqa: F401
    import meetings.rules  # noqa: F401
    import messaging.rules  # noqa: F401
    import office.rules  # noqa: F401
    import tianbao.rules  # noqa: F401


def load_event_types() -> None:
    """Declare every package's events (``<package>/event_types.py``) in ``office.events``;
    ``docs/events.md`` is generated from them (``python -m office.events_doc``)."""
    import banshi.event_types
    import docs_flow.event_types
    import esign.event_types
    import meetings.event_types
    import messaging.event_types
    import tianbao.event_types
    from office import event_types, events

    for module in (
        event_types,
        esign.event_types,
        docs_flow.event_types,
        meetings.event_types,
        banshi.event_types,
        tianbao.event_types,
        messaging.event_types,
    ):
        events.declare(*module.EVENT_TYPES)


BASE_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
)


def security_headers(settings: Any) -> list[tuple[bytes, bytes]]:
    hsts = [(b"strict-transport-security", b"max-age=31536000")] if getattr(settings, "cookie_secure", False) else []
    return [*hsts, *BASE_HEADERS]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = security_headers(getattr(getattr(scope.get("app"), "state", None), "settings", None))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                names = {k.lower() for k, _ in headers}
                for key, value in wanted:
                    if key not in names:
                        headers.append((key, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _office_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OfficeError)
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers())


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: ("not_found", "请求的地址不存在"), 405: ("method_not_allowed", "不支持该请求方法")}
    code, message = messages.get(exc.status_code, ("http_error", str(exc.detail)))
    return JSONResponse({"error": code, "message": message}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    ref = uuid.uuid4().hex[:12]
    log.error("unhandled error ref=%s", ref, exc_info=exc)
    # Starlette answers unhandled errors outside the middleware stack, so the headers go on here.
    headers = {k.decode(): v.decode() for k, v in security_headers(request.app.state.settings)}
    request_id = request.scope.get("state", {}).get("request_id", "")  # office.logs.RequestLog's
    headers["x-request-id"] = request_id
    message = f"服务器内部错误（编号 {ref}），请联系管理员"
    return JSONResponse(
        {"error": "server_error", "message": message, "ref": ref, "request_id": request_id},
        status_code=500,
        headers=headers,
    )


async def index(_request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})


index.__policy__ = "public"  # type: ignore[attr-defined]


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.build(request.app.routes))


openapi_json.__policy__ = "public"  # type: ignore[attr-defined]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    load_all_models()
    load_event_types()
    db = Database(settings)
    hub = Hub(db, make_backend(settings.hub_url))

    routes: list[Any] = [Route("/", index), Route("/api/openapi.json", openapi_json, methods=["GET"])]
    routes.append(Route("/sw.js", pwa.endpoint(STATIC_DIR)))  # the offline shell: office/pwa.py
    routes += [Route("/metrics", metrics.endpoint, methods=["GET"]), Route("/readyz", health.readyz, methods=["GET"])]
    routes += routes_auth.routes + routes_directory.routes + routes_todo.routes + routes_ws.routes
    for module in domain_modules("routes"):
        routes += module.routes
    routes.append(Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from office.migrate import prepare_schema

        # Upgrades, or refuses a database not at the newest schema (OFFICE_MIGRATE_ON_START=false).
        await asyncio.get_running_loop().run_in_executor(None, prepare_schema, db, settings.migrate_on_start)
        await asyncio.get_running_loop().run_in_executor(None, directory_index.warm, db)
        await hub.start()
        app.state.looplag.start()  # the loop's lateness, for shedding chat sends (office/looplag.py)
        # Blocking handlers (run_in_threadpool) on this loop: at most OFFICE_REQUEST_THREADS at once.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        startup = [m for m in domain_modules("startup")]
        tasks = [asyncio.create_task(_prune_events(db, settings))]
        for module in startup:
            result = module.start(app)
            if asyncio.iscoroutine(result):
                tasks.append(asyncio.create_task(result))
        # What exists now (models, routes, the directory index, caches) lives as long as the app.
        # Frozen, it leaves the collector's generations, so a full collection no longer walks it:
        # one took ~0.6 s with the 0.45 M objects of a started app, a pause every few hundred
        # requests that set the list pages' p99. Raising the gen-0 threshold as well measured no better.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # an app a test (or a reload) drops can be collected again
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            await hub.stop()
            app.state.looplag.stop()
            db.dispose()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(logs.RequestLog, trusted_proxies=settings.trusted_proxies),  # office/logs.py
            Middleware(hotpath.HotPaths, headers=security_headers),
            Middleware(ws_direct.RawSend),
            Middleware(SecurityHeaders),
        ],
        exception_handlers={OfficeError: _office_error, HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.hub = hub
    app.state.looplag = looplag.LoopLag()
    app.state.todo = todo.Registry()  # the domains' 待办 sources, registered at start (office/todo.py)
    app.state.signer = CookieSigner(settings.secret_key)
    app.state.watermark_enabled = lambda session: watermark_enabled(session, settings)
    return app


def watermark_enabled(session: Any, settings: Settings) -> bool:
    row = session.get(SystemSetting, "watermark")
    return bool(row.value.get("enabled", settings.watermark)) if row else settings.watermark


async def _prune_events(db: Database, settings: Settings) -> None:
    while True:
        await asyncio.sleep(3600)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: eventstore.prune(db, retention=timedelta(hours=settings.event_retention_hours))
            )
            await asyncio.get_running_loop().run_in_executor(None, actor_cache.prune, db)
        except Exception:
            log.exception("event pruning failed")
