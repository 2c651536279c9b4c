"""差旅费标准 (travel standards) per agency, and the 差旅费报销 form's behaviour that computes the
lodging (capped) and the allowances of each detail row from them.

The rows shipped with a new agency are EXAMPLES (``is_example``), shaped like the 中央和国家机关
差旅费 rules (住宿费 cap per night by destination and rank; 伙食补助费 and 市内交通费 per day), with
round figures that are NOT the official ones: the finance office replaces or confirms them, and
every answer and computation that used an example row says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from banshi import behaviours
from banshi.models import ApprovalRequest, TravelStandard
from banshi.office_access import require_office
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import ValidationError
from office.timefmt import iso

RANKS = ("部级", "司局级", "其他人员")
EVERYWHERE = "*"
EXAMPLE_NOTE = "示例数据，并非官方标准：请财务处按本地现行差旅费标准核对修改后确认"
MAX_ROWS = 500
MAX_FEN = 10_000_000  # 10 万元 a night or a day is no standard
# (region, lodging cap per night by rank 部级/司局级/其他人员, meal, transport), in 元: examples only.
_EXAMPLES: tuple[tuple[str, tuple[int, int, int], int, int], ...] = (
    (EVERYWHERE, (800, 450, 350), 100, 80),
    ("北京", (1100, 650, 500), 100, 80),
    ("上海", (1100, 600, 500), 100, 80),
    ("广东", (900, 550, 450), 100, 80),
    ("西藏", (800, 500, 400), 120, 80),
)


def example_rows(agency_id: int) -> list[TravelStandard]:
    return [
        TravelStandard(
            agency_id=agency_id,
            region=region,
            rank=rank,
            lodging_fen=caps[i] * 100,
            meal_fen=meal * 100,
            transport_fen=transport * 100,
            is_example=True,
        )
        for region, caps, meal, transport in _EXAMPLES
        for i, rank in enumerate(RANKS)
    ]


def ensure_examples(session: Session, agency_id: int) -> bool:
    """Give an agency without standards the example rows (True when it did)."""
    if session.exec(select(TravelStandard.id).where(TravelStandard.agency_id == agency_id)).first() is not None:
        return False
    session.add_all(example_rows(agency_id))
    session.flush()
    return True


def standards(session: Session, agency_id: int) -> list[TravelStandard]:
    return list(
        session.exec(
            select(TravelStandard)
            .where(TravelStandard.agency_id == agency_id)
            .order_by(col(TravelStandard.region) != EVERYWHERE, col(TravelStandard.region), col(TravelStandard.id))
        ).all()
    )


def row_view(s: TravelStandard) -> dict[str, Any]:
    return {
        "region": s.region,
        "rank": s.rank,
        "lodging_fen": s.lodging_fen,
        "meal_fen": s.meal_fen,
        "transport_fen": s.transport_fen,
        "is_example": s.is_example,
    }


def view(session: Session, actor: Actor) -> dict[str, Any]:
    """The agency's standards: every staff member may read them (the expense form uses them)."""
    rows = standards(session, actor.agency_id or 0)
    latest = max((r.updated_at for r in rows), default=None)
    return {
        "ranks": list(RANKS),
        "items": [row_view(r) for r in rows],
        "has_examples": any(r.is_example for r in rows),
        "example_note": EXAMPLE_NOTE,
        "updated_at": iso(latest) if latest else None,
    }


def _row_error(i: int, message: str, code: str, **where: str) -> ValidationError:
    """An error in row ``i``: ``row`` counted from 0 as the client sent the rows, the message 第 i+1 行
    (the convention of every 办事 table error, ``banshi.fields``)."""
    return ValidationError(f"第 {i + 1} 行{message}", code=code, row=i, **where)


def _fen(row: dict[str, Any], key: str, i: int) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
        raise _row_error(i, f"的金额须为 0–{MAX_FEN // 100} 元（以分为单位的整数）", "bad_amount", field=key)
    return value


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) > MAX_ROWS:
        raise ValidationError(f"标准不能超过 {MAX_ROWS} 行", code="too_many_rows", field="items")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for i, row in enumerate(rows):
        region = str(row.get("region", "")).strip()
        rank = str(row.get("rank", ""))
        if not region or len(region) > 40:
            raise _row_error(i, "的地区不能为空（40 字以内）", "bad_region", field="region")
        if rank not in RANKS:
            raise _row_error(i, f"的职级须为 {'、'.join(RANKS)} 之一", "bad_rank", field="rank")
        if (region, rank) in out:
            raise _row_error(i, f"与前面的行重复（{region}，{rank}）", "duplicate", field="region")
        out[(region, rank)] = {
            "region": region,
            "rank": rank,
            "is_example": row.get("is_example") is True,
            **{k: _fen(row, k, i) for k in ("lodging_fen", "meal_fen", "transport_fen")},
        }
    missing = [rank for rank in RANKS if (EVERYWHERE, rank) not in out]
    if missing:
        raise ValidationError(
            f"缺少“其他地区”（*）的标准：{'、'.join(missing)}", code="default_required", field="items"
        )
    return list(out.values())


def replace_standards(session: Session, actor: Actor, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The finance office replaces its agency's table. A row stays marked as an example only when
    the body says so (``is_example: true``): saving a row is confirming it. Audited with the rows
    before and after."""
    require_office(session, actor, "finance")
    agency_id = actor.agency_id or 0
    clean = _clean(rows)
    before = [row_view(r) for r in standards(session, agency_id)]
    session.execute(delete(TravelStandard).where(col(TravelStandard.agency_id) == agency_id))
    now = utcnow()
    session.add_all(TravelStandard(agency_id=agency_id, updated_by=actor.user_id, updated_at=now, **r) for r in clean)
    session.flush()
    audit.record(
        session,
        actor,
        "banshi.travel_standards.update",
        target_type="agency",
        target_id=agency_id,
        detail={"rows": len(clean), "before": before, "after": clean},
    )
    return view(session, actor)


def lookup(table: list[TravelStandard], region: str, rank: str) -> TravelStandard:
    """The row for a destination: its exact region, else its province (the part before "/"), else "*"."""
    by_key = {(s.region, s.rank): s for s in table}
    region = region.strip()
    for key in (region, region.split("/", 1)[0].strip(), EVERYWHERE):
        found = by_key.get((key, rank))
        if found is not None:
            return found
    raise ValidationError(f"没有适用于“{rank}”的差旅费标准，请财务处补充", code="no_travel_standard", field="rank")


# The 差旅费报销 form's behaviour ---------------------------------------------------------------------


def _date(row: dict[str, Any], key: str, i: int) -> dt.date:
    try:
        return dt.date.fromisoformat(str(row.get(key)))
    except ValueError:
        raise _row_error(i, "的日期无效", "bad_date", field="details", column=key) from None


def _int(row: dict[str, Any], key: str) -> int:
    value = row.get(key) or 0
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def compute_row(std: TravelStandard, row: dict[str, Any], i: int) -> dict[str, Any]:
    """One trip leg (row ``i``, from 0): days by the calendar (start and end both count), nights × cap
    as the most the lodging may be, days × (伙食 + 市内交通) allowances. The line's ``row`` is the
    number people read (from 1), as the 行 column of the allowances table shows it."""
    start, end = _date(row, "start", i), _date(row, "end", i)
    if end < start:
        raise _row_error(i, "的返回日期早于出发日期", "bad_range", field="details", column="end")
    days = (end - start).days + 1
    nights = _int(row, "nights")
    if not 0 <= nights <= days:
        raise _row_error(i, f"的住宿天数须在 0–{days} 之间", "bad_nights", field="details", column="nights")
    actual = _int(row, "lodging")
    cap = nights * std.lodging_fen
    allowed = min(actual, cap)
    meal, transport = days * std.meal_fen, days * std.transport_fen
    tickets, other = _int(row, "tickets"), _int(row, "other")
    return {
        "row": i + 1,
        "region": str(row.get("region", "")),
        "standard": row_view(std),
        "days": days,
        "nights": nights,
        "lodging_actual": actual,
        "lodging_cap": cap,
        "lodging": allowed,
        "over_cap": actual > cap,
        "over_by": max(actual - cap, 0),
        "meal": meal,
        "transport": transport,
        "tickets": tickets,
        "other": other,
        "total": tickets + allowed + meal + transport + other,
    }


def compute(session: Session, agency_id: int, rank: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    if rank not in RANKS:
        raise ValidationError(f"职级须为 {'、'.join(RANKS)} 之一", code="bad_rank", field="rank")
    table = standards(session, agency_id)
    lines = [compute_row(lookup(table, str(r.get("region", "")), rank), r, i) for i, r in enumerate(rows)]
    keys = ("tickets", "lodging", "meal", "transport", "other", "total")
    totals = {k: sum(line[k] for line in lines) for k in keys}
    return {
        "rows": lines,
        "totals": totals,
        "over_cap_rows": [line["row"] for line in lines if line["over_cap"]],
        "examples_used": any(line["standard"]["is_example"] for line in lines),
        "example_note": EXAMPLE_NOTE,
    }


def _detail_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    details = values.get("details")
    rows = details.get("rows") if isinstance(details, dict) else details
    if not isinstance(rows, list) or not rows:
        raise ValidationError("请至少填写一行行程明细", code="details_required", field="details")
    return [r for r in rows if isinstance(r, dict)]


class ExpenseBehaviour:
    """差旅费报销: the allowances and capped lodging computed from the agency's standards; the total
    becomes the request's ``amount`` (what the route's amount branch and the ledgers read)."""

    def prepare(self, session: Session, applicant: Actor, template: Any, values: dict[str, Any]) -> dict[str, Any]:
        result = compute(session, applicant.agency_id or 0, str(values.get("rank", "")), _detail_rows(values))
        return {"allowances": result, "amount": result["totals"]["total"]}

    def approved(self, session: Session, request: ApprovalRequest) -> None:
        return None

    def undone(self, session: Session, request: ApprovalRequest) -> None:
        return None

    def info(self, session: Session, viewer: Actor, request: ApprovalRequest) -> dict[str, Any]:
        return {"allowances": request.values.get("allowances")}


BEHAVIOUR = ExpenseBehaviour()
behaviours.register("expense", BEHAVIOUR)
