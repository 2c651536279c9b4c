"""联合行文's 用印: every issuing agency seals the one official record with its own seal, in issuing order.

The lead (主办, the document's own agency) seals first at the route's 用印 step, as for one issuer
(``output.seal_document``): that makes the official copy once (Word, PDF, OFD), measured with a place
for every issuer's seal (``typeset.joint``), and the places are kept in the seal record. The step
then stays at 用印. Each co-issuer in turn (``check_seal``) applies its own 公章 with its own seal
keeper's key and PIN to the stored, already sealed bytes, at its own measured place: an incremental
signature in the PDF, one more ``Sign_N`` in the OFD, one more signature part in the Word file (its
seal picture over its own name; earlier Word signatures strip later seal pictures when they are
checked, so every one stays valid). The newest bytes are stored once by their SHA-256 and replace the
record's, so the download, the archive package and other agencies' 收文 get the file with every seal.
When the last co-issuer has sealed, the lead's 用印 step can be finished (``actions``); before that
it is refused (``joint_seals_pending``).

A co-issuer's seal keepers get a 待办 for the document when it is their agency's turn
(:class:`JointSealTodo`), and may read this one document from the lead's seal on
(``docs_flow.visibility.co_issuer_keeper``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from docs_flow import official_copy, output, service, visibility
from docs_flow.models import DocStatus, OutgoingDocument, Urgency
from esign import seals
from esign import service as esign_service
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, PermissionDenied
from office.models import Role
from office.timefmt import iso
from office.todo import TodoItem
from typeset.pdf_measure import MM
from workflow import worklist
from workflow.models import CaseState

KEY = "joint"  # the seal record's part for a joint document: places, Word anchors, the seals applied


def issuers(document: OutgoingDocument) -> list[dict[str, Any]]:
    """Every issuer in issuing order, the lead first: {"agency_id", "name"}."""
    lead = {"agency_id": document.agency_id, "name": document.issuing_agency_name}
    return [lead, *document.joint_issuers]


def sealed_ids(document: OutgoingDocument) -> list[int]:
    return [int(s["agency_id"]) for s in document.seal_record.get(KEY, {}).get("seals", [])]


def pending(document: OutgoingDocument) -> list[dict[str, Any]]:
    """The co-issuers whose seal is not on the record yet, in issuing order (all of them before the lead's)."""
    if not document.seal_record:
        return list(document.joint_issuers)
    done = set(sealed_ids(document))
    return [j for j in document.joint_issuers if int(j["agency_id"]) not in done]


def at_seal_step(session: Session, document: OutgoingDocument) -> bool:
    case = service.case_of(session, document)
    step = case.route[case.current_step] if case.state == CaseState.running and case.current_step is not None else {}
    return step.get("tag") == "seal"


def _entry(agency_id: int, name: str, record: dict[str, Any]) -> dict[str, Any]:
    keys = ("by_id", "by", "at", "seal_id", "seal_name", "sealed_sha256", "official_pdf", "official_ofd")
    return {"agency_id": agency_id, "agency": name, **{k: record.get(k) for k in keys}}


def check_seal(session: Session, actor: Actor, doc_id: int, *, version: int, pin: str | None) -> OutgoingDocument:
    """A co-issuer's seal keeper applies the agency's 公章 to the sealed record (see the module docstring).

    Refused: not at 用印 or the lead not sealed yet (``not_joint_seal_step``), another agency's turn
    (``joint_seal_order``), sealed already (``already_joint_sealed``); NotFound for whom the document
    is hidden. Everything esign refuses (PIN, seal) rolls the whole step back."""
    document = service.access_document(session, actor, doc_id)
    service.check_version(document, version)
    if not document.joint_issuers or not document.seal_record or not at_seal_step(session, document):
        raise InvalidTransition("公文不在联合用印步骤（须主办机关先用印）", code="not_joint_seal_step")
    if actor.agency_id in sealed_ids(document):
        raise InvalidTransition("本机关已在此公文上用印", code="already_joint_sealed")
    waiting = pending(document)
    if not waiting or int(waiting[0]["agency_id"]) != actor.agency_id:
        if not any(int(j["agency_id"]) == actor.agency_id for j in waiting):
            raise PermissionDenied("您不是联合发文机关的印章管理员", code="not_co_issuer")
        raise InvalidTransition(f"请等待“{waiting[0]['name']}”先用印（按发文机关顺序）", code="joint_seal_order")
    if not pin:
        raise InvalidTransition("用印需要输入您的签名密码（PIN）", code="pin_required")
    issuer = waiting[0]
    index = [int(i["agency_id"]) for i in issuers(document)].index(int(issuer["agency_id"]))
    seal = output.pick_seal(session, actor, document, agency_id=int(issuer["agency_id"]))
    record = document.seal_record
    place = record[KEY]
    page, cx, cy = place["spots"][index]
    r = seal.width_mm * MM / 2
    rect = (cx - r, cy - r, cx + r, cy + r)
    paragraph, centre = place["anchors"][index]
    reference = document.number or document.title[:100]
    issued = esign_service.Issued(f"签发 {reference}")  # the 签发 authorises every issuer's 用印 of this text
    args: dict[str, Any] = {"seal_id": seal.id, "pin": pin, "reference": reference, "authorisation": issued}
    word = esign_service.seal_docx(
        session,
        actor,
        docx_bytes=output.sealed_file(session, document) or b"",
        anchor_paragraph=paragraph,
        anchor_centre_twips=centre,
        **args,
    )
    new = {"sealed_sha256": official_copy.store(session, word, ".docx")}
    pdf = output.official_pdf(session, document)
    if pdf is not None:
        sealed = esign_service.seal_pdf(session, actor, pdf_bytes=pdf, page=page, rect=rect, **args)
        new["official_pdf"] = official_copy.store(session, sealed, ".pdf")
    ofd = output.official_ofd(session, document)
    if ofd is not None:
        sealed = esign_service.seal_ofd(session, actor, ofd_bytes=ofd, page=page, rect=rect, **args)
        new["official_ofd"] = official_copy.store(session, sealed, ".ofd")
    mine = {
        **new,
        "by_id": actor.user_id,
        "by": actor.name,
        "at": iso(utcnow()),
        "seal_id": seal.id,
        "seal_name": seal.name + seal.seal_type,
    }
    seals = [*place["seals"], _entry(int(issuer["agency_id"]), str(issuer["name"]), mine)]
    # A new dict: the JSON column is written when the attribute is assigned, not when a nested value changes.
    document.seal_record = {**record, **new, KEY: {**place, "seals": seals}}
    service.bump(session, document)
    audit.record(
        session,
        actor,
        "docs.joint_seal",
        target_type="document",
        target_id=document.id,
        detail={"agency_id": issuer["agency_id"], "seal_id": seal.id, **new},
    )
    case = service.case_of(session, document)
    service.publish_update(session, document, case, "joint_seal")
    announce(session, document)
    return document


def announce(session: Session, document: OutgoingDocument) -> None:
    """Tell whoever acts next: the next co-issuer's seal keepers (a 待办 on their 工作台), or, all sealed,
    the lead's 用印 step (it can be finished now; its holders are the case's participants)."""
    waiting = pending(document)
    if waiting:
        user_ids = keeper_ids(session, int(waiting[0]["agency_id"]))
        title, body = f"联合用印：{document.title}", f"{document.number} 请加盖“{waiting[0]['name']}”的公章"
    else:
        user_ids = sorted(worklist.participants(session, service.case_of(session, document)))
        title, body = f"联合用印已完成：{document.title}", f"{document.number} 各联合发文机关均已用印，请完成用印步骤"
    if not user_ids:
        return
    payload = {
        "op": "joint_seal",
        "document_id": document.id,
        "version": document.version,
        "status": document.status.value,
    }
    events.publish_on_commit(session, "docs.document", payload, user_ids=user_ids)
    events.publish_on_commit(
        session,
        "notify.document",
        {"user_ids": user_ids, "title": title, "body": body, "link": f"/docs/{document.id}", "source": "docs_flow"},
        user_ids=user_ids,
    )


def keeper_ids(session: Session, agency_id: int) -> list[int]:
    """The seal keepers of an agency (those the cross-agency reading rule is for)."""
    return sorted(seals.keeper_ids(session, agency_id))


class JointSealTodo:
    """工作台: a 联合行文 waiting at 用印 for the seal of the keeper's own agency (its turn has come)."""

    kind = "docs_joint_seal"
    label = "联合用印"
    section = "docs"
    events = ("docs.document",)

    def _waiting(self, session: Session, actor: Actor) -> list[OutgoingDocument]:
        if not actor.has(Role.seal_keeper) or actor.agency_id is None:
            return []
        rows = session.exec(
            select(OutgoingDocument).where(
                visibility.co_issuer_cond(actor), col(OutgoingDocument.status) == DocStatus.signed
            )
        ).all()
        out = []
        for d in rows:
            waiting = pending(d)
            if waiting and int(waiting[0]["agency_id"]) == actor.agency_id and at_seal_step(session, d):
                out.append(d)
        return out

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int:
        return len(self._waiting(session, actor))

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]:
        if box != "todo":
            return []
        docs = sorted(self._waiting(session, actor), key=lambda d: d.updated_at, reverse=True)[:limit]
        return [
            TodoItem(
                kind=self.kind,
                key=str(d.id),
                title=d.title or "（无标题）",
                link=f"#/docs/{d.id}",
                since=d.updated_at,
                detail=" · ".join(x for x in (d.doc_type.value, "联合用印", d.issuing_agency_name, d.number) if x),
                urgent=d.urgency != Urgency.normal,
                action="用印",
            )
            for d in docs
        ]


def status_for(session: Session, actor: Actor, document: OutgoingDocument) -> dict[str, Any] | None:
    """What the document page shows of a 联合行文's seals: those applied (agency, by whom, when), those
    still to come in order, and whether it is the reader's agency's turn to seal now."""
    if not document.joint_issuers:
        return None
    waiting = pending(document)
    turn = (
        bool(document.seal_record)
        and bool(waiting)
        and int(waiting[0]["agency_id"]) == actor.agency_id
        and actor.has(Role.seal_keeper)
        and at_seal_step(session, document)
    )
    seals = document.seal_record.get(KEY, {}).get("seals", [])
    return {
        "issuers": issuers(document),
        "seals": [{k: s.get(k) for k in ("agency_id", "agency", "by", "at", "seal_name")} for s in seals],
        "pending": waiting if document.seal_record else [],
        "my_turn": turn,
    }
