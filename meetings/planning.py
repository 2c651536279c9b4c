"""What the booking form asks while the clerk types: who is busy, which rooms are free, and the
earliest slots that suit everyone. Reads only; nothing is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from meetings import recurrence
from meetings.access import in_agency, own_department, user_names
from meetings.booking import check_times, plan_occurrences, resolve_people
from meetings.models import Room
from meetings.notices import get_zone
from meetings.rooms import room_public
from meetings.scheduling import (
    Busy,
    candidate_rooms,
    expand_people,
    rooms_busy,
    users_busy,
    within_open_hours,
)
from office.actor import Actor
from office.errors import ValidationError
from office.timefmt import iso

MAX_RANGE = dt.timedelta(days=62)


def _busy_json(items: list[Busy]) -> list[dict[str, Any]]:
    return [{"start": iso(b.start), "end": iso(b.end), "kind": b.kind} for b in items]


def _own_busy(
    session: Session, actor: Actor, user_ids: list[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[Busy]]:
    """``users_busy`` for the actor's agency's people; anyone else reads as free, as a missing id does:
    another agency's staff are planned with through its 会议通知, not looked up one by one."""
    busy = users_busy(session, in_agency(session, actor.agency_id, user_ids), start, end)
    return {u: busy.get(u, []) for u in sorted(set(user_ids))}


def freebusy(
    session: Session, actor: Actor, *, user_ids: list[int], room_ids: list[int], start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """Busy intervals (no titles) for people and for rooms of the actor's agency."""
    if end <= start or end - start > MAX_RANGE:
        raise ValidationError("查询区间无效（最长 62 天）", code="bad_range")
    own = set(session.exec(select(Room.id).where(col(Room.id).in_(room_ids), Room.agency_id == actor.agency_id)).all())
    people = _own_busy(session, actor, user_ids, start, end)
    rooms = rooms_busy(session, sorted(own), start, end)  # type: ignore[arg-type]
    return {
        "users": {str(u): _busy_json(v) for u, v in people.items()},
        "rooms": {str(r): _busy_json(v) for r, v in rooms.items()},
    }


def check_draft(session: Session, actor: Actor, *, body: Any) -> dict[str, Any]:
    """For a draft booking: every attendee's clashes and every room of the agency, free or why not."""
    tz = get_zone(body.tz)
    check_times(body.start, body.end)
    rule = recurrence.normalise(body.rrule, tz) if body.rrule.strip() else ""
    occs = [
        (s, e)
        for _, s, e, ok in plan_occurrences(
            session, start=body.start, end=body.end, tz=tz, rule=rule, skip_holidays=body.skip_holidays
        )
        if ok
    ]
    people = resolve_people(session, actor, body.attendees, body.departments)
    lo, hi = occs[0][0], occs[-1][1]
    busy = users_busy(session, list(people), lo, hi, exclude_meeting_id=body.exclude_meeting_id)
    names = user_names(session, list(people))
    clashes = []
    for uid, items in busy.items():
        hits = [b for b in items if any(b.start < e and s < b.end for s, e in occs)]
        if hits:
            clashes.append(
                {
                    "user_id": uid,
                    "name": names.get(uid, ""),
                    "busy": _busy_json(hits[:5]),
                    "tentative_only": all(b.kind == "tentative" for b in hits),
                }
            )
    rooms_out = []
    all_rooms = session.exec(
        select(Room)
        .where(Room.agency_id == actor.agency_id, Room.is_active == True)  # noqa: E712
        .order_by(col(Room.capacity))
    ).all()
    room_busy = rooms_busy(
        session, [r.id for r in all_rooms if r.id], lo, hi, exclude_meeting_id=body.exclude_meeting_id
    )
    for r in all_rooms:
        why = ""
        if len(people) > r.capacity:
            why = f"容量 {r.capacity} 人，不足 {len(people)} 人"
        elif not all(within_open_hours(r, s.astimezone(tz), e.astimezone(tz)) for s, e in occs):
            why = "不在开放时间内"
        else:
            hit = next((b for b in room_busy[r.id] if any(b.start < e and s < b.end for s, e in occs)), None)  # type: ignore[index]
            if hit is not None:
                why = "维护中" if hit.kind == "blocked" else "已被预约"
        rooms_out.append(room_public(r) | {"free": not why, "reason": why})
    return {"headcount": len(people), "occurrences": len(occs), "attendee_conflicts": clashes, "rooms": rooms_out}


def find_slots(session: Session, actor: Actor, *, body: Any) -> dict[str, Any]:
    from meetings.scheduling import find_slots as run

    if body.window_end <= body.window_start or body.window_end - body.window_start > MAX_RANGE:
        raise ValidationError("查找范围无效（最长 62 天）", code="bad_range")
    tz = get_zone(body.tz)
    # Another agency's departments have no members here, as missing ones; its people are counted and
    # read as free, as missing ids are (``_own_busy``): nothing tells their existence or their time.
    departments = [d for d in body.department_ids if own_department(session, actor, d) is not None]
    people = expand_people(session, body.user_ids, departments)
    rooms = None
    if body.need_room:
        rooms = candidate_rooms(
            session,
            actor.agency_id,
            min_capacity=body.min_capacity or max(len(people), 1),
            equipment=body.equipment,
            room_ids=body.room_ids,
        )
        if not rooms:
            raise ValidationError("本机关没有满足容量和设备要求的会议室", code="no_suitable_room")
    slots = run(
        session,
        user_ids=sorted(in_agency(session, actor.agency_id, people)),
        duration=dt.timedelta(minutes=body.duration_minutes),
        window_start=body.window_start,
        window_end=body.window_end,
        rooms=rooms,
        tz=tz,
        limit=body.limit,
    )
    names = {r.id: r.name for r in rooms or []}
    return {
        "attendees": len(people),
        "items": [
            {
                "start": iso(x.start),
                "end": iso(x.end),
                "local_start": x.start.astimezone(tz).isoformat(),
                "rooms": [{"id": rid, "name": names.get(rid, "")} for rid in x.room_ids],
            }
            for x in slots
        ],
    }
