"""HTTP routes for meetings: parse, call one service function, serialise."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from meetings import (
    access,
    booking,
    content,
    ics,
    invitations,
    minutes,
    planning,
    rooms,
    scheduling,
    service,
    signin,
)
from meetings import schemas as s
from meetings.schemas import parse_aware
from office import workcal
from office.errors import ValidationError
from office.timefmt import iso
from office.web import Ctx, api


def _optional_time(ctx: Ctx, name: str) -> dt.datetime | None:
    raw = ctx.query(name)
    if not raw:
        return None
    try:
        return parse_aware(raw)
    except ValueError as exc:
        raise ValidationError(f"参数 {name}：{exc}", code="bad_query") from None


def _time(ctx: Ctx, name: str) -> dt.datetime:
    value = _optional_time(ctx, name)
    if value is None:
        raise ValidationError(f"缺少参数 {name}", code="bad_query")
    return value


def _ids(ctx: Ctx, name: str) -> list[int]:
    raw = ctx.query(name)
    try:
        ids = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ValidationError(f"参数 {name} 应为逗号分隔的整数", code="bad_query") from None
    if len(ids) > 500:
        raise ValidationError(f"参数 {name} 最多 500 个", code="bad_query")
    return ids


def _download(data: bytes, name: str, media_type: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type=media_type,
        headers={"content-disposition": f"{disposition}; filename=\"download\"; filename*=UTF-8''{quote(name)}"},
    )


def _booking(result: booking.BookingResult, ctx: Ctx) -> dict[str, Any]:
    m = result.meeting
    return {
        "meeting": invitations.meeting_public(ctx.session, ctx.user, m, access.relation(ctx.session, ctx.user, m)),
        "attendee_conflicts": result.attendee_conflicts,
        "skipped": [iso(x) for x in result.skipped],
    }


# Rooms -------------------------------------------------------------------------------------------


@api(action="authenticated")
def list_rooms(ctx: Ctx) -> dict[str, Any]:
    items = rooms.list_rooms(ctx.session, ctx.user, agency_id=ctx.query_int("agency_id", 0) or None)
    start, end = _optional_time(ctx, "start"), _optional_time(ctx, "end")
    out = [rooms.room_public(r) for r in items]
    if start and end:
        busy = scheduling.rooms_busy(ctx.session, [r.id for r in items if r.id], start, end)
        for room in out:
            room["busy"] = [{"start": iso(b.start), "end": iso(b.end), "kind": b.kind} for b in busy[room["id"]]]
            room["free"] = not busy[room["id"]]
    return {"items": out}


@api(action="meeting.room.manage", body=s.RoomIn, write=True, status=201)
def create_room(ctx: Ctx) -> dict[str, Any]:
    return rooms.room_public(rooms.create_room(ctx.session, ctx.user, **ctx.body.model_dump()))


@api(action="meeting.room.manage", body=s.RoomUpdate, write=True)
def update_room(ctx: Ctx) -> dict[str, Any]:
    return rooms.room_public(rooms.update_room(ctx.session, ctx.user, ctx.path_int("room_id"), **ctx.body.model_dump()))


@api(action="meeting.room.manage", body=s.BlockIn, write=True, status=201)
def add_block(ctx: Ctx) -> dict[str, Any]:
    b = rooms.add_block(
        ctx.session, ctx.user, ctx.path_int("room_id"), start=ctx.body.start, end=ctx.body.end, reason=ctx.body.reason
    )
    return {"id": b.id, "room_id": b.room_id, "start": iso(b.start_at), "end": iso(b.end_at), "reason": b.reason}


@api(action="meeting.room.manage", write=True)
def remove_block(ctx: Ctx) -> None:
    rooms.remove_block(ctx.session, ctx.user, ctx.path_int("room_id"), ctx.path_int("block_id"))


# Working calendar --------------------------------------------------------------------------------


@api(action="authenticated")
def calendar_year(ctx: Ctx) -> dict[str, Any]:
    year = ctx.path_int("year")
    return {
        "year": year,
        "days": [
            {"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name}
            for d in workcal.year_days(ctx.session, year)
        ],
    }


@api(action="calendar.manage", body=s.CalendarYear, write=True)
def load_calendar_year(ctx: Ctx) -> dict[str, Any]:
    rows = workcal.do_load_year(
        ctx.session, ctx.user, year=ctx.path_int("year"), days=[d.model_dump() for d in ctx.body.days]
    )
    return {"year": ctx.path_int("year"), "loaded": len(rows)}


# Scheduling --------------------------------------------------------------------------------------


@api(action="authenticated")
def list_meetings(ctx: Ctx) -> dict[str, Any]:
    items = invitations.list_occurrences(ctx.session, ctx.user, start=_time(ctx, "start"), end=_time(ctx, "end"))
    return {"items": items}


@api(action="meeting.create", body=s.MeetingCreate, write=True, status=201)
def create_meeting(ctx: Ctx) -> dict[str, Any]:
    return _booking(booking.check_create_meeting(ctx.session, ctx.user, body=ctx.body), ctx)


@api(action="meeting.read")
def get_meeting(ctx: Ctx) -> dict[str, Any]:
    meeting, rel = access.access_meeting(ctx.session, ctx.user, ctx.path_int("meeting_id"))
    return invitations.meeting_public(ctx.session, ctx.user, meeting, rel)


@api(action="meeting.manage", body=s.MeetingUpdate, write=True)
def update_meeting(ctx: Ctx) -> dict[str, Any]:
    return _booking(service.check_update_meeting(ctx.session, ctx.user, ctx.path_int("meeting_id"), body=ctx.body), ctx)


@api(action="meeting.manage", body=s.OccurrenceSkip, write=True)
def skip_occurrence(ctx: Ctx) -> dict[str, Any]:
    m = service.skip_occurrence(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), original_start=ctx.body.occurrence_start
    )
    return {"id": m.id, "sequence": m.sequence}


@api(action="meeting.manage", body=s.CancelIn, write=True)
def cancel_meeting(ctx: Ctx) -> dict[str, Any]:
    m = service.cancel_meeting(ctx.session, ctx.user, ctx.path_int("meeting_id"), reason=ctx.body.reason)
    return {"id": m.id, "status": m.status.value}


@api(action="meeting.approve", body=s.Decision, write=True)
def decide(ctx: Ctx) -> dict[str, Any]:
    m = service.decide_approval(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), approve=ctx.body.approve, comment=ctx.body.comment
    )
    return {"id": m.id, "status": m.status.value}


@api(action="authenticated")
def approvals(ctx: Ctx) -> dict[str, Any]:
    return {"items": invitations.pending_approvals(ctx.session, ctx.user)}


@api(action="authenticated", body=s.DraftCheck, write=False)
def check_draft(ctx: Ctx) -> dict[str, Any]:
    return planning.check_draft(ctx.session, ctx.user, body=ctx.body)


@api(action="authenticated")
def freebusy(ctx: Ctx) -> dict[str, Any]:
    return planning.freebusy(
        ctx.session,
        ctx.user,
        user_ids=_ids(ctx, "user_ids"),
        room_ids=_ids(ctx, "room_ids"),
        start=_time(ctx, "start"),
        end=_time(ctx, "end"),
    )


@api(action="authenticated", body=s.SlotQuery)
def find_slots(ctx: Ctx) -> dict[str, Any]:
    return planning.find_slots(ctx.session, ctx.user, body=ctx.body)


# Invitations -------------------------------------------------------------------------------------


@api(action="meeting.manage", body=s.AttendeesAdd, write=True)
def add_attendees(ctx: Ctx) -> dict[str, Any]:
    return invitations.add_attendees(
        ctx.session,
        ctx.user,
        ctx.path_int("meeting_id"),
        attendees=ctx.body.attendees,
        departments=ctx.body.departments,
    )


@api(action="meeting.manage", write=True)
def remove_attendee(ctx: Ctx) -> None:
    invitations.remove_attendee(ctx.session, ctx.user, ctx.path_int("meeting_id"), ctx.path_int("user_id"))


@api(action="meeting.read", body=s.RsvpIn, write=True)
def rsvp(ctx: Ctx) -> dict[str, Any]:
    row = invitations.do_rsvp(
        ctx.session,
        ctx.user,
        ctx.path_int("meeting_id"),
        status=ctx.body.status,
        reason=ctx.body.reason,
        substitute_id=ctx.body.substitute_id,
    )
    return {"meeting_id": row.meeting_id, "rsvp": row.rsvp.value, "reason": row.reason}


@api(action="meeting.nominate", body=s.Nominate, write=True)
def nominate(ctx: Ctx) -> dict[str, Any]:
    return invitations.nominate(
        ctx.session,
        ctx.user,
        ctx.path_int("meeting_id"),
        agency_id=ctx.path_int("agency_id"),
        user_ids=ctx.body.user_ids,
        role=ctx.body.role,
    )


@api(action="meeting.manage")
def signups(ctx: Ctx) -> dict[str, Any]:
    return invitations.get_signups(ctx.session, ctx.user, ctx.path_int("meeting_id"))


# Agenda and materials ----------------------------------------------------------------------------


@api(action="meeting.materials")
def get_agenda(ctx: Ctx) -> dict[str, Any]:
    return {"items": content.get_agenda(ctx.session, ctx.user, ctx.path_int("meeting_id"))}


@api(action="meeting.manage", body=s.AgendaIn, write=True)
def set_agenda(ctx: Ctx) -> dict[str, Any]:
    return {"items": content.set_agenda(ctx.session, ctx.user, ctx.path_int("meeting_id"), items=ctx.body.items)}


@api(action="meeting.materials")
def list_materials(ctx: Ctx) -> dict[str, Any]:
    return {"items": content.list_materials(ctx.session, ctx.user, ctx.path_int("meeting_id"))}


@api(action="meeting.materials", body=s.LinkIn, write=True, status=201)
def add_link(ctx: Ctx) -> dict[str, Any]:
    return content.material_public(
        content.add_link(ctx.session, ctx.user, ctx.path_int("meeting_id"), name=ctx.body.name, url=ctx.body.url)
    )


@api(action="meeting.materials", multipart=True, write=True, status=201)
def upload_material(ctx: Ctx) -> dict[str, Any]:
    upload = ctx.form.get("file")
    if upload is None or isinstance(upload, str):
        raise ValidationError("请选择要上传的文件（字段 file）", code="file_required")
    data = upload.file.read(content.MAX_FILE + 1)
    m = content.add_file(
        ctx.session,
        ctx.user,
        ctx.path_int("meeting_id"),
        data_dir=ctx.settings.data_dir,
        name=upload.filename or "材料",
        content=data,
        content_type=upload.content_type or "",
    )
    return content.material_public(m)


@api(action="meeting.materials")
def download_material(ctx: Ctx) -> Response:
    m, data = content.open_material(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), ctx.path_int("material_id"), data_dir=ctx.settings.data_dir
    )
    return _download(data, m.name, "application/octet-stream")


@api(action="meeting.materials", write=True)
def remove_material(ctx: Ctx) -> None:
    content.remove_material(ctx.session, ctx.user, ctx.path_int("meeting_id"), ctx.path_int("material_id"))


# Sign-in -----------------------------------------------------------------------------------------


@api(action="meeting.manage")
def signin_screen(ctx: Ctx) -> dict[str, Any]:
    base = str(ctx.request.base_url)
    return signin.screen(ctx.session, ctx.user, ctx.path_int("meeting_id"), base_url=base)


@api(action="meeting.read", body=s.SignInBody, write=True, status=201)
def sign_in(ctx: Ctx) -> dict[str, Any]:
    row = signin.sign_in(ctx.session, ctx.user, ctx.path_int("meeting_id"), code=ctx.body.code)
    return {
        "meeting_id": row.meeting_id,
        "signed_at": iso(row.signed_at),
        "method": row.method,
        "occurrence_start": iso(row.occurrence_start),
    }


@api(action="meeting.manage")
def attendance(ctx: Ctx) -> dict[str, Any]:
    return signin.attendance(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), occurrence_start=_optional_time(ctx, "occurrence")
    )


@api(action="meeting.manage")
def attendance_csv(ctx: Ctx) -> Response:
    report = signin.attendance(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), occurrence_start=_optional_time(ctx, "occurrence")
    )
    return _download(signin.attendance_csv(report), f"签到表-{report['meeting_id']}.csv", "text/csv; charset=utf-8")


# Minutes -----------------------------------------------------------------------------------------


@api(action="meeting.materials")
def get_minutes(ctx: Ctx) -> dict[str, Any]:
    return minutes.get_minutes(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), occurrence=_optional_time(ctx, "occurrence")
    )


@api(action="meeting.manage", body=s.MinutesIn, write=True)
def save_minutes(ctx: Ctx) -> dict[str, Any]:
    return minutes.save_minutes(
        ctx.session,
        ctx.user,
        ctx.path_int("meeting_id"),
        occurrence=_optional_time(ctx, "occurrence"),
        body=ctx.body,
    )


@api(action="meeting.manage", write=True)
def supervise_task(ctx: Ctx) -> dict[str, Any]:
    task = minutes.supervise_task(ctx.session, ctx.user, ctx.path_int("meeting_id"), ctx.path_int("task_id"))
    return {"id": task.id, "supervised_at": iso(task.supervised_at)}


@api(action="meeting.materials")
def minutes_docx(ctx: Ctx) -> Response:
    name, data = minutes.render_docx(
        ctx.session, ctx.user, ctx.path_int("meeting_id"), occurrence=_optional_time(ctx, "occurrence")
    )
    return _download(data, name, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


# Calendar files ----------------------------------------------------------------------------------


@api(action="meeting.read")
def meeting_ics(ctx: Ctx) -> Response:
    name, data = ics.meeting_ics(ctx.session, ctx.user, ctx.path_int("meeting_id"))
    return _download(data, name, "text/calendar; charset=utf-8")


@api(action="authenticated")
def feed_status(ctx: Ctx) -> dict[str, Any]:
    return ics.token_status(ctx.session, ctx.user)


@api(action="authenticated", write=True)
def feed_regenerate(ctx: Ctx) -> dict[str, Any]:
    token = ics.regenerate_token(ctx.session, ctx.user)
    url = f"{str(ctx.request.base_url).rstrip('/')}/api/meetings/feed/{token}.ics"
    return {"url": url, "webcal": url.replace("https://", "webcal://").replace("http://", "webcal://")}


@api(action="authenticated", write=True)
def feed_revoke(ctx: Ctx) -> None:
    ics.revoke_token(ctx.session, ctx.user)


@api(action="public")
def feed(ctx: Ctx) -> Response:
    data = ics.feed(ctx.session, ctx.request.path_params["token"])
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={"cache-control": "private, max-age=300", "referrer-policy": "no-referrer"},
    )


M = "/api/meetings/{meeting_id:int}"
routes = [
    Route("/api/meetings/rooms", list_rooms, methods=["GET"]),
    Route("/api/meetings/rooms", create_room, methods=["POST"]),
    Route("/api/meetings/rooms/{room_id:int}", update_room, methods=["PATCH"]),
    Route("/api/meetings/rooms/{room_id:int}/blocks", add_block, methods=["POST"]),
    Route("/api/meetings/rooms/{room_id:int}/blocks/{block_id:int}", remove_block, methods=["DELETE"]),
    Route("/api/meetings/calendar/{year:int}", calendar_year, methods=["GET"]),
    Route("/api/meetings/calendar/{year:int}", load_calendar_year, methods=["PUT"]),
    Route("/api/meetings/approvals", approvals, methods=["GET"]),
    Route("/api/meetings/check", check_draft, methods=["POST"]),
    Route("/api/meetings/freebusy", freebusy, methods=["GET"]),
    Route("/api/meetings/slots", find_slots, methods=["POST"]),
    Route("/api/meetings/feed", feed_status, methods=["GET"]),
    Route("/api/meetings/feed", feed_regenerate, methods=["POST"]),
    Route("/api/meetings/feed", feed_revoke, methods=["DELETE"]),
    Route("/api/meetings/feed/{token}.ics", feed, methods=["GET"]),
    Route("/api/meetings", list_meetings, methods=["GET"]),
    Route("/api/meetings", create_meeting, methods=["POST"]),
    Route(M, get_meeting, methods=["GET"]),
    Route(M, update_meeting, methods=["PATCH"]),
    Route(M + "/skip", skip_occurrence, methods=["POST"]),
    Route(M + "/cancel", cancel_meeting, methods=["POST"]),
    Route(M + "/approval", decide, methods=["POST"]),
    Route(M + "/attendees", add_attendees, methods=["POST"]),
    Route(M + "/attendees/{user_id:int}", remove_attendee, methods=["DELETE"]),
    Route(M + "/rsvp", rsvp, methods=["POST"]),
    Route(M + "/agencies/{agency_id:int}/nominees", nominate, methods=["POST"]),
    Route(M + "/signups", signups, methods=["GET"]),
    Route(M + "/agenda", get_agenda, methods=["GET"]),
    Route(M + "/agenda", set_agenda, methods=["PUT"]),
    Route(M + "/materials", list_materials, methods=["GET"]),
    Route(M + "/materials/links", add_link, methods=["POST"]),
    Route(M + "/materials/files", upload_material, methods=["POST"]),
    Route(M + "/materials/{material_id:int}", download_material, methods=["GET"]),
    Route(M + "/materials/{material_id:int}", remove_material, methods=["DELETE"]),
    Route(M + "/signin/screen", signin_screen, methods=["GET"]),
    Route(M + "/signin", sign_in, methods=["POST"]),
    Route(M + "/attendance", attendance, methods=["GET"]),
    Route(M + "/attendance.csv", attendance_csv, methods=["GET"]),
    Route(M + "/minutes", get_minutes, methods=["GET"]),
    Route(M + "/minutes", save_minutes, methods=["PUT"]),
    Route(M + "/minutes.docx", minutes_docx, methods=["GET"]),
    Route(M + "/tasks/{task_id:int}/supervise", supervise_task, methods=["POST"]),
    Route(M + ".ics", meeting_ics, methods=["GET"]),
]
