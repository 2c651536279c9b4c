"""HTTP API for 收文 (/api/incoming), 回执, 督办 (/api/supervision), 归档 (/api/archive) and search (/api/search)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from docs_flow import (
    archive,
    circulation,
    distribution,
    incoming_handling,
    incoming_listing,
    search,
    supervision,
    supervision_dashboard,
)
from docs_flow.schemas import (
    CirculationIn,
    IncomingActionIn,
    IncomingCreate,
    IncomingUpdate,
    ReadIn,
    ReasonIn,
    RemindIn,
    ScheduleIn,
    SupervisionCreate,
)
from office.errors import ValidationError
from office.web import Ctx, api

BOXES = ("todo", "done", "reading", "all")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(data: bytes, name: str, media_type: str) -> Response:
    return Response(
        data, media_type=media_type, headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    )


# 收文 ---------------------------------------------------------------------------------------------------


@api(action="document.use")
def meta(ctx: Ctx) -> dict[str, Any]:
    return incoming_listing.meta(ctx.session, ctx.user)


@api(action="document.use")
def list_incoming(ctx: Ctx) -> dict[str, Any]:
    box = ctx.query("box", "todo")
    if box not in BOXES:
        raise ValidationError("box 只能是 todo / done / reading / all", code="bad_query")
    return incoming_listing.list_incoming(
        ctx.session,
        ctx.user,
        box=box,
        q=ctx.query("q"),
        status=ctx.query("status"),
        offset=ctx.query_int("offset", 0),
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )


@api(action="incoming.register", body=IncomingCreate, write=True, status=201)
def create_incoming(ctx: Ctx) -> dict[str, Any]:
    doc = incoming_handling.check_register_manual(ctx.session, ctx.user, **ctx.body.model_dump())
    return incoming_listing.detail(ctx.session, ctx.user, doc.id or 0)


@api(action="document.use")
def get_incoming(ctx: Ctx) -> dict[str, Any]:
    return incoming_listing.detail(ctx.session, ctx.user, ctx.path_int("incoming_id"))


@api(action="document.use", body=IncomingUpdate, write=True)
def update_incoming(ctx: Ctx) -> dict[str, Any]:
    b: IncomingUpdate = ctx.body
    changes = b.model_dump(exclude={"version"}, exclude_unset=True)
    doc = incoming_handling.check_update(
        ctx.session, ctx.user, ctx.path_int("incoming_id"), version=b.version, changes=changes
    )
    return incoming_listing.detail(ctx.session, ctx.user, doc.id or 0)


@api(action="document.use", write=True)
def delete_incoming(ctx: Ctx) -> None:
    incoming_handling.check_delete(ctx.session, ctx.user, ctx.path_int("incoming_id"))


@api(action="document.use", body=IncomingActionIn, write=True)
def act(ctx: Ctx) -> dict[str, Any]:
    b: IncomingActionIn = ctx.body
    incoming_id = ctx.path_int("incoming_id")
    incoming_handling.check_act(
        ctx.session,
        ctx.user,
        incoming_id,
        action=b.action,
        version=b.version,
        opinion=b.opinion,
        reason=b.reason,
        target=b.target,
        user_id=b.user_id,
        lead_department_id=b.lead_department_id,
        co_department_ids=b.co_department_ids,
        deadline=b.deadline,
        reply_file_ids=b.reply_file_ids,
    )
    return incoming_listing.detail(ctx.session, ctx.user, incoming_id)


@api(action="document.use", multipart=True, write=True, status=201)
def upload_file(ctx: Ctx) -> dict[str, Any]:
    upload = ctx.form.get("file") if ctx.form is not None else None
    if upload is None or isinstance(upload, str):
        raise ValidationError("请选择要上传的文件（字段 file）", code="file_required")
    role = ctx.form.get("role") or "main"
    row = incoming_handling.check_add_file(
        ctx.session,
        ctx.user,
        ctx.path_int("incoming_id"),
        role=str(role),
        name=upload.filename or "文件",
        content_type=upload.content_type or "",
        data=upload.file.read(),
    )
    return incoming_listing.file_public(row)


@api(action="document.use")
def download_file(ctx: Ctx) -> Response:
    row = incoming_handling.get_file(ctx.session, ctx.user, ctx.path_int("incoming_id"), ctx.path_int("file_id"))
    return _attachment(row.data, row.name, "application/octet-stream")


@api(action="document.use", write=True, status=201)
def start_reply(ctx: Ctx) -> dict[str, Any]:
    return {"document_id": incoming_handling.check_start_reply(ctx.session, ctx.user, ctx.path_int("incoming_id"))}


@api(action="document.use", body=CirculationIn, write=True, status=201)
def circulate(ctx: Ctx) -> dict[str, Any]:
    incoming_id = ctx.path_int("incoming_id")
    circulation.check_start(
        ctx.session, ctx.user, incoming_id, user_ids=ctx.body.user_ids, mode=ctx.body.mode, note=ctx.body.note
    )
    return incoming_listing.detail(ctx.session, ctx.user, incoming_id)


@api(action="document.use", body=ReadIn, write=True)
def mark_read(ctx: Ctx) -> dict[str, Any]:
    circ = circulation.check_read(ctx.session, ctx.user, ctx.path_int("circulation_id"), comment=ctx.body.comment)
    return incoming_listing.detail(ctx.session, ctx.user, circ.incoming_id)


@api(action="document.use")
def receipts(ctx: Ctx) -> dict[str, Any]:
    return distribution.receipts(ctx.session, ctx.user, ctx.path_int("doc_id"))


# 督办 ---------------------------------------------------------------------------------------------------


def _filters(ctx: Ctx) -> supervision_dashboard.Filters:
    dept = ctx.query_int("department_id", 0)
    return supervision_dashboard.Filters(
        source_kind=ctx.query("source"),
        department_id=dept or None,
        status=ctx.query("status"),
        deadline_from=_date(ctx, "from"),
        deadline_to=_date(ctx, "to"),
    )


def _date(ctx: Ctx, name: str) -> date | None:
    raw = ctx.query(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"参数 {name} 必须是 YYYY-MM-DD 格式的日期", code="bad_query") from None


@api(action="supervision.view")
def dashboard(ctx: Ctx) -> dict[str, Any]:
    return supervision_dashboard.dashboard(ctx.session, ctx.user, _filters(ctx))


@api(action="supervision.view")
def list_items(ctx: Ctx) -> dict[str, Any]:
    return supervision_dashboard.list_items(
        ctx.session,
        ctx.user,
        _filters(ctx),
        offset=ctx.query_int("offset", 0),
        limit=ctx.query_int("limit", 50, lo=1, hi=500),
    )


# supervision.manage is asked by the service, which knows the agency's supervision office (督查室).
@api(action="supervision.view", body=SupervisionCreate, write=True, status=201)
def create_item(ctx: Ctx) -> dict[str, Any]:
    b: SupervisionCreate = ctx.body
    row = supervision.check_create(
        ctx.session,
        ctx.user,
        title=b.title,
        deadline=b.deadline,
        owner_department_id=b.owner_department_id,
        owner_user_id=b.owner_user_id,
        note=b.note,
    )
    return supervision_dashboard.item_public(row, {}, row.created_at)


@api(action="supervision.view", body=RemindIn, write=True)
def remind(ctx: Ctx) -> dict[str, Any]:
    row = supervision.check_remind(ctx.session, ctx.user, ctx.path_int("item_id"), message=ctx.body.message)
    return supervision_dashboard.item_public(row, {}, row.created_at)


@api(action="supervision.view", body=ReasonIn, write=True)
def escalate(ctx: Ctx) -> dict[str, Any]:
    row = supervision.check_escalate(ctx.session, ctx.user, ctx.path_int("item_id"), reason=ctx.body.reason)
    return supervision_dashboard.item_public(row, {}, row.created_at)


@api(action="supervision.view", body=ReasonIn, write=True)
def complete(ctx: Ctx) -> dict[str, Any]:
    row = supervision.check_complete(ctx.session, ctx.user, ctx.path_int("item_id"), note=ctx.body.reason)
    return supervision_dashboard.item_public(row, {}, row.created_at)


@api(action="supervision.view", write=True)
def export(ctx: Ctx) -> Response:
    fmt = ctx.query("format", "xlsx")
    data = supervision_dashboard.check_export(ctx.session, ctx.user, _filters(ctx), fmt=fmt)
    media = XLSX_TYPE if fmt == "xlsx" else "text/csv; charset=utf-8"
    return _attachment(data, f"督办事项.{fmt}", media)


@api(action="supervision.view")
def get_schedule(ctx: Ctx) -> dict[str, Any]:
    return supervision.get_schedule(ctx.session)


@api(action="settings.manage", body=ScheduleIn, write=True)
def set_schedule(ctx: Ctx) -> dict[str, Any]:
    return supervision.check_set_schedule(ctx.session, ctx.user, ctx.body.model_dump())


# 归档 ---------------------------------------------------------------------------------------------------


@api(action="document.use")
def list_archive(ctx: Ctx) -> dict[str, Any]:
    return archive.list_packages(
        ctx.session,
        ctx.user,
        kind=ctx.query("kind"),
        q=ctx.query("q"),
        year=ctx.query_int("year", 0, hi=2100) or None,
        offset=ctx.query_int("offset", 0),
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )


@api(action="document.use")
def get_archive(ctx: Ctx) -> dict[str, Any]:
    return archive.package_public(archive.access_package(ctx.session, ctx.user, ctx.path_int("archive_id")))


@api(action="document.use", write=True)
def download_archive(ctx: Ctx) -> Response:
    row = archive.download(ctx.session, ctx.user, ctx.path_int("archive_id"))
    return _attachment(row.data, f"{row.number or row.title}.zip", "application/zip")


@api(action="document.use")
def verify_archive(ctx: Ctx) -> dict[str, Any]:
    return archive.verify(ctx.session, ctx.user, ctx.path_int("archive_id"))


@api(action="archive.destroy", body=ReasonIn, write=True)
def destroy_archive(ctx: Ctx) -> dict[str, Any]:
    row = archive.check_destroy(ctx.session, ctx.user, ctx.path_int("archive_id"), reason=ctx.body.reason)
    return archive.package_public(row)


# Search ---------------------------------------------------------------------------------------------------


@api(action="document.use")
def search_documents(ctx: Ctx) -> dict[str, Any]:
    return search.search(
        ctx.session,
        ctx.user,
        ctx.query("q"),
        kind=ctx.query("kind"),
        year=ctx.query_int("year", 0, hi=2100) or None,
        agency=ctx.query("agency"),
        status=ctx.query("status"),
        date_from=ctx.query("from"),
        date_to=ctx.query("to"),
        doc_type=ctx.query("doc_type"),
        offset=ctx.query_int("offset", 0, hi=10_000),
        limit=ctx.query_int("limit", 20, lo=1, hi=100),
    )


routes = [
    Route("/api/incoming/meta", meta, methods=["GET"]),
    Route("/api/incoming", list_incoming, methods=["GET"]),
    Route("/api/incoming", create_incoming, methods=["POST"]),
    Route("/api/incoming/{incoming_id:int}", get_incoming, methods=["GET"]),
    Route("/api/incoming/{incoming_id:int}", update_incoming, methods=["PUT"]),
    Route("/api/incoming/{incoming_id:int}", delete_incoming, methods=["DELETE"]),
    Route("/api/incoming/{incoming_id:int}/actions", act, methods=["POST"]),
    Route("/api/incoming/{incoming_id:int}/files", upload_file, methods=["POST"]),
    Route("/api/incoming/{incoming_id:int}/files/{file_id:int}", download_file, methods=["GET"]),
    Route("/api/incoming/{incoming_id:int}/reply", start_reply, methods=["POST"]),
    Route("/api/incoming/{incoming_id:int}/circulations", circulate, methods=["POST"]),
    Route("/api/incoming/circulations/{circulation_id:int}/read", mark_read, methods=["POST"]),
    Route("/api/docs/{doc_id:int}/receipts", receipts, methods=["GET"]),
    Route("/api/supervision/dashboard", dashboard, methods=["GET"]),
    Route("/api/supervision/items", list_items, methods=["GET"]),
    Route("/api/supervision/items", create_item, methods=["POST"]),
    Route("/api/supervision/items/{item_id:int}/remind", remind, methods=["POST"]),
    Route("/api/supervision/items/{item_id:int}/escalate", escalate, methods=["POST"]),
    Route("/api/supervision/items/{item_id:int}/complete", complete, methods=["POST"]),
    Route("/api/supervision/export", export, methods=["GET"]),
    Route("/api/supervision/schedule", get_schedule, methods=["GET"]),
    Route("/api/supervision/schedule", set_schedule, methods=["PUT"]),
    Route("/api/archive", list_archive, methods=["GET"]),
    Route("/api/archive/{archive_id:int}", get_archive, methods=["GET"]),
    Route("/api/archive/{archive_id:int}/download", download_archive, methods=["GET"]),
    Route("/api/archive/{archive_id:int}/verify", verify_archive, methods=["GET"]),
    Route("/api/archive/{archive_id:int}/destroy", destroy_archive, methods=["POST"]),
    Route("/api/search", search_documents, methods=["GET"]),
]
