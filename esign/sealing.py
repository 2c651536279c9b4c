"""用印 and personal signatures embedded in files: the Word file, the 版式 PDF and the OFD.

Every format goes through the same checks, in the same order (:func:`_seal_key`: the reference,
the seal usable by the actor, the format's rule on the key algorithm before the PIN costs an
attempt, the PIN, the actor's certificate on the seal's list), shows the seal at its real size
(:func:`_check_seal_size`) and leaves the same 用印登记, log entry, audit entry and keepers' event
(:func:`_register_use`). The functions are re-exported by ``esign.service``, the module other
packages call; see there for the whole list and the errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from esign import authorisations, authority, ca, docx_sig, ofd_sig, pdf_sig, records, seals
from esign import seal as seal_mod
from esign.authorisations import Citation
from esign.credentials import UnlockedKey, active_credential, unlock_key
from esign.models import Seal, SealAuthorisation, SealUse, SignatureKind
from office import audit, events
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, ValidationError

MM = 72 / 25.4  # PDF points per millimetre


def seal_docx(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    docx_bytes: bytes,
    anchor_paragraph: int | None = None,
    anchor_centre_twips: int | None = None,
    reference: str,
    authorisation: Citation = None,
) -> bytes:
    """用印: apply seal ``seal_id`` to a Word file and return the sealed file.

    The actor must be an authorised user of the seal (its agency's seal keeper, or listed by the
    keeper) — NotFound otherwise; the seal must be active (InvalidTransition ``seal_suspended`` /
    ``seal_revoked`` / ``seal_expired``); ``pin`` is the actor's **personal** signing PIN. The
    visible seal goes over the 成文日期 paragraph (or ``anchor_paragraph``), then one signature
    covers the whole package (``anchor_centre_twips``: the seal's centre, twips from the type area's
    left edge, instead of the paragraph's: one issuer's name in a 联合行文's row of names). Records
    用印登记 (seal, user, time, ``reference`` (<= 200 chars, e.g. the document number), SHA-256 of
    input and output) and a log entry. Bad files raise
    UnsupportedMedia (415) / PayloadTooLarge (413); nothing is stored then.

    ``authorisation`` is what authorises this 用印 (``esign.authorisations``): an approved 用印申请's
    id, ``Issued`` for a 公文 (its 签发), or None — refused (409 ``authorisation_required``) on a seal
    that requires one; a grant for another seal or file, used up or revoked is refused too.
    """
    reference, seal, key, grant = _seal_key(
        session, actor, seal_id=seal_id, pin=pin, reference=reference, document=docx_bytes, authorisation=authorisation
    )
    sealed, sig_der, now = _apply(
        session,
        key,
        docx_bytes,
        seal=seal,
        anchor_paragraph=anchor_paragraph,
        anchor_centre=anchor_centre_twips,
        reference=reference,
    )
    _register_use(
        session,
        actor,
        key,
        seal,
        sig_der=sig_der,
        now=now,
        reference=reference,
        received=docx_bytes,
        sealed=sealed,
        fmt="docx",
        grant=grant,
    )
    return sealed


def seal_pdf(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    pdf_bytes: bytes,
    page: int,
    rect: tuple[float, float, float, float],
    reference: str,
    authorisation: Citation = None,
) -> bytes:
    """用印 on the official copy (版式 PDF): the seal picture at ``rect`` on ``page`` and a PAdES signature.

    ``page`` is 0-based; ``rect`` = (x0, y0, x1, y1) in PDF points, origin bottom-left, as measured
    by ``typeset.pdf_measure.seal_placement`` (its size must be the seal's own, ±1 mm). Same
    authorisation, PIN, 用印登记, log entry and audit as :func:`seal_docx` (the log leaf and the
    stored ``signature_der`` are the PDF's CMS signature). The file gets the internal TSA's RFC 3161
    time-stamp, the certificate chain and the CRLs, so it verifies offline (pdfsig, pyHanko,
    ``office verify``). Raises ValidationError ``pdf_alg_unsupported`` for SM2 keys (PDF
    validators know no SM2; use the Word/OFD copy), ``bad_seal_rect`` / ``bad_seal_page``, and
    UnsupportedMedia for a file that is not a readable PDF.
    """
    reference, seal, key, grant = _seal_key(
        session,
        actor,
        seal_id=seal_id,
        pin=pin,
        reference=reference,
        document=pdf_bytes,
        authorisation=authorisation,
        check=lambda cred_alg: pdf_sig.check_alg(cred_alg),
    )
    _check_seal_size(seal, rect)
    keys = authority.keys_for(session)
    tsa_row = authority.tsa(session, keys)
    now = utcnow()
    info = seal_mod.parse_seal(seal.seal_der)
    issuer = authority.agency_ca(session, keys, key.agency_id)
    root = authority.root(session, keys)
    crls = [der for der in (authority.crl_der(session, root), authority.crl_der(session, issuer)) if der]
    sealed, cms_der = pdf_sig.sign_pdf(
        pdf_bytes,
        cert=key.certificate,
        chain=key.chain,
        alg=key.alg,
        sign_fn=key.signer.sign,
        tsa_key=authority.unwrap(tsa_row, keys.master),
        tsa_cert=tsa_row.certificate,  # type: ignore[arg-type]
        trust_roots=[root.certificate] if root.certificate else [],
        crls=crls,
        page=page,
        rect=rect,
        seal_png=info.picture if info.picture_type.upper() == "PNG" else None,
        seal_der=seal.seal_der,
        reference=reference,
        signer_name=ca.subject_text(key.certificate),
        now=now,
    )
    _register_use(
        session,
        actor,
        key,
        seal,
        sig_der=cms_der,
        now=now,
        reference=reference,
        received=pdf_bytes,
        sealed=sealed,
        fmt="pdf",
        grant=grant,
    )
    return sealed


def seal_ofd(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    ofd_bytes: bytes,
    page: int,
    rect: tuple[float, float, float, float],
    reference: str,
    authorisation: Citation = None,
) -> bytes:
    """用印 on the OFD official copy: ``page`` (0-based) and ``rect`` exactly as for :func:`seal_pdf`
    (PDF points, y up: the same measured placement, since the OFD holds the same pages); the seal
    goes into the OFD's ``Signatures.xml`` with its StampAnnot there (``esign.ofd_sig``). Signed
    with the actor's key in its own algorithm (SM2/SM3 or ECDSA P-256). Same authorisation, PIN,
    用印登记, log entry and audit as :func:`seal_docx`. Raises ``bad_seal_rect`` / ``bad_seal_page``
    and UnsupportedMedia for a file that is not an OFD."""
    reference, seal, key, grant = _seal_key(
        session, actor, seal_id=seal_id, pin=pin, reference=reference, document=ofd_bytes, authorisation=authorisation
    )
    _check_seal_size(seal, rect)
    page_list = ofd_sig.pages(ofd_sig.read_package(ofd_bytes))
    if not 0 <= page < len(page_list):
        raise ValidationError("盖章页码超出文件页数", code="bad_seal_page")
    x0, y0, x1, y1 = (float(v) for v in rect)
    height_mm = page_list[page][2]
    boundary = (x0 / MM, height_mm - y1 / MM, (x1 - x0) / MM, (y1 - y0) / MM)  # OFD: mm, origin top-left
    keys = authority.keys_for(session)
    now = utcnow()
    sealed, sig_der = ofd_sig.sign_ofd(
        ofd_bytes,
        cert=key.certificate,
        chain=key.chain,
        alg=key.alg,
        sign_fn=key.signer.sign,
        timestamp_fn=records.timestamp_fn(session, keys, now),
        seal_der=seal.seal_der,
        page=page,
        boundary_mm=boundary,
        reference=reference,
        now=now,
    )
    _register_use(
        session,
        actor,
        key,
        seal,
        sig_der=sig_der,
        now=now,
        reference=reference,
        received=ofd_bytes,
        sealed=sealed,
        fmt="ofd",
        grant=grant,
    )
    return sealed


def _seal_key(
    session: Session,
    actor: Actor,
    *,
    seal_id: int,
    pin: str,
    reference: str,
    document: bytes,
    authorisation: Citation,
    check: Callable[[str], None] | None = None,
) -> tuple[str, Seal, UnlockedKey, SealAuthorisation | None]:
    """The checks every 用印 makes, in this order: reference, the seal (usable by the actor), what
    authorises this use of it on this file (``esign.authorisations.check``), the format's own rule
    on the key algorithm (``check``); all before the PIN costs an attempt; then the PIN, and that
    the actor's current certificate is on the seal's list."""
    reference = records.text_arg(reference, "文件标识 reference")
    seal = seals.check_usable(session, actor, seal_id)
    grant = authorisations.check(
        session, seal, document_sha256=hashlib.sha256(document).hexdigest(), cite=authorisation
    )
    if check is not None:
        check(active_credential(session, actor).alg)
    key = unlock_key(session, actor, pin=pin)
    info = seal_mod.parse_seal(seal.seal_der)
    if not info.lists_cert(key.certificate):
        raise Conflict("您的签名证书尚未登记到该印章，请印章管理员重新确认授权", code="seal_needs_refresh")
    return reference, seal, key, grant


def _check_seal_size(seal: Seal, rect: tuple[float, float, float, float]) -> None:
    """A seal is shown at its real size: the rectangle must match the seal picture (±1 mm)."""
    try:
        width, height = (float(rect[2]) - float(rect[0])) / MM, (float(rect[3]) - float(rect[1])) / MM
    except (TypeError, ValueError, IndexError):
        raise ValidationError("盖章位置格式不正确", code="bad_seal_rect") from None
    if abs(width - seal.width_mm) > 1 or abs(height - seal.height_mm) > 1:
        raise ValidationError(
            f"盖章区域须与印章实际尺寸一致（{seal.width_mm}×{seal.height_mm} 毫米）", code="bad_seal_rect"
        )


def _register_use(
    session: Session,
    actor: Actor,
    key: UnlockedKey,
    seal: Seal,
    *,
    sig_der: bytes,
    now: datetime,
    reference: str,
    received: bytes,
    sealed: bytes,
    fmt: str,
    grant: SealAuthorisation | None,
) -> SealUse:
    """用印登记 + log entry + audit + the keepers' event, for every format; spends one use of the
    用印授权 that :func:`_seal_key` accepted, and links the 用印登记 row to it."""
    if grant is not None:
        authorisations.count_use(session, grant)
    keys = authority.keys_for(session)
    record = records.record_signature(
        session,
        keys,
        key,
        kind=SignatureKind.seal,
        sig_der=sig_der,
        purpose=reference,
        data_hash=hashlib.sha256(sealed).hexdigest(),
        now=now,
        seal_id=seal.id,
    )
    assert seal.id is not None and record.id is not None  # both flushed
    use = SealUse(
        seal_id=seal.id,
        user_id=actor.user_id,
        at=now,
        reference=reference,
        document_sha256=hashlib.sha256(received).hexdigest(),
        sealed_sha256=record.data_hash,
        signature_id=record.id,
        leaf_index=record.leaf_index,
        authorisation_id=grant.id if grant is not None else None,
    )
    session.add(use)
    session.flush()
    audit.record(
        session,
        actor,
        "esign.seal_use",
        target_type="esign_seal",
        target_id=seal.id,
        detail={
            "reference": reference,
            "signature_id": record.id,
            "leaf_index": record.leaf_index,
            "sealed_sha256": record.data_hash,
            "format": fmt,
            "authorisation_id": grant.id if grant is not None else None,
        },
    )
    events.publish_on_commit(
        session,
        "esign.seal",
        {"op": "used", "seal_id": seal.id, "use_id": use.id},
        user_ids=seals.keeper_ids(session, seal.agency_id),
    )
    return use


def sign_docx(session: Session, actor: Actor, *, pin: str, docx_bytes: bytes, reference: str) -> bytes:
    """Personal signature embedded in a Word file (no seal picture); returns the signed file.

    Same checks, receipt and errors as :func:`seal_docx` minus the seal.
    """
    reference = records.text_arg(reference, "文件标识 reference")
    key = unlock_key(session, actor, pin=pin)
    signed, sig_der, now = _apply(session, key, docx_bytes, seal=None, anchor_paragraph=None, reference=reference)
    keys = authority.keys_for(session)
    record = records.record_signature(
        session,
        keys,
        key,
        kind=SignatureKind.docx,
        sig_der=sig_der,
        purpose=reference,
        data_hash=hashlib.sha256(signed).hexdigest(),
        now=now,
    )
    audit.record(
        session,
        actor,
        "esign.sign_docx",
        target_type="esign_signature",
        target_id=record.id,
        detail={"reference": reference, "leaf_index": record.leaf_index},
    )
    return signed


def _apply(
    session: Session,
    key: UnlockedKey,
    docx_bytes: bytes,
    *,
    seal: Seal | None,
    anchor_paragraph: int | None,
    reference: str = "",
    anchor_centre: int | None = None,
) -> tuple[bytes, bytes, datetime]:
    keys = authority.keys_for(session)
    now = utcnow()
    out = docx_sig.apply_signature(
        docx_bytes,
        signer=key.certificate,
        alg=key.alg,
        sign_fn=key.signer.sign,
        timestamp_fn=records.timestamp_fn(session, keys, now),
        seal=seal.seal_der if seal else None,
        anchor_paragraph=anchor_paragraph,
        anchor_centre=anchor_centre,
        chain=key.chain,
        now=now,
        reference=reference,
    )
    parts = docx_sig.read_package(out)
    last = docx_sig.signature_numbers(parts)[-1]
    return out, parts[f"tongban/signatures/sig{last}.der"], now
