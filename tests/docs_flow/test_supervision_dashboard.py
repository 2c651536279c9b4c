"""The 督办 dashboard against a brute-force count in Python: random items (odd ones included: created after
their deadline, deadlines and completions exactly on the trend's day boundaries, on ``now`` and on the
due-soon edge), every combination of filters, and the three kinds of reader (supervisor, department head,
plain owner)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import select

from docs_flow import supervision, supervision_dashboard
from docs_flow.incoming_models import SupervisionItem
from docs_flow.supervision import CHINA, SOURCES
from docs_flow.supervision_dashboard import TREND_DAYS, Filters
from office import policy
from office.actor import Actor
from office.config import Settings
from office.models import Department
from tests.factories import Org

SCHEDULE = supervision.DEFAULT_SCHEDULE


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The items are placed around a ``now`` in the past, so on the real clock every open one is overdue:
    the app's reminder loop, once a minute, would escalate them in the middle of the comparison (a
    slow run on a loaded machine crossed that minute). Its first pass here comes after the test."""
    return settings.with_overrides(reminder_seconds=86400.0)


def _day_ends(now: datetime) -> list[datetime]:
    today = now.astimezone(CHINA).date()
    ends = [datetime.combine(today - timedelta(days=i), time(23, 59, 59), CHINA) for i in range(TREND_DAYS - 1, -1, -1)]
    ends[-1] = min(ends[-1], now)
    return ends


def _items(org: Org, now: datetime, rng: random.Random, n: int) -> list[SupervisionItem]:
    """Random items around ``now``; a third of the times land exactly on a boundary the dashboard cuts at."""
    soon = now + timedelta(hours=SCHEDULE["due_soon_hours"])
    edges = [*_day_ends(now), now, soon, datetime.combine(now.astimezone(CHINA).date(), time(0), CHINA)]
    a, b = org.agencies["A"], org.agencies["B"]
    owners = [
        (a, org.depts["A1"], None),
        (a, org.depts["A2"], None),
        (a, None, org.users["hamlet"]),
        (a, org.depts["A2"], org.users["hamlet"]),
        (a, None, org.users["polonius"]),
        (b, org.depts["B1"], None),
    ]

    def moment() -> datetime:
        if rng.random() < 0.35:
            return rng.choice(edges) + rng.choice(
                [timedelta(0), timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1)]
            )
        return now + timedelta(minutes=rng.randrange(-40 * 24 * 60, 20 * 24 * 60))

    rows = []
    for i in range(n):
        agency, dept, user = rng.choice(owners)
        deadline, created = moment(), moment()
        if rng.random() < 0.8:  # most items are created before their deadline, as in life
            created, deadline = min(created, deadline), max(created, deadline)
        done = rng.random() < 0.4
        completed = moment() if done or rng.random() < 0.03 else None  # a few open rows keep a completion time
        hours = rng.choice([None, rng.randrange(0, 400) / 4]) if done else None
        rows.append(
            SupervisionItem(
                agency_id=agency,
                source_kind=rng.choice(list(SOURCES)),
                source_id=f"r{i}",
                title=f"事项{i}",
                owner_department_id=dept,
                owner_user_id=user,
                deadline=deadline,
                status="done" if done else "open",
                escalation_level=rng.choice([0, 0, 0, 1, 2, 3]),
                created_at=created,
                completed_at=completed,
                handling_hours=hours,
            )
        )
    return rows


def _expected(
    items: list[SupervisionItem], names: dict[int, str], actor: Actor, f: Filters, now: datetime
) -> dict[str, Any]:
    """What the dashboard must say, counted item by item."""
    soon = now + timedelta(hours=SCHEDULE["due_soon_hours"])
    manage = policy.can(actor, "supervision.manage")
    lo = datetime.combine(f.deadline_from, time(0), CHINA) if f.deadline_from else None
    hi = datetime.combine(f.deadline_to + timedelta(days=1), time(0), CHINA) if f.deadline_to else None
    state = {
        "open": lambda r: r.status == "open",
        "done": lambda r: r.status == "done",
        "overdue": lambda r: r.status == "open" and r.deadline < now,
        "due_soon": lambda r: r.status == "open" and now <= r.deadline < soon,
    }
    seen = [
        r
        for r in items
        if r.agency_id == actor.agency_id
        and (manage or r.owner_department_id in actor.headed_department_ids or r.owner_user_id == actor.user_id)
        and (not f.source_kind or r.source_kind == f.source_kind)
        and (f.department_id is None or r.owner_department_id == f.department_id)
        and (not f.status or state[f.status](r))
        and (lo is None or r.deadline >= lo)
        and (hi is None or r.deadline < hi)
    ]
    depts: dict[int | None, dict[str, Any]] = {}
    for r in seen:
        d = depts.setdefault(
            r.owner_department_id,
            {
                "department_id": r.owner_department_id,
                "open": 0,
                "due_soon": 0,
                "overdue": 0,
                "done": 0,
                "done_on_time": 0,
                "done_late": 0,
                "hours": [],
                "max_escalation": 0,
            },
        )
        d["max_escalation"] = max(d["max_escalation"], r.escalation_level)
        if r.status == "open":
            d["open"] += 1
            d["overdue"] += r.deadline < now
            d["due_soon"] += now <= r.deadline < soon
        else:
            on_time = r.completed_at is not None and r.completed_at <= r.deadline
            d["done"] += 1
            d["done_on_time"] += on_time
            d["done_late"] += not on_time
            if r.handling_hours is not None:
                d["hours"].append(r.handling_hours)
    out = []
    for d in depts.values():
        hours = d.pop("hours")
        out.append(
            {
                **d,
                "avg_hours": round(sum(hours) / len(hours), 1) if hours else None,
                "department": names.get(d["department_id"], "个人/未指定部门"),
            }
        )
    out.sort(key=lambda d: (-d["overdue"], -d["open"], d["department"]))
    totals = {k: sum(d[k] for d in out) for k in ("open", "due_soon", "overdue", "done", "done_on_time", "done_late")}
    weighted = [(d["avg_hours"], d["done"]) for d in out if d["avg_hours"] is not None and d["done"]]
    totals["avg_hours"] = round(sum(h * c for h, c in weighted) / sum(c for _, c in weighted), 1) if weighted else None
    trend = [
        {
            "date": e.date().isoformat(),
            "overdue": sum(
                1
                for r in seen
                if r.deadline < e and r.created_at <= e and not (r.completed_at is not None and r.completed_at <= e)
            ),
        }
        for e in _day_ends(now)
    ]
    return {"totals": totals, "departments": out, "trend": trend}


@pytest.mark.parametrize(
    ("now", "every"),
    [
        (datetime(2026, 3, 10, 5, 30, 12, tzinfo=UTC), True),
        # the last second of a China day: today's trend point stops before
        # ``now``; fewer filter combinations suffice there
        (datetime(2026, 3, 10, 15, 59, 59, 500_000, tzinfo=UTC), False),
    ],
)
def test_dashboard_matches_a_brute_force_count_under_every_filter(org: Org, now: datetime, every: bool) -> None:
    rng = random.Random(now.second)
    items = _items(org, now, rng, 400)
    with org.db.write() as s:
        s.add_all(items)
        s.flush()
        s.expunge_all()
    with org.db.read() as s:
        names = {d.id: d.name for d in s.exec(select(Department)).all() if d.id is not None}
    day = now.astimezone(CHINA).date()
    ranges: list[tuple[date | None, date | None]] = [
        (None, None),
        (day - timedelta(days=5), None),
        (None, day + timedelta(days=2)),
        (day - timedelta(days=9), day),
    ]
    supervisor = org.actor("gertrude")
    combos = [
        (supervisor, Filters(source_kind=k, department_id=d, status=st, deadline_from=lo, deadline_to=hi))
        for k, d, st, (lo, hi) in itertools.product(
            ["", *SOURCES],
            [None, org.depts["A1"], org.depts["A2"], org.depts["B1"]],
            ["", "open", "due_soon", "overdue", "done"],
            ranges,
        )
        if every or (k, d, lo, hi) == ("", None, None, None) or (st, lo, hi) == ("", None, None)
    ]
    for username in ("polonius", "hamlet", "iago", "othello"):
        combos += [
            (org.actor(username), Filters(source_kind=k, status=st))
            for k, st in itertools.product(["", "instruction"], ["", "open", "due_soon", "overdue", "done"])
        ]
    assert sum(1 for r in items if r.created_at > r.deadline) > 10  # the odd items are really there
    for actor, f in combos:
        with org.db.read() as s:
            got = supervision_dashboard.dashboard(s, actor, f, now=now)
        want = _expected(items, names, actor, f, now)
        assert {k: got[k] for k in want} == want, (actor.name, f)
