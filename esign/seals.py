"""Seal management by the 印章管理员: create, authorise users, suspend, resume, revoke, 用印登记.

Who holds the seal's key (the design decision the issue asks for). GB/T 38540 separates two
signatures: the seal maker signs the *seal* (``SESeal``, listing the certificates allowed to use
it), and the person applying the seal signs the *document* (``SES_Signature``, checked against
that list, §7.3 step 5). We follow that literally:

- every seal has its own key pair and a seal certificate (purpose "seal") from the agency CA;
  that key is the seal's 制章者 key and only ever signs the seal structure. It is sealed under a
  **seal PIN chosen by the seal keeper** and is needed only when the keeper changes who may use
  the seal (the ``SESeal`` is re-made, with ``seal_version`` + 1);
- at 用印, the authorised person signs with **their own** personal key and PIN. No seal secret
  is shared with users, each use names the person who sealed, and taking someone off the seal
  needs no key rotation;
- revoking the seal revokes its certificate (agency CRL), so verifiers see the seal as revoked
  from that moment while documents sealed earlier stay valid; suspension is enforced by the
  service (no new uses) and logged, not published in the CRL.

Authorised users of a seal: the seal keepers of its agency, plus the people the keeper listed
(``esign_seal_user``). A person whose certificate is not in the current ``SESeal`` (enrolled or
re-enrolled after the last change) is refused until the keeper re-confirms the list with the
seal PIN. Five wrong seal PINs lock the seal key: the seal stays usable as it is, but its list
can no longer change; revoke it and make a new one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from esign import authority, ca, crypto, seal_image, tlog
from esign import seal as seal_mod
from esign.credentials import MAX_PIN_ATTEMPTS, check_pin_format, current_credential, unseal
from esign.models import (
    AuthorityKind,
    CredentialStatus,
    Seal,
    SealAuthorisation,
    SealKind,
    SealStatus,
    SealUse,
    SealUser,
)
from office import audit, events
from office.accounts import load_actor
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from office.models import Department, Role, User, UserRole
from office.timefmt import iso

NAME_SEAL_MM = 20
SEAL_TYPES = ("公章", "合同专用章", "财务专用章", "业务专用章", "")


def is_keeper(actor: Actor, agency_id: int) -> bool:
    return Role.seal_keeper in actor.roles and actor.agency_id == agency_id


def _require_keeper(actor: Actor) -> int:
    if Role.seal_keeper not in actor.roles or actor.agency_id is None:
        raise PermissionDenied("只有印章管理员可以管理印章", code="not_seal_keeper")
    return actor.agency_id


def access_seal(session: Session, actor: Actor, seal_id: int, *, manage: bool = False) -> Seal:
    """The seal if the actor keeps it (``manage``) or may use it; NotFound otherwise (hides existence)."""
    seal = session.get(Seal, seal_id)
    if seal is None:
        raise NotFound("印章不存在或无权使用", code="seal_not_found")
    if is_keeper(actor, seal.agency_id):
        return seal
    if not manage and session.get(SealUser, (seal_id, actor.user_id)) is not None:
        return seal
    raise NotFound("印章不存在或无权使用", code="seal_not_found")


def keeper_ids(session: Session, agency_id: int) -> list[int]:
    ids = session.exec(select(UserRole.user_id).where(UserRole.role == Role.seal_keeper)).all()
    return [uid for uid in ids if load_actor(session, uid).agency_id == agency_id]


def _user_ids(session: Session, seal: Seal) -> list[int]:
    listed = session.exec(select(SealUser.user_id).where(SealUser.seal_id == seal.id)).all()
    return sorted(set(keeper_ids(session, seal.agency_id)) | set(listed))


def _signer_certs(session: Session, seal: Seal) -> list[bytes]:
    certs = []
    for uid in _user_ids(session, seal):
        cred = current_credential(session, uid)
        if cred is not None and cred.status == CredentialStatus.active:
            certs.append(cred.certificate)
    if not certs:
        raise Conflict("印章至少需要一名已开通电子签名的使用人（印章管理员请先开通个人电子签名）", code="no_signers")
    return certs


def _make_der(session: Session, seal: Seal, private: bytes) -> bytes:
    signer = crypto.load_signer(seal.alg, private)
    return seal_mod.make_seal(
        es_id=seal.es_id,
        name=seal.name + seal.seal_type,
        signer_certs=_signer_certs(session, seal),
        picture=seal.image_png,
        width_mm=seal.width_mm,
        height_mm=seal.height_mm,
        valid_start=seal.valid_start,
        valid_end=seal.valid_end,
        maker_cert=seal.certificate,
        alg=seal.alg,
        maker_sign=signer.sign,
        seal_type=seal_mod.SEAL_TYPE_PERSONAL if seal.kind == SealKind.name else seal_mod.SEAL_TYPE_ORGANIZATION,
        created=utcnow(),
    )


def _log(session: Session, keys: authority.Keys, seal: Seal, op: str, **extra: Any) -> int:
    return tlog.append(
        session,
        keys,
        f"seal.{op}",
        tlog.event_bytes(
            f"seal.{op}",
            {
                "seal_id": seal.id,
                "es_id": seal.es_id,
                "name": seal.name + seal.seal_type,
                "serial": seal.serial,
                "seal_version": seal.seal_version,
                "seal_sha256": crypto.sha256(seal.seal_der).hex(),
                **extra,
            },
        ),
    )


def _notify(session: Session, seal: Seal, op: str, extra_users: list[int] = ()) -> None:  # type: ignore[assignment]
    events.publish_on_commit(
        session,
        "esign.seal",
        {"op": op, "seal_id": seal.id},
        user_ids=[*keeper_ids(session, seal.agency_id), *extra_users],
    )


def picture_label(seal_type: str) -> str:
    """The words under the star: a 专用章 names its use (合同专用章); an agency's 公章 carries its
    name and the star alone, so "公章" is not printed on it."""
    return "" if seal_type.strip() == "公章" else seal_type


def preview_image(session: Session, actor: Actor, *, kind: SealKind, text: str = "", seal_type: str = "公章") -> bytes:
    """The generated picture a seal would get (for the keeper's preview)."""
    agency_id = _require_keeper(actor)
    agency = session.get(Department, agency_id)
    if kind == SealKind.name:
        return seal_image.square_name_seal_png(text or actor.name)
    return seal_image.round_seal_png(text or (agency.name if agency else ""), picture_label(seal_type))


def create_seal(
    session: Session,
    actor: Actor,
    *,
    kind: SealKind,
    seal_pin: str,
    seal_type: str = "公章",
    department_id: int | None = None,
    holder_user_id: int | None = None,
    image_png: bytes | None = None,
    valid_days: int = 1825,
) -> Seal:
    """Create a seal of the actor's agency (actor must be its 印章管理员).

    ``official``: agency name; ``department``: ``department_id`` of that agency; ``name``: a
    leader's name seal for ``holder_user_id`` (who is authorised on it). The picture is generated
    unless ``image_png`` (validated PNG) is given. ``seal_pin`` protects the seal key.
    """
    agency_id = _require_keeper(actor)
    check_pin_format(seal_pin)
    if not 1 <= valid_days <= 3650:
        raise ValidationError("有效期须为 1–3650 天", code="bad_validity")
    agency = session.get(Department, agency_id)
    assert agency is not None
    name, seal_type, holder, width = _subject(session, kind, agency, seal_type, department_id, holder_user_id)
    if image_png is not None:
        seal_image.validate_seal_png(image_png)
    elif kind == SealKind.name:
        image_png = seal_image.square_name_seal_png(name)
    else:
        image_png = seal_image.round_seal_png(name, picture_label(seal_type))
    keys = authority.keys_for(session)
    issuer = authority.agency_ca(session, keys, agency_id)
    private, public = crypto.generate_keypair(keys.alg)
    now = utcnow()
    cert = ca.issue_certificate(
        authority.key_and_cert(issuer, keys.master),
        subject_public_key=public,
        alg=keys.alg,
        common_name=f"{name}{seal_type}",
        organization=agency.name,
        purpose="seal",
        now=now,
        days=valid_days + 1,
    )
    seal = Seal(
        agency_id=agency_id,
        department_id=department_id,
        holder_user_id=holder,
        kind=kind,
        name=name,
        seal_type=seal_type,
        es_id=f"{agency_id:06d}{secrets.token_hex(8).upper()}",
        image_png=image_png,
        width_mm=width,
        height_mm=width,
        alg=keys.alg,
        certificate=cert,
        serial=authority.serial_of(cert),
        key_blob=crypto.seal_private_key(private, seal_pin, kdf_params=keys.kdf, key_alg=keys.alg),
        seal_der=b"",
        valid_start=now - timedelta(minutes=1),
        valid_end=now + timedelta(days=valid_days),
        created_by=actor.user_id,
    )
    session.add(seal)
    session.flush()
    if holder is not None:
        session.add(SealUser(seal_id=seal.id, user_id=holder, granted_by=actor.user_id))  # type: ignore[arg-type]
        session.flush()
    seal.seal_der = _make_der(session, seal, private)
    session.add(seal)
    _log(session, keys, seal, "created", users=_user_ids(session, seal))
    audit.record(
        session,
        actor,
        "esign.seal_create",
        target_type="esign_seal",
        target_id=seal.id,
        detail={"name": name + seal_type, "kind": kind.value, "es_id": seal.es_id, "serial": seal.serial},
    )
    _notify(session, seal, "created")
    return seal


def _subject(
    session: Session,
    kind: SealKind,
    agency: Department,
    seal_type: str,
    department_id: int | None,
    holder_user_id: int | None,
) -> tuple[str, str, int | None, int]:
    if seal_type not in SEAL_TYPES:
        raise ValidationError(f"印章类型只能是：{'、'.join(t for t in SEAL_TYPES if t)}", code="bad_seal_type")
    if kind == SealKind.official:
        return agency.name, seal_type or "公章", None, seal_image.DEFAULT_DIAMETER_MM
    if kind == SealKind.department:
        dept = session.get(Department, department_id) if department_id else None
        if dept is None or dept.agency_id != agency.id or dept.id == agency.id:
            raise ValidationError("请选择本机关的一个部门", code="bad_department")
        return dept.name, seal_type or "公章", None, seal_image.DEFAULT_DIAMETER_MM
    user = session.get(User, holder_user_id) if holder_user_id else None
    if user is None or load_actor(session, user.id).agency_id != agency.id:  # type: ignore[arg-type]
        raise ValidationError("名章须属于本机关的一名人员", code="bad_holder")
    return user.name, "", user.id, NAME_SEAL_MM


def set_users(session: Session, actor: Actor, seal_id: int, *, user_ids: list[int], seal_pin: str) -> Seal:
    """Replace the people authorised on the seal and re-make its ``SESeal`` (needs the seal PIN).

    Also the way to re-confirm after someone re-enrolled (pass the same list).
    """
    seal = access_seal(session, actor, seal_id, manage=True)
    if seal.status == SealStatus.revoked:
        raise InvalidTransition("印章已吊销", code="seal_revoked")
    wanted = sorted(set(user_ids))
    if len(wanted) > 200:
        raise ValidationError("授权人数过多", code="too_many_users")
    for uid in wanted:
        if session.get(User, uid) is None or load_actor(session, uid).agency_id != seal.agency_id:
            raise ValidationError("只能授权本机关人员使用印章", code="bad_user")
    private = unseal(session, actor, seal, seal_pin)
    for row in session.exec(select(SealUser).where(SealUser.seal_id == seal.id)).all():
        session.delete(row)
    session.flush()
    for uid in wanted:
        session.add(SealUser(seal_id=seal.id, user_id=uid, granted_by=actor.user_id))  # type: ignore[arg-type]
    session.flush()
    seal.seal_version += 1
    seal.seal_der = _make_der(session, seal, private)
    session.add(seal)
    keys = authority.keys_for(session)
    _log(session, keys, seal, "users_changed", users=_user_ids(session, seal))
    audit.record(
        session,
        actor,
        "esign.seal_users",
        target_type="esign_seal",
        target_id=seal.id,
        detail={"user_ids": wanted, "seal_version": seal.seal_version},
    )
    _notify(session, seal, "users_changed", wanted)
    return seal


def set_status(session: Session, actor: Actor, seal_id: int, *, status: SealStatus, reason: str = "") -> Seal:
    """Suspend, resume or revoke (final; the seal certificate goes on the agency CRL)."""
    seal = access_seal(session, actor, seal_id, manage=True)
    allowed = {
        SealStatus.suspended: {SealStatus.active},
        SealStatus.active: {SealStatus.suspended},
        SealStatus.revoked: {SealStatus.active, SealStatus.suspended},
    }
    if seal.status not in allowed[status]:
        raise InvalidTransition(f"印章当前状态（{seal.status.value}）下不能执行此操作", code="bad_seal_transition")
    keys = authority.keys_for(session)
    when = utcnow()
    if status == SealStatus.revoked:
        if not reason.strip():
            raise ValidationError("请填写吊销原因", code="reason_required")
        issuer = authority.find(session, AuthorityKind.agency, seal.agency_id)
        assert issuer is not None
        when = authority.revoke(session, keys, issuer, seal.certificate, reason="cessation_of_operation")
        seal.revoke_reason = reason.strip()[:200]
    seal.status, seal.status_changed_at = status, when
    session.add(seal)
    op = {SealStatus.suspended: "suspended", SealStatus.active: "resumed", SealStatus.revoked: "revoked"}[status]
    _log(session, keys, seal, op, at=when.isoformat(), reason=reason.strip()[:200])
    audit.record(
        session,
        actor,
        f"esign.seal_{op}",
        target_type="esign_seal",
        target_id=seal.id,
        detail={"reason": reason.strip()[:200]},
    )
    _notify(session, seal, op)
    return seal


def check_usable(session: Session, actor: Actor, seal_id: int) -> Seal:
    """The seal if the actor may apply it now: authorised, active, within its validity."""
    seal = access_seal(session, actor, seal_id)
    if seal.status == SealStatus.suspended:
        raise InvalidTransition("印章已暂停使用", code="seal_suspended")
    if seal.status == SealStatus.revoked:
        raise InvalidTransition("印章已吊销，不能再使用", code="seal_revoked")
    if not seal.valid_start <= utcnow() <= seal.valid_end:
        raise InvalidTransition("印章不在有效期内", code="seal_expired")
    return seal


def list_seals(session: Session, actor: Actor) -> list[Seal]:
    """Keepers: every seal of their agency. Others: the seals they are authorised on."""
    if actor.agency_id is not None and Role.seal_keeper in actor.roles:
        stmt = select(Seal).where(Seal.agency_id == actor.agency_id)
    else:
        stmt = (
            select(Seal).join(SealUser, col(SealUser.seal_id) == col(Seal.id)).where(SealUser.user_id == actor.user_id)
        )
    return list(session.exec(stmt.order_by(col(Seal.id))).all())


def describe(session: Session, actor: Actor, seal: Seal) -> dict[str, Any]:
    manage = is_keeper(actor, seal.agency_id)
    out: dict[str, Any] = {
        "id": seal.id,
        "kind": seal.kind.value,
        "name": seal.name,
        "seal_type": seal.seal_type,
        "display_name": seal.name + seal.seal_type,
        "es_id": seal.es_id,
        "status": seal.status.value,
        "alg": seal.alg,
        "serial": seal.serial,
        "valid_start": iso(seal.valid_start),
        "valid_end": iso(seal.valid_end),
        "seal_version": seal.seal_version,
        "width_mm": seal.width_mm,
        "height_mm": seal.height_mm,
        "can_manage": manage,
        "status_changed_at": iso(seal.status_changed_at),
        "revoke_reason": seal.revoke_reason,
        "requires_authorisation": seal.requires_authorisation,
    }
    if manage:
        listed = set(session.exec(select(SealUser.user_id).where(SealUser.seal_id == seal.id)).all())
        info = seal_mod.parse_seal(seal.seal_der)
        users = []
        for uid in _user_ids(session, seal):
            user = session.get(User, uid)
            cred = current_credential(session, uid)
            in_seal = cred is not None and info.lists_cert(cred.certificate)
            users.append(
                {
                    "user_id": uid,
                    "name": user.name if user else "",
                    "listed": uid in listed,
                    "keeper": uid not in listed,
                    "enrolled": cred is not None,
                    "in_seal": in_seal,
                }
            )
        out["users"] = users
        out["key_locked"] = seal.failed_attempts >= MAX_PIN_ATTEMPTS
    return out


def uses(
    session: Session, actor: Actor, seal_id: int, *, before_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """用印登记 of a seal, newest first (keepers of its agency only); a use made under a 用印申请
    names it (``authorisation``: its reference, title and the link back to the approval)."""
    seal = access_seal(session, actor, seal_id, manage=True)
    stmt = (
        select(SealUse, User, SealAuthorisation)
        .join(User, col(User.id) == col(SealUse.user_id))
        .outerjoin(SealAuthorisation, col(SealAuthorisation.id) == col(SealUse.authorisation_id))
        .where(SealUse.seal_id == seal.id)
    )
    if before_id:
        stmt = stmt.where(col(SealUse.id) < before_id)
    rows = session.exec(stmt.order_by(col(SealUse.id).desc()).limit(min(max(limit, 1), 200))).all()
    return [
        {
            "id": u.id,
            "at": iso(u.at),
            "user_id": u.user_id,
            "user_name": user.name,
            "reference": u.reference,
            "document_sha256": u.document_sha256,
            "sealed_sha256": u.sealed_sha256,
            "signature_id": u.signature_id,
            "leaf_index": u.leaf_index,
            "authorisation": None
            if grant is None
            else {
                "id": grant.id,
                "reference": grant.reference,
                "title": grant.title,
                "link": grant.link,
                "times_allowed": grant.times_allowed,
                "times_used": grant.times_used,
            },
        }
        for u, user, grant in rows
    ]
