"""传阅: a 收文 circulated to named readers, in order (sequential) or all at once (parallel).

Sequential: the first reader holds it; when they mark it read (with an optional comment) the next
one gets it. Parallel: everyone holds it at once. The clerk sees, per reader, who has read it, when,
what they wrote, and who is holding it now (条例 第二十四条(五): always know where a document is).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from docs_flow import incoming
from docs_flow.incoming_models import Circulation, CirculationReader, IncomingStatus
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, Post, Role, User
from office.timefmt import iso

MODES = ("sequential", "parallel")
MAX_READERS = 50


def check_start(
    session: Session, actor: Actor, incoming_id: int, *, user_ids: list[int], mode: str, note: str = ""
) -> Circulation:
    """Start circulating: the clerk (or a leader) names the readers and the order."""
    doc = incoming.access_incoming(session, actor, incoming_id)
    incoming.check_not_archived(doc)
    if doc.status == IncomingStatus.returned:
        raise InvalidTransition("已退回的来文不能传阅", code="returned")
    if actor.user_id not in incoming.handlers(session, doc.agency_id) and not actor.has(Role.leader):
        raise PermissionDenied("只有收发员或机关领导可以发起传阅", code="not_registrar")
    if mode not in MODES:
        raise ValidationError("传阅方式只能是 sequential（依次）或 parallel（同时）", code="bad_mode")
    readers = list(dict.fromkeys(user_ids))
    if not readers or len(readers) > MAX_READERS:
        raise ValidationError(f"请选择 1–{MAX_READERS} 名传阅人", code="readers_required")
    _check_people(session, doc.agency_id, readers)
    circ = Circulation(incoming_id=incoming_id, mode=mode, note=note.strip()[:500], created_by=actor.user_id)
    session.add(circ)
    session.flush()
    now = utcnow()
    for pos, uid in enumerate(readers):
        holding = mode == "parallel" or pos == 0
        session.add(
            CirculationReader(
                circulation_id=circ.id or 0,
                user_id=uid,
                position=pos,
                state="holding" if holding else "waiting",
                received_at=now if holding else None,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "incoming.circulate",
        target_type="incoming",
        target_id=incoming_id,
        detail={"circulation_id": circ.id, "mode": mode, "readers": readers},
    )
    first = readers if mode == "parallel" else readers[:1]
    incoming.notify(session, first, f"传阅：{doc.title}", f"{actor.name} 请您阅示", f"/incoming/{incoming_id}")
    return circ


def _check_people(session: Session, agency_id: int, user_ids: list[int]) -> None:
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids))).all()}
    inside = set(
        session.exec(
            select(Post.user_id)
            .join(Department, Department.id == Post.department_id)  # type: ignore[arg-type]
            .where(Department.agency_id == agency_id, col(Post.user_id).in_(user_ids))
        ).all()
    )
    for uid in user_ids:
        if uid not in users or not users[uid].is_active or uid not in inside:
            raise ValidationError(f"传阅人（编号 {uid}）不存在、已停用或不属于本机关", code="bad_user", user_id=uid)


def check_read(session: Session, actor: Actor, circulation_id: int, *, comment: str = "") -> Circulation:
    """阅毕: the reader holding it marks it read; in a sequential list it moves on to the next reader."""
    circ = session.get(Circulation, circulation_id)
    if circ is None:
        raise NotFound()
    doc = incoming.access_incoming(session, actor, circ.incoming_id)
    incoming.check_not_archived(doc)
    me = session.exec(
        select(CirculationReader).where(
            CirculationReader.circulation_id == circulation_id, CirculationReader.user_id == actor.user_id
        )
    ).first()
    if me is None:
        raise PermissionDenied("您不在传阅名单中", code="not_reader")
    if me.state == "read":
        raise InvalidTransition("您已阅", code="already_read")
    if me.state != "holding":
        raise InvalidTransition("还没有传到您，请等待前面的传阅人阅毕", code="not_your_turn")
    now = utcnow()
    me.state, me.read_at, me.comment = "read", now, comment.strip()[:2000]
    session.add(me)
    readers = _readers(session, circulation_id)
    nxt = next((r for r in readers if r.state == "waiting"), None)
    if circ.mode == "sequential" and nxt is not None:
        nxt.state, nxt.received_at = "holding", now
        session.add(nxt)
        incoming.notify(
            session, [nxt.user_id], f"传阅：{doc.title}", f"{actor.name} 已阅，请您阅示", f"/incoming/{doc.id}"
        )
    elif all(r.state == "read" for r in readers):
        circ.state, circ.finished_at = "done", now
        session.add(circ)
        incoming.notify(session, [circ.created_by], f"传阅完毕：{doc.title}", "全部传阅人已阅", f"/incoming/{doc.id}")
    audit.record(
        session,
        actor,
        "incoming.read",
        target_type="incoming",
        target_id=doc.id,
        detail={"circulation_id": circulation_id},
    )
    return circ


def _readers(session: Session, circulation_id: int) -> list[CirculationReader]:
    return list(
        session.exec(
            select(CirculationReader)
            .where(CirculationReader.circulation_id == circulation_id)
            .order_by(col(CirculationReader.position))
        ).all()
    )


def circulations_of(session: Session, incoming_id: int) -> list[dict[str, Any]]:
    """Tracking: each circulation with its readers' state, read time and comment, and who holds it now."""
    circs = session.exec(
        select(Circulation).where(Circulation.incoming_id == incoming_id).order_by(col(Circulation.id))
    ).all()
    out = []
    for c in circs:
        readers = _readers(session, c.id or 0)
        names = {
            u.id: u.name for u in session.exec(select(User).where(col(User.id).in_([r.user_id for r in readers]))).all()
        }
        out.append(
            {
                "id": c.id,
                "mode": c.mode,
                "note": c.note,
                "state": c.state,
                "created_at": iso(c.created_at),
                "holding": [names.get(r.user_id, "") for r in readers if r.state == "holding"],
                "read_count": sum(r.state == "read" for r in readers),
                "reader_count": len(readers),
                "readers": [
                    {
                        "user_id": r.user_id,
                        "name": names.get(r.user_id, ""),
                        "position": r.position,
                        "state": r.state,
                        "comment": r.comment,
                        "received_at": iso(r.received_at),
                        "read_at": iso(r.read_at),
                    }
                    for r in readers
                ],
            }
        )
    return out
