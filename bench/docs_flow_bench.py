"""办文 workflow throughput: documents routed through the full 通知 route per second (every action
its own write transaction, as over HTTP), and 发文字号 allocations per second under contention
(16 threads through the group-commit allocator; target >= 1,000/s with no gap or duplicate; the
one-transaction-per-number path is measured in the same run as the baseline). Runs on a fresh
SQLite database."""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlmodel import select

from docs_flow import actions
from office.accounts import load_actor
from office.actor import SYSTEM, Actor
from office.config import load_settings
from office.db import Database
from office.directory import service as directory
from office.directory.service import PostSpec
from office.migrate import upgrade
from office.models import DeptKind, Role
from office.secrets_box import hash_password
from typeset.layout import DocType

PIN = "246810"
PEOPLE = [
    ("drafter", "A1", {Role.staff}),
    ("head1", "A1", {Role.dept_head}),
    ("head2", "A2", {Role.dept_head}),
    ("leader", "A1", {Role.leader}),
    ("clerk", "A1", {Role.clerk}),
    ("keeper", "A1", {Role.seal_keeper}),
]


def _setup(root: Path, database_url: str = "") -> tuple[Database, dict[str, Actor], dict[str, int]]:
    extra = {"database_url": database_url} if database_url else {}
    db = Database(load_settings({}, data_dir=root, testing=True, **extra))
    upgrade(db)
    pw = hash_password(db.settings, "bench-password-123")
    depts: dict[str, int] = {}
    with db.write() as s:
        agency = directory.create_department(s, SYSTEM, name="省政府办公厅", kind=DeptKind.agency, code="粤府办")
        depts["agency"] = agency.id or 0
        depts["A1"] = directory.create_department(s, SYSTEM, name="综合处", parent_id=agency.id).id or 0
        depts["A2"] = directory.create_department(s, SYSTEM, name="秘书处", parent_id=agency.id).id or 0
        ids = {}
        for username, dept, roles in PEOPLE:
            user = directory.create_user(
                s,
                SYSTEM,
                username=username,
                name=username,
                password="x",
                posts=[PostSpec(department_id=depts[dept])],
                roles=roles | {Role.staff},
                check_password=False,
                password_hash=pw,
            )
            ids[username] = user.id or 0
    with db.read() as s:
        actors = {u: load_actor(s, i) for u, i in ids.items()}
    # 签发 and 用印 are real e-signatures: the leader and the keeper hold PIN-protected keys.
    from esign import credentials, seals
    from esign.models import SealKind

    for who in ("leader", "keeper"):
        with db.write() as s:
            credentials.enrol(s, actors[who], pin=PIN)
    with db.write() as s:
        seal_id = seals.create_seal(s, actors["keeper"], kind=SealKind.official, seal_pin=PIN).id
    with db.write() as s:
        seals.set_users(s, actors["keeper"], seal_id, user_ids=[ids["keeper"]], seal_pin=PIN)  # type: ignore[arg-type]
    return db, actors, depts


def _route_one(db: Database, actors: dict[str, Actor], depts: dict[str, int], n: int) -> None:
    from docs_flow import service
    from docs_flow.schemas import DocumentCreate

    body: list[dict[str, Any]] = [
        {"kind": "heading", "level": 1, "text": "一、总体要求"},
        {"kind": "paragraph", "text": f"正文第 {n} 号。"},
    ]
    with db.write() as s:
        doc = service.check_create_document(
            s,
            actors["drafter"],
            DocumentCreate(
                doc_type=DocType.tongzhi,
                title=f"关于第{n}项工作的通知",
                body=body,
                main_recipients=["各市人民政府"],
                countersign_department_ids=[depts["A2"]],
            ),
        )
        doc_id, version = doc.id or 0, doc.version
    # submit; 核稿, 办公室审核, 会签, 签发, 复核; 编号 (assign, then approve); 用印, 分发, 归档
    steps = ["drafter:submit", "head1", "head2", "head2", "leader", "head2", "clerk:number", "keeper", "clerk", "clerk"]
    for step in steps:
        who, _, what = step.partition(":")
        if what == "number":
            with db.write() as s:
                version = actions.check_assign_number(s, actors[who], doc_id, version=version).version
        with db.write() as s:
            doc = actions.check_act(
                s,
                actors[who],
                doc_id,
                action=what if what == "submit" else "approve",
                version=version,
                pin=PIN if who in ("leader", "keeper") else None,
            )
            version = doc.version
    assert doc.status.value == "archived", doc.status


def bench_route(count: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        db, actors, depts = _setup(Path(tmp))
        _route_one(db, actors, depts, 0)  # warm-up
        start = time.perf_counter()
        for n in range(1, count + 1):
            _route_one(db, actors, depts, n)
        elapsed = time.perf_counter() - start
        db.dispose()
    transactions = count * 12
    return [
        {
            "name": f"docs_flow.documents_full_route_per_s ({count} docs, 9 steps)",
            "value": round(count / elapsed, 1),
            "unit": "docs/s",
        },
        {"name": "docs_flow.route_transactions_per_s", "value": round(transactions / elapsed, 1), "unit": "tx/s"},
    ]


def _contend(db: Database, threads: int, each: int, one: Any) -> tuple[float, int, int]:
    """``threads`` callers each asking for ``each`` numbers at once: (seconds, gaps, duplicates)."""
    from docs_flow.models import DocNumber

    barrier = threading.Barrier(threads)

    def worker() -> None:
        barrier.wait()
        for _ in range(each):
            one()

    with db.read() as s:
        before = len(s.exec(select(DocNumber.seq)).all())
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(worker) for _ in range(threads)]:
            f.result()
    elapsed = time.perf_counter() - start
    with db.read() as s:
        seqs = sorted(s.exec(select(DocNumber.seq)).all())
    n = before + threads * each
    return elapsed, len(set(range(1, n + 1)) - set(seqs)), len(seqs) - len(set(seqs))


def bench_numbering(
    total: int, threads: int = 16, baseline_total: int = 800, database_url: str = ""
) -> list[dict[str, Any]]:
    """Each of ``threads`` clerks asks for numbers one after another. Baseline: each allocation its own
    write transaction (one fsync each, the pre-batching path). Batched: through the group-commit
    ``Numberer`` the 编号 step uses. Both in the same series, so gaps/duplicates are checked across both.
    ``database_url``: an empty PostgreSQL database or schema instead of the fresh SQLite file."""
    from docs_flow import numbering

    with tempfile.TemporaryDirectory() as tmp:
        db, actors, depts = _setup(Path(tmp), database_url)
        clerk, agency = actors["clerk"], depts["agency"]

        def own_transaction() -> None:
            with db.write() as s:
                numbering.allocate(s, clerk, agency_id=agency, code="粤府办", year=2026)

        base_each = max(baseline_total // threads, 1)
        base_s, _, _ = _contend(db, threads, base_each, own_transaction)
        numberer = numbering.Numberer(db)
        each = total // threads
        try:
            elapsed, gaps, duplicates = _contend(
                db, threads, each, lambda: numberer.allocate(clerk, agency_id=agency, code="粤府办", year=2026)
            )
            batches = numberer.group.batches
        finally:
            numberer.stop()
        db.dispose()
    n = threads * each
    base_rate, rate = threads * base_each / base_s, n / elapsed
    return [
        {
            "name": f"docs_flow.number_allocations_per_s ({threads} threads, {n} numbers, group commit)",
            "value": round(rate, 1),
            "unit": "alloc/s",
            "target": ">= 1000",
        },
        {
            "name": f"docs_flow.number_allocations_per_s_baseline ({threads} threads, {threads * base_each} numbers, "
            "one transaction each)",
            "value": round(base_rate, 1),
            "unit": "alloc/s",
        },
        {"name": "docs_flow.number_allocations_speedup", "value": round(rate / base_rate, 1), "unit": "x"},
        {"name": "docs_flow.number_batch_size_mean", "value": round(n / max(batches, 1), 1), "unit": "numbers/commit"},
        {"name": "docs_flow.number_gaps", "value": gaps, "unit": "count", "target": "0"},
        {"name": "docs_flow.number_duplicates", "value": duplicates, "unit": "count", "target": "0"},
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return bench_route(500 if quick else 10_000) + bench_numbering(1_600 if quick else 16_000)


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
