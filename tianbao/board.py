"""The collector's live board: every unit's return of a task with its status, whether it is late,
its filler and reviewer, in ONE query (units, agencies and people joined), so 2,000 units answer in
well under 200 ms. The web client keeps it live from ``tianbao.return`` events over ``/ws``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from office.actor import Actor
from office.db import utcnow
from office.models import Department, User
from office.timefmt import iso
from tianbao import tasks
from tianbao.models import ReturnStatus, UnitReturn

Unit = aliased(Department)
Agency = aliased(Department)
Filler = aliased(User)
Reviewer = aliased(User)


def unit_display_name(unit: str, agency: str | None) -> str:
    """A unit as named where several agencies' units are listed (this board, the burden report):
    every city has its 统计科, so the agency comes first, without the 人民政府 each city government
    carries ("广州市 统计科"); an agency reporting as a unit is just its own name."""
    if not agency or agency == unit:
        return unit
    return f"{agency.removesuffix('人民政府')} {unit}"


def board(session: Session, actor: Actor, task_id: int) -> dict[str, Any]:
    task = tasks.get_task_for_collector(session, actor, task_id)
    columns: list[Any] = [
        UnitReturn.id,
        UnitReturn.unit_id,
        Unit.name,
        Agency.name,
        UnitReturn.status,
        UnitReturn.filler_id,
        Filler.name,
        UnitReturn.reviewer_id,
        Reviewer.name,
        UnitReturn.opened_at,
        UnitReturn.submitted_at,
        UnitReturn.urged_count,
        UnitReturn.returned_count,
        UnitReturn.version,
    ]
    stmt = (
        select(*columns)
        .join(Unit, col(Unit.id) == UnitReturn.unit_id)
        .join(Agency, col(Agency.id) == UnitReturn.unit_agency_id)
        .join(Filler, col(Filler.id) == UnitReturn.filler_id)
        .join(Reviewer, col(Reviewer.id) == UnitReturn.reviewer_id)
        .where(col(UnitReturn.task_id) == task.id)
        .order_by(col(Agency.path), col(Unit.path))
    )
    now = utcnow()
    counts: dict[str, int] = {s.value: 0 for s in ReturnStatus}
    counts["late"] = 0
    past = tasks.is_late(task, ReturnStatus.not_started, now)  # the deadline has passed
    open_statuses = {s.value for s in tasks.OPEN_RETURNS}
    units = []
    for (
        rid,
        unit_id,
        unit,
        agency,
        status,
        fid,
        filler,
        vid,
        reviewer,
        opened,
        submitted,
        urged,
        rounds,
        ver,
    ) in session.execute(stmt).all():
        status = status.value if isinstance(status, ReturnStatus) else status
        late = past and status in open_statuses  # tasks.is_late, with the deadline compared once
        counts[status] += 1
        counts["late"] += late
        units.append(
            {
                "return_id": rid,
                "unit_id": unit_id,
                "unit_name": unit,
                "agency_name": agency,
                "display_name": unit_display_name(unit, agency),
                "status": status,
                "late": late,
                "filler": {"id": fid, "name": filler},
                "reviewer": {"id": vid, "name": reviewer},
                "opened_at": iso(opened),
                "submitted_at": iso(submitted),
                "urged_count": urged,
                "returned_count": rounds,
                "version": ver,
            }
        )
    task_out = tasks.task_dict(session, task, units=False)
    return {"task": task_out, "counts": counts, "units": units}
