"""Who may read which 公文, as SQL conditions: the one copy that the lists, search, the archive and
``incoming.access_incoming`` use (``service.access_document`` decides the same for one document in
Python, through the ``document.read`` rule in ``docs_flow.rules``).

Each condition is on the document's own row and usable correlated, so search checks it row by row
instead of listing every visible id. Being on a document's route is ``worklist.on_route_cond``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from docs_flow.incoming_models import Circulation, CirculationReader, IncomingDocument
from docs_flow.models import DocStatus, OutgoingDocument
from office.actor import Actor
from office.models import Role
from workflow import worklist


def outgoing_cond(actor: Actor) -> Any:
    """``actor`` may read the outgoing document: they drafted it or are on its route; the agency's
    leaders and clerks read every document of their agency past the draft (the ``document.read`` rule)."""
    cond = or_(
        col(OutgoingDocument.drafter_id) == actor.user_id,
        worklist.on_route_cond(OutgoingDocument.case_id, actor.user_id),
    )
    if actor.has(Role.leader) or actor.has(Role.clerk):
        cond = or_(
            and_(col(OutgoingDocument.agency_id) == actor.agency_id, col(OutgoingDocument.status) != DocStatus.draft),
            cond,
        )
    return cond


def incoming_cond(actor: Actor) -> Any:
    """``actor`` may read the 收文: the agency's clerks and leaders see all of it; others what they are or
    were on the route of, circulate (once it reached them), registered or whose lead department they are in."""
    reading = (
        sa_select(col(Circulation.incoming_id))
        .join(CirculationReader, col(CirculationReader.circulation_id) == col(Circulation.id))
        .where(col(CirculationReader.user_id) == actor.user_id, col(CirculationReader.state) != "waiting")
    )
    cond = or_(
        worklist.on_route_cond(IncomingDocument.case_id, actor.user_id),
        col(IncomingDocument.id).in_(reading),
        col(IncomingDocument.created_by) == actor.user_id,
        col(IncomingDocument.lead_department_id).in_(sorted(actor.department_ids) or [-1]),
    )
    if actor.has(Role.leader) or actor.has(Role.clerk):
        cond = or_(col(IncomingDocument.agency_id) == actor.agency_id, cond)
    return cond


def visible_ids(actor: Actor, kind: str) -> Any:
    """SELECT of the ids of the documents of ``kind`` ("outgoing" or "incoming") that ``actor`` may read."""
    if kind == "outgoing":
        return sa_select(col(OutgoingDocument.id)).where(outgoing_cond(actor))
    return sa_select(col(IncomingDocument.id)).where(incoming_cond(actor))
