"""HTTP API of the registry under ``/api/tianbao``: data items (list, define, change, propose, review),
a value's history, the units a collector may reach, and the collection grants the agency gives (its
units' consent, ``/scopes``) with the scopes it holds as a collector (read-only). Thin: every
rule is in ``tianbao.items``, ``tianbao.values`` and ``tianbao.scopes``. ``tianbao.routes`` includes
``ROUTES``."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.routing import Route

from office.errors import ValidationError
from office.web import Body, Ctx, api
from tianbao import items, periods, scopes, sources, values

P = "/api/tianbao"
I = P + "/items/{item_id:int}"  # noqa: E741  # the item's path, as banshi names R and T
PAGE_SIZE = 50


class ItemIn(Body):
    """An item's definition. Unset fields keep their value on a change (PUT)."""

    code: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=100)
    definition: str | None = Field(default=None, max_length=2000)
    unit_label: str | None = Field(default=None, max_length=20)
    spec: dict[str, Any] | None = None
    owner_dept_id: int | None = None
    cycle: str | None = None
    level: str | None = None
    reader_agency_ids: list[int] | None = None
    source: str | None = Field(default=None, max_length=60)
    status: str | None = None


class ItemUpdate(ItemIn):
    version: int


class ReviewIn(Body):
    approve: bool
    note: str = Field(default="", max_length=200)
    version: int


class GrantIn(Body):
    collector_agency_id: int
    root_id: int


class GrantsIn(Body):
    """The grants the actor's agency gives: which agency may collect from which of its units."""

    grants: list[GrantIn] = Field(max_length=scopes.MAX_SCOPES)


def _data(body: ItemIn) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True, exclude={"version"})


def _one(ctx: Ctx, item: Any) -> dict[str, Any]:
    return items.item_dicts(ctx.session, [item])[0]


@api(action="tianbao.use")
def list_items(ctx: Ctx) -> dict[str, Any]:
    owner = ctx.query("owner")
    if owner not in ("", "mine", "all"):
        raise ValidationError("owner 只能是 mine 或 all", code="bad_query", field="owner")
    return items.list_items(
        ctx.session,
        ctx.user,
        q=ctx.query("q"),
        status=ctx.query("status"),
        mine=owner == "mine",
        page=ctx.query_int("page", 1, lo=1, hi=10_000),
        size=PAGE_SIZE,
    )


@api(action="tianbao.use")
def get_item(ctx: Ctx) -> dict[str, Any]:
    return _one(ctx, items.get_readable(ctx.session, ctx.user, ctx.path_int("item_id")))


@api(action="tianbao.use", body=ItemIn, write=True, status=201)
def create_item(ctx: Ctx) -> dict[str, Any]:
    return _one(ctx, items.create_item(ctx.session, ctx.user, _data(ctx.body)))


@api(action="tianbao.use", body=ItemUpdate, write=True)
def update_item(ctx: Ctx) -> dict[str, Any]:
    item = items.update_item(ctx.session, ctx.user, ctx.path_int("item_id"), _data(ctx.body), ctx.body.version)
    return _one(ctx, item)


@api(action="tianbao.item.propose", body=ItemIn, write=True, status=201)
def propose_item(ctx: Ctx) -> dict[str, Any]:
    return _one(ctx, items.propose_item(ctx.session, ctx.user, _data(ctx.body)))


@api(action="tianbao.use", body=ReviewIn, write=True)
def review_item(ctx: Ctx) -> dict[str, Any]:
    b: ReviewIn = ctx.body
    item = items.review_item(ctx.session, ctx.user, ctx.path_int("item_id"), b.approve, b.note, b.version)
    return _one(ctx, item)


@api(action="tianbao.use")
def item_history(ctx: Ctx) -> dict[str, Any]:
    """A unit's values of the item for one period, newest first, and the current one."""
    unit_id = ctx.query_int("unit_id", 0, lo=1, hi=2**31 - 1)
    period = ctx.query("period")
    if not unit_id:
        raise ValidationError("请给出单位（unit_id）", code="bad_query", field="unit_id")
    periods.parse(period)
    item = items.item_for_values(ctx.session, ctx.user, ctx.path_int("item_id"), unit_id)
    rows = values.history(ctx.session, item.id or 0, unit_id, period)
    history = values.history_dicts(ctx.session, rows)
    return {"item": _one(ctx, item), "period": period, "current": history[0] if history else None, "history": history}


@api(action="tianbao.use")
def list_sources(ctx: Ctx) -> dict[str, Any]:
    return {"items": sources.catalogue()}


@api(action="tianbao.use")
def collectable_units(ctx: Ctx) -> dict[str, Any]:
    return {"units": scopes.collectable_units(ctx.session, ctx.user.agency_id or 0)}


def _scopes(ctx: Ctx, grants: list[dict[str, Any]]) -> dict[str, Any]:
    return {"grants": grants, "held": scopes.list_held(ctx.session, ctx.user.agency_id or 0)}


@api(action="tianbao.scope.manage")
def get_scopes(ctx: Ctx) -> dict[str, Any]:
    return _scopes(ctx, scopes.list_grants(ctx.session, ctx.user.agency_id or 0))


@api(action="tianbao.scope.manage", body=GrantsIn, write=True)
def put_scopes(ctx: Ctx) -> dict[str, Any]:
    pairs = [(g.collector_agency_id, g.root_id) for g in ctx.body.grants]
    return _scopes(ctx, scopes.set_grants(ctx.session, ctx.user, pairs))


ROUTES = [
    Route(P + "/items", list_items, methods=["GET"]),
    Route(P + "/items", create_item, methods=["POST"]),
    Route(P + "/items/propose", propose_item, methods=["POST"]),
    Route(I, get_item, methods=["GET"]),
    Route(I, update_item, methods=["PUT"]),
    Route(I + "/review", review_item, methods=["POST"]),
    Route(I + "/history", item_history, methods=["GET"]),
    Route(P + "/sources", list_sources, methods=["GET"]),
    Route(P + "/units", collectable_units, methods=["GET"]),
    Route(P + "/scopes", get_scopes, methods=["GET"]),
    Route(P + "/scopes", put_scopes, methods=["PUT"]),
]
