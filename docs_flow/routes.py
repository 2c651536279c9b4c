"""HTTP API for 办文: /api/docs/..."""

from __future__ import annotations

from concurrent.futures import Future
from contextlib import ExitStack
from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from docs_flow import (
    actions,
    annexes,
    discussion,
    files,
    joint_seal,
    listing,
    numbering,
    official_copy,
    output,
    revisions,
    service,
    templates,
)
from docs_flow.schemas import (
    ActionIn,
    AnnexIn,
    AnnexUpdate,
    CommentIn,
    DelegationIn,
    DocumentCreate,
    DocumentUpdate,
    JointSealIn,
    NumberIn,
    ReserveIn,
    TemplateIn,
    VoidIn,
)
from esign import credentials
from office.errors import ValidationError
from office.timefmt import iso
from office.web import Ctx, api
from workflow import delegation

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BOXES = ("todo", "done", "mine", "all")


# Documents -------------------------------------------------------------------------------------------


@api(action="document.use")
def meta(ctx: Ctx) -> dict[str, Any]:
    return listing.meta(ctx.session, ctx.user)


@api(action="document.use")
def list_documents(ctx: Ctx) -> dict[str, Any]:
    box = ctx.query("box", "todo")
    if box not in BOXES:
        raise ValidationError("box 只能是 todo / done / mine / all", code="bad_query")
    return listing.list_documents(
        ctx.session,
        ctx.user,
        box=box,
        q=ctx.query("q"),
        offset=ctx.query_int("offset", 0),
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )


@api(action="document.use", body=DocumentCreate, write=True, status=201)
def create_document(ctx: Ctx) -> dict[str, Any]:
    doc = service.check_create_document(ctx.session, ctx.user, ctx.body)
    return listing.document_detail(ctx.session, ctx.user, doc.id or 0)


@api(action="document.use")
def get_document(ctx: Ctx) -> dict[str, Any]:
    return listing.document_detail(ctx.session, ctx.user, ctx.path_int("doc_id"))


@api(action="document.use", body=DocumentUpdate, write=True)
def update_document(ctx: Ctx) -> dict[str, Any]:
    doc = service.check_update_document(ctx.session, ctx.user, ctx.path_int("doc_id"), ctx.body)
    return listing.document_detail(ctx.session, ctx.user, doc.id or 0)


def _act_ahead(ctx: Ctx) -> Any:
    """``before_write``: a 签发 or 用印 with a PIN derives the signer's key before the write lock, and
    用印 lays out, converts and measures its official copy there too (``official_copy.ahead``)."""
    if not ctx.body.pin:
        return None
    stack = ExitStack()
    for prepared in (
        credentials.unsealed_ahead(ctx.session, ctx.user, ctx.body.pin),
        official_copy.ahead(ctx.session, ctx.user, ctx.path_int("doc_id"), output.pick_seal)
        if ctx.body.action == "approve"
        else None,
    ):
        if prepared is not None:
            stack.enter_context(prepared)
    return stack


@api(action="document.use", body=ActionIn, write=True, before_write=_act_ahead)
def act(ctx: Ctx) -> dict[str, Any]:
    b: ActionIn = ctx.body
    doc_id = ctx.path_int("doc_id")
    actions.check_act(
        ctx.session,
        ctx.user,
        doc_id,
        action=b.action,
        version=b.version,
        opinion=b.opinion,
        target=b.target,
        user_id=b.user_id,
        reason=b.reason,
        pin=b.pin,
        quote_comment_id=b.quote_comment_id,
    )
    return listing.document_detail(ctx.session, ctx.user, doc_id)


def _joint_seal_ahead(ctx: Ctx) -> Any:
    """``before_write``: the keeper's signing key derived from the PIN before the write lock."""
    return credentials.unsealed_ahead(ctx.session, ctx.user, ctx.body.pin)


@api(action="document.use", body=JointSealIn, write=True, before_write=_joint_seal_ahead)
def joint_seal_document(ctx: Ctx) -> dict[str, Any]:
    doc_id = ctx.path_int("doc_id")
    joint_seal.check_seal(ctx.session, ctx.user, doc_id, version=ctx.body.version, pin=ctx.body.pin)
    return listing.document_detail(ctx.session, ctx.user, doc_id)


@api(action="document.use", body=NumberIn, write=True)
def assign_number(ctx: Ctx) -> dict[str, Any]:
    doc_id = ctx.path_int("doc_id")
    actions.check_assign_number(
        ctx.session, ctx.user, doc_id, version=ctx.body.version, reserved_id=ctx.body.reserved_id
    )
    return listing.document_detail(ctx.session, ctx.user, doc_id)


@api(action="document.use")
def versions(ctx: Ctx) -> dict[str, Any]:
    rows = revisions.list_versions(ctx.session, ctx.user, ctx.path_int("doc_id"))
    return {"items": [revisions.version_public(v) for v in rows]}


@api(action="document.use")
def version(ctx: Ctx) -> dict[str, Any]:
    row = revisions.get_version(ctx.session, ctx.user, ctx.path_int("doc_id"), ctx.path_int("no"))
    return revisions.version_public(row, full=True)


@api(action="document.use")
def diff(ctx: Ctx) -> dict[str, Any]:
    return revisions.diff_versions(
        ctx.session, ctx.user, ctx.path_int("doc_id"), ctx.query_int("a", 1, lo=1), ctx.query_int("b", 1, lo=1)
    )


@api(action="document.use")
def comments(ctx: Ctx) -> dict[str, Any]:
    rows = discussion.list_comments(ctx.session, ctx.user, ctx.path_int("doc_id"))
    return {"items": [discussion.comment_public(c) for c in rows]}


@api(action="document.use", body=CommentIn, write=True, status=201)
def add_comment(ctx: Ctx) -> dict[str, Any]:
    row = discussion.check_add_comment(ctx.session, ctx.user, ctx.path_int("doc_id"), text=ctx.body.text)
    return discussion.comment_public(row)


def _file(doc: Any, data: bytes, suffix: str, media_type: str) -> Response:
    name = quote(f"{doc.number or doc.title}.{suffix}")
    return Response(
        data, media_type=media_type, headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"}
    )


@api(action="document.use", write=True)
def download_docx(ctx: Ctx) -> Response:
    doc, data = files.render_document(ctx.session, ctx.user, ctx.path_int("doc_id"))
    return _file(doc, data, "docx", DOCX_TYPE)


@api(action="document.use", write=True)
def download_pdf(ctx: Ctx) -> Response:
    return _file(*files.official_copy(ctx.session, ctx.user, ctx.path_int("doc_id"), "pdf"), "pdf", "application/pdf")


@api(action="document.use", write=True)
def download_ofd(ctx: Ctx) -> Response:
    return _file(*files.official_copy(ctx.session, ctx.user, ctx.path_int("doc_id"), "ofd"), "ofd", "application/ofd")


@api(action="document.use", multipart=True, write=True, max_bytes=20 * 1024 * 1024)
def import_docx(ctx: Ctx) -> dict[str, Any]:
    data = _upload(ctx)[1]
    return files.check_import_docx(ctx.session, ctx.user, ctx.path_int("doc_id"), data)


@api(action="document.use", multipart=True, write=True, status=201)
def upload_attachment(ctx: Ctx) -> dict[str, Any]:
    upload, data = _upload(ctx)
    row = files.check_add_attachment(
        ctx.session,
        ctx.user,
        ctx.path_int("doc_id"),
        name=upload.filename or "附件",
        content_type=upload.content_type or "",
        data=data,
        version=_form_int(ctx, "version"),
    )
    return {"id": row.id, "name": row.name, "size": row.size, "sha256": row.sha256}


@api(action="document.use")
def download_attachment(ctx: Ctx) -> Response:
    row = files.get_attachment(ctx.session, ctx.user, ctx.path_int("doc_id"), ctx.path_int("file_id"))
    return Response(
        row.data,
        media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(row.name)}"},
    )


@api(action="document.use", multipart=True, write=True, max_bytes=20 * 1024 * 1024)
def check_file(ctx: Ctx) -> dict[str, Any]:
    """Check any Word file (prepared elsewhere) against GB/T 9704-2012."""
    return files.check_conformance(ctx.session, ctx.user, _upload(ctx)[1])


@api(action="document.use", write=True)
def document_conformance(ctx: Ctx) -> dict[str, Any]:
    """The GB/T 9704 check of this document's Word file (the sealed file once sealed)."""
    return files.document_conformance(ctx.session, ctx.user, ctx.path_int("doc_id"))


# Bound attachments (随文装订, docs_flow.annexes) ----------------------------------------------------------


@api(action="document.use")
def list_annexes(ctx: Ctx) -> dict[str, Any]:
    rows = annexes.list_annexes(ctx.session, ctx.user, ctx.path_int("doc_id"))
    return {"items": [annexes.annex_public(r) for r in rows]}


@api(action="document.use", body=AnnexIn, write=True, status=201)
def add_annex(ctx: Ctx) -> dict[str, Any]:
    b = ctx.body
    row = annexes.check_add_annex(
        ctx.session, ctx.user, ctx.path_int("doc_id"), version=b.version, title=b.title, blocks=b.blocks
    )
    return annexes.annex_public(row)


@api(action="document.use", multipart=True, write=True, status=201, max_bytes=20 * 1024 * 1024)
def import_annex(ctx: Ctx) -> dict[str, Any]:
    upload, data = _upload(ctx)
    row, taken = annexes.check_import_annex(
        ctx.session,
        ctx.user,
        ctx.path_int("doc_id"),
        version=_form_int(ctx, "version"),
        data=data,
        filename=upload.filename or "",
    )
    return {**annexes.annex_public(row), "taken": taken}


@api(action="document.use", body=AnnexUpdate, write=True)
def update_annex(ctx: Ctx) -> dict[str, Any]:
    b = ctx.body
    row = annexes.check_update_annex(
        ctx.session,
        ctx.user,
        ctx.path_int("doc_id"),
        ctx.path_int("file_id"),
        version=b.version,
        title=b.title,
        blocks=b.blocks,
        bound=b.bound,
    )
    return annexes.annex_public(row)


def _upload(ctx: Ctx) -> tuple[Any, bytes]:
    upload = ctx.form.get("file") if ctx.form is not None else None
    if upload is None or isinstance(upload, str):
        raise ValidationError("请选择要上传的文件（字段 file）", code="file_required")
    return upload, upload.file.read()


def _form_int(ctx: Ctx, name: str) -> int:
    try:
        return int(ctx.form.get(name, ""))
    except (TypeError, ValueError):
        raise ValidationError(f"缺少 {name}", code="invalid_field") from None


# Route templates ------------------------------------------------------------------------------------


@api(action="document.template.manage", write=True)  # seeds the agency's default templates on first look
def list_templates(ctx: Ctx) -> dict[str, Any]:
    return {"items": [templates.template_public(t) for t in templates.list_templates(ctx.session, ctx.user)]}


@api(action="document.template.manage", body=TemplateIn, write=True)
def save_template(ctx: Ctx) -> dict[str, Any]:
    b: TemplateIn = ctx.body
    steps = [s.model_dump(exclude_none=True) for s in b.steps]
    row = templates.check_save_template(
        ctx.session, ctx.user, doc_type=ctx.request.path_params["doc_type"], name=b.name, steps=steps
    )
    return templates.template_public(row)


# Numbers --------------------------------------------------------------------------------------------


@api(action="document.number.manage")
def list_numbers(ctx: Ctx) -> dict[str, Any]:
    rows = numbering.list_numbers(ctx.session, ctx.user, code=ctx.query("code"), year=ctx.query_int("year", 0) or None)
    return {"items": [numbering.number_public(r) for r in rows]}


@api(action="document.number.manage", body=ReserveIn, deferred_write=True, status=201)
def reserve_number(ctx: Ctx) -> Future[dict[str, Any]]:
    b: ReserveIn = ctx.body
    op = numbering.reserve_op(ctx.user, code=b.code, year=b.year, reason=b.reason)
    # Answered once the number's commit is done, after this handler's read session has closed: a
    # crowd of clerks waiting for the writer must not hold the connections it writes with.
    op.bind = lambda _session, got: numbering.number_public(got)
    return ctx.app.state.numbering.submit(op)


@api(action="document.number.manage", body=VoidIn, write=True)
def void_number(ctx: Ctx) -> dict[str, Any]:
    row = numbering.check_void(ctx.session, ctx.user, ctx.path_int("number_id"), reason=ctx.body.reason)
    return numbering.number_public(row)


# Delegation (委托) -------------------------------------------------------------------------------------


def _delegation(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "principal_id": d.principal_id,
        "deputy_id": d.deputy_id,
        "reason": d.reason,
        "starts_at": iso(d.starts_at),
        "ends_at": iso(d.ends_at),
    }


@api(action="document.use")
def list_delegations(ctx: Ctx) -> dict[str, Any]:
    return {"items": [_delegation(d) for d in delegation.delegations_of(ctx.session, ctx.user.user_id)]}


@api(action="document.use", body=DelegationIn, write=True, status=201)
def create_delegation(ctx: Ctx) -> dict[str, Any]:
    b: DelegationIn = ctx.body
    return _delegation(
        delegation.set_delegation(
            ctx.session, ctx.user, deputy_id=b.deputy_id, starts_at=b.starts_at, ends_at=b.ends_at, reason=b.reason
        )
    )


@api(action="document.use", write=True)
def revoke_delegation(ctx: Ctx) -> dict[str, Any]:
    return _delegation(delegation.revoke_delegation(ctx.session, ctx.user, ctx.path_int("delegation_id")))


routes = [
    Route("/api/docs/meta", meta, methods=["GET"]),
    Route("/api/docs/check", check_file, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/conformance", document_conformance, methods=["GET"]),
    Route("/api/docs", list_documents, methods=["GET"]),
    Route("/api/docs", create_document, methods=["POST"]),
    Route("/api/docs/templates", list_templates, methods=["GET"]),
    Route("/api/docs/templates/{doc_type}", save_template, methods=["PUT"]),
    Route("/api/docs/numbers", list_numbers, methods=["GET"]),
    Route("/api/docs/numbers", reserve_number, methods=["POST"]),
    Route("/api/docs/numbers/{number_id:int}/void", void_number, methods=["POST"]),
    Route("/api/docs/delegations", list_delegations, methods=["GET"]),
    Route("/api/docs/delegations", create_delegation, methods=["POST"]),
    Route("/api/docs/delegations/{delegation_id:int}", revoke_delegation, methods=["DELETE"]),
    Route("/api/docs/{doc_id:int}", get_document, methods=["GET"]),
    Route("/api/docs/{doc_id:int}", update_document, methods=["PUT"]),
    Route("/api/docs/{doc_id:int}/actions", act, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/number", assign_number, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/joint-seal", joint_seal_document, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/versions", versions, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/versions/{no:int}", version, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/diff", diff, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/comments", comments, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/comments", add_comment, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/docx", download_docx, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/import", import_docx, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/pdf", download_pdf, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/ofd", download_ofd, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/attachments", upload_attachment, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/attachments/{file_id:int}", download_attachment, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/attachments/{file_id:int}", update_annex, methods=["PATCH"]),
    Route("/api/docs/{doc_id:int}/annexes", list_annexes, methods=["GET"]),
    Route("/api/docs/{doc_id:int}/annexes", add_annex, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/annexes/import", import_annex, methods=["POST"]),
]

from docs_flow import incoming_routes  # noqa: E402  收文, 督办, 归档, search

routes += incoming_routes.routes
