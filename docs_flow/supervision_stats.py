"""The 督办 dashboard's counting, shaped so that SQLite answers it from index ranges.

What costs is index entries visited and the expressions tested on each: a timestamp comparison costs
about as much as the visit, a temporary B-tree for ``GROUP BY`` on a computed value several times more.

* Open items: the departments that have any, by skip scan (a seek each), then one range of
  ``ix_doc_supervision_stats`` (agency, status, department, deadline, ...) per department and deadline
  bucket (each trend day, overdue, due soon, later). Every open item is visited once; only past-due ones
  are tested, for whether the trend can place them by their deadline alone (``PLAIN``).
* Done items: one pass per department over the same index.
* The trend's other items (done ones completed within the window, open ones created after their
  deadline): a deadline range of ``ix_doc_supervision_dash`` (agency, status, deadline, created,
  completed, ...), grouped by the first and the last day each is overdue.

Timestamps tested row by row go through ``office.db.as_stored`` (no per-row affinity conversion on
SQLite). Every query takes the reader's scope and filters (``cond``) unchanged, so each answer is the
plain definition restricted to what the reader may see. Statuses are ``open`` and ``done``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import accumulate, pairwise
from typing import Any

from sqlalchemy import and_, case, func, literal_column, not_, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from docs_flow.incoming_models import SupervisionItem as Item
from office.db import as_stored

# Timestamps as tested on each row (index ranges use the columns themselves).
DEADLINE, CREATED, COMPLETED = as_stored(Item.deadline), as_stored(Item.created_at), as_stored(Item.completed_at)
# An open item with no completion time, created no later than its deadline, is overdue at every moment
# after its deadline: its place in the trend follows from its deadline alone.
PLAIN = and_(col(Item.completed_at).is_(None), CREATED <= DEADLINE)


def done_by_department(session: Session, cond: list[Any]) -> Sequence[Any]:
    """(department, done, done on time, average handling hours, highest escalation) per department."""
    return session.exec(
        select(  # type: ignore[call-overload]
            Item.owner_department_id,
            func.count(),
            func.count().filter(COMPLETED <= DEADLINE),
            func.avg(Item.handling_hours),
            func.max(Item.escalation_level),
        )
        .where(*cond, Item.status == "done")
        .group_by(Item.owner_department_id)
    ).all()


def departments_with_open_items(session: Session, agency_id: int) -> list[int | None]:
    """The agency's departments that own open items (``None`` for items owned by a person only), by skip
    scan: each step is one seek for the next larger department id, however many items each has."""
    open_ = [Item.agency_id == agency_id, Item.status == "open"]
    dept = col(Item.owner_department_id)
    found = select(func.min(dept).label("id")).where(*open_, dept.is_not(None)).cte("dept", recursive=True)
    step = select(func.min(dept)).where(*open_, dept > found.c.id).scalar_subquery()
    found = found.union_all(select(step).where(found.c.id.is_not(None)))
    ids: list[int | None] = [i for i in session.exec(select(found.c.id)).all() if i is not None]
    if session.exec(select(Item.id).where(*open_, dept.is_(None)).limit(1)).first() is not None:
        ids.append(None)
    return ids


class OpenItems:
    """Open items per department (``open``, ``overdue``, ``due_soon``, ``max_escalation``), and the plain
    ones (see ``PLAIN``) whose deadline fell in each day of the trend."""

    def __init__(self, days: int) -> None:
        self.by_dept: dict[int | None, dict[str, int]] = {}
        self.plain_by_day = [0] * days
        self.odd = False  # some past-due open item is not plain


def open_items(
    session: Session, cond: list[Any], dept_ids: list[int | None], ends: list[datetime], now: datetime, soon: datetime
) -> OpenItems:
    """Bucket ``k`` holds the open items with ``bounds[k] <= deadline < bounds[k + 1]``: before the first day
    end, one bucket per day of the trend, the rest of the way to ``now`` (empty but in the last second of a
    day), from ``now`` to ``soon``, and after. One range per department and bucket, which SQLite seeks
    (``department IN (...)`` on ``ix_doc_supervision_stats``): every open item is visited once, and only
    past-due ones are tested (for ``PLAIN``). The bucket's bounds come before ``cond``: where a filter
    bounds the deadline too, SQLite seeks with the first bound it is given and tests the other per row,
    and the bucket's is the narrower one."""
    out = OpenItems(len(ends))
    bounds: list[datetime | None] = [None, *ends, now, soon, None]
    parts: list[Any] = [
        sa_select(
            literal_column(str(k)),
            col(Item.owner_department_id),
            func.count(),
            func.count().filter(PLAIN) if k < len(ends) else literal_column("0"),
            func.max(Item.escalation_level),
        )
        .where(
            col(Item.status) == "open",
            key,
            *([col(Item.deadline) >= lo] if lo is not None else []),
            *([col(Item.deadline) < hi] if hi is not None else []),
            *cond,
        )
        .group_by(col(Item.owner_department_id))
        for key in _department_keys(dept_ids)
        for k, (lo, hi) in enumerate(pairwise(bounds))
    ]
    if not parts:
        return out
    for bucket, dept_id, n, plain, esc in session.execute(union_all(*parts)).all():
        d = out.by_dept.setdefault(dept_id, {"open": 0, "overdue": 0, "due_soon": 0, "max_escalation": 0})
        d["open"] += int(n)
        d["max_escalation"] = max(d["max_escalation"], int(esc or 0))
        if bucket <= len(ends):
            d["overdue"] += int(n)
        elif bucket == len(ends) + 1:
            d["due_soon"] += int(n)
        if bucket < len(ends):
            out.plain_by_day[bucket] += int(plain)
            out.odd = out.odd or n != plain
    return out


def _department_keys(dept_ids: list[int | None]) -> list[Any]:
    ids = sorted(d for d in dept_ids if d is not None)
    keys = [col(Item.owner_department_id).in_(ids)] if ids else []
    if None in dept_ids:  # IN never matches NULL; a separate range keeps both seekable
        keys.append(col(Item.owner_department_id).is_(None))
    return keys


def overdue_trend(session: Session, cond: list[Any], ends: list[datetime], now: datetime, due: OpenItems) -> list[int]:
    """Items overdue at each day end ``e``: deadline before ``e``, created by ``e``, not completed by ``e``.

    Plain open items come counted by deadline day in ``due``. The others (done items, and open items
    created after their deadline) are grouped by the first day they are overdue and the first day they no
    longer are; only those with a deadline already passed that were not completed before the window can
    count, which the deadline range and one comparison pick out."""
    first = ends[0]
    start = case(*[(and_(DEADLINE < e, CREATED <= e), i) for i, e in enumerate(ends)], else_=len(ends))
    stop = case(
        (col(Item.completed_at).is_(None), len(ends)),
        *[(COMPLETED <= e, i) for i, e in enumerate(ends)],
        else_=len(ends),
    )
    relevant: list[Any] = [Item.deadline < now, or_(col(Item.completed_at).is_(None), COMPLETED > first)]
    groups: list[list[Any]] = [[Item.status == "done"]] + ([[Item.status == "open", not_(PLAIN)]] if due.odd else [])
    spans = [
        row
        for extra in groups
        for row in session.exec(
            select(start, stop, func.count()).where(*cond, *extra, *relevant).group_by(start, stop)
        ).all()
    ]
    plain = list(accumulate(due.plain_by_day))
    return [plain[i] + sum(int(n) for a, b, n in spans if a <= i < b) for i in range(len(ends))]
