"""The burden report (基层减负): for each unit and month, the tasks it received, the items it was
asked for, how many it found prefilled and how many it typed, the time from opening a return to
submitting it, and the items that more than one collector asked it for in the month. The
leaders' view (``collectors``) ranks the collecting departments by the typing they put on units.

A return counts in the month its task was issued (China time). The prefilled and typed figures are
fixed when the return is submitted (``tb_return.prefilled_count``/``typed_count``); a return not
yet submitted counts its items as asked and nothing as prefilled or typed.

Units are named as on the collector's board (``board.unit_display_name``: "广州市 统计科"), since the
report lists units of several agencies and every city has a 统计科.

Who sees which returns (one condition, ``_visible``): a unit's own staff see the unit's returns
(their departments and their agency as a unit); an agency's leaders and administrators see every
return of their agency's units and every return of their agency's tasks; a collecting
department's members see the returns of their department's tasks.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from banshi.ledgers import month_bounds
from office.actor import Actor
from office.errors import PermissionDenied
from office.models import Department, Role
from tianbao.board import unit_display_name
from tianbao.models import CollectTask, DataItem, ReturnStatus, UnitReturn
from tianbao.sensitive import CHINA

SUBMITTED = (ReturnStatus.submitted, ReturnStatus.accepted)
# Under this, opening and submitting were not a person's work (two people open, check, pass to review
# and submit): the return was seeded or imported in one go, and its time is not a measurement.
MEASURED_SECONDS = 10


def _is_leader(actor: Actor) -> bool:
    return actor.agency_id is not None and (actor.has(Role.leader) or actor.has(Role.admin))


def _visible(actor: Actor) -> Any:
    own = set(actor.department_ids) | ({actor.agency_id} if actor.agency_id is not None else set())
    conds: list[Any] = [col(UnitReturn.unit_id).in_(own)] if own else []
    if actor.department_ids:
        conds.append(col(CollectTask.collector_dept_id).in_(actor.department_ids))
    if _is_leader(actor):
        conds += [UnitReturn.unit_agency_id == actor.agency_id, CollectTask.collector_agency_id == actor.agency_id]
    return or_(*conds) if conds else col(UnitReturn.id).is_(None)


@dataclass
class Row:
    unit_id: int
    agency_id: int
    task_id: int
    collector_dept_id: int
    items: list[int]
    status: ReturnStatus
    prefilled: int
    typed: int
    minutes: float | None


def this_month() -> str:
    return dt.datetime.now(CHINA).strftime("%Y-%m")


def _rows(session: Session, actor: Actor, month: str, unit_id: int | None) -> list[Row]:
    start, end = month_bounds(month)
    q = (
        sa_select(
            col(UnitReturn.unit_id),
            col(UnitReturn.unit_agency_id),
            col(UnitReturn.task_id),
            col(CollectTask.collector_dept_id),
            col(CollectTask.items),
            col(UnitReturn.status),
            col(UnitReturn.prefilled_count),
            col(UnitReturn.typed_count),
            col(UnitReturn.opened_at),
            col(UnitReturn.submitted_at),
        )
        .join(CollectTask, col(CollectTask.id) == UnitReturn.task_id)
        .where(col(CollectTask.issued_at) >= start, col(CollectTask.issued_at) < end, _visible(actor))
    )
    if unit_id is not None:
        q = q.where(col(UnitReturn.unit_id) == unit_id)
    out = []
    for unit, agency, task_id, dept, items, status, pre, typed, opened, submitted in session.execute(q).all():
        status = ReturnStatus(status)
        done = status in SUBMITTED
        minutes = open_to_submit(opened, submitted) if done else None
        ids = [int(i["item_id"]) for i in items or []]
        out.append(Row(unit, agency, task_id, dept, ids, status, pre if done else 0, typed if done else 0, minutes))
    return out


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Department.id, Department.name).where(col(Department.id).in_(ids))).all()
    return {i or 0: name for i, name in rows}


def _item_names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.exec(select(DataItem.id, DataItem.code, DataItem.name).where(col(DataItem.id).in_(ids))).all()
    return {i or 0: (code, name) for i, code, name in rows}


def _asked_by(rows: list[Row]) -> dict[tuple[int, int], set[int]]:
    """(unit, item) -> the collecting departments that asked the unit for the item."""
    asked: dict[tuple[int, int], set[int]] = defaultdict(set)
    for r in rows:
        for item in r.items:
            asked[(r.unit_id, item)].add(r.collector_dept_id)
    return asked


def _minutes(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "average": None}
    return {"median": round(statistics.median(values), 1), "average": round(sum(values) / len(values), 1)}


def burden(session: Session, actor: Actor, *, month: str = "", unit_id: int | None = None) -> dict[str, Any]:
    month = month or this_month()
    rows = _rows(session, actor, month, unit_id)
    asked = _asked_by(rows)
    dupes = {key: depts for key, depts in asked.items() if len(depts) > 1}
    agency_of = {r.unit_id: r.agency_id for r in rows}
    names = _names(session, set(agency_of) | set(agency_of.values()) | {d for ds in dupes.values() for d in ds})
    items = _item_names(session, {item for _unit, item in dupes})
    per: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        per[r.unit_id].append(r)
    units: list[dict[str, Any]] = []
    for unit, rs in per.items():
        asked_n = sum(len(r.items) for r in rs)
        pre = sum(r.prefilled for r in rs)
        typed = sum(r.typed for r in rs)
        units.append(
            {
                "unit_id": unit,
                "unit_name": names.get(unit, ""),
                "agency_name": names.get(agency_of[unit], ""),
                "display_name": unit_display_name(names.get(unit, ""), names.get(agency_of[unit], "")),
                "tasks": len({r.task_id for r in rs}),
                "submitted": sum(1 for r in rs if r.status in SUBMITTED),
                "items_asked": asked_n,
                "prefilled": pre,
                "typed": typed,
                "prefilled_pct": round(pre * 100 / (pre + typed), 1) if pre + typed else None,
                "open_to_submit_minutes": _minutes([r.minutes for r in rs if r.minutes is not None]),
                "duplicates": [
                    {
                        "item_id": item,
                        "code": items.get(item, ("", ""))[0],
                        "name": items.get(item, ("", ""))[1],
                        "collectors": sorted(names.get(d, "") for d in depts),
                    }
                    for (u, item), depts in sorted(dupes.items())
                    if u == unit
                ],
            }
        )
    units.sort(key=lambda u: (-u["typed"], -u["items_asked"], u["display_name"]))
    return {"month": month, "units": units}


def collectors(session: Session, actor: Actor, *, month: str = "") -> dict[str, Any]:
    """The leaders' view: each collecting department over the returns the leader may see, ranked by
    the items units had to type for it, then the units it asked and the items it asked for that
    another collector had already asked the same unit for in the month."""
    if not _is_leader(actor):
        raise PermissionDenied("只有机关领导或管理员可以查看采集部门排行", code="leaders_only")
    month = month or this_month()
    rows = _rows(session, actor, month, None)
    asked = _asked_by(rows)
    per: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        per[r.collector_dept_id].append(r)
    names = _names(session, set(per))
    ranking: list[dict[str, Any]] = []
    for dept, rs in per.items():
        ranking.append(
            {
                "dept_id": dept,
                "name": names.get(dept, ""),
                "tasks": len({r.task_id for r in rs}),
                "units": len({r.unit_id for r in rs}),
                "items_asked": sum(len(r.items) for r in rs),
                "typed": sum(r.typed for r in rs),
                "prefilled": sum(r.prefilled for r in rs),
                "duplicate_items": sum(1 for r in rs for item in r.items if len(asked[(r.unit_id, item)]) > 1),
            }
        )
    ranking.sort(key=lambda c: (-c["typed"], -c["units"], -c["duplicate_items"], c["name"]))
    for n, c in enumerate(ranking, start=1):
        c["rank"] = n
    return {"month": month, "collectors": ranking}


def open_to_submit(opened: dt.datetime | None, submitted: dt.datetime | None) -> float | None:
    """Minutes from opening a return to submitting it: None until both happened, and None (无记录,
    not 0) when they came too close together to be a person's work (``MEASURED_SECONDS``)."""
    if opened is None or submitted is None:
        return None
    seconds = (submitted - opened).total_seconds()
    return seconds / 60 if seconds >= MEASURED_SECONDS else None
