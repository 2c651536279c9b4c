"""签到: a rotating six-digit code (and QR) for the room screen, signing in with it (typed, or filled
in by the QR) in the time window, and the attendance report (present, late, absent, on leave) with a CSV
export. There is no sign-in without the code: being in the room is what it proves."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
from typing import Any

from sqlmodel import Session, col, select

from meetings.access import access_meeting, attendees_of, user_names
from meetings.models import Meeting, MeetingOccurrence, MeetingStatus, OccurrenceStatus, Rsvp, SignIn
from meetings.notices import changed, get_zone
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from office.spreadsheet import neutralise
from office.timefmt import iso

CODE_PERIOD = 60  # seconds a code is shown before the next one
EARLY = dt.timedelta(minutes=30)  # signing in opens this long before the start
LATE_GRACE = dt.timedelta(minutes=5)  # after start + grace a sign-in counts as late


def code_at(meeting: Meeting, moment: dt.datetime) -> str:
    step = int(moment.timestamp()) // CODE_PERIOD
    mac = hmac.new(meeting.signin_secret.encode(), f"{meeting.id}:{step}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:4], 'big') % 1_000_000:06d}"


def code_ok(meeting: Meeting, code: str, now: dt.datetime) -> bool:
    """The current code or the one just before it (the screen may have changed as you typed)."""
    code = code.strip()
    return any(hmac.compare_digest(code, code_at(meeting, now - dt.timedelta(seconds=CODE_PERIOD * k))) for k in (0, 1))


def current_occurrence(session: Session, meeting: Meeting, now: dt.datetime) -> MeetingOccurrence | None:
    """The occurrence whose sign-in window [start - 30 min, end] contains ``now``."""
    return session.exec(
        select(MeetingOccurrence)
        .where(
            MeetingOccurrence.meeting_id == meeting.id,
            MeetingOccurrence.status == OccurrenceStatus.active,
            col(MeetingOccurrence.start_at) <= now + EARLY,
            col(MeetingOccurrence.end_at) >= now,
        )
        .order_by(col(MeetingOccurrence.start_at))
    ).first()


def qr_png(text: str) -> bytes:
    import qrcode

    img = qrcode.make(text, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def screen(
    session: Session, actor: Actor, meeting_id: int, *, base_url: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """What the room screen shows (organiser's login): the code, when it changes, and a QR that opens
    the attendee's sign-in page with the code filled in."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    now = now or utcnow()
    occ = current_occurrence(session, meeting, now)
    step_end = (int(now.timestamp()) // CODE_PERIOD + 1) * CODE_PERIOD
    out: dict[str, Any] = {
        "meeting_id": meeting.id,
        "title": meeting.title,
        "open": occ is not None,
        "period": CODE_PERIOD,
        "expires_at": iso(dt.datetime.fromtimestamp(step_end, dt.UTC)),
    }
    if occ is None:
        return out
    code = code_at(meeting, now)
    url = f"{base_url.rstrip('/')}/#/meetings/checkin/{meeting.id}?code={code}"
    signed = session.exec(
        select(SignIn.user_id).where(SignIn.meeting_id == meeting.id, SignIn.occurrence_start == occ.original_start)
    ).all()
    out.update(
        code=code,
        url=url,
        qr="data:image/png;base64," + base64.b64encode(qr_png(url)).decode(),
        occurrence_start=iso(occ.original_start),
        signed=len(signed),
        expected=sum(1 for a in attendees_of(session, meeting.id) if a.rsvp is not Rsvp.delegated),
    )
    return out


def sign_in(
    session: Session, actor: Actor, meeting_id: int, *, code: str | None, now: dt.datetime | None = None
) -> SignIn:
    """Sign in to the running occurrence with the room screen's current code (typed, or in the QR's
    address). Without it anyone invited could sign in from anywhere, so none is refused."""
    meeting, rel = access_meeting(session, actor, meeting_id)
    now = now or utcnow()
    row = next((a for a in attendees_of(session, meeting.id) if a.user_id == actor.user_id), None)
    if row is None or row.rsvp is Rsvp.delegated:
        raise PermissionDenied("你不在这个会议的参会名单中", code="not_invited")
    if meeting.status is not MeetingStatus.confirmed:
        raise InvalidTransition("会议未确认或已取消", code="meeting_not_confirmed")
    occ = current_occurrence(session, meeting, now)
    if occ is None:
        raise InvalidTransition("现在不在签到时间内（会前 30 分钟至会议结束）", code="signin_closed")
    if not (code or "").strip():
        raise ValidationError(
            "请输入会议室屏幕上的签到码，或用手机扫描屏幕上的二维码", code="signin_code_required", field="code"
        )
    if not code_ok(meeting, code or "", now):
        raise ValidationError("签到码错误或已过期，请看会议室屏幕上的最新签到码", code="bad_signin_code")
    existing = session.exec(
        select(SignIn).where(
            SignIn.meeting_id == meeting.id,
            SignIn.user_id == actor.user_id,
            SignIn.occurrence_start == occ.original_start,
        )
    ).first()
    if existing is not None:
        raise Conflict("你已签到", code="already_signed", signed_at=iso(existing.signed_at))
    entry = SignIn(
        meeting_id=occ.meeting_id,
        occurrence_start=occ.original_start,
        user_id=actor.user_id,
        method="code",
        signed_at=now,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor,
        "meeting.signin",
        target_type="meeting",
        target_id=meeting.id,
        detail={"occurrence": iso(occ.original_start), "method": entry.method},
    )
    changed(session, meeting, "signin", user_id=actor.user_id)
    return entry


def attendance(
    session: Session,
    actor: Actor,
    meeting_id: int,
    *,
    occurrence_start: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Who is present, late, absent or on leave for one occurrence (default: the current or last one)."""
    meeting, _ = access_meeting(session, actor, meeting_id, "meeting.manage")
    now = now or utcnow()
    occ = _pick_occurrence(session, meeting, occurrence_start, now)
    signs = {
        s.user_id: s
        for s in session.exec(
            select(SignIn).where(SignIn.meeting_id == meeting.id, SignIn.occurrence_start == occ.original_start)
        ).all()
    }
    rows = attendees_of(session, meeting.id)
    names = user_names(session, [a.user_id for a in rows])
    tz = get_zone(meeting.tz)
    items: list[dict[str, Any]] = []
    for a in rows:
        s = signs.get(a.user_id)
        if a.rsvp is Rsvp.delegated:
            state = "delegated"
        elif s is not None:
            state = "late" if s.signed_at > occ.start_at + LATE_GRACE else "present"
        elif a.rsvp is Rsvp.declined:
            state = "on_leave"
        elif now > occ.start_at + LATE_GRACE:
            state = "absent"
        else:
            state = "expected"
        items.append(
            {
                "user_id": a.user_id,
                "name": names.get(a.user_id, ""),
                "role": a.role.value,
                "state": state,
                "reason": a.reason if state == "on_leave" else "",
                "substitute_for": a.substitute_for,
                "signed_at": iso(s.signed_at) if s else None,
                "signed_local": s.signed_at.astimezone(tz).strftime("%H:%M") if s else "",
                "method": s.method if s else "",
            }
        )
    counts: dict[str, int] = {}
    for i in items:
        counts[i["state"]] = counts.get(i["state"], 0) + 1
    return {
        "meeting_id": meeting.id,
        "title": meeting.title,
        "occurrence_start": iso(occ.original_start),
        "start": iso(occ.start_at),
        "counts": counts,
        "items": items,
    }


def _pick_occurrence(
    session: Session, meeting: Meeting, original: dt.datetime | None, now: dt.datetime
) -> MeetingOccurrence:
    stmt = select(MeetingOccurrence).where(MeetingOccurrence.meeting_id == meeting.id)
    if original is not None:
        occ = session.exec(stmt.where(MeetingOccurrence.original_start == original)).first()
    else:
        occ = (
            session.exec(
                stmt.where(
                    MeetingOccurrence.status == OccurrenceStatus.active, col(MeetingOccurrence.start_at) <= now + EARLY
                ).order_by(col(MeetingOccurrence.start_at).desc())
            ).first()
            or session.exec(stmt.order_by(col(MeetingOccurrence.start_at))).first()
        )
    if occ is None:
        raise ValidationError("没有这一场会议", code="occurrence_not_found")
    return occ


STATE_LABELS = {
    "present": "已签到",
    "late": "迟到",
    "absent": "缺席",
    "on_leave": "请假",
    "delegated": "代参会",
    "expected": "未到",
}


def attendance_csv(report: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["姓名", "角色", "状态", "签到时间", "签到方式", "请假原因"])
    for i in report["items"]:
        writer.writerow(
            [
                neutralise(str(v))
                for v in (i["name"], i["role"], STATE_LABELS[i["state"]], i["signed_local"], i["method"], i["reason"])
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly
