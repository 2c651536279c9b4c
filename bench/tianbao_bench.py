"""数据填报 benchmarks, at the sizes issue #18 asks for (``--quick``: smaller, same shapes):

- issue a task of 50 items to 2,000 units (``tianbao.tasks.issue``: every unit's people checked again,
  one return per unit, committed with ``synchronous=FULL``): target under 5 s, durable;
- open a prefilled form of 200 items with 10 million stored values (the filler's first GET of a
  return: ``returns.open_return`` computes the prefill, ``returns.form`` builds the form, committed):
  p99 under 100 ms (quick: 1 million values);
- the collector's board for 2,000 units (``tianbao.board.board``): p99 under 200 ms;
- the summary over 2,000 submitted returns of 50 numeric items with the previous period
  (``tianbao.summary.summary``): under 1 s.

The units, their fillers and reviewers and the stored values are seeded with multi-row INSERTs
straight into a fresh SQLite database migrated like production (values: ``tb_value`` history, two
rows for each key in ``tb_value_current``, quarters up to the task's 2026Q4). Baselines, measured in
the same run: one primary-key read through the same session (board, form, summary) and one durable
write transaction of a single audit entry (issue); the ratio says how many of those each costs.
Each row also carries ``cpu_ms``, the same statistic of the process's CPU time: on a shared machine
the wall time is mostly waiting for a core.

Seeding 10 million values takes several minutes; ``TIANBAO_BENCH_DIR=/some/folder`` keeps the seeded
database there (one sub-folder per size) and each run measures a fresh copy of it, migrated to this
tree's head, so re-measuring costs the copy and the measurements only:

    TIANBAO_BENCH_DIR=~/.cache/tianbao-bench python -m bench --only tianbao_bench
    TIANBAO_BENCH_DIR=~/.cache/tianbao-bench python -m bench.tianbao_bench --full
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BATCH = 50_000
CACHE_ENV = "TIANBAO_BENCH_DIR"


@dataclass(frozen=True)
class Sizes:
    units: int  # receiving units (each with a filler and a reviewer)
    items: int  # the issued task's items (all numeric: the summary sums them)
    form_items: int  # the prefilled form's items
    values: int  # rows in tb_value (tb_value_current holds half as many keys)
    repeat: int  # timed runs of the board, the form and the baselines


FULL = Sizes(units=2000, items=50, form_items=200, values=10_000_000, repeat=200)
QUICK = Sizes(units=200, items=50, form_items=200, values=1_000_000, repeat=50)


def _table(model: Any) -> Any:
    return model.__table__  # SQLModel's table classes have one; mypy does not see it


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _times(fn: Callable[[], Any], repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds of each call; the process's CPU milliseconds go to ``cpu`` (on a shared,
    loaded machine the wall time is mostly waiting for a core, the CPU time is the work)."""
    out = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return out


def _quarters(last: str, n: int) -> list[str]:
    year, q = int(last[:4]), int(last[-1])
    out = []
    for _ in range(n):
        out.append(f"{year}Q{q}")
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return out[::-1]


@dataclass
class World:
    db: Any
    collector_id: int
    units: list[int]
    fillers: list[int]
    items: list[int]  # form_items ids; the issued task uses the first ``sizes.items``


def seed(folder: Path, sizes: Sizes) -> World:
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database, insert_plain_rows, reserve_ids, sql_json, sql_time, utcnow
    from office.directory import service as directory
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import Department, DeptKind, Post, Role, User, UserRole
    from tianbao import items as registry
    from tianbao.models import CurrentValue, DataValue

    db = Database(load_settings({}, data_dir=folder, testing=True))
    upgrade(db)
    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="基准省统计局", kind=DeptKind.agency).id or 0
        office = directory.create_department(s, SYSTEM, name="统计处", parent_id=agency).id or 0
        collector = (
            directory.create_user(
                s,
                SYSTEM,
                username="collector",
                name="统计处长",
                password="",
                posts=[PostSpec(department_id=office, title="处长")],
                roles={Role.staff, Role.dept_head},
                check_password=False,
            ).id
            or 0
        )
        item_ids = []
        for k in range(sizes.form_items):
            item = registry.create_item(
                s,
                SYSTEM,
                {
                    "code": f"B{k:04d}",
                    "name": f"指标{k}",
                    "unit_label": "万元",
                    "spec": {"type": "number", "min": 0, "decimals": 2},
                    "owner_dept_id": office,
                    "cycle": "quarter",
                    "level": "internal",
                },
            )
            item_ids.append(item.id or 0)
    now = utcnow()
    with db.write() as s:
        conn = s.connection()
        stamp = sql_time(conn, now)
        units = reserve_ids(conn, _table(Department), sizes.units)
        insert_plain_rows(
            conn,
            _table(Department),
            ("id", "name", "kind", "parent_id", "agency_id", "sort_order", "path", "created_at"),
            [(d, f"第{k}所", "department", agency, agency, k, f"/{agency}/{d}/", stamp) for k, d in enumerate(units)],
        )
        people = reserve_ids(conn, _table(User), 2 * sizes.units)
        cols: tuple[str, ...] = ("id", "username", "name", "staff_no", "pinyin", "initials", "phone", "office", "email")
        cols += ("is_active", "password_hash", "totp_enabled", "elder_mode", "created_at")
        insert_plain_rows(
            conn,
            _table(User),
            cols,
            [(u, f"s{u}", f"职员{u}", "", "", "", "", "", "", 1, "x", 0, 0, stamp) for u in people],
        )
        fillers, heads = people[0::2], people[1::2]
        insert_plain_rows(
            conn,
            _table(Post),
            ("user_id", "department_id", "title", "is_primary", "rank"),
            [(u, units[i // 2], "科员" if i % 2 == 0 else "所长", 1, 100) for i, u in enumerate(people)],
        )
        roles = [(u, "staff") for u in people] + [(u, "clerk") for u in fillers] + [(u, "dept_head") for u in heads]
        insert_plain_rows(conn, _table(UserRole), ("user_id", "role"), roles)
    # The values: two history rows per key, the second current; quarters up to 2026Q4.
    keys_per_period = sizes.units * sizes.form_items
    periods = _quarters("2026Q4", max(2, -(-sizes.values // (2 * keys_per_period))))
    vcols: tuple[str, ...] = ("id", "item_id", "unit_id", "period", "value", "origin", "reason", "task_id")
    vcols += ("assignment_id",)
    vcols += ("previous_id", "author_id", "created_at")
    ccols = ("unit_id", "item_id", "period", "value_id", "value", "origin", "updated_at")
    written = 0
    for period in periods:
        with db.write() as s:
            conn = s.connection()
            stamp = sql_time(conn, now - dt.timedelta(days=30))
            keys = [(u, i) for u in units for i in item_ids]
            for start in range(0, len(keys), BATCH):
                chunk = keys[start : start + BATCH]
                ids = reserve_ids(conn, _table(DataValue), 2 * len(chunk))
                hist: list[tuple[Any, ...]] = []
                cur: list[tuple[Any, ...]] = []
                for n, (u, i) in enumerate(chunk):
                    first, second = ids[2 * n], ids[2 * n + 1]
                    value = sql_json((u * 7 + i * 3) % 1000 + 0.5)
                    hist.append((first, i, u, period, sql_json(1), "typed", "", None, None, None, None, stamp))
                    hist.append((second, i, u, period, value, "corrected", "核实", None, None, first, None, stamp))
                    cur.append((u, i, period, second, value, "corrected", stamp))
                insert_plain_rows(conn, _table(DataValue), vcols, hist)
                insert_plain_rows(conn, _table(CurrentValue), ccols, cur)
                written += len(hist)
    print(f"   seeded {sizes.units} units, {sizes.form_items} items, {written:,} values", file=sys.stderr, flush=True)
    return World(db, collector, units, fillers, item_ids)


def _world(sizes: Sizes, into: Path, cache: Path | None) -> World:
    """The seeded world in ``into``: seeded there, or (with ``cache``) copied from a database seeded
    into ``cache`` once (the copy is what the run changes, so every run starts from the same data).
    The copy is migrated, never the kept database: a tree with a migration another tree lacks would
    leave it at a revision the other cannot read. A kept database this tree cannot migrate (seeded
    by a tree with a migration this one lacks) is seeded again."""
    from alembic.util import CommandError

    from office.config import load_settings
    from office.db import Database
    from office.migrate import upgrade

    if cache is None:
        return seed(into, sizes)
    kept = cache.expanduser() / f"tianbao-{sizes.units}u-{sizes.form_items}i-{sizes.values}v"
    marker = kept / "world.json"
    if not marker.exists():
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        w = seed(kept, sizes)
        w.db.dispose()
        ids = {"collector_id": w.collector_id, "units": w.units, "fillers": w.fillers, "items": w.items}
        marker.write_text(json.dumps(ids))
    ids = json.loads(marker.read_text())
    for f in kept.iterdir():
        if f.name.startswith("office.db"):
            shutil.copyfile(f, into / f.name)
    print(f"   copied the seeded database from {kept}", file=sys.stderr, flush=True)
    db = Database(load_settings({}, data_dir=into, testing=True))
    try:
        upgrade(db)  # a migration added since the seed (an index) is built in the copy
    except CommandError:
        db.dispose()
        print(f"   {kept} is at a revision this tree does not have: seeding it again", file=sys.stderr)
        marker.unlink()
        for f in into.iterdir():
            if f.name.startswith("office.db"):
                f.unlink()
        return _world(sizes, into, cache)
    return World(db, **ids)


def _new_task(w: World, item_ids: list[int], title: str) -> int:
    from office.accounts import load_actor
    from office.db import utcnow
    from tianbao import tasks

    with w.db.write() as s:
        actor = load_actor(s, w.collector_id)
        task = tasks.create_task(
            s,
            actor,
            {
                "title": title,
                "period": "2026Q4",
                "deadline": utcnow() + dt.timedelta(days=10),
                "items": [{"item_id": i, "section": "主要指标", "required": False} for i in item_ids],
                "units": [{"unit_id": u} for u in w.units],
            },
        )
        return task.id or 0


def measure(sizes: Sizes, cache: Path | None = None) -> list[dict[str, Any]]:
    from sqlalchemy import update
    from sqlmodel import select

    from office import audit
    from office.accounts import load_actor
    from tianbao import board, returns, summary, tasks
    from tianbao.models import CollectTask, ReturnStatus, UnitReturn

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        w = _world(sizes, Path(tmp), cache)
        with w.db.read() as s:
            collector = load_actor(s, w.collector_id)

        def one_read() -> None:
            with w.db.read() as s:
                s.exec(select(UnitReturn.id).where(UnitReturn.id == 1)).first()

        def one_write() -> None:
            with w.db.write() as s:
                audit.record(s, collector, "bench.noop")

        one_read()
        # The server freezes what exists once it has started (office/asgi.py, office/app.py): without
        # that here, each full collection walked the seeding's leftovers inside whichever board it
        # fell in (5 of 100 boards of 2,000 units took 170-210 ms of CPU instead of 22 ms).
        gc.collect()
        gc.freeze()
        base_read = statistics.median(_times(one_read, sizes.repeat))
        base_write = statistics.median(_times(one_write, 20))

        # Issue: 50 items to every unit, durable.
        issue_ms: list[float] = []
        issue_cpu: list[float] = []
        task_id = 0
        for n in range(3):
            task_id = _new_task(w, w.items[: sizes.items], f"基准任务{n}")
            with w.db.read() as s:
                issued = s.get(CollectTask, task_id)
                assert issued is not None
                version = issued.version
            t0, c0 = time.perf_counter(), time.process_time()
            with w.db.write() as s:
                tasks.issue(s, collector, task_id, version)
            issue_ms.append((time.perf_counter() - t0) * 1000)
            issue_cpu.append((time.process_time() - c0) * 1000)
        rows.append(
            {
                "name": f"tianbao.issue_ms ({sizes.units} units × {sizes.items} items, durable)",
                "value": round(statistics.median(issue_ms), 1),
                "unit": "ms",
                "baseline_value": round(base_write, 2),
                "ratio": round(statistics.median(issue_ms) / base_write, 1),
                "cpu_ms": round(statistics.median(issue_cpu), 1),
                "target": "< 5000 ms (2,000 × 50)",
            }
        )

        # The board of the last issued task.
        def read_board() -> None:
            with w.db.read() as s:
                board.board(s, collector, task_id)

        read_board()
        board_cpu: list[float] = []
        board_ms = _times(read_board, sizes.repeat, board_cpu)
        rows.append(
            {
                "name": f"tianbao.board_p99_ms ({sizes.units} units)",
                "value": round(_pct(board_ms, 99), 2),
                "unit": "ms",
                "baseline_value": round(base_read, 3),
                "ratio": round(_pct(board_ms, 99) / base_read, 1),
                "cpu_ms": round(_pct(board_cpu, 99), 2),
                "target": "p99 < 200 ms",
            }
        )

        # The summary: every return submitted, 50 numeric items, with the previous quarter.
        with w.db.write() as s:
            s.execute(
                update(UnitReturn).where(UnitReturn.task_id == task_id).values(status=ReturnStatus.submitted)  # type: ignore[arg-type]  # sqlmodel's column types
            )

        def read_summary() -> None:
            with w.db.read() as s:
                task = tasks.get_task_for_collector(s, collector, task_id)
                out = summary.summary(s, task)
                assert out["items"][0]["count"] == sizes.units and out["items"][0]["previous_total"]

        read_summary()
        summary_cpu: list[float] = []
        summary_ms = _times(read_summary, max(5, sizes.repeat // 10), summary_cpu)
        rows.append(
            {
                "name": f"tianbao.summary_ms ({sizes.units} returns × {sizes.items} items, with previous period)",
                "value": round(max(summary_ms), 1),
                "unit": "ms",
                "baseline_value": round(base_read, 3),
                "ratio": round(max(summary_ms) / base_read, 1),
                "cpu_ms": round(max(summary_cpu), 1),
                "target": "< 1000 ms (slowest run)",
            }
        )

        # Opening a prefilled form of 200 items: the filler's first GET, a different unit each time.
        form_task = _new_task(w, w.items, "基准表单")
        with w.db.write() as s:
            task = s.get(CollectTask, form_task)
            assert task is not None
            tasks.issue(s, collector, form_task, task.version)
        with w.db.read() as s:
            opened = s.exec(
                select(UnitReturn.id, UnitReturn.filler_id).where(UnitReturn.task_id == form_task).limit(sizes.repeat)
            ).all()
            fillers = {f: load_actor(s, f) for _, f in opened}
        form_ms: list[float] = []
        form_cpu: list[float] = []
        for return_id, filler_id in opened:
            actor = fillers[filler_id]
            t0, c0 = time.perf_counter(), time.process_time()
            with w.db.write() as s:
                ret = s.get(UnitReturn, return_id)
                assert ret is not None
                form = returns.form(s, actor, returns.open_return(s, actor, ret))
            form_ms.append((time.perf_counter() - t0) * 1000)
            form_cpu.append((time.process_time() - c0) * 1000)
            prefilled = sum(1 for sec in form["sections"] for i in sec["items"] if i["prefill"])
            assert prefilled == sizes.form_items, prefilled
        rows.append(
            {
                "name": f"tianbao.open_prefilled_form_p99_ms ({sizes.form_items} items, {sizes.values:,} values)",
                "value": round(_pct(form_ms, 99), 2),
                "unit": "ms",
                "baseline_value": round(base_read, 3),
                "ratio": round(_pct(form_ms, 99) / base_read, 1),
                "cpu_ms": round(_pct(form_cpu, 99), 2),
                "target": "p99 < 100 ms",
            }
        )
        w.db.dispose()
        gc.unfreeze()
    return rows + [_cpu_row(r) for r in rows]


def _cpu_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row's CPU figure as a row of its own: ``python -m bench`` prints value, baseline and ratio."""
    figure, _, size = row["name"].partition(" ")
    return {
        "name": f"{figure.removesuffix('_ms')}_cpu_ms {size}",
        "value": row["cpu_ms"],
        "unit": "ms cpu",
        "target": "the process's CPU time, same statistic",
    }


def run(quick: bool) -> list[dict[str, Any]]:
    cache = os.environ.get(CACHE_ENV)
    return measure(QUICK if quick else FULL, Path(cache) if cache else None)


if __name__ == "__main__":
    print(json.dumps(run("--full" not in sys.argv), ensure_ascii=False, indent=2))
