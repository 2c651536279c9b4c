"""The 督办 dashboard's counting, shaped so that SQLite answers it from index ranges.

Cost here is index entries visited, and an expression tested on every entry costs as much as visiting it
(a temporary B-tree for ``GROUP BY`` on a computed value costs several times more). So each count is a
contiguous range of a covering index, and per-item expressions are kept to what cannot be a range:

* ``ix_doc_supervision_stats`` (agency, status, department, deadline, ...): open and done items per
  department, and, with one range per department and per deadline bucket, how many open items fall due
  before each day end of the trend, before ``now`` and before the due-soon horizon;
* ``ix_doc_supervision_dash`` (agency, status, deadline, created, completed, ...): the few items whose
  contribution to the trend needs their creation or completion time (done items completed within the
  window, and open items created after their deadline).

Every query takes the reader's scope and filters (``cond``) as they are, so each answer is that of the
plain definition restricted to the rows the reader may see. Statuses are ``open`` and ``done``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import accumulate, pairwise
from typing import Any

from sqlalchemy import and_, case, func, literal_column, not_, or_, union_all
from sqlmodel import Session, col, select

from docs_flow.incoming_models import SupervisionItem as Item

# An open item with no completion time, created no later than its deadline, is overdue at every moment
# after its deadline: its place in the trend follows from its deadline alone.
PLAIN = and_(col(Item.completed_at).is_(None), Item.created_at <= Item.deadline)


def open_by_department(session: Session, cond: list[Any]) -> Sequence[Any]:
    """(department, open items, highest escalation) per department."""
    return session.exec(select(  # type: ignore[call-overload,no-any-return]
        Item.owner_department_id, func.count(), func.max(Item.escalation_level))
        .where(*cond, Item.status == "open").group_by(Item.owner_department_id)).all()


def done_by_department(session: Session, cond: list[Any]) -> Sequence[Any]:
    """(department, done, done on time, average handling hours, highest escalation) per department."""
    return session.exec(select(  # type: ignore[call-overload,no-any-return]
        Item.owner_department_id, func.count(), func.count().filter(Item.completed_at <= Item.deadline),
        func.avg(Item.handling_hours), func.max(Item.escalation_level))
        .where(*cond, Item.status == "done").group_by(Item.owner_department_id)).all()


class Due:
    """Open items by deadline: overdue and due soon per department, and the plain items (see ``PLAIN``)
    whose deadline fell in each day of the trend."""

    def __init__(self, days: int) -> None:
        self.overdue: dict[int | None, int] = {}
        self.due_soon: dict[int | None, int] = {}
        self.plain_by_day = [0] * days
        self.odd = False  # some past-due open item is not plain


def due_by_department(session: Session, cond: list[Any], dept_ids: list[int | None], ends: list[datetime],
                      now: datetime, soon: datetime) -> Due:
    """Bucket ``k`` holds the open items with ``bounds[k] <= deadline < bounds[k + 1]``: before the first day
    end, then one bucket per day of the trend, then the rest of the way to ``now`` (empty except in the last
    second of a day) and from ``now`` to ``soon``. One range per department and bucket: SQLite seeks each
    (``department IN (...)`` on the index), so every entry it visits is one that is counted."""
    out = Due(len(ends))
    bounds: list[datetime | None] = [None, *ends, now, soon]
    keys = _department_keys(dept_ids)
    parts = [select(literal_column(str(k)), Item.owner_department_id, func.count(), func.count().filter(PLAIN))
             .where(*cond, Item.status == "open", key, Item.deadline < hi,
                    *([Item.deadline >= lo] if lo is not None else []))
             .group_by(Item.owner_department_id)
             for key in keys for k, (lo, hi) in enumerate(pairwise(bounds))]
    if not parts:
        return out
    for bucket, dept_id, n, plain in session.execute(union_all(*parts)).all():
        if bucket == len(ends) + 1:
            out.due_soon[dept_id] = int(n)
            continue
        out.overdue[dept_id] = out.overdue.get(dept_id, 0) + int(n)
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


def overdue_trend(session: Session, cond: list[Any], ends: list[datetime], now: datetime, due: Due) -> list[int]:
    """Items overdue at each day end ``e``: deadline before ``e``, created by ``e``, not completed by ``e``.

    Plain open items come counted by deadline day in ``due``. The others (done items, and open items
    created after their deadline) are grouped by the first day they are overdue and the first day they no
    longer are; only those with a deadline already passed that were not completed before the window can
    count, which the deadline range and one comparison pick out."""
    first = ends[0]
    start = case(*[(and_(Item.deadline < e, Item.created_at <= e), i) for i, e in enumerate(ends)], else_=len(ends))
    stop = case((col(Item.completed_at).is_(None), len(ends)),
                *[(Item.completed_at <= e, i) for i, e in enumerate(ends)], else_=len(ends))
    relevant = [Item.deadline < now, or_(col(Item.completed_at).is_(None), Item.completed_at > first)]
    groups = [[Item.status == "done"]] + ([[Item.status == "open", not_(PLAIN)]] if due.odd else [])
    spans = [row for extra in groups for row in session.exec(select(  # type: ignore[call-overload]
        start, stop, func.count()).where(*cond, *extra, *relevant).group_by(start, stop)).all()]
    plain = list(accumulate(due.plain_by_day))
    return [plain[i] + sum(int(n) for a, b, n in spans if a <= i < b) for i in range(len(ends))]
