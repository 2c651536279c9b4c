"""Prepared creates written by the shared writer in one run (``banshi.submit_batch``): each is checked
and resolved before the writer (``submission.prepare_create``) and written by the one write path
(``submission.write_create``), with the run's events and audit entries written together. What a run
writes must be what the same creates written one by one write; what changed between the check and the
write is checked again; a create refused in the writer gets its error and the others are written."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from sqlmodel import col, select

from banshi import listing, submission, templates
from banshi.models import ApprovalRequest, RequestStatus, TemplateStatus
from banshi.submit_batch import CreateOp
from office import audit
from office.db import Database
from office.errors import NotFound
from office.groupcommit import GroupCommit
from office.models import AuditEntry
from tests.banshi.svc_helpers import FIELDS, make_template, step
from tests.factories import Org
from tests.messaging.helpers import capture_events
from workflow.models import WfHistory, WfTask

APPLICANTS = ("hamlet", "ophelia", "horatio")


def _prepare(db: Database, org: Org, tid: int, n: int, **kw: Any) -> list[submission.Draft]:
    drafts = []
    with db.read() as s:
        for i in range(n):
            d = submission.prepare_create(
                s,
                org.actor(APPLICANTS[i % 3]),
                template_id=tid,
                values={"reason": f"第{i}件", "amount": 100 * i},
                submit=True,
                **kw,
            )
            assert isinstance(d, submission.Draft)
            drafts.append(d)
    return drafts


def _run(db: Database, ops: list[Any], answers: list[Any] | None = None) -> list[tuple[bool, Any]]:
    """One group commit of ``ops`` (as the writer thread takes a queue): (ok, id or error) each; the
    answers themselves (the requests as the lists show them) added to ``answers``."""
    group = GroupCommit(db)
    try:
        futures: list[Future[Any]] = [Future() for _ in ops]
        group._commit(list(zip(ops, futures, strict=True)))
    finally:
        group.stop()
    out: list[tuple[bool, Any]] = []
    for f in futures:
        exc = f.exception()
        out.append((False, exc) if exc is not None else (True, f.result()["id"]))
        if answers is not None and exc is None:
            answers.append(f.result())
    return out


def _shape(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    """What each request's create wrote, without ids, times and serial numbers."""
    out = []
    with db.read() as s:
        for rid in ids:
            req = s.get(ApprovalRequest, rid)
            assert req is not None
            tasks = s.exec(select(WfTask).where(WfTask.case_id == req.case_id).order_by(col(WfTask.id))).all()
            history = s.exec(
                select(WfHistory.action, WfHistory.step_index, WfHistory.actor_id)
                .where(WfHistory.case_id == req.case_id)
                .order_by(col(WfHistory.id))
            ).all()
            audits = s.exec(
                select(AuditEntry.action, AuditEntry.detail)
                .where(col(AuditEntry.target_id) == str(rid), col(AuditEntry.target_type).in_(["bs_request", "banshi"]))
                .order_by(col(AuditEntry.seq))
            ).all()
            out.append(
                {
                    "req": (req.title, req.status, req.values, req.amount_fen, req.version, req.applicant_id),
                    "tasks": [(t.step_key, t.assignee_id, t.state) for t in tasks],
                    "history": list(history),
                    "audit": [(a, {k: v for k, v in d.items() if k not in ("serial", "case_id")}) for a, d in audits],
                }
            )
    return out


def _events(seen: list[Any], ids: list[int]) -> list[list[tuple[str, tuple[int, ...]]]]:
    """Per request, the events it caused (type and recipients), in order."""
    per: dict[int, list[tuple[str, tuple[int, ...]]]] = {rid: [] for rid in ids}
    for e in seen:
        rid = e.payload.get("request_id") or e.payload.get("subject_id")
        if rid is None and "link" in e.payload:
            rid = int(e.payload["link"].rsplit("/", 1)[1])
        if rid in per:
            per[rid].append((e.type, e.user_ids))
    return [per[rid] for rid in ids]


def test_a_run_writes_what_the_same_creates_write_one_by_one(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    with capture_events("") as seen_single:
        single = []
        for d in _prepare(db, org, tid, 6):
            with db.write() as s:
                single.append(submission.write_create(s, d).id or 0)
    answers: list[dict[str, Any]] = []
    with capture_events("") as seen_batch:
        outcomes = _run(db, [CreateOp(d) for d in _prepare(db, org, tid, 6)], answers)
    assert all(ok for ok, _ in outcomes), outcomes
    batch = [rid for _, rid in outcomes]
    with db.read() as s:  # the writer's answers are the requests as the lists show them
        rows = [s.get(ApprovalRequest, rid) for rid in batch]
        assert answers == listing.items_public(s, rows)  # type: ignore[arg-type]
    assert {a["current_step"] for a in answers} == {"部门负责人审批"}
    assert {a["applicant"]["department"] for a in answers} >= {"综合处", "秘书处"}
    assert _shape(db, batch) == _shape(db, single)
    assert _events(seen_batch, batch) == _events(seen_single, single)
    assert all(len(e) == 4 for e in _events(seen_batch, batch))  # 待办, 工作通知, case, request
    # In id order (subscribers' own later writes, such as the 工作通知 message, come in between).
    ids = [e.id for e in seen_batch if e.id is not None and e.type.split(".")[0] in ("banshi", "notify")]
    assert ids == sorted(ids)
    with db.read() as s:
        serials = [s.get(ApprovalRequest, rid).serial for rid in single + batch]  # type: ignore[union-attr]
        assert audit.verify_chain(s).ok
    assert serials == [f"{serials[0][:8]}{n:04d}" for n in range(1, 13)]  # in order, none twice


def test_what_changed_since_the_check_is_checked_again_in_the_writer(db: Database, org: Org) -> None:
    """Between the check and the write: one template disabled (its create is refused, alone), another
    given a new version (its create is cleaned and resolved on that version, as one made now would be),
    and a retry of a ``client_id`` queued twice (one request)."""
    gone, moved, plain = make_template(db, org), make_template(db, org), make_template(db, org)
    drafts = _prepare(db, org, gone, 1) + _prepare(db, org, moved, 1) + _prepare(db, org, plain, 2)
    with db.read() as s:
        twice = submission.prepare_create(
            s, org.actor("yorick"), template_id=plain, values={"reason": "重试"}, client_id="k-1", submit=True
        )
    assert isinstance(twice, submission.Draft)
    admin = org.actor("prospero")
    with db.write() as s:
        templates.update_template(s, admin, gone, status=TemplateStatus.disabled)
        route = {"branches": [], "default": {"steps": [step("s1", "分管领导审批", org.users["claudius"])]}}
        templates.save_draft(s, admin, moved, fields_raw=FIELDS, route_raw=route, options_raw={})
        new_version = templates.publish(s, admin, moved)
    with capture_events("banshi.task") as seen:
        outcomes = _run(db, [CreateOp(d) for d in drafts] + [CreateOp(twice), CreateOp(twice)])
    assert not outcomes[0][0] and isinstance(outcomes[0][1], NotFound)
    # The run was written again one by one: the refused create left no event, the others theirs.
    assert sorted(e.payload["subject_id"] for e in seen) == sorted({rid for _, rid in outcomes[1:]})
    assert all(ok for ok, _ in outcomes[1:]), outcomes
    assert outcomes[-1][1] == outcomes[-2][1]
    with db.read() as s:
        on_new = s.get(ApprovalRequest, outcomes[1][1])
        assert on_new is not None and on_new.version_id == new_version.id
        assert on_new.status == RequestStatus.running
        tasks = s.exec(select(WfTask.assignee_id).where(WfTask.case_id == on_new.case_id)).all()
        assert list(tasks) == [org.users["claudius"]]  # the new version's route, not the one checked against
        made = s.exec(select(ApprovalRequest).where(col(ApprovalRequest.template_id).in_([gone, moved, plain]))).all()
        assert len(made) == 4
        assert audit.verify_chain(s).ok


def test_a_run_costs_fewer_statements_per_request_than_one_by_one(db: Database, org: Org) -> None:
    """Each request of a run still writes its request, case, history and tasks through the ORM, but its
    three audit entries and four events go in with the run's (two inserts and one head update), and no
    SAVEPOINT is set per request."""
    from sqlalchemy import event

    tid, n = make_template(db, org), 20
    counted: list[str] = []

    here = threading.get_ident()

    def keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if threading.get_ident() == here:  # not chat's writer, writing the run's 工作通知 meanwhile
            counted.append(statement)

    single, run = _prepare(db, org, tid, 1), _prepare(db, org, tid, n)
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.write() as s:
            submission.write_create(s, single[0])
        one = len(counted)
        counted.clear()
        _run(db, [CreateOp(d) for d in run])
        per_request = len(counted) / n
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    # Measured: 48 alone, 26 a request in a run of 20 (40 with a SAVEPOINT and one-by-one audit and events).
    assert per_request < one - 12, (per_request, one)
    assert sum("SAVEPOINT" in q for q in counted) <= 2, [q for q in counted if "SAVEPOINT" in q]  # the run's own
