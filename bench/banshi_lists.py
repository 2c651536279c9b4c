"""The 办事 lists at scale, for ``bench.banshi_load_bench``: 待我审批 and 我发起的 with 1,000,000 requests
and 100,000 staff (``--quick``: 20,000 and 2,000), bulk-seeded with multi-row INSERTs into the tables the
listing reads (``department``, ``user_account``, ``post``, ``user_role``, ``bs_request``, ``wf_case``,
``wf_task``), shaped as an agency's approvals are: 50 people a department, each request's first step
with the applicant's department head, every 50th request's second step with one 分管领导 (the heavy
approver), every 100th request by one applicant (the heavy applicant); a tenth still running.

Measured: ``banshi.listing.list_requests`` (the endpoint's whole work but HTTP: the box, the reading
rule, the page's names and steps, the badge counts), first page and the next one by cursor, for the
heavy and a few ordinary approvers and applicants. Baseline: one primary-key read of ``bs_request``
through the same session.
"""

from __future__ import annotations

import gc
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PER_DEPT = 50
BATCH = 50_000


def _table(model: Any) -> Any:
    return model.__table__  # SQLModel's table classes have one; mypy does not see it


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def seed(folder: Path, requests: int, staff: int) -> dict[str, Any]:
    from banshi import case_kind, templates
    from banshi.models import ApprovalRequest
    from office import accounts
    from office.actor import SYSTEM
    from office.config import load_settings
    from office.db import Database, insert_plain_rows, reserve_ids, sql_json, sql_time, utcnow
    from office.directory import service as directory
    from office.directory.service import PostSpec
    from office.migrate import upgrade
    from office.models import Department, DeptKind, Post, Role, User, UserRole
    from workflow.models import WfCase, WfTask

    case_kind.register_kind()
    db = Database(load_settings({}, data_dir=folder, testing=True))
    upgrade(db)
    rng = random.Random(17)
    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="基准机关", kind=DeptKind.agency).id or 0
        office = directory.create_department(s, SYSTEM, name="办公室", parent_id=agency).id or 0

        def user(username: str, name: str, title: str, roles: set[Role]) -> int:
            post = PostSpec(department_id=office, title=title)
            made = directory.create_user(
                s, SYSTEM, username=username, name=name, password="", posts=[post], roles=roles, check_password=False
            )
            return made.id or 0

        admin = user("admin", "管理员", "管理员", {Role.staff, Role.admin})
        leader = user("leader", "分管领导", "副局长", {Role.staff, Role.leader})
    with db.write() as s:
        actor = accounts.load_actor(s, admin)
        t = templates.create_template(s, actor, name="用品申领", category="行政")
        templates.save_draft(
            s,
            actor,
            t.id or 0,
            fields_raw=[{"key": "reason", "label": "事由", "type": "text", "required": True}],
            route_raw={
                "branches": [],
                "default": {
                    "steps": [
                        {
                            "key": "s1",
                            "name": "负责人审批",
                            "mode": "any",
                            "approvers": {"kind": "users", "user_ids": [admin]},
                        }
                    ]
                },
            },
            options_raw={},
        )
        templates.publish(s, actor, t.id or 0)
        template_id, version_id = t.id or 0, t.published_version_id or 0
    now = utcnow()
    with db.write() as s:
        conn = s.connection()
        stamp = sql_time(conn, now)
        ndept = max(1, staff // PER_DEPT)
        dept_ids = reserve_ids(conn, _table(Department), ndept)
        insert_plain_rows(
            conn,
            _table(Department),
            ("id", "name", "kind", "parent_id", "agency_id", "sort_order", "path", "created_at"),
            [
                (d, f"第{k}处", "department", agency, agency, k, f"/{agency}/{d}/", stamp)
                for k, d in enumerate(dept_ids, 1)
            ],
        )
        user_ids = reserve_ids(conn, _table(User), staff)
        cols: tuple[str, ...] = ("id", "username", "name", "staff_no", "pinyin", "initials", "phone", "office", "email")
        cols += ("is_active", "password_hash", "totp_enabled", "elder_mode", "created_at")
        insert_plain_rows(
            conn,
            _table(User),
            cols,
            [(u, f"s{u}", f"职员{u}", "", "", "", "", "", "", 1, "x", 0, 0, stamp) for u in user_ids],
        )
        dept_of = [dept_ids[i // PER_DEPT % ndept] for i in range(staff)]
        insert_plain_rows(
            conn,
            _table(Post),
            ("user_id", "department_id", "title", "is_primary", "rank"),
            [(u, dept_of[i], "科员", 1, 100) for i, u in enumerate(user_ids)],
        )
        heads = {dept_ids[k]: user_ids[k * PER_DEPT] for k in range(ndept)}
        roles = [(u, "staff") for u in user_ids] + [(h, "dept_head") for h in heads.values()]
        insert_plain_rows(conn, _table(UserRole), ("user_id", "role"), roles)
    route = sql_json(
        [
            {"key": "s1", "name": "负责人审批", "mode": "any", "approvers": []},
            {"key": "s2", "name": "分管领导审批", "mode": "any", "approvers": []},
        ]
    )
    heavy_applicant = user_ids[1]
    rcols: tuple[str, ...] = ("id", "agency_id", "template_id", "version_id", "serial", "title", "applicant_id")
    rcols += ("applicant_dept_id", '"values"', "status", "case_id", "proof", "version", "created_at", "updated_at")
    rcols += ("submitted_at",)
    ccols: tuple[str, ...] = (
        "id",
        "kind",
        "subject_id",
        "agency_id",
        "initiator_id",
        "initiator_dept_id",
        "state",
        "route",
    )
    ccols += ("context", "current_step", "round", "version", "created_at", "updated_at", "submitted_at")
    tcols: tuple[str, ...] = (
        "case_id",
        "step_index",
        "step_key",
        "round",
        "assignee_id",
        "state",
        "is_added",
        "opinion",
        "detail",
    )
    tcols += ("created_at", "acted_by_id")
    started = time.perf_counter()
    for start in range(0, requests, BATCH):
        n = min(BATCH, requests - start)
        with db.write() as s:
            conn = s.connection()
            rids = reserve_ids(conn, _table(ApprovalRequest), n)
            cids = reserve_ids(conn, _table(WfCase), n)
            reqs, cases, tasks = [], [], []
            for k in range(n):
                i = start + k
                rid, cid = rids[k], cids[k]
                who = heavy_applicant if i % 100 == 0 else user_ids[rng.randrange(staff)]
                dept = dept_of[who - user_ids[0]]
                running = rng.random() < 0.1
                two = i % 50 == 0
                reqs.append(
                    (rid, agency, template_id, version_id, f"2026{i:08d}", f"职员{who}的用品申领", who, dept)
                    + ('{"reason":"基准"}', "running" if running else "approved", cid, "{}", 2, stamp, stamp, stamp)
                )
                step = (1 if two else 0) if running else None
                cases.append(
                    (cid, "banshi", rid, agency, who, dept, "running" if running else "finished", route, "{}")
                    + (step, 0, 2, stamp, stamp, stamp)
                )
                head = heads[dept]
                first_done = not running or two
                tasks.append(
                    (cid, 0, "s1", 0, head, "approved" if first_done else "pending", 0, "", "{}", stamp)
                    + (head if first_done else None,)
                )
                if two:
                    tasks.append(
                        (cid, 1, "s2", 0, leader, "pending" if running else "approved", 0, "", "{}", stamp)
                        + (None if running else leader,)
                    )
            insert_plain_rows(conn, _table(WfCase), ccols, cases)
            insert_plain_rows(conn, _table(ApprovalRequest), rcols, reqs)
            insert_plain_rows(conn, _table(WfTask), tcols, tasks)
        print(f"   seeded {start + n:,} requests ({time.perf_counter() - started:.0f}s)", file=sys.stderr, flush=True)
    # No ANALYZE: production databases have no statistics either, so the plans are the ones they get.
    ordinary_heads = rng.sample(list(heads.values()), min(5, len(heads)))
    ordinary_applicants = rng.sample(user_ids[2:], 5)
    return {
        "db": db,
        "approvers": {"heavy": leader, "ordinary": ordinary_heads},
        "applicants": {"heavy": heavy_applicant, "ordinary": ordinary_applicants},
    }


def _time_pages(s: Any, actor: Any, box: str, repeat: int) -> list[float]:
    from banshi import listing

    out = []
    for _ in range(repeat):
        s.expunge_all()
        t0 = time.perf_counter()
        first = listing.list_requests(s, actor, box=box)
        out.append((time.perf_counter() - t0) * 1000)
        if first["next_cursor"]:
            s.expunge_all()
            t0 = time.perf_counter()
            listing.list_requests(s, actor, box=box, cursor=first["next_cursor"])
            out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(world: dict[str, Any], repeat: int) -> dict[str, list[float]]:
    from sqlmodel import col, select

    from banshi.models import ApprovalRequest
    from office import accounts

    db = world["db"]
    got: dict[str, list[float]] = {}
    with db.read() as s:
        for box, people in (("todo", world["approvers"]), ("mine", world["applicants"])):
            for kind in ("heavy", "ordinary"):
                ids = [people[kind]] if kind == "heavy" else people[kind]
                for uid in ids:
                    actor = accounts.load_actor(s, uid)
                    got.setdefault(f"{box}:{kind}", []).extend(_time_pages(s, actor, box, repeat))
        top = s.exec(select(ApprovalRequest.id).order_by(col(ApprovalRequest.id).desc()).limit(1)).one()
        rng = random.Random(3)
        base = []
        for _ in range(repeat * 10):
            s.expunge_all()
            t0 = time.perf_counter()
            s.get(ApprovalRequest, rng.randrange(1, top + 1))
            base.append((time.perf_counter() - t0) * 1000)
        got["base"] = base
    return got


def list_rows(quick: bool) -> list[dict[str, Any]]:
    requests, staff = (20_000, 2_000) if quick else (1_000_000, 100_000)
    repeat = 10 if quick else 30
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        world = seed(Path(tmp), requests, staff)
        # The server freezes what exists once it has started (office/asgi.py): without that here a full
        # collection walks the seeding's leftovers inside whichever page it falls in (as the 数据填报
        # bench found), and a p99 of 60 samples is that page.
        gc.collect()
        gc.freeze()
        try:
            got = measure(world, repeat)
        finally:
            gc.unfreeze()
        world["db"].dispose()
    base = _pct(got["base"], 99)
    label = {"todo": "待我审批", "mine": "我发起的"}
    rows = []
    for key, samples in got.items():
        if key == "base":
            continue
        box, kind = key.split(":")
        p99 = _pct(samples, 99)
        rows.append(
            {
                "name": f"banshi {label[box]} page p99, {kind} ({requests:,} requests, {staff:,} staff)",
                "value": round(p99, 2),
                "unit": "ms",
                "baseline_value": round(base, 3),
                "ratio": round(p99 / base, 1),
                "target": "< 50 ms",
            }
        )
    return rows
