"""A task's summary (汇总): per numeric item the total over the units that submitted, per unit, per
group (the unit's agency, or its level in the organisation tree), the previous period's total
and the change; counts per status. Values come from the registry (``tb_value_current``), where a
submitted return's values are, under each item's own cycle period (``periods.item_period``).

One query reads the units, one the counts, one the current values and one the previous period's:
each bounded by the task's returns (2,000 units × 50 items reads 100,000 rows), summed here.
The xlsx export (``export``) writes the same figures; a task with 敏感 items is exported only from
a session opened with the second factor (``sensitive.require_second_factor``), with a watermark,
and every export is audited.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import Numeric, Text, and_, case, cast, func, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.types import NullType
from sqlmodel import Session, col, select

from office import audit
from office.actor import Actor
from office.errors import ValidationError
from office.models import Department
from office.spreadsheet import safe_cell
from tianbao import periods
from tianbao.board import unit_display_name
from tianbao.models import CollectTask, CurrentValue, DataItem, ItemLevel, ReturnStatus, UnitReturn

NUMERIC = ("number", "money")
Number = int | float
DONE = (ReturnStatus.submitted, ReturnStatus.accepted)
LEVELS = ("agency", "depth")
_FINITE = 1.7976931348623157e308  # the largest float: a stored 1e999 reads back as infinity


def _items(session: Session, task: CollectTask) -> list[DataItem]:
    ids = [int(i["item_id"]) for i in task.items]
    rows = {i.id: i for i in session.exec(select(DataItem).where(col(DataItem.id).in_(ids))).all()} if ids else {}
    return [rows[i] for i in ids if i in rows]


def _period_filter(items: list[DataItem], period_of: dict[int, str]) -> Any:
    by_period: dict[str, list[int]] = defaultdict(list)
    for item in items:
        by_period[period_of[item.id or 0]].append(item.id or 0)
    return or_(
        *(and_(col(CurrentValue.period) == p, col(CurrentValue.item_id).in_(ids)) for p, ids in by_period.items())
    )


def _numeric(session: Session) -> Any:
    """``tb_value_current.value`` as an SQL number, NULL when the stored JSON is not one (text, null,
    a list). SQLite gives a JSON column NUMERIC affinity, so a stored number already IS a number
    (an integer when whole, as ``_number`` wants): nothing is parsed per row in Python. PostgreSQL
    keeps JSON text: its number literal cast to NUMERIC."""
    value = col(CurrentValue.value)
    if session.get_bind().dialect.name == "sqlite":
        number = case((func.typeof(value).in_(("integer", "real")) & (func.abs(value) <= _FINITE), value))
    else:
        number = case((func.json_typeof(value) == "number", cast(cast(value, Text), Numeric)))
    return type_coerce(number, NullType())  # no JSON result processing: the driver's int/float/Decimal


def _joined(task_id: int, items: list[DataItem], period_of: dict[int, str], done_only: bool) -> Any:
    """The current values of the task's units (``done_only``: units that submitted) for each item's period."""
    join = and_(col(UnitReturn.unit_id) == col(CurrentValue.unit_id), col(UnitReturn.task_id) == task_id)
    if done_only:
        join = and_(join, col(UnitReturn.status).in_(DONE))
    return and_(join, _period_filter(items, period_of))


def _values(
    session: Session, task_id: int, items: list[DataItem], period_of: dict[int, str]
) -> list[tuple[int, int, Number]]:
    """(unit_id, item_id, number) of the submitted units for each item's period, in one query of Core
    rows with the number made in SQL: 2,000 units × 50 items is 100,000 rows, and the ORM's, the JSON
    type's and a per-row parse's work was most of the summary's time."""
    if not items:
        return []
    number = _numeric(session)
    q = (
        sa_select(col(CurrentValue.unit_id), col(CurrentValue.item_id), number)
        .join(UnitReturn, _joined(task_id, items, period_of, done_only=True))
        .where(number.is_not(None))
    )
    return session.connection().execute(q).all()  # type: ignore[return-value]  # Core rows unpack as tuples


def _totals(
    session: Session, task_id: int, items: list[DataItem], period_of: dict[int, str]
) -> dict[int, tuple[Number, int]]:
    """{item_id: (sum, count)} of every unit of the task (the previous period's figures): summed in
    SQL, one row per item comes back."""
    if not items:
        return {}
    number = _numeric(session)
    q = (
        sa_select(col(CurrentValue.item_id), func.sum(number), func.count(number))
        .join(UnitReturn, _joined(task_id, items, period_of, done_only=False))
        .group_by(col(CurrentValue.item_id))
    )
    return {i: (_number(total), n) for i, total, n in session.connection().execute(q).all() if n}


def _number(raw: Any) -> Number:
    """A number from the driver (SQLite: int or float; PostgreSQL: Decimal) as the API gives it: an
    int when whole, as the form engine stores whole numbers and money in 分."""
    if isinstance(raw, int):
        return raw
    number = float(raw)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _plain(total: Number) -> Number:
    """A sum as the API gives it: floats rounded to the engine's largest precision (4 decimals)."""
    return round(total, 6) if isinstance(total, float) else total


def summary(session: Session, task: CollectTask, *, level: str = "agency", compare: bool = True) -> dict[str, Any]:
    if level not in LEVELS:
        raise ValidationError("汇总层级只能是 agency（按单位所属机关）或 depth（按组织层级）", code="bad_level")
    task_id = task.id or 0
    counts = {s.value: 0 for s in ReturnStatus}
    for status, count in session.exec(
        select(UnitReturn.status, func.count()).where(UnitReturn.task_id == task_id).group_by(UnitReturn.status)
    ).all():
        counts[ReturnStatus(status).value] = count
    unit_rows = session.execute(
        sa_select(
            col(UnitReturn.id),
            col(UnitReturn.unit_id),
            col(UnitReturn.unit_agency_id),
            col(UnitReturn.status),
            col(Department.name),
            col(Department.path),
        )
        .join(Department, col(Department.id) == UnitReturn.unit_id)
        .where(col(UnitReturn.task_id) == task_id)
        .order_by(col(Department.path))
    ).all()
    agency_ids = {r[2] for r in unit_rows}
    agency_names = (
        dict(session.exec(select(Department.id, Department.name).where(col(Department.id).in_(agency_ids))).all())
        if agency_ids
        else {}
    )
    group_of: dict[int, tuple[str, str]] = {}
    for _rid, unit_id, agency_id, _st, _name, path in unit_rows:
        if level == "agency":
            group_of[unit_id] = (str(agency_id), agency_names.get(agency_id, ""))
        else:
            depth = len([p for p in (path or "").split("/") if p])
            group_of[unit_id] = (str(depth), f"第 {depth} 级")
    every = _items(session, task)
    items = [i for i in every if (i.spec or {}).get("type") in NUMERIC]
    period_of = {i.id or 0: periods.item_period(i.cycle, task.period) for i in items}
    # One pass over the values: each lands in its unit's row and in its (item, group) sum; the
    # items' totals are the sums of their groups'.
    keys = {i.id or 0: str(i.id) for i in items}
    per_unit: dict[int, dict[str, Any]] = {unit_id: {} for unit_id in group_of}
    group_key = {unit_id: key for unit_id, (key, _name) in group_of.items()}
    group_name = dict(group_of.values())
    sums: dict[int, dict[str, list[Any]]] = {i: {k: [0, 0] for k in group_name} for i in keys}  # [total, count]
    for unit_id, item_id, number in _values(session, task_id, items, period_of):
        if type(number) is Decimal:  # PostgreSQL's NUMERIC
            number = _number(number)
        per_unit[unit_id][keys[item_id]] = number
        acc = sums[item_id][group_key[unit_id]]
        acc[0] += number
        acc[1] += 1
    previous: dict[int, tuple[Number, int]] = {}
    prev_of: dict[int, str] = {}
    if compare:
        prev_of = {i: periods.previous(p) for i, p in period_of.items() if p != periods.ONCE}
        previous = _totals(session, task_id, [i for i in items if (i.id or 0) in prev_of], prev_of)
    out_items = []
    for item in items:
        iid = item.id or 0
        groups = sorted((k, g) for k, g in sums[iid].items() if g[1])
        total: Number = sum(g[0] for _k, g in groups)
        filled = sum(g[1] for _k, g in groups)
        row: dict[str, Any] = {
            "item_id": iid,
            "code": item.code,
            "name": item.name,
            "unit_label": item.unit_label,
            "type": item.spec.get("type"),
            "level": item.level.value,
            "period": period_of[iid],
            "total": _plain(total),
            "count": filled,
            "groups": [{"key": k, "name": group_name[k], "total": _plain(g[0]), "count": g[1]} for k, g in groups],
        }
        if compare:
            prev = previous[iid][0] if iid in previous else None
            row["previous_period"] = prev_of.get(iid)
            row["previous_total"] = _plain(prev) if prev is not None else None
            row["change_pct"] = round((total - prev) / prev * 100, 2) if prev and filled else None
        out_items.append(row)
    return {
        "task": {"id": task_id, "title": task.title, "period": task.period, "status": task.status.value},
        "level": level,
        "counts": counts,
        "items": out_items,
        "units": [
            {
                "return_id": rid,
                "unit_id": unit_id,
                "unit_name": name,
                "agency_name": agency_names.get(agency_id, ""),
                # Named as on the board and in the burden report (one rule: 广州市 统计科).
                "display_name": unit_display_name(name, agency_names.get(agency_id, "")),
                "status": ReturnStatus(status).value,
                "values": per_unit.get(unit_id, {}),
            }
            for rid, unit_id, agency_id, status, name, _path in unit_rows
        ],
        "sensitive": any(i.level == ItemLevel.sensitive for i in every),
    }


# Export -----------------------------------------------------------------------------------------


def _shown(item: dict[str, Any], value: Any) -> Any:
    """Money is stored in 分 and exported in 元."""
    if value is None:
        return None
    return value / 100 if item["type"] == "money" else value


def to_xlsx(data: dict[str, Any], *, watermark: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its first sheet
    ws.title = "汇总"
    ws.append([safe_cell(f"{data['task']['title']}（{data['task']['period']}）汇总")])
    ws["A1"].font = Font(bold=True, size=13)
    if watermark:
        ws.append([safe_cell(watermark)])
        ws.oddHeader.center.text = watermark
        ws.oddFooter.center.text = watermark
        ws.evenHeader.center.text = watermark
        ws.evenFooter.center.text = watermark
    ws.append(["编码", "数据项", "单位", "期间", "合计", "填报单位数", "上期", "上期合计", "变化（%）"])
    for it in data["items"]:
        money = "元" if it["type"] == "money" else ""
        ws.append(
            [
                safe_cell(it["code"]),
                safe_cell(it["name"]),
                safe_cell(it["unit_label"] or money),
                it["period"],
                _shown(it, it["total"]),
                it["count"],
                it.get("previous_period"),
                _shown(it, it.get("previous_total")),
                it.get("change_pct"),
            ]
        )
    units = wb.create_sheet("分单位")
    if watermark:
        units.append([safe_cell(watermark)])
    units.append(["单位", "所属机关", "状态", *(safe_cell(i["name"]) for i in data["items"])])
    for u in data["units"]:
        units.append(
            [
                safe_cell(u["unit_name"]),
                safe_cell(u["agency_name"]),
                u["status"],
                *(_shown(i, u["values"].get(str(i["item_id"]))) for i in data["items"]),
            ]
        )
    groups = wb.create_sheet("分组")
    groups.append(["数据项", "分组", "合计", "填报单位数"])
    for it in data["items"]:
        for g in it["groups"]:
            groups.append([safe_cell(it["name"]), safe_cell(g["name"]), _shown(it, g["total"]), g["count"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(session: Session, actor: Actor, task: CollectTask, *, level: str = "agency") -> bytes:
    """The summary as xlsx. 敏感 items: only from a session opened with the second factor (403
    ``needs_2fa`` otherwise), with the exporter's name and the time on every page and in a 水印 row."""
    from tianbao import sensitive

    data = summary(session, task, level=level, compare=True)
    watermark = ""
    if data["sensitive"]:
        sensitive.require_second_factor(session, actor)
        now = dt.datetime.now(sensitive.CHINA).strftime("%Y-%m-%d %H:%M")
        watermark = f"水印：{actor.name}（{actor.username}）导出于 {now} · 含敏感数据，严禁外传"
    audit.record(
        session,
        actor,
        "tianbao.summary.export",
        target_type="tb_task",
        target_id=task.id or "",
        detail={"sensitive": data["sensitive"], "items": len(data["items"]), "units": len(data["units"])},
    )
    return to_xlsx(data, watermark=watermark)
