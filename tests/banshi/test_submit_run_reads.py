"""What a run of creates (``banshi.submit_batch``) and the applicant's answer read: the day's last
审批编号 once per run, not once per create, and counted on without gaps even when the run fails and is
written again one by one; the applicant opening their own request answered from the row."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from banshi import service, submission, templates
from banshi.models import ApprovalRequest, TemplateStatus
from banshi.submit_batch import CreateBatch, CreateOp
from office.actor import Actor
from office.db import Database
from office.errors import NotFound
from tests.banshi.svc_helpers import make_template
from tests.factories import Org

APPLICANTS = ("hamlet", "ophelia", "horatio")


def _drafts(db: Database, org: Org, tid: int, n: int) -> list[submission.Draft]:
    out = []
    with db.read() as s:
        for i in range(n):
            d = submission.prepare_create(
                s, org.actor(APPLICANTS[i % 3]), template_id=tid, values={"reason": f"第{i}件"}, submit=True
            )
            assert isinstance(d, submission.Draft)
            out.append(d)
    return out


def _listen(s: Session, sent: list[str]) -> None:
    def keep(_c: object, _cur: object, statement: str, *_rest: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(s.connection(), "before_cursor_execute", keep)


def _serials(db: Database, ids: list[int]) -> list[str]:
    with db.read() as s:
        return [s.get(ApprovalRequest, i).serial or "" for i in ids]  # type: ignore[union-attr]


def test_a_run_reads_the_days_last_serial_once(db: Database, org: Org) -> None:
    tid = make_template(db, org)
    drafts = _drafts(db, org, tid, 6)
    sent: list[str] = []
    with db.write() as s:
        _listen(s, sent)
        outcomes = CreateBatch(s, [CreateOp(d) for d in drafts]).run()
    assert all(ok for ok, _ in outcomes), outcomes
    assert len([q for q in sent if q.startswith("SELECT bs_request.serial FROM")]) == 1
    serials = _serials(db, [a["id"] for _, a in outcomes])
    assert serials == [f"{serials[0][:8]}{n:04d}" for n in range(1, 7)]


def test_a_failed_run_written_again_leaves_no_gap(db: Database, org: Org) -> None:
    """The run counted serials for every create before one failed; written again alone, each reads
    the day's last serial anew, so the numbers go on from what was committed."""
    plain, gone = make_template(db, org), make_template(db, org)
    drafts = _drafts(db, org, plain, 2) + _drafts(db, org, gone, 1) + _drafts(db, org, plain, 2)
    with db.write() as s:
        templates.update_template(s, org.actor("prospero"), gone, status=TemplateStatus.disabled)
    with db.write() as s:
        outcomes = CreateBatch(s, [CreateOp(d) for d in drafts]).run()
    assert [ok for ok, _ in outcomes] == [True, True, False, True, True]
    serials = _serials(db, [a["id"] for ok, a in outcomes if ok])
    assert serials == [f"{serials[0][:8]}{n:04d}" for n in range(1, 5)]


def _opened(db: Database, actor: Actor, rid: int) -> list[str]:
    sent: list[str] = []
    with db.read() as s:
        _listen(s, sent)
        service.access_request(s, actor, rid)
    return sent


def test_the_applicant_opens_their_request_without_the_reading_rules_query(db: Database, org: Org) -> None:
    """The reading rule's first ground (the applicant, in the request's agency) is answered from the
    row; anyone else still goes through the rule's query."""
    tid = make_template(db, org)
    with db.write() as s:
        rid = submission.create_request(s, org.actor("hamlet"), template_id=tid, values={"reason": "x"}, submit=True).id
    assert rid is not None
    mine = _opened(db, org.actor("hamlet"), rid)
    assert len(mine) == 1 and mine[0].startswith("SELECT bs_request.id, bs_request.agency_id"), mine
    theirs = _opened(db, org.actor("polonius"), rid)  # the approver of make_template's route
    assert len(theirs) > 1
    # The applicant now in another agency: not the first ground any more, and the rule's query refuses.
    moved = replace(org.actor("hamlet"), agency_id=org.agencies["B"])
    with db.read() as s, pytest.raises(NotFound):
        service.access_request(s, moved, rid)
