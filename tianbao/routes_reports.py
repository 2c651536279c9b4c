"""HTTP API of 数据填报's offline returns, summaries and burden report (thin: the rules are in
``tianbao.xlsx``, ``tianbao.summary``, ``tianbao.sensitive`` and ``tianbao.burden``). ``ROUTES`` is
included by ``tianbao.routes``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from office.errors import ValidationError
from office.web import Ctx, api
from tianbao import burden, returns, summary, tasks, xlsx

P = "/api/tianbao"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type=XLSX,
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}", "cache-control": "no-store"},
    )


def _form_int(ctx: Ctx, name: str) -> int:
    raw = ctx.form.get(name, "") if ctx.form is not None else ""
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"缺少或无效的 {name}", code="invalid_field", field=name) from None


# Offline returns ---------------------------------------------------------------------------------


@api(action="tianbao.use", write=True)  # the filler's or reviewer's first download opens it (and prefills it)
def download_return(ctx: Ctx) -> Response:
    ret = returns.get_return_for(ctx.session, ctx.user, ctx.path_int("return_id"))
    return _download(*xlsx.download(ctx.session, ctx.user, ret))


@api(action="tianbao.use", multipart=True, write=True, max_bytes=xlsx.MAX_BYTES)
def upload_return(ctx: Ctx) -> dict[str, Any]:
    """Every cell checked before anything is stored: one 422 ``xlsx_invalid`` names each bad one."""
    upload = ctx.form.get("file") if ctx.form is not None else None
    if upload is None or isinstance(upload, str):
        raise ValidationError("请选择要上传的填报表（字段 file）", code="file_required", field="file")
    version = _form_int(ctx, "version")
    ret = returns.get_return_for(ctx.session, ctx.user, ctx.path_int("return_id"))
    saved = xlsx.upload(ctx.session, ctx.user, ret, upload.file.read(xlsx.MAX_BYTES + 1), version)
    return returns.form(ctx.session, ctx.user, saved)


# Summaries ---------------------------------------------------------------------------------------


@api(action="tianbao.use")
def task_summary(ctx: Ctx) -> dict[str, Any]:
    task = tasks.get_task_for_collector(ctx.session, ctx.user, ctx.path_int("task_id"))
    return summary.summary(ctx.session, task, level=ctx.query("level", "agency"), compare=ctx.query("compare") != "0")


@api(action="tianbao.use", write=True)  # audited
def task_summary_xlsx(ctx: Ctx) -> Response:
    task = tasks.get_task_for_collector(ctx.session, ctx.user, ctx.path_int("task_id"))
    data = summary.export(ctx.session, ctx.user, task, level=ctx.query("level", "agency"))
    return _download(data, f"{task.title}-汇总.xlsx")


# The burden report -------------------------------------------------------------------------------


@api(action="tianbao.use")
def burden_report(ctx: Ctx) -> dict[str, Any]:
    unit = ctx.query_int("unit_id", 0, hi=2**31)
    return burden.burden(ctx.session, ctx.user, month=ctx.query("month"), unit_id=unit or None)


@api(action="tianbao.use")
def burden_collectors(ctx: Ctx) -> dict[str, Any]:
    return burden.collectors(ctx.session, ctx.user, month=ctx.query("month"))


ROUTES = [
    Route(P + "/returns/{return_id:int}/xlsx", download_return, methods=["GET"]),
    Route(P + "/returns/{return_id:int}/xlsx", upload_return, methods=["POST"]),
    Route(P + "/tasks/{task_id:int}/summary", task_summary, methods=["GET"]),
    Route(P + "/tasks/{task_id:int}/summary.xlsx", task_summary_xlsx, methods=["GET"]),
    Route(P + "/burden", burden_report, methods=["GET"]),
    Route(P + "/burden/collectors", burden_collectors, methods=["GET"]),
]
