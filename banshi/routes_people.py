"""HTTP API of 办事's personnel and finance side: leave balances and adjustments, personnel records,
travel standards, the ledgers. Thin: who may do what is decided in the service modules (the
agency's personnel or finance office, ``banshi.office_access``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from banshi import leave, ledgers, travel
from office.errors import ValidationError
from office.web import Body, Ctx, api

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LeaveAdjustIn(Body):
    year: int
    kind: str
    days: float
    reason: str


class PersonnelRecordIn(Body):
    work_start: str | None = None
    note: str = ""


class TravelStandardsIn(Body):
    items: list[dict[str, Any]]


def _year(ctx: Ctx) -> int:
    return ctx.query_int("year", leave.this_year(), lo=2000, hi=2100)


def _department(ctx: Ctx) -> int | None:
    value = ctx.query_int("department_id", 0, lo=0, hi=2**31 - 1)
    return value or None


def _month(ctx: Ctx) -> str:
    return ctx.query("month") or dt.datetime.now(leave.CHINA).strftime("%Y-%m")


@api(action="authenticated")
def my_balance(ctx: Ctx) -> dict[str, Any]:
    return leave.my_balance(ctx.session, ctx.user, _year(ctx))


@api(action="authenticated")
def people(ctx: Ctx) -> dict[str, Any]:
    return leave.people(ctx.session, ctx.user, _year(ctx))


@api(action="authenticated")
def person(ctx: Ctx) -> dict[str, Any]:
    return leave.history(ctx.session, ctx.user, ctx.path_int("user_id"), _year(ctx))


@api(action="authenticated", body=LeaveAdjustIn, write=True, status=201)
def adjust(ctx: Ctx) -> dict[str, Any]:
    b: LeaveAdjustIn = ctx.body
    user_id = ctx.path_int("user_id")
    leave.adjust(ctx.session, ctx.user, user_id, year=b.year, kind=b.kind, days=b.days, reason=b.reason)
    return leave.history(ctx.session, ctx.user, user_id, b.year)


@api(action="authenticated", body=PersonnelRecordIn, write=True)
def set_personnel(ctx: Ctx) -> dict[str, Any]:
    b: PersonnelRecordIn = ctx.body
    try:
        work_start = dt.date.fromisoformat(b.work_start) if b.work_start else None
    except ValueError:
        raise ValidationError("参加工作时间格式应为 YYYY-MM-DD", code="bad_date", field="work_start") from None
    user_id = ctx.path_int("user_id")
    leave.set_personnel(ctx.session, ctx.user, user_id, work_start=work_start, note=b.note)
    return leave.history(ctx.session, ctx.user, user_id, _year(ctx))


@api(action="authenticated")
def get_standards(ctx: Ctx) -> dict[str, Any]:
    return travel.view(ctx.session, ctx.user)


@api(action="authenticated", body=TravelStandardsIn, write=True)
def put_standards(ctx: Ctx) -> dict[str, Any]:
    return travel.replace_standards(ctx.session, ctx.user, ctx.body.items)


@api(action="authenticated")
def get_ledger(ctx: Ctx) -> dict[str, Any]:
    return ledgers.ledger(ctx.session, ctx.user, month=_month(ctx), department_id=_department(ctx))


@api(action="authenticated", write=True)  # the export is audited
def export_ledger(ctx: Ctx) -> Response:
    month = _month(ctx)
    data = ledgers.export(ctx.session, ctx.user, month=month, department_id=_department(ctx))
    name = quote(f"办事台账-{month}.xlsx")
    return Response(data, media_type=XLSX_TYPE, headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"})


routes = [
    Route("/api/banshi/leave/balance", my_balance, methods=["GET"]),
    Route("/api/banshi/leave/people", people, methods=["GET"]),
    Route("/api/banshi/leave/people/{user_id:int}", person, methods=["GET"]),
    Route("/api/banshi/leave/people/{user_id:int}", adjust, methods=["POST"]),
    Route("/api/banshi/personnel/{user_id:int}", set_personnel, methods=["PUT"]),
    Route("/api/banshi/travel-standards", get_standards, methods=["GET"]),
    Route("/api/banshi/travel-standards", put_standards, methods=["PUT"]),
    Route("/api/banshi/ledger", get_ledger, methods=["GET"]),
    Route("/api/banshi/ledger.xlsx", export_ledger, methods=["GET"]),
]
