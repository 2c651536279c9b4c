"""抄送 and what people hear of a request: the copies (a row so the person may read it, and a 工作通知),
the applicant's 工作通知 of a decision, the ``banshi.request`` event to everyone concerned, and a copy
marked read when opened."""

from __future__ import annotations

from sqlmodel import Session, col, select

from banshi.models import ApprovalRequest, RequestCc
from banshi.service import case_of, link_of
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from workflow import worklist


def cc(session: Session, req: ApprovalRequest, user_ids: list[int], stage: str) -> None:
    """抄送: each person not yet copied gets a row (so they may read it) and a 工作通知."""
    wanted = sorted({u for u in user_ids if isinstance(u, int)} - {req.applicant_id})
    if not wanted:
        return
    have = set(
        session.exec(
            select(RequestCc.user_id).where(RequestCc.request_id == req.id, col(RequestCc.user_id).in_(wanted))
        ).all()
    )
    new = [u for u in wanted if u not in have]
    for u in new:
        session.add(RequestCc(request_id=req.id or 0, user_id=u, stage=stage))
    if new:
        session.flush()
        audit.record(
            session,
            None,
            "banshi.cc",
            target_type="bs_request",
            target_id=req.id,
            detail={"user_ids": new, "stage": stage},
        )
        notify(session, new, f"抄送：{req.title}", "申请已抄送给您，请知悉", req)


def notify(session: Session, user_ids: list[int], title: str, body: str, req: ApprovalRequest) -> None:
    events.publish_on_commit(
        session,
        "notify.banshi",
        {"user_ids": sorted(set(user_ids)), "title": title, "body": body, "link": link_of(req.id), "source": "banshi"},
        user_ids=user_ids,
    )


def concerned(session: Session, req: ApprovalRequest, participants: set[int] | None = None) -> set[int]:
    """Who hears of a request's changes: the applicant, everyone on its route, the people copied.
    ``participants``: the route's people as the engine just computed them for its own event
    (``Transition.participants``), so they are not read a second time."""
    ids = {req.applicant_id}
    if participants is not None:
        ids |= participants
    else:
        case = case_of(session, req)
        if case is not None:
            ids |= worklist.participants(session, case)
    ids |= set(session.exec(select(RequestCc.user_id).where(RequestCc.request_id == req.id)).all())
    return ids


def changed(session: Session, req: ApprovalRequest, op: str, participants: set[int] | None = None) -> None:
    """The ``banshi.request`` event, to everyone ``concerned``."""
    events.publish_on_commit(
        session,
        "banshi.request",
        {"op": op, "request_id": req.id or 0, "status": req.status.value},
        user_ids=concerned(session, req, participants),
    )


def mark_cc_read(session: Session, actor: Actor, req: ApprovalRequest) -> None:
    """A person copied has opened the request: it leaves their unread 抄送 count."""
    row = session.exec(
        select(RequestCc).where(
            RequestCc.request_id == req.id, RequestCc.user_id == actor.user_id, col(RequestCc.read_at).is_(None)
        )
    ).first()
    if row is not None:
        row.read_at = utcnow()
        session.add(row)
