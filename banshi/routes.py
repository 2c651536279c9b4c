"""HTTP API of 办事 under ``/api/banshi`` (thin: every rule is in the service modules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.responses import Response
from starlette.routing import Route

from banshi import (
    actions,
    files,
    leaders,
    listing,
    notices,
    routes_people,
    routes_proof,
    service,
    startup,
    submission,
    templates,
)
from banshi.models import ApprovalRequest
from banshi.preview import preview as preview_request
from banshi.schemas import (
    ActionIn,
    BatchIn,
    DraftIn,
    LeadersIn,
    OfficesIn,
    PreviewIn,
    RequestCreate,
    RequestUpdate,
    SubmitIn,
    TemplateCreate,
    TemplateUpdate,
)
from banshi.submit_batch import CreateOp
from office.errors import ValidationError
from office.web import Ctx, api, check_upload_rate

P = "/api/banshi"
MAX_FILE_BYTES = 20 * 1024 * 1024


def _detail(ctx: Ctx, request_id: int) -> dict[str, Any]:
    req = service.access_request(ctx.session, ctx.user, request_id)
    return listing.request_detail(ctx.session, ctx.user, req)


# Starting a request --------------------------------------------------------------------------------


def _with_builtins(ctx: Ctx, listing_of: Callable[[Session], dict[str, Any]]) -> dict[str, Any]:
    """An agency created after start-up gets its built-in forms the first time a form list is opened.
    No event says an agency was created (``office.directory`` publishes none, and the CLI creates
    them in another process), so they are given where they are first needed; the write happens only
    while the agency has no form at all, and the list then comes from that write (the read's snapshot predates
    the new forms). Every later list is a plain read."""
    agency_id = ctx.user.agency_id
    if agency_id is None or not startup.lacks_builtins(ctx.session, agency_id):
        return listing_of(ctx.session)
    with ctx.app.state.db.write() as session:
        startup.give_builtins(session, agency_id)
        return listing_of(session)


@api(action="banshi.use")
def list_templates(ctx: Ctx) -> dict[str, Any]:
    return _with_builtins(ctx, lambda s: templates.grouped(templates.published_templates(s, ctx.user)))


@api(action="banshi.use")
def get_template(ctx: Ctx) -> dict[str, Any]:
    t, v = templates.template_for_use(ctx.session, ctx.user, ctx.path_int("template_id"))
    return templates.template_public(t, v)


@api(action="banshi.use", body=PreviewIn)
def preview(ctx: Ctx) -> dict[str, Any]:
    b: PreviewIn = ctx.body
    return preview_request(ctx.session, ctx.user, template_id=b.template_id, values=b.values, partial=b.partial)


@api(action="banshi.use", body=RequestCreate, deferred_write=True, status=201)
def create_request(ctx: Ctx) -> Any:
    """New requests share durable commits (``app.state.banshi_commit``, ``office.groupcommit``): checked
    and resolved here, then written by the shared writer with the others queued meanwhile
    (``banshi.submit_batch``). The writer's future is returned as it is: the answer goes out once that
    commit is done, awaited on the event loop, so no thread (nor this read session) is held meanwhile.

    The answer is the request as the lists show it (id, serial, status, version...), built by the writer
    from what it wrote (nothing is read back), not its page: the web form only opens ``/banshi/r/{id}``,
    which asks for the page anyway, and building the page here cost more than the submit itself (about
    25 statements: route picture, buttons, 抄送, files)."""
    b: RequestCreate = ctx.body
    # Checked and resolved here, on this handler's read snapshot and in its thread: the shared writer
    # only writes (``submission.write_create`` checks again what may have changed since).
    draft = submission.prepare_create(
        ctx.session, ctx.user, template_id=b.template_id, values=b.values, client_id=b.client_id, submit=b.submit
    )
    if isinstance(draft, ApprovalRequest):  # a retry of a create already made: its request as it is now
        return listing.items_public(ctx.session, [draft])[0]
    return ctx.app.state.banshi_commit.submit(CreateOp(draft))


# Requests --------------------------------------------------------------------------------------------


@api(action="banshi.use")
def list_requests(ctx: Ctx) -> dict[str, Any]:
    template = ctx.query_int("template_id", 0, lo=0, hi=2**31)
    return listing.list_requests(
        ctx.session,
        ctx.user,
        box=ctx.query("box", "todo"),
        template_id=template or None,
        status=ctx.query("status"),
        q=ctx.query("q"),
        date_from=ctx.query("date_from"),
        date_to=ctx.query("date_to"),
        cursor=ctx.query("cursor"),
        limit=ctx.query_int("limit", 20, lo=1, hi=100),
    )


@api(action="banshi.use", write=True)  # opening it marks one's 抄送 read
def get_request(ctx: Ctx) -> dict[str, Any]:
    req = service.access_request(ctx.session, ctx.user, ctx.path_int("request_id"))
    notices.mark_cc_read(ctx.session, ctx.user, req)
    return listing.request_detail(ctx.session, ctx.user, req)


@api(action="banshi.use", body=RequestUpdate, write=True)
def update_request(ctx: Ctx) -> dict[str, Any]:
    b: RequestUpdate = ctx.body
    req = submission.update_request(
        ctx.session, ctx.user, ctx.path_int("request_id"), values=b.values, version=b.version
    )
    return listing.request_detail(ctx.session, ctx.user, req)


@api(action="banshi.use", body=SubmitIn, write=True)
def submit_request(ctx: Ctx) -> dict[str, Any]:
    req = submission.submit_request(ctx.session, ctx.user, ctx.path_int("request_id"), version=ctx.body.version)
    return listing.request_detail(ctx.session, ctx.user, req)


def _act(ctx: Ctx, action: str) -> dict[str, Any]:
    b: ActionIn = ctx.body
    req = actions.act(
        ctx.session,
        ctx.user,
        ctx.path_int("request_id"),
        action,
        version=b.version,
        opinion=b.opinion,
        target=b.target,
        user_id=b.user_id,
        user_ids=b.user_ids,
        position=b.position,
        file_ids=b.file_ids,
    )
    return listing.request_detail(ctx.session, ctx.user, req)


def _action_endpoint(action: str) -> Any:
    """One endpoint per action (同意, 拒绝, ...), named for it (OpenAPI operation ids are unique)."""

    def handler(ctx: Ctx) -> dict[str, Any]:
        return _act(ctx, action)

    handler.__name__ = handler.__qualname__ = action
    handler.__doc__ = f"{actions.VERBS[action]}（{action}）"
    return api(action="banshi.use", body=ActionIn, write=True)(handler)


@api(action="banshi.use", body=BatchIn, write=True)
def batch_approve(ctx: Ctx) -> dict[str, Any]:
    b: BatchIn = ctx.body
    return actions.batch_approve(ctx.session, ctx.user, [(i.id, i.version) for i in b.items], opinion=b.opinion)


# Files -----------------------------------------------------------------------------------------------


def _upload_rate(ctx: Ctx) -> None:
    """``before_write``: a raw upload counts against the same per-user and per-address upload limits as
    a multipart one (``office.web.check_upload_rate``), checked before the write lock is taken."""
    check_upload_rate(ctx.request)


@api(action="banshi.use", write=True, raw=True, status=201, max_bytes=MAX_FILE_BYTES, before_write=_upload_rate)
def upload_file(ctx: Ctx) -> dict[str, Any]:
    name = ctx.query("name").strip()
    if not name:
        raise ValidationError("请在地址中给出文件名（name）", code="name_required", field="name")
    row = files.upload(
        ctx.session,
        ctx.user,
        name=name,
        content_type=ctx.request.headers.get("content-type", ""),
        data=ctx.raw,
    )
    return {"id": row.id, "name": row.name, "size": row.size}


@api(action="banshi.use", write=True)  # audited
def download_file(ctx: Ctx) -> Response:
    row = files.get_file(ctx.session, ctx.user, ctx.path_int("file_id"))
    return Response(
        row.data,
        media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(row.name)}"},
    )


# Templates (administrators) ------------------------------------------------------------------------


@api(action="banshi.template.manage")
def admin_list_templates(ctx: Ctx) -> dict[str, Any]:
    def items(s: Session) -> dict[str, Any]:
        return {"items": [templates.admin_public(s, t) for t in templates.admin_templates(s, ctx.user)]}

    return _with_builtins(ctx, items)


@api(action="banshi.template.manage", body=TemplateCreate, write=True, status=201)
def admin_create_template(ctx: Ctx) -> dict[str, Any]:
    b: TemplateCreate = ctx.body
    t = templates.create_template(
        ctx.session, ctx.user, name=b.name, category=b.category, description=b.description, code=b.code
    )
    return templates.admin_public(ctx.session, t)


@api(action="banshi.template.manage", body=TemplateUpdate, write=True)
def admin_update_template(ctx: Ctx) -> dict[str, Any]:
    b: TemplateUpdate = ctx.body
    t = templates.update_template(
        ctx.session,
        ctx.user,
        ctx.path_int("template_id"),
        name=b.name,
        category=b.category,
        description=b.description,
        reader_department_ids=b.reader_department_ids,
        status=b.status,
        sort=b.sort,
    )
    return templates.admin_public(ctx.session, t)


@api(action="banshi.template.manage", write=True)  # makes the draft from the published version if none
def admin_get_draft(ctx: Ctx) -> dict[str, Any]:
    return templates.version_public(templates.get_draft(ctx.session, ctx.user, ctx.path_int("template_id")))


@api(action="banshi.template.manage", body=DraftIn, write=True)
def admin_save_draft(ctx: Ctx) -> dict[str, Any]:
    b: DraftIn = ctx.body
    v = templates.save_draft(
        ctx.session,
        ctx.user,
        ctx.path_int("template_id"),
        fields_raw=b.fields,
        route_raw=b.route,
        options_raw=b.options,
    )
    return templates.version_public(v)


@api(action="banshi.template.manage", write=True)
def admin_publish(ctx: Ctx) -> dict[str, Any]:
    return templates.version_public(templates.publish(ctx.session, ctx.user, ctx.path_int("template_id")))


# 分管领导, 主要领导 and the agency's offices (administrators) -------------------------------------------


@api(action="banshi.leaders.manage")
def admin_leaders(ctx: Ctx) -> dict[str, Any]:
    return leaders.leaders_view(ctx.session, ctx.user)


@api(action="banshi.leaders.manage", body=LeadersIn, write=True)
def admin_set_leaders(ctx: Ctx) -> dict[str, Any]:
    return leaders.set_leaders(ctx.session, ctx.user, ctx.body.model_dump())


@api(action="banshi.leaders.manage")
def admin_offices(ctx: Ctx) -> dict[str, Any]:
    return leaders.offices_view(ctx.session, ctx.user)


@api(action="banshi.leaders.manage", body=OfficesIn, write=True)
def admin_set_offices(ctx: Ctx) -> dict[str, Any]:
    return leaders.set_offices(ctx.session, ctx.user, ctx.body.model_dump())


R = P + "/requests/{request_id:int}"
T = P + "/admin/templates/{template_id:int}"
routes = [
    Route(P + "/templates", list_templates, methods=["GET"]),
    Route(P + "/templates/{template_id:int}", get_template, methods=["GET"]),
    Route(P + "/preview", preview, methods=["POST"]),
    Route(P + "/requests", list_requests, methods=["GET"]),
    Route(P + "/requests", create_request, methods=["POST"]),
    Route(P + "/requests/batch-approve", batch_approve, methods=["POST"]),
    Route(R, get_request, methods=["GET"]),
    Route(R, update_request, methods=["PUT"]),
    Route(R + "/submit", submit_request, methods=["POST"]),
    *(Route(f"{R}/{action}", _action_endpoint(action), methods=["POST"]) for action in actions.ACTIONS),
    Route(P + "/files", upload_file, methods=["POST"]),
    Route(P + "/files/{file_id:int}", download_file, methods=["GET"]),
    Route(P + "/admin/templates", admin_list_templates, methods=["GET"]),
    Route(P + "/admin/templates", admin_create_template, methods=["POST"]),
    Route(T, admin_update_template, methods=["PUT"]),
    Route(T + "/draft", admin_get_draft, methods=["GET"]),
    Route(T + "/draft", admin_save_draft, methods=["PUT"]),
    Route(T + "/publish", admin_publish, methods=["POST"]),
    Route(P + "/admin/leaders", admin_leaders, methods=["GET"]),
    Route(P + "/admin/leaders", admin_set_leaders, methods=["PUT"]),
    Route(P + "/admin/offices", admin_offices, methods=["GET"]),
    Route(P + "/admin/offices", admin_set_offices, methods=["PUT"]),
    *routes_people.routes,  # leave, personnel records, travel standards, ledgers
    *routes_proof.routes,  # the proof's QR and verification, the 用印申请's seals
]
