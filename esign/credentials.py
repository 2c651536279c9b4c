"""Personal signing credentials: enrolment, PIN change, PIN attempts and lockout, revocation.

A person enrols once: the server generates a key pair of the deployment algorithm, the agency's
issuing CA certifies it (purpose "person"), and the private key is stored only sealed under the
person's PIN (argon2id + AES-256-GCM). The key is unsealed in memory for one signing operation
and never logged. Nobody else can sign with it: every signing function uses the *actor's own*
credential and PIN; administrators can revoke a credential (a forgotten PIN means revoke and
re-enrol) but there is no API that signs on someone else's behalf.

PIN attempts: ``MAX_PIN_ATTEMPTS`` wrong PINs in a row lock the key for good (revoke and
re-enrol). A wrong PIN is counted even though the request fails: :func:`count_wrong_pin` rolls
the caller's transaction back (it was going to be rolled back anyway, nothing may be signed or
stored), commits only the counter and an audit entry, then raises. Callers must not keep using
work done earlier in that transaction after a ``WrongPin``/``Locked``.

Deriving the key from the PIN (argon2id) is 0.1-0.3 s of CPU by design. Routes run it before their
write transaction with :func:`unsealed_ahead` (``office.web.api(before_write=...)``), so the
database's single write lock is not held meanwhile; :func:`unseal` inside the transaction still
makes every check and uses the derived key only if the sealed key is exactly the one derived from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from esign import authority, ca, crypto, tlog
from esign.models import AuthorityKind, Credential, CredentialStatus, Seal
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, Locked, NotFound, PermissionDenied, ValidationError
from office.models import Department, Role
from office.timefmt import iso

MAX_PIN_ATTEMPTS = 5
MIN_PIN, MAX_PIN = 6, 64
CERT_DAYS = 730


def check_pin_format(pin: str) -> None:
    if not MIN_PIN <= len(pin) <= MAX_PIN:
        raise ValidationError(f"PIN 码须为 {MIN_PIN}–{MAX_PIN} 位", code="bad_pin_format")
    if len(set(pin)) < 2:
        raise ValidationError("PIN 码过于简单（不能全部相同）", code="weak_pin")


def current_credential(session: Session, user_id: int) -> Credential | None:
    """The person's active or locked credential (revoked ones are history)."""
    return session.exec(
        select(Credential)
        .where(Credential.user_id == user_id, Credential.status != CredentialStatus.revoked)
        .order_by(col(Credential.id).desc())
    ).first()


def active_credential(session: Session, actor: Actor) -> Credential:
    cred = current_credential(session, actor.user_id)
    if cred is None:
        raise Conflict("您尚未开通电子签名，请先在“电子签章”中设置签名 PIN 码", code="not_enrolled")
    if cred.status == CredentialStatus.locked:
        raise Locked("签名密钥已因 PIN 码错误次数过多被锁定，请吊销后重新开通", code="key_locked")
    return cred


def describe(session: Session, cred: Credential | None) -> dict[str, Any]:
    if cred is None:
        return {"enrolled": False}
    cert = ca.load_cert(cred.certificate)
    return {
        "enrolled": True,
        "id": cred.id,
        "status": cred.status.value,
        "alg": cred.alg,
        "serial": cred.serial,
        "subject": cert.subject.rfc4514_string(),
        "not_after": iso(cert.not_valid_after_utc),
        "created_at": iso(cred.created_at),
        "attempts_left": MAX_PIN_ATTEMPTS - cred.failed_attempts,
    }


def enrol(session: Session, actor: Actor, *, pin: str) -> Credential:
    """Create the actor's signing key and certificate, sealed under ``pin``. Conflict if one exists."""
    check_pin_format(pin)
    if actor.agency_id is None:
        raise ValidationError("您没有所属机关，无法签发证书", code="no_agency")
    if current_credential(session, actor.user_id) is not None:
        raise Conflict("您已开通电子签名；如忘记 PIN 码，请先吊销再重新开通", code="already_enrolled")
    keys = authority.keys_for(session)
    issuer = authority.agency_ca(session, keys, actor.agency_id)
    agency = session.get(Department, actor.agency_id)
    dept = session.get(Department, actor.department_id) if actor.department_id else None
    private, public = crypto.generate_keypair(keys.alg)
    cert = ca.issue_certificate(
        authority.key_and_cert(issuer, keys.master),
        subject_public_key=public,
        alg=keys.alg,
        common_name=actor.name,
        organization=agency.name if agency else None,
        unit=dept.name if dept and dept.id != actor.agency_id else None,
        purpose="person",
        now=utcnow(),
        days=CERT_DAYS,
    )
    cred = Credential(
        user_id=actor.user_id,
        agency_id=actor.agency_id,
        alg=keys.alg,
        certificate=cert,
        serial=authority.serial_of(cert),
        key_blob=crypto.seal_private_key(private, pin, kdf_params=keys.kdf, key_alg=keys.alg),
    )
    session.add(cred)
    session.flush()
    tlog.append(
        session,
        keys,
        "credential.enrolled",
        tlog.event_bytes(
            "credential.enrolled",
            {"user_id": actor.user_id, "serial": cred.serial, "certificate_sha256": crypto.sha256(cert).hex()},
        ),
    )
    audit.record(
        session,
        actor,
        "esign.enrol",
        target_type="esign_credential",
        target_id=cred.id,
        detail={"serial": cred.serial, "alg": keys.alg},
    )
    return cred


def change_pin(session: Session, actor: Actor, *, old_pin: str, new_pin: str) -> None:
    """Re-encrypt the actor's key under ``new_pin`` (a wrong ``old_pin`` counts as a failed attempt)."""
    check_pin_format(new_pin)
    cred = active_credential(session, actor)
    private = unseal(session, actor, cred, old_pin)
    keys = authority.keys_for(session)
    cred.key_blob = crypto.seal_private_key(private, new_pin, kdf_params=keys.kdf, key_alg=cred.alg)
    session.add(cred)
    audit.record(session, actor, "esign.pin_changed", target_type="esign_credential", target_id=cred.id)


def revoke(session: Session, actor: Actor, *, user_id: int | None = None, reason: str = "unspecified") -> Credential:
    """Revoke a credential: one's own, or anyone's by an administrator (forgotten PIN, departure).

    The certificate goes on the agency CA's CRL, which is republished at once. Signatures whose
    trusted time precedes the revocation stay valid.
    """
    target = actor.user_id if user_id is None else user_id
    if target != actor.user_id and Role.admin not in actor.roles:
        raise PermissionDenied("只能吊销本人的签名证书", code="not_own_credential")
    cred = current_credential(session, target)
    if cred is None:
        raise NotFound("该人员没有可吊销的签名证书", code="no_credential")
    if reason not in {"unspecified", "key_compromise", "affiliation_changed", "superseded", "cessation_of_operation"}:
        raise ValidationError("吊销原因不正确", code="bad_reason")
    keys = authority.keys_for(session)
    issuer = authority.find(session, AuthorityKind.agency, cred.agency_id)
    assert issuer is not None
    cred.revoked_at = authority.revoke(session, keys, issuer, cred.certificate, reason=reason)
    cred.status = CredentialStatus.revoked
    session.add(cred)
    tlog.append(
        session,
        keys,
        "credential.revoked",
        tlog.event_bytes(
            "credential.revoked",
            {"user_id": target, "serial": cred.serial, "revoked_at": cred.revoked_at.isoformat(), "reason": reason},
        ),
    )
    audit.record(
        session,
        actor,
        "esign.revoke",
        target_type="esign_credential",
        target_id=cred.id,
        detail={"user_id": target, "serial": cred.serial, "reason": reason},
    )
    events.publish_on_commit(
        session, "esign.credential", {"op": "revoked", "credential_id": cred.id}, user_ids=[target]
    )
    return cred


# --- PIN unlock ----------------------------------------------------------------------------------


def unseal(session: Session, actor: Actor | None, row: Credential | Seal, pin: str) -> bytes:
    """The private key of ``row`` (a credential or a seal) decrypted with ``pin``, in memory only.

    Refuses locked keys; counts wrong PINs (see module docstring) and resets the count on success.
    """
    if row.failed_attempts >= MAX_PIN_ATTEMPTS or getattr(row, "status", None) == CredentialStatus.locked:
        raise Locked("密钥已因 PIN 码错误次数过多被锁定", code="key_locked")
    if not pin or len(pin) > MAX_PIN:
        raise crypto.WrongPin()
    try:
        ahead = _AHEAD.get()
        private = ahead.get(_ahead_key(row.key_blob, pin)) if ahead else None
        if private is None:
            private = crypto.unseal_private_key(row.key_blob, pin)
    except crypto.WrongPin:
        count_wrong_pin(session, actor, row)
        raise  # unreachable: count_wrong_pin raises
    if row.failed_attempts:
        row.failed_attempts = 0
        session.add(row)
    return private


_AHEAD: ContextVar[dict[tuple[bytes, str], bytes] | None] = ContextVar("esign_unsealed_ahead", default=None)


def _ahead_key(key_blob: bytes, pin: str) -> tuple[bytes, str]:
    return hashlib.sha256(key_blob).digest(), pin


def unsealed_ahead(session: Session, actor: Actor | None, pin: str | None) -> Any:
    """Derive the actor's own signing key now, before the caller's write transaction; a context
    manager within which :func:`unseal` uses it (or None when there is nothing to derive: no usable
    credential, or a wrong PIN, which the transaction then meets, counts and refuses as usual)."""
    if actor is None or not pin or len(pin) > MAX_PIN:
        return None
    cred = current_credential(session, actor.user_id)
    if cred is None or cred.status != CredentialStatus.active or cred.failed_attempts >= MAX_PIN_ATTEMPTS:
        return None
    try:
        private = crypto.unseal_private_key(cred.key_blob, pin)
    except crypto.WrongPin:
        return None
    return _use_ahead({_ahead_key(cred.key_blob, pin): private})


@contextmanager
def _use_ahead(keys: dict[tuple[bytes, str], bytes]) -> Iterator[None]:
    token = _AHEAD.set(keys)
    try:
        yield
    finally:
        _AHEAD.reset(token)
        keys.clear()


def count_wrong_pin(session: Session, actor: Actor | None, row: Credential | Seal) -> None:
    """Roll back the caller's work, commit one more failed attempt (locking at the limit), raise."""
    model, ident = type(row), row.id
    session.rollback()
    session.info.pop("pending_events", None)
    session.info.pop(authority.CACHE_KEY, None)  # rows created in the rolled-back work are gone
    fresh = session.get(model, ident)
    assert isinstance(fresh, Credential | Seal)
    fresh.failed_attempts += 1
    left = MAX_PIN_ATTEMPTS - fresh.failed_attempts
    if left <= 0 and isinstance(fresh, Credential):
        fresh.status = CredentialStatus.locked
    session.add(fresh)
    audit.record(
        session,
        actor,
        "esign.wrong_pin",
        target_type=model.__tablename__,
        target_id=ident,
        detail={"attempts": fresh.failed_attempts, "locked": left <= 0},
    )
    session.commit()
    if left <= 0:
        raise Locked("PIN 码错误次数过多，密钥已锁定；请吊销后重新开通", code="key_locked")
    raise crypto.WrongPin(f"PIN 码错误，还可尝试 {left} 次", attempts_left=left)


@dataclass
class UnlockedKey:
    """A signing key unsealed in memory for the signatures of one request; never persisted."""

    credential_id: int
    user_id: int
    agency_id: int
    alg: str
    certificate: bytes
    chain: list[bytes]
    signer: crypto.Signer = field(repr=False)


def unlock_key(session: Session, actor: Actor, *, pin: str) -> UnlockedKey:
    """Unseal the actor's own signing key with their PIN (argon2id; ~0.1-0.3 s by design)."""
    cred = active_credential(session, actor)
    private = unseal(session, actor, cred, pin)
    issuer = authority.find(session, AuthorityKind.agency, cred.agency_id)
    assert issuer is not None and issuer.certificate is not None and cred.id is not None
    return UnlockedKey(
        cred.id,
        cred.user_id,
        cred.agency_id,
        cred.alg,
        cred.certificate,
        [issuer.certificate],
        crypto.load_signer(cred.alg, private),
    )
