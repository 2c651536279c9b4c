"""HTTP API of 电子印章: enrolment and PIN, seals, signing, CA chain and CRLs, transparency log, verification.

Public endpoints (no login): the CA chain, CRLs, the log (tree head, proofs) and verification.
Verification is public on purpose: the people who receive a sealed file are often outside the
system (other agencies, citizens) and must be able to check it; it stores nothing, changes
nothing (so no CSRF exposure), and uploads are bounded (``VERIFY_MAX_BYTES`` plus the ZIP limits
of ``office.safezip``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from esign import authorisations, credentials, seals, service, tlog
from esign.models import SealKind, SealStatus
from esign.seal_image import MAX_UPLOAD_BYTES as SEAL_IMAGE_MAX
from office.errors import PayloadTooLarge, PermissionDenied, ValidationError
from office.jsonin import is_digits
from office.models import Role
from office.timefmt import iso
from office.web import Body, Ctx, api, check_upload_rate, origin_allowed

VERIFY_MAX_BYTES = 20 * 1024 * 1024
SIGN_MAX_BYTES = 20 * 1024 * 1024
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- helpers -------------------------------------------------------------------------------------


def _field(ctx: Ctx, name: str, *, required: bool = True, limit: int = 200) -> str:
    value = ctx.form.get(name) if ctx.form is not None else None
    if value is None or not isinstance(value, str):
        if required:
            raise ValidationError(f"缺少字段：{name}", code="invalid_field", field=name)
        return ""
    if len(value) > limit:
        raise ValidationError(f"字段 {name} 过长", code="invalid_field", field=name)
    return value


def _key_ahead(ctx: Ctx) -> Any:
    """``before_write``: derive the signer's key from the PIN before the write lock is taken."""
    pin = ctx.body.pin if ctx.body is not None else (ctx.form.get("pin") if ctx.form is not None else None)
    return credentials.unsealed_ahead(ctx.session, ctx.user, pin if isinstance(pin, str) else None)


def _int_field(ctx: Ctx, name: str) -> int | None:
    raw = _field(ctx, name, required=False, limit=20).strip()
    if not raw:
        return None
    if not is_digits(raw):
        raise ValidationError(f"字段 {name} 必须是整数", code="invalid_field", field=name)
    return int(raw)


def _file(ctx: Ctx, name: str, limit: int, *, required: bool = True) -> bytes | None:
    upload = ctx.form.get(name) if ctx.form is not None else None
    if upload is None or isinstance(upload, str):
        if required:
            raise ValidationError(f"请上传文件（字段 {name}）", code="file_required", field=name)
        return None
    upload.file.seek(0)
    data: bytes = upload.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"文件超过上限（{limit // (1024 * 1024)} MB）", code="file_too_large")
    if not data and required:
        raise ValidationError("上传的文件是空的", code="empty_file")
    return data


def _docx_response(data: bytes, filename: str) -> Response:
    return Response(
        data, media_type=DOCX_TYPE, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    )


def _filename(ctx: Ctx, suffix: str) -> str:
    upload = ctx.form.get("file") if ctx.form is not None else None
    base = getattr(upload, "filename", None) or "document.docx"
    stem = base[:-5] if base.lower().endswith(".docx") else base
    return f"{stem[:80]}{suffix}.docx"


# --- enrolment and PIN ---------------------------------------------------------------------------


class PinBody(Body):
    pin: str = Field(max_length=64)


class PinChangeBody(Body):
    old_pin: str = Field(max_length=64)
    new_pin: str = Field(max_length=64)


class RevokeBody(Body):
    reason: str = Field(default="unspecified", max_length=40)


class SignTextBody(Body):
    pin: str = Field(max_length=64)
    text: str = Field(min_length=1, max_length=100_000)
    purpose: str = Field(max_length=200)


class VerifyTextBody(Body):
    text: str = Field(min_length=1, max_length=100_000)


@api(action="esign.sign")
def me(ctx: Ctx) -> dict[str, Any]:
    cred = credentials.current_credential(ctx.session, ctx.user.user_id)
    recent = service.recent_signatures(ctx.session, ctx.user)
    return credentials.describe(ctx.session, cred) | {
        "is_seal_keeper": Role.seal_keeper in ctx.user.roles,
        "signatures": [
            {
                "id": r.id,
                "kind": r.kind.value,
                "purpose": r.purpose,
                "signed_at": iso(r.signed_at),
                "leaf_index": r.leaf_index,
            }
            for r in recent
        ],
    }


@api(action="esign.sign", body=PinBody, write=True, status=201)
def enrol(ctx: Ctx) -> dict[str, Any]:
    cred = credentials.enrol(ctx.session, ctx.user, pin=ctx.body.pin)
    return credentials.describe(ctx.session, cred)


@api(action="esign.sign", body=PinChangeBody, write=True)
def change_pin(ctx: Ctx) -> dict[str, Any]:
    credentials.change_pin(ctx.session, ctx.user, old_pin=ctx.body.old_pin, new_pin=ctx.body.new_pin)
    return {"ok": True}


@api(action="esign.sign", body=RevokeBody, write=True)
def revoke_own(ctx: Ctx) -> dict[str, Any]:
    cred = credentials.revoke(ctx.session, ctx.user, reason=ctx.body.reason)
    return credentials.describe(ctx.session, cred)


@api(action="esign.credential_admin", body=RevokeBody, write=True)
def revoke_user(ctx: Ctx) -> dict[str, Any]:
    cred = credentials.revoke(ctx.session, ctx.user, user_id=ctx.path_int("user_id"), reason=ctx.body.reason)
    return credentials.describe(ctx.session, cred)


@api(action="esign.sign", body=SignTextBody, write=True, status=201, before_write=_key_ahead)
def sign_text(ctx: Ctx) -> dict[str, Any]:
    b: SignTextBody = ctx.body
    record = service.sign_text(ctx.session, ctx.user, pin=b.pin, data=b.text.encode(), purpose=b.purpose)
    return _signature_out(ctx, record)


def _signature_out(ctx: Ctx, record: Any) -> dict[str, Any]:
    import base64

    return {
        "id": record.id,
        "kind": record.kind.value,
        "purpose": record.purpose,
        "alg": record.alg,
        "signed_at": iso(record.signed_at),
        "data_hash": record.data_hash,
        "signature": base64.b64encode(record.signature_der).decode(),
        "receipt": service.receipt(ctx.session, record),
    }


@api(action="esign.sign")
def get_signature(ctx: Ctx) -> dict[str, Any]:
    return _signature_out(ctx, service.get_signature(ctx.session, ctx.user, ctx.path_int("signature_id")))


@api(action="esign.sign", body=VerifyTextBody, write=False)
def verify_signature_text(ctx: Ctx) -> dict[str, Any]:
    record = service.get_signature(ctx.session, ctx.user, ctx.path_int("signature_id"))
    return service.verify_text(ctx.session, signature_der=record.signature_der, data=ctx.body.text.encode())


@api(action="esign.sign", write=True, multipart=True, max_bytes=SIGN_MAX_BYTES, before_write=_key_ahead)
def sign_docx(ctx: Ctx) -> Response:
    data = _file(ctx, "file", SIGN_MAX_BYTES)
    assert data is not None
    out = service.sign_docx(
        ctx.session, ctx.user, pin=_field(ctx, "pin", limit=64), docx_bytes=data, reference=_field(ctx, "reference")
    )
    return _docx_response(out, _filename(ctx, "（已签名）"))


# --- seals ---------------------------------------------------------------------------------------


class SealUsersBody(Body):
    user_ids: list[int] = Field(max_length=200)
    seal_pin: str = Field(max_length=64)


class SealRevokeBody(Body):
    reason: str = Field(min_length=1, max_length=200)


class SealPolicyBody(Body):
    requires_authorisation: bool


@api(action="esign.sign")
def list_seals(ctx: Ctx) -> dict[str, Any]:
    return {"items": [seals.describe(ctx.session, ctx.user, s) for s in seals.list_seals(ctx.session, ctx.user)]}


@api(action="esign.sign")
def get_seal(ctx: Ctx) -> dict[str, Any]:
    seal = seals.access_seal(ctx.session, ctx.user, ctx.path_int("seal_id"))
    return seals.describe(ctx.session, ctx.user, seal)


@api(action="esign.sign")
def seal_image(ctx: Ctx) -> Response:
    seal = seals.access_seal(ctx.session, ctx.user, ctx.path_int("seal_id"))
    return Response(seal.image_png, media_type="image/png")


def _kind(value: str) -> SealKind:
    try:
        return SealKind(value)
    except ValueError:
        raise ValidationError("印章种类只能是 official、department 或 name", code="bad_seal_kind") from None


@api(action="esign.seal_manage")
def preview_seal(ctx: Ctx) -> Response:
    png = seals.preview_image(
        ctx.session,
        ctx.user,
        kind=_kind(ctx.query("kind", "official")),
        text=ctx.query("text")[:40],
        seal_type=ctx.query("seal_type", "公章")[:12],
    )
    return Response(png, media_type="image/png")


@api(action="esign.seal_manage", write=True, multipart=True, max_bytes=SEAL_IMAGE_MAX + 64 * 1024, status=201)
def create_seal(ctx: Ctx) -> dict[str, Any]:
    seal = seals.create_seal(
        ctx.session,
        ctx.user,
        kind=_kind(_field(ctx, "kind", limit=20)),
        seal_pin=_field(ctx, "seal_pin", limit=64),
        seal_type=_field(ctx, "seal_type", required=False, limit=12),
        department_id=_int_field(ctx, "department_id"),
        holder_user_id=_int_field(ctx, "holder_user_id"),
        image_png=_file(ctx, "image", SEAL_IMAGE_MAX, required=False),
        valid_days=_int_field(ctx, "valid_days") or 1825,
    )
    return seals.describe(ctx.session, ctx.user, seal)


@api(action="esign.seal_manage", body=SealUsersBody, write=True)
def set_seal_users(ctx: Ctx) -> dict[str, Any]:
    seal = seals.set_users(
        ctx.session, ctx.user, ctx.path_int("seal_id"), user_ids=ctx.body.user_ids, seal_pin=ctx.body.seal_pin
    )
    return seals.describe(ctx.session, ctx.user, seal)


def _status_endpoint(status: SealStatus, body: type[Body] | None) -> Any:
    @api(action="esign.seal_manage", body=body, write=True)
    def change(ctx: Ctx) -> dict[str, Any]:
        reason = ctx.body.reason if ctx.body is not None else ""
        seal = seals.set_status(ctx.session, ctx.user, ctx.path_int("seal_id"), status=status, reason=reason)
        return seals.describe(ctx.session, ctx.user, seal)

    change.__name__ = f"seal_{status.value}"
    return change


@api(action="esign.seal_manage")
def seal_uses(ctx: Ctx) -> dict[str, Any]:
    items = seals.uses(
        ctx.session,
        ctx.user,
        ctx.path_int("seal_id"),
        before_id=ctx.query_int("before", 0) or None,
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )
    return {"items": items, "next_before": items[-1]["id"] if items else None}


@api(action="esign.seal_manage", body=SealPolicyBody, write=True)
def set_seal_policy(ctx: Ctx) -> dict[str, Any]:
    seal = authorisations.set_required(
        ctx.session, ctx.user, ctx.path_int("seal_id"), required=ctx.body.requires_authorisation
    )
    return seals.describe(ctx.session, ctx.user, seal)


@api(action="esign.seal_manage")
def seal_authorisations(ctx: Ctx) -> dict[str, Any]:
    """The seal's 用印授权 (approved 用印申请), newest first; ``?open=1``: those with a use left."""
    items = authorisations.for_seal(
        ctx.session, ctx.user, ctx.path_int("seal_id"), open_only=ctx.query("open") in ("1", "true")
    )
    return {"items": items}


@api(action="esign.sign", write=True, multipart=True, max_bytes=SIGN_MAX_BYTES, before_write=_key_ahead)
def apply_seal(ctx: Ctx) -> Response:
    data = _file(ctx, "file", SIGN_MAX_BYTES)
    assert data is not None
    out = service.seal_docx(
        ctx.session,
        ctx.user,
        seal_id=ctx.path_int("seal_id"),
        pin=_field(ctx, "pin", limit=64),
        docx_bytes=data,
        anchor_paragraph=_int_field(ctx, "anchor_paragraph"),
        reference=_field(ctx, "reference"),
        authorisation=_int_field(ctx, "authorisation_id"),  # an id only: Issued is for server code
    )
    return _docx_response(out, _filename(ctx, "（已盖章）"))


# --- CA, log, verification (public) --------------------------------------------------------------


@api(action="public")
def chain_pem(ctx: Ctx) -> Response:
    return Response(
        service.chain_pem(ctx.session),
        media_type="application/x-pem-file",
        headers={
            "Content-Disposition": "attachment; filename=tongban-esign-chain.pem",
            "cache-control": "public, max-age=300",
        },
    )


def _crl_response(ctx: Ctx, der: bytes) -> Response:
    if ctx.query("format") == "pem":
        import base64
        import textwrap

        body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
        return Response(
            f"-----BEGIN X509 CRL-----\n{body}\n-----END X509 CRL-----\n", media_type="application/x-pem-file"
        )
    return Response(der, media_type="application/pkix-crl", headers={"cache-control": "public, max-age=300"})


@api(action="public")
def root_crl(ctx: Ctx) -> Response:
    return _crl_response(ctx, service.crl(ctx.session, None))


@api(action="public")
def agency_crl(ctx: Ctx) -> Response:
    return _crl_response(ctx, service.crl(ctx.session, ctx.path_int("agency_id")))


@api(action="public")
def log_sth(ctx: Ctx) -> dict[str, Any]:
    return tlog.signed_head(ctx.session)


@api(action="public")
def log_proof(ctx: Ctx) -> dict[str, Any]:
    tree_size = ctx.query_int("tree_size", 0, hi=2**40) or None
    return tlog.inclusion(ctx.session, ctx.query_int("leaf_index", -1, lo=0, hi=2**40), tree_size)


@api(action="public")
def log_consistency(ctx: Ctx) -> dict[str, Any]:
    second = ctx.query_int("second", 0, hi=2**40) or None
    return tlog.consistency(ctx.session, ctx.query_int("first", 0, hi=2**40), second)


async def verify(request: Request) -> Response:
    """Verify an uploaded sealed .docx or official copy, PDF or OFD (public; multipart field ``file``).

    Not wrapped in ``@api`` because that runs POST handlers inside the serialised write
    transaction: a public, CPU-bound verification must not hold the writers' lock, so it parses
    the bounded upload here and verifies in a read session in the threadpool.
    """
    if request.headers.get("origin") and not origin_allowed(request, request.headers["origin"]):
        raise PermissionDenied("请求来源不被允许", code="bad_origin")
    await run_in_threadpool(check_upload_rate, request)
    declared = request.headers.get("content-length")
    if declared and is_digits(declared) and int(declared) > VERIFY_MAX_BYTES + 64 * 1024:
        raise PayloadTooLarge(f"文件超过上限（{VERIFY_MAX_BYTES // (1024 * 1024)} MB）", code="file_too_large")
    try:
        form = await request.form(max_files=1, max_fields=5, max_part_size=VERIFY_MAX_BYTES)
    except Exception as exc:  # python-multipart / Starlette parse errors
        raise ValidationError(f"上传内容格式错误：{str(exc)[:100]}", code="bad_multipart") from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationError("请上传文件（字段 file）", code="file_required", field="file")
        data = await upload.read(VERIFY_MAX_BYTES + 1)
    finally:
        await form.close()
    if len(data) > VERIFY_MAX_BYTES:
        raise PayloadTooLarge(f"文件超过上限（{VERIFY_MAX_BYTES // (1024 * 1024)} MB）", code="file_too_large")

    def run() -> dict[str, Any]:
        with request.app.state.db.read() as session:
            return service.verify_file(session, data)

    return JSONResponse(await run_in_threadpool(run))


verify.__policy__ = "public"  # type: ignore[attr-defined]


routes = [
    Route("/api/esign/me", me, methods=["GET"]),
    Route("/api/esign/enrol", enrol, methods=["POST"]),
    Route("/api/esign/pin", change_pin, methods=["POST"]),
    Route("/api/esign/revoke", revoke_own, methods=["POST"]),
    Route("/api/esign/admin/users/{user_id:int}/revoke", revoke_user, methods=["POST"]),
    Route("/api/esign/sign-text", sign_text, methods=["POST"]),
    Route("/api/esign/sign-docx", sign_docx, methods=["POST"]),
    Route("/api/esign/signatures/{signature_id:int}", get_signature, methods=["GET"]),
    Route("/api/esign/signatures/{signature_id:int}/verify", verify_signature_text, methods=["POST"]),
    Route("/api/esign/seals", list_seals, methods=["GET"]),
    Route("/api/esign/seals", create_seal, methods=["POST"]),
    Route("/api/esign/seals/preview", preview_seal, methods=["GET"]),
    Route("/api/esign/seals/{seal_id:int}", get_seal, methods=["GET"]),
    Route("/api/esign/seals/{seal_id:int}/image", seal_image, methods=["GET"]),
    Route("/api/esign/seals/{seal_id:int}/users", set_seal_users, methods=["PUT"]),
    Route("/api/esign/seals/{seal_id:int}/suspend", _status_endpoint(SealStatus.suspended, None), methods=["POST"]),
    Route("/api/esign/seals/{seal_id:int}/resume", _status_endpoint(SealStatus.active, None), methods=["POST"]),
    Route(
        "/api/esign/seals/{seal_id:int}/revoke", _status_endpoint(SealStatus.revoked, SealRevokeBody), methods=["POST"]
    ),
    Route("/api/esign/seals/{seal_id:int}/uses", seal_uses, methods=["GET"]),
    Route("/api/esign/seals/{seal_id:int}/policy", set_seal_policy, methods=["PUT"]),
    Route("/api/esign/seals/{seal_id:int}/authorisations", seal_authorisations, methods=["GET"]),
    Route("/api/esign/seals/{seal_id:int}/apply", apply_seal, methods=["POST"]),
    Route("/api/esign/ca/chain.pem", chain_pem, methods=["GET"]),
    Route("/api/esign/ca/root/crl", root_crl, methods=["GET"]),
    Route("/api/esign/ca/{agency_id:int}/crl", agency_crl, methods=["GET"]),
    Route("/api/esign/log/sth", log_sth, methods=["GET"]),
    Route("/api/esign/log/proof", log_proof, methods=["GET"]),
    Route("/api/esign/log/consistency", log_consistency, methods=["GET"]),
    Route("/api/esign/verify", verify, methods=["POST"]),
]
