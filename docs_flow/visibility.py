"""Who may read which 公文, as SQL conditions: the one copy that the lists, search, the archive and
``incoming.access_incoming`` use (``service.access_document`` decides the same for one document in
Python, through the ``document.read`` rule in ``docs_flow.rules``).

Each condition is on the document's own row and usable correlated, so search checks it row by row
instead of listing every visible id. Being on a document's route is ``worklist.on_route_cond``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, false, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from docs_flow.incoming_models import Circulation, CirculationReader, IncomingDocument
from docs_flow.models import DocStatus, OutgoingDocument
from office.actor import Actor
from office.models import Role
from workflow import worklist


def outgoing_cond(actor: Actor) -> Any:
    """``actor`` may read the outgoing document: they drafted it or are on its route; the agency's
    leaders and clerks read every document of their agency past the draft (the ``document.read`` rule);
    a co-issuing agency's seal keepers read a 联合行文 from the lead's seal on (:func:`co_issuer_cond`)."""
    cond = or_(
        col(OutgoingDocument.drafter_id) == actor.user_id,
        worklist.on_route_cond(OutgoingDocument.case_id, actor.user_id),
        co_issuer_cond(actor),
    )
    if actor.has(Role.leader) or actor.has(Role.clerk):
        cond = or_(
            and_(col(OutgoingDocument.agency_id) == actor.agency_id, col(OutgoingDocument.status) != DocStatus.draft),
            cond,
        )
    return cond


# 联合行文: the one reading rule that crosses agencies. A document issued jointly is sealed by every
# issuer, each with its own 公章 by its own seal keeper (docs_flow.joint_seal), so a co-issuing agency's
# seal keepers must see the document they seal: its text, its route and the sealed files. They see that
# one document only, only once the lead has sealed it (the text is signed and numbered then, and a
# return before 用印 clears the seal record and with it this access), and nobody else of the co-issuing
# agency does: not its leaders or clerks (agency-wide readers of their own agency's documents only),
# not its staff. Receiving agencies read the copy delivered to their 收文, never the 发文.


def _co_issuer_keeper(actor: Actor) -> int | None:
    """The agency whose co-issued documents ``actor`` may read as its seal keeper (None: not a keeper)."""
    return actor.agency_id if actor.has(Role.seal_keeper) and actor.agency_id is not None else None


def co_issuer_cond(actor: Actor) -> Any:
    """SQL: a 联合行文 naming the actor's agency among its issuers and sealed by the lead, for its seal
    keepers. ``joint_issuers`` is JSON ({"agency_id": N, "name": ...} each, written by json.dumps on
    SQLite and PostgreSQL alike), matched as text; :func:`co_issuer_keeper` decides the same in Python."""
    agency_id = _co_issuer_keeper(actor)
    if agency_id is None:
        return false()
    listed = cast(col(OutgoingDocument.joint_issuers), Text).like(f'%"agency_id": {int(agency_id)},%')
    return and_(listed, cast(col(OutgoingDocument.seal_record), Text) != "{}")


def co_issuer_keeper(actor: Actor, doc: OutgoingDocument) -> bool:
    """Python's copy of :func:`co_issuer_cond` for one document (``service.access_document``)."""
    agency_id = _co_issuer_keeper(actor)
    listed = any(int(j.get("agency_id", 0)) == agency_id for j in doc.joint_issuers)
    return agency_id is not None and listed and bool(doc.seal_record)


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
