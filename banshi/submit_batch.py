"""Prepared creates written together: the group-commit writer's batch for 办事 (``office.groupcommit``).

The HTTP handler checks and resolves a create on its read snapshot (``submission.prepare_create``) and
queues a ``CreateOp``. The writer hands a run of them to ``CreateBatch``, which writes each with the one
write path there is (``submission.write_create``: the same checks again under the write lock, the same
rows) but without a SAVEPOINT per request, and with every request's events and audit entries kept and
written at the end of the run in two multi-row inserts and one chained append (``events.collected``,
``audit.collected``). If anything in the run raises, the run's savepoint is rolled back and each create
is replayed alone in its own SAVEPOINT, so a refused one gets its error and the others are written as
the single path would have written them. The run reads the day's last 审批编号 once per agency and counts
on from it (``submission.SERIALS``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from banshi import listing, submission
from banshi.models import ApprovalRequest, FormTemplate, FormVersion
from office import audit, events
from office.actor import Actor
from office.models import Department
from workflow.models import WfCase

log = logging.getLogger("banshi.submit_batch")


@dataclass(eq=False)
class CreateOp:
    """One queued create; calling it with a session writes it alone (the replay path). Its value is the
    request as the lists show it (``listing.item_public``), the create's HTTP answer, built from what
    the writer holds: the caller reads nothing back."""

    draft: submission.Draft

    @property
    def batch_type(self) -> type[CreateBatch]:
        return CreateBatch

    def __call__(self, session: Session) -> dict[str, Any]:
        return answer(session, self.draft.actor, *submission.write_create_and_case(session, self.draft))


def answer(session: Session, actor: Actor, req: ApprovalRequest, case: WfCase | None) -> dict[str, Any]:
    """``req``, just written by ``actor``, as the lists show it. Its template, version and department are
    the run's (held by ``CreateBatch``), its case the one just written: no statement in a run."""
    t = session.get(FormTemplate, req.template_id)
    v = session.get(FormVersion, req.version_id)
    dept = session.get(Department, req.applicant_dept_id) if req.applicant_dept_id else None
    return listing.item_public(
        req,
        template_name=t.name if t else "",
        batch=listing.batch_allowed(v.options if v else None),
        applicant_name=actor.name,
        department_name=dept.name if dept else "",
        current_step=listing.running_step(case),
    )


class CreateBatch:
    def __init__(self, session: Session, ops: list[CreateOp]) -> None:
        self.session = session
        self.ops = ops

    def run(self) -> list[tuple[bool, Any]]:
        session = self.session
        pending: list[Any] = session.info.setdefault("pending_events", [])
        mark = len(pending)
        # The run's forms, loaded once and held: the session's identity map keeps only what is referenced,
        # so each create's ``templates.template_for_use`` would read them again.
        held = _forms(session, {op.draft.template_id for op in self.ops}) + _departments(session, self.ops)
        session.info[submission.SERIALS] = {}  # the day's serials counted on from one read per agency
        try:
            with session.begin_nested(), events.collected(session), audit.collected(session):
                answers = [op(session) for op in self.ops]
            return [(True, a) for a in answers]
        except Exception as exc:
            log.info("a batch of %d 办事 creates failed (%r); writing each alone", len(self.ops), exc)
        finally:
            del session.info[submission.SERIALS]  # a replayed create reads its serial again
        del held
        del pending[mark:]
        session.expire_all()
        outcomes: list[tuple[bool, Any]] = []
        for op in self.ops:
            m = len(pending)
            try:
                with session.begin_nested():
                    outcomes.append((True, op(session)))
            except Exception as exc:  # this create alone rolls back, with its events
                del pending[m:]
                outcomes.append((False, exc))
        return outcomes


def _forms(session: Session, template_ids: set[int]) -> list[Any]:
    """The templates and their published versions (two queries for the run)."""
    found: list[Any] = list(session.exec(select(FormTemplate).where(col(FormTemplate.id).in_(template_ids))).all())
    published = {t.published_version_id for t in found if t.published_version_id is not None}
    if published:
        found += session.exec(select(FormVersion).where(col(FormVersion.id).in_(published))).all()
    return found


def _departments(session: Session, ops: list[CreateOp]) -> list[Any]:
    """The applicants' departments (for the answers' department names), one query for the run."""
    ids = {op.draft.actor.department_id for op in ops if op.draft.actor.department_id}
    return list(session.exec(select(Department).where(col(Department.id).in_(ids))).all()) if ids else []
