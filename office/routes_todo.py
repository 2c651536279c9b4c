"""工作台 HTTP API: the person's 待办 (and 已办, 我发起的) across domains, and the counts for badges."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from office.db import utcnow
from office.web import Ctx, api


@api(action="authenticated")
def todo_list(ctx: Ctx) -> dict[str, Any]:
    result: dict[str, Any] = ctx.app.state.todo.page(
        ctx.session,
        ctx.user,
        box=ctx.query("box", "todo"),
        kind=ctx.query("kind"),
        offset=ctx.query_int("offset", 0, hi=10_000),
        limit=ctx.query_int("limit", 20, lo=1, hi=100),
        now=utcnow(),
    )
    return result


@api(action="authenticated")
def todo_summary(ctx: Ctx) -> dict[str, Any]:
    result: dict[str, Any] = ctx.app.state.todo.summary(ctx.session, ctx.user, now=utcnow())
    return result


routes = [
    Route("/api/todo", todo_list, methods=["GET"]),
    Route("/api/todo/summary", todo_summary, methods=["GET"]),
]
