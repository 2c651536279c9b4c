"""用印授权: a seal the keeper marked ``requires_authorisation`` is applied only under an approved
用印申请, for the one file it names and as many times as it allows.

The approval (办事's 用印申请, ``banshi.seal_request``) calls :func:`grant` when it is approved. Every
用印 (Word, PDF, OFD: ``esign.sealing``) cites what authorises it, and :func:`check` decides there,
before the PIN costs an attempt; :func:`count_use` spends one use in the same transaction as the
用印登记 row that links to the grant. What a call may cite:

- an authorisation id (the keeper picks it from :func:`for_seal`): it must be for this seal and
  for exactly this file (SHA-256 of the bytes received), not revoked, with a use left;
- :class:`Issued`: a 公文 whose 用印 docs_flow performs. Its authority is its 签发 — the leader's
  signature over the very text being sealed, checked by docs_flow before 用印 is possible — so a
  second approval of the same act would only duplicate it. Only server code can pass it: the
  keeper's HTTP endpoint takes an id and nothing else;
- nothing: allowed only on a seal without the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from esign import authority, seals, tlog
from esign.models import Seal, SealAuthorisation, SealUse
from office import audit, events
from office.actor import SYSTEM, Actor
from office.db import utcnow
from office.errors import Conflict, NotFound, ValidationError
from office.models import User
from office.timefmt import iso

MAX_TIMES = 100
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Issued:
    """The 用印 of a 公文 that was 签发 (see the module docstring); ``reference`` says which one, for
    whoever reads the call (the 用印登记 row carries the document number itself)."""

    reference: str


Citation = int | Issued | None


def grant(
    session: Session,
    actor: Actor | None,
    *,
    seal_id: int,
    reference: str,
    title: str,
    link: str,
    document_sha256: str,
    times: int,
    applicant_id: int | None,
) -> SealAuthorisation:
    """Record an approved 用印申请 (``actor`` None: granted by the system when the approval ended).

    Logged in the transparency log and audited; the seal's keepers get an ``esign.seal`` event."""
    seal = session.get(Seal, seal_id)
    if seal is None:
        raise NotFound("印章不存在", code="seal_not_found")
    if not _SHA256.fullmatch(document_sha256 or ""):
        raise ValidationError("用印文件的摘要格式不正确", code="bad_document_sha256")
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        raise ValidationError(f"用印次数须为 1–{MAX_TIMES} 次", code="bad_times", field="times")
    if not reference.strip() or len(reference) > 200 or len(title) > 200 or len(link) > 200:
        raise ValidationError("用印授权的来源标识不正确", code="bad_reference")
    row = SealAuthorisation(
        seal_id=seal_id,
        agency_id=seal.agency_id,
        reference=reference.strip(),
        title=title.strip(),
        link=link,
        document_sha256=document_sha256,
        times_allowed=times,
        applicant_id=applicant_id,
    )
    session.add(row)
    session.flush()
    keys = authority.keys_for(session)
    detail = {"authorisation_id": row.id, "reference": row.reference, "document_sha256": document_sha256}
    tlog.append(
        session,
        keys,
        "seal.authorised",
        tlog.event_bytes("seal.authorised", {"seal_id": seal_id, "es_id": seal.es_id, "times": times, **detail}),
    )
    audit.record(
        session, actor or SYSTEM, "esign.seal_authorised", target_type="esign_seal", target_id=seal_id, detail=detail
    )
    _notify(session, seal, "authorised")
    return row


def revoke_reference(session: Session, actor: Actor | None, reference: str) -> int:
    """Revoke what is left of the grants made under ``reference`` (the approval was undone); uses
    already made stay in the 用印登记. Returns how many grants were revoked."""
    rows = session.exec(
        select(SealAuthorisation).where(
            SealAuthorisation.reference == reference, col(SealAuthorisation.revoked_at).is_(None)
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        session.add(row)
        audit.record(
            session,
            actor or SYSTEM,
            "esign.seal_authorisation_revoked",
            target_type="esign_seal",
            target_id=row.seal_id,
            detail={"authorisation_id": row.id, "reference": reference},
        )
    return len(rows)


def set_required(session: Session, actor: Actor, seal_id: int, *, required: bool) -> Seal:
    """The keeper turns the rule on or off for a seal of their agency (audited)."""
    seal = seals.access_seal(session, actor, seal_id, manage=True)
    if seal.requires_authorisation != required:
        seal.requires_authorisation = required
        session.add(seal)
        audit.record(
            session,
            actor,
            "esign.seal_policy",
            target_type="esign_seal",
            target_id=seal.id,
            detail={"requires_authorisation": required},
        )
        _notify(session, seal, "policy")
    return seal


def _notify(session: Session, seal: Seal, op: str) -> None:
    events.publish_on_commit(
        session, "esign.seal", {"op": op, "seal_id": seal.id}, user_ids=seals.keeper_ids(session, seal.agency_id)
    )


def check(session: Session, seal: Seal, *, document_sha256: str, cite: Citation) -> SealAuthorisation | None:
    """What authorises this 用印 of ``seal`` on the file with ``document_sha256``; raises otherwise."""
    if isinstance(cite, Issued):
        return None
    if cite is None:
        if seal.requires_authorisation:
            raise Conflict("该印章须凭已批准的用印申请使用：请选择对应的用印授权", code="authorisation_required")
        return None
    row = session.get(SealAuthorisation, cite)
    if row is None or row.agency_id != seal.agency_id:
        raise NotFound("用印授权不存在", code="authorisation_not_found")
    if row.seal_id != seal.id:
        raise ValidationError("该用印授权批准的是另一枚印章", code="authorisation_other_seal", field="authorisation_id")
    if row.revoked_at is not None:
        raise Conflict("该用印授权已撤销", code="authorisation_revoked")
    if row.times_used >= row.times_allowed:
        raise Conflict(f"该用印授权批准的 {row.times_allowed} 次已全部用完", code="authorisation_used_up")
    if row.document_sha256 != document_sha256:
        raise ValidationError(
            "所盖文件与用印申请所附文件不一致：请使用审批通过的那份文件",
            code="authorisation_file_mismatch",
            field="file",
        )
    return row


def count_use(session: Session, row: SealAuthorisation) -> None:
    """Spend one use. A conditional UPDATE, so two writers can never both spend the last use."""
    result = session.execute(
        update(SealAuthorisation)
        .where(
            col(SealAuthorisation.id) == row.id,
            col(SealAuthorisation.times_used) < col(SealAuthorisation.times_allowed),
        )
        .values(times_used=col(SealAuthorisation.times_used) + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        raise Conflict(f"该用印授权批准的 {row.times_allowed} 次已全部用完", code="authorisation_used_up")
    session.refresh(row)


def describe(row: SealAuthorisation, names: dict[int, str] | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "seal_id": row.seal_id,
        "reference": row.reference,
        "title": row.title,
        "link": row.link,
        "document_sha256": row.document_sha256,
        "times_allowed": row.times_allowed,
        "times_used": row.times_used,
        "applicant_id": row.applicant_id,
        "applicant_name": (names or {}).get(row.applicant_id or 0, ""),
        "granted_at": iso(row.granted_at),
        "revoked_at": iso(row.revoked_at),
        "open": row.revoked_at is None and row.times_used < row.times_allowed,
    }


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all()
    return {int(uid): name for uid, name in rows if uid is not None}


def for_seal(session: Session, actor: Actor, seal_id: int, *, open_only: bool = False) -> list[dict[str, Any]]:
    """The authorisations of a seal, newest first (its keepers only), for the 用印 form's picker."""
    seal = seals.access_seal(session, actor, seal_id, manage=True)
    stmt = select(SealAuthorisation).where(SealAuthorisation.seal_id == seal.id)
    if open_only:
        stmt = stmt.where(
            col(SealAuthorisation.revoked_at).is_(None),
            col(SealAuthorisation.times_used) < col(SealAuthorisation.times_allowed),
        )
    rows = session.exec(stmt.order_by(col(SealAuthorisation.id).desc()).limit(200)).all()
    names = _names(session, {r.applicant_id for r in rows if r.applicant_id})
    return [describe(r, names) for r in rows]


def by_ids(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Authorisations by id (for the 用印登记 listing; the caller already may read the seal)."""
    if not ids:
        return {}
    rows = session.exec(select(SealAuthorisation).where(col(SealAuthorisation.id).in_(ids))).all()
    return {r.id: describe(r) for r in rows if r.id is not None}


def for_reference(session: Session, reference: str) -> list[dict[str, Any]]:
    """The authorisations granted under ``reference`` and the uses made of each (for the approval's
    page: its caller decides who may read it)."""
    rows = session.exec(
        select(SealAuthorisation).where(SealAuthorisation.reference == reference).order_by(col(SealAuthorisation.id))
    ).all()
    out = []
    for row in rows:
        seal = session.get(Seal, row.seal_id)
        uses = session.exec(
            select(SealUse, User)
            .join(User, col(User.id) == col(SealUse.user_id))
            .where(SealUse.authorisation_id == row.id)
            .order_by(col(SealUse.id))
        ).all()
        out.append(
            describe(row)
            | {
                "seal_name": (seal.name + seal.seal_type) if seal else "",
                "uses": [
                    {
                        "id": u.id,
                        "at": iso(u.at),
                        "user_name": user.name,
                        "sealed_sha256": u.sealed_sha256,
                        "leaf_index": u.leaf_index,
                    }
                    for u, user in uses
                ],
            }
        )
    return out
