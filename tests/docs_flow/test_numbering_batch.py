"""发文字号 through the group-commit allocator (``numbering.Numberer``): gapless and unique under
threads, across two database objects and two processes, when a request in a batch fails, and for
the 编号 step itself (the batched path its HTTP endpoint takes)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from docs_flow import actions, numbering
from docs_flow.models import DocNumber, DocNumberCounter, NumberState, OutgoingDocument
from office.config import Settings
from office.db import Database
from office.errors import Conflict, ValidationError
from office.models import AuditEntry
from tests.docs_flow.conftest import Clients
from tests.docs_flow.test_numbering import seqs
from tests.docs_flow.test_routes import advance, create
from tests.factories import Org, login, new_client

ROOT = Path(__file__).resolve().parents[2]


def commit_together(numberer: numbering.Numberer, items: list[Any]) -> list[Future[Any]]:
    """Run ``items`` as ONE batch, deterministically (the writer thread is idle meanwhile)."""
    batch: list[tuple[Any, Future[Any]]] = [(fn, Future()) for fn in items]
    numberer.group._commit(batch)
    return [fut for _, fut in batch]


def outcome(fut: Future[Any]) -> Any:
    exc = fut.exception(timeout=0)
    return exc if exc is not None else fut.result(timeout=0)


@pytest.fixture
def numberer(org: Org) -> Any:
    n = numbering.Numberer(org.db)
    yield n
    n.stop()


def test_many_threads_through_the_allocator_get_a_gapless_unique_audited_sequence(org: Org, numberer: Any) -> None:
    clerk, agency = org.actor("gertrude"), org.agencies["A"]
    threads, each = 16, 20
    barrier = threading.Barrier(threads)

    def worker() -> list[str]:
        barrier.wait()
        return [numberer.allocate(clerk, agency_id=agency, code="粤府办", year=2026).text for _ in range(each)]

    with ThreadPoolExecutor(threads) as pool:
        texts = [t for f in [pool.submit(worker) for _ in range(threads)] for t in f.result()]
    assert len(texts) == len(set(texts)) == threads * each
    assert seqs(org) == list(range(1, threads * each + 1))
    assert numberer.group.batches < threads * each  # requests did share commits
    with org.db.read() as s:
        logged = s.exec(select(AuditEntry.detail).where(AuditEntry.action == "docs.number.assigned")).all()
        counter = s.get(DocNumberCounter, (agency, "粤府办", 2026))
    assert sorted(d["number"] for d in logged) == sorted(texts)
    assert counter is not None and counter.last_seq == threads * each


def test_two_database_objects_with_their_own_allocators_share_one_sequence(org: Org, settings: Settings) -> None:
    """Two writers that share no process lock (as two server processes would): the database's own
    serialisation (BEGIN IMMEDIATE on SQLite, the advisory and row locks on PostgreSQL) suffices."""
    other = Database(settings)
    numberers = [numbering.Numberer(org.db), numbering.Numberer(other)]
    clerk, agency = org.actor("gertrude"), org.agencies["A"]
    try:

        def worker(k: int) -> list[int]:
            return [numberers[k % 2].allocate(clerk, agency_id=agency, code="粤府办", year=2026).seq for _ in range(15)]

        with ThreadPoolExecutor(8) as pool:
            got = [n for f in [pool.submit(worker, k) for k in range(8)] for n in f.result()]
    finally:
        for n in numberers:
            n.stop()
        other.dispose()
    assert sorted(got) == seqs(org) == list(range(1, 121))


CHILD = """
import sys, threading
from office.app import load_all_models
from office.accounts import load_actor
from office.config import load_settings
from office.db import Database
from docs_flow.numbering import Numberer

url, data_dir, user_id, agency_id, each = sys.argv[1:]
load_all_models()
db = Database(load_settings({}, data_dir=data_dir, database_url=url, testing=True))
with db.read() as s:
    actor = load_actor(s, int(user_id))
numberer = Numberer(db)
go = threading.Barrier(4)
def work():
    go.wait()
    for _ in range(int(each)):
        numberer.allocate(actor, agency_id=int(agency_id), code="粤府办", year=2026)
threads = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
numberer.stop()
print("done")
"""


def test_two_processes_allocating_at_once_share_one_gapless_sequence(org: Org, settings: Settings) -> None:
    args = [settings.database_url, str(settings.data_dir), str(org.users["gertrude"]), str(org.agencies["A"]), "25"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0 and out.strip() == "done", err[-2000:]
    assert seqs(org) == list(range(1, 2 * 4 * 25 + 1))


def test_a_refused_request_in_a_batch_takes_no_number_and_the_others_commit(org: Org, numberer: Any) -> None:
    clerk, agency = org.actor("gertrude"), org.agencies["A"]

    def op(code: str = "粤府办", **kw: Any) -> numbering.NumberOp:
        return numbering.NumberOp(clerk, agency_id=agency, code=code, year=2026, **kw)

    futs = commit_together(numberer, [op(), op(code="粤财"), op(), op(state=NumberState.reserved, reason="备用")])
    got = [outcome(f) for f in futs]
    assert isinstance(got[1], ValidationError) and got[1].code == "bad_code"
    assert [g.seq for g in (got[0], got[2], got[3])] == [1, 2, 3] and got[3].state == NumberState.reserved
    assert numberer.group.batches == 1 and numberer.group.retried == 0
    assert seqs(org) == [1, 2, 3]


def test_a_failure_after_allocation_rolls_the_batch_back_and_the_others_are_retried(org: Org, numberer: Any) -> None:
    """A request that fails once its number is written (here: binding it) cannot be cut out of the
    batch's multi-row writes; the batch rolls back and each request is retried alone, so the good
    ones still commit, gaplessly, and the failing one takes no number."""
    clerk, agency = org.actor("gertrude"), org.agencies["A"]

    def broken_bind(_s: Any, _got: numbering.Allocation) -> Any:
        raise RuntimeError("binding failed")

    def allocate_then_fail(s: Any) -> None:  # a plain item: its SAVEPOINT rolls back alone
        numbering.allocate(s, clerk, agency_id=agency, code="粤府办", year=2026)
        raise RuntimeError("after allocating")

    def op(**kw: Any) -> numbering.NumberOp:
        return numbering.NumberOp(clerk, agency_id=agency, code="粤府办", year=2026, **kw)

    futs = commit_together(numberer, [op(), op(bind=broken_bind), op(), allocate_then_fail, op()])
    got = [outcome(f) for f in futs]
    assert isinstance(got[1], RuntimeError) and isinstance(got[3], RuntimeError)
    assert [got[i].seq for i in (0, 2, 4)] == [1, 2, 3]
    assert numberer.group.retried == 5
    assert seqs(org) == [1, 2, 3]
    with org.db.read() as s:
        assert (
            s.exec(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "docs.number.assigned")
            ).one()
            == 3
        )

    # The plain failing item alone in a batch: its SAVEPOINT restores the counter, no retry needed.
    futs = commit_together(numberer, [op(), allocate_then_fail, op()])
    assert [outcome(f).seq for f in (futs[0], futs[2])] == [4, 5] and isinstance(outcome(futs[1]), RuntimeError)
    assert seqs(org) == [1, 2, 3, 4, 5]


def numbering_step_docs(users: Clients, org: Org, count: int) -> list[dict[str, Any]]:
    return [advance(users, create(users, org, title=f"关于第{i}项工作的通知"), "编号") for i in range(count)]


def test_number_step_ops_in_one_batch_bind_each_document_once(users: Clients, org: Org, client: TestClient) -> None:
    docs = numbering_step_docs(users, org, 3)
    numberer = client.app.state.numbering  # type: ignore[attr-defined]
    clerk = org.actor("gertrude")
    a, b, c = docs
    futs = commit_together(
        numberer,
        [
            actions.number_op(clerk, a["id"], version=a["version"]),
            actions.number_op(clerk, a["id"], version=a["version"]),  # the same document again
            actions.number_op(org.actor("hamlet"), b["id"], version=b["version"]),  # not at the 编号 step
            actions.number_op(clerk, c["id"], version=c["version"]),
        ],
    )
    got = [outcome(f) for f in futs]
    assert isinstance(got[1], Conflict) and isinstance(got[2], Exception)
    assert got[0].number == f"粤府办〔{numbering.current_year()}〕1号"
    assert got[3].number.endswith("〕2号") and got[3].version == c["version"] + 1
    with org.db.read() as s:
        bound = {d.id: d.number_id for d in s.exec(select(OutgoingDocument)).all()}
        rows = s.exec(select(DocNumber).order_by(DocNumber.seq)).all()  # type: ignore[arg-type]
    assert [(r.seq, r.document_id) for r in rows] == [(1, a["id"]), (2, c["id"])]
    assert bound[a["id"]] == rows[0].id and bound[c["id"]] == rows[1].id and bound[b["id"]] is None


def test_clerks_numbering_at_once_over_http(users: Clients, org: Org, client: TestClient) -> None:
    docs = numbering_step_docs(users, org, 4)
    clients = []
    for _ in range(len(docs) + 1):
        c = new_client(client.app)
        login(c, "gertrude")
        clients.append(c)
    jobs = [(clients[i], d) for i, d in enumerate(docs)] + [(clients[-1], docs[0])]  # docs[0] twice
    barrier = threading.Barrier(len(jobs))

    def number(job: tuple[TestClient, dict[str, Any]]) -> Any:
        c, doc = job
        barrier.wait()
        return c.post(f"/api/docs/{doc['id']}/number", json={"version": doc["version"]})

    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(number, jobs))
    for c in clients:
        c.close()
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * len(docs) + [409], [r.text for r in answers]
    numbered = sorted(r.json()["number"] for r in answers if r.status_code == 200)
    assert len(set(numbered)) == len(docs)
    assert seqs(org, year=numbering.current_year()) == list(range(1, len(docs) + 1))
