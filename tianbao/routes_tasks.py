"""HTTP API of collection tasks and returns under ``/api/tianbao`` (thin: every rule is in
``tianbao.tasks``, ``tianbao.returns``, ``tianbao.board`` and ``tianbao.reminders``)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from office.web import Ctx, api
from tianbao import board, reminders, returns, tasks
from tianbao.schemas_tasks import ReturnAction, TaskAction, TaskIn, TaskUpdate, UrgeIn, ValuesIn

P = "/api/tianbao"
T = P + "/tasks/{task_id:int}"
R = P + "/returns/{return_id:int}"


def _task(ctx: Ctx, task: Any) -> dict[str, Any]:
    return tasks.task_dict(ctx.session, task)


@api(action="tianbao.use")
def list_tasks(ctx: Ctx) -> dict[str, Any]:
    page = ctx.query_int("page", 1, lo=1, hi=10_000)
    return tasks.list_tasks(ctx.session, ctx.user, box=ctx.query("box", "collecting"), page=page)


@api(action="tianbao.use", body=TaskIn, write=True, status=201)
def create_task(ctx: Ctx) -> dict[str, Any]:
    return _task(ctx, tasks.create_task(ctx.session, ctx.user, ctx.body.model_dump()))


@api(action="tianbao.use")
def get_task(ctx: Ctx) -> dict[str, Any]:
    return _task(ctx, tasks.get_task_for_collector(ctx.session, ctx.user, ctx.path_int("task_id")))


@api(action="tianbao.use", body=TaskUpdate, write=True)
def update_task(ctx: Ctx) -> dict[str, Any]:
    b: TaskUpdate = ctx.body
    data = b.model_dump(exclude={"version"})
    return _task(ctx, tasks.update_task(ctx.session, ctx.user, ctx.path_int("task_id"), data, b.version))


@api(action="tianbao.use", body=TaskAction, write=True)
def issue_task(ctx: Ctx) -> dict[str, Any]:
    return _task(ctx, tasks.issue(ctx.session, ctx.user, ctx.path_int("task_id"), ctx.body.version))


@api(action="tianbao.use", body=TaskAction, write=True)
def withdraw_task(ctx: Ctx) -> dict[str, Any]:
    b: TaskAction = ctx.body
    return _task(ctx, tasks.withdraw(ctx.session, ctx.user, ctx.path_int("task_id"), b.version, b.reason))


@api(action="tianbao.use", body=TaskAction, write=True)
def close_task(ctx: Ctx) -> dict[str, Any]:
    return _task(ctx, tasks.close(ctx.session, ctx.user, ctx.path_int("task_id"), ctx.body.version))


@api(action="tianbao.use")
def task_board(ctx: Ctx) -> dict[str, Any]:
    return board.board(ctx.session, ctx.user, ctx.path_int("task_id"))


@api(action="tianbao.use", body=UrgeIn, write=True)
def urge(ctx: Ctx) -> dict[str, Any]:
    b: UrgeIn = ctx.body
    return {"urged": reminders.urge(ctx.session, ctx.user, ctx.path_int("task_id"), b.return_ids, b.message)}


@api(action="tianbao.use")
def list_returns(ctx: Ctx) -> dict[str, Any]:
    page = ctx.query_int("page", 1, lo=1, hi=10_000)
    return returns.list_returns(ctx.session, ctx.user, box=ctx.query("box", "todo"), page=page)


@api(action="tianbao.use")
def get_return(ctx: Ctx) -> dict[str, Any]:
    """A read: only the filler's or reviewer's first opening starts the return (and prefills it),
    in a write transaction of its own that reads the return again; every later opening takes no
    write lock."""
    return_id = ctx.path_int("return_id")
    ret = returns.get_return_for(ctx.session, ctx.user, return_id)
    if not returns.opens(ctx.session, ctx.user, ret):
        return returns.form(ctx.session, ctx.user, ret)
    with ctx.app.state.db.write() as session:
        ret = returns.get_return_for(session, ctx.user, return_id)
        return returns.form(session, ctx.user, returns.open_return(session, ctx.user, ret))


@api(action="tianbao.use", body=ValuesIn, write=True)
def save_return(ctx: Ctx) -> dict[str, Any]:
    b: ValuesIn = ctx.body
    ret = returns.get_return_for(ctx.session, ctx.user, ctx.path_int("return_id"))
    returns.save_values(ctx.session, ctx.user, ret, b.values, b.reasons, b.version)
    return returns.form(ctx.session, ctx.user, ret)


def _transition(name: str) -> Any:
    def run(ctx: Ctx) -> dict[str, Any]:
        b: ReturnAction = ctx.body
        s, actor = ctx.session, ctx.user
        ret = returns.get_return_for(s, actor, ctx.path_int("return_id"))
        if name == "to-review":
            returns.to_review(s, actor, ret, b.version)
        elif name == "send-back":
            returns.send_back(s, actor, ret, b.version, b.comment)
        elif name == "submit":
            returns.submit(s, actor, ret, b.version)
        elif name == "accept":
            returns.accept(s, actor, ret, b.version)
        else:
            returns.return_(s, actor, ret, b.version, [c.model_dump() for c in b.comments])
        return returns.form(s, actor, ret)

    run.__name__ = "return_" + name.replace("-", "_")
    return api(action="tianbao.use", body=ReturnAction, write=True)(run)


TRANSITIONS = ("to-review", "send-back", "submit", "accept", "return")

ROUTES = [
    Route(P + "/tasks", list_tasks, methods=["GET"]),
    Route(P + "/tasks", create_task, methods=["POST"]),
    Route(T, get_task, methods=["GET"]),
    Route(T, update_task, methods=["PUT"]),
    Route(T + "/issue", issue_task, methods=["POST"]),
    Route(T + "/withdraw", withdraw_task, methods=["POST"]),
    Route(T + "/close", close_task, methods=["POST"]),
    Route(T + "/board", task_board, methods=["GET"]),
    Route(T + "/urge", urge, methods=["POST"]),
    Route(P + "/returns", list_returns, methods=["GET"]),
    Route(R, get_return, methods=["GET"]),
    Route(R, save_return, methods=["PUT"]),
    *(Route(f"{R}/{name}", _transition(name), methods=["POST"]) for name in TRANSITIONS),
]
