"""Meeting rooms of an agency and their maintenance blocks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from meetings.models import Room, RoomBlock
from office import audit, policy
from office.actor import Actor
from office.errors import NotFound, ValidationError
from office.models import Department, DeptKind, User
from office.timefmt import iso


def parse_hhmm(value: str, label: str) -> int:
    hours, _, minutes = value.partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
        raise ValidationError(f"{label} 时间无效：{value}", code="bad_open_hours")
    return h * 60 + m


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def room_public(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "agency_id": room.agency_id,
        "name": room.name,
        "location": room.location,
        "capacity": room.capacity,
        "equipment": list(room.equipment),
        "open_from": hhmm(room.open_from),
        "open_to": hhmm(room.open_to),
        "approval_required": room.approval_required,
        "approver_ids": list(room.approver_ids),
        "is_active": room.is_active,
    }


def get_room(session: Session, room_id: int) -> Room:
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound("会议室不存在", code="room_not_found")
    return room


def access_room(session: Session, actor: Actor, room_id: int) -> Room:
    """A room of the actor's own agency (rooms of other agencies are not visible)."""
    room = session.get(Room, room_id)
    if room is None or (room.agency_id != actor.agency_id and not actor.is_admin):
        raise NotFound("会议室不存在", code="room_not_found")
    return room


def list_rooms(session: Session, actor: Actor, *, agency_id: int | None = None) -> list[Room]:
    agency = agency_id if (agency_id and actor.is_admin) else actor.agency_id
    stmt = select(Room).where(Room.agency_id == agency).order_by(col(Room.name))
    return list(session.exec(stmt).all())


def _check_approvers(session: Session, agency_id: int, approval_required: bool, approver_ids: list[int]) -> list[int]:
    ids = sorted(set(approver_ids))
    if approval_required and not ids:
        raise ValidationError("需要审批的会议室必须指定审批人", code="approver_required")
    found = session.exec(select(User.id).where(col(User.id).in_(ids), User.is_active == True)).all()  # noqa: E712
    missing = set(ids) - set(found)
    if missing:
        raise ValidationError(f"审批人不存在：{sorted(missing)}", code="bad_approver")
    return ids


def _set_hours(room: Room, open_from: str | None, open_to: str | None) -> None:
    if open_from is not None:
        room.open_from = parse_hhmm(open_from, "开放开始")
    if open_to is not None:
        room.open_to = parse_hhmm(open_to, "开放结束")
    if room.open_to <= room.open_from:
        raise ValidationError("开放结束时间必须晚于开始时间", code="bad_open_hours")


def create_room(
    session: Session,
    actor: Actor,
    *,
    name: str,
    location: str,
    capacity: int,
    equipment: list[str],
    open_from: str,
    open_to: str,
    approval_required: bool,
    approver_ids: list[int],
    agency_id: int | None,
) -> Room:
    policy.require(actor, "meeting.room.manage")
    agency = agency_id or actor.agency_id
    dept = session.get(Department, agency) if agency else None
    if agency is None or dept is None or dept.kind != DeptKind.agency:
        raise ValidationError("会议室必须属于某个机关", code="bad_agency")
    if session.exec(select(Room).where(Room.agency_id == agency, Room.name == name.strip())).first():
        raise ValidationError(f"本机关已有名为“{name}”的会议室", code="duplicate_room")
    room = Room(
        agency_id=agency,
        name=name.strip(),
        location=location.strip(),
        capacity=capacity,
        equipment=sorted({e.strip() for e in equipment if e.strip()}),
        approval_required=approval_required,
        approver_ids=_check_approvers(session, agency, approval_required, approver_ids),
    )
    _set_hours(room, open_from, open_to)
    session.add(room)
    session.flush()
    audit.record(
        session, actor, "meeting.room.create", target_type="meeting_room", target_id=room.id, detail=room_public(room)
    )
    return room


def update_room(session: Session, actor: Actor, room_id: int, **changes: Any) -> Room:
    policy.require(actor, "meeting.room.manage")
    room = access_room(session, actor, room_id)
    for key in ("name", "location", "capacity", "is_active", "approval_required"):
        if changes.get(key) is not None:
            setattr(room, key, changes[key].strip() if isinstance(changes[key], str) else changes[key])
    if changes.get("equipment") is not None:
        room.equipment = sorted({e.strip() for e in changes["equipment"] if e.strip()})
    approvers = changes.get("approver_ids")
    room.approver_ids = _check_approvers(
        session, room.agency_id, room.approval_required, list(room.approver_ids) if approvers is None else approvers
    )
    _set_hours(room, changes.get("open_from"), changes.get("open_to"))
    session.add(room)
    audit.record(
        session,
        actor,
        "meeting.room.update",
        target_type="meeting_room",
        target_id=room.id,
        detail={k: v for k, v in changes.items() if v is not None},
    )
    return room


def add_block(
    session: Session, actor: Actor, room_id: int, *, start: dt.datetime, end: dt.datetime, reason: str
) -> RoomBlock:
    """Block the room for maintenance. Existing bookings are not moved: the organisers are told by
    the caller's UI (the block is listed with the conflicting meetings)."""
    policy.require(actor, "meeting.room.manage")
    room = access_room(session, actor, room_id)
    if end <= start:
        raise ValidationError("结束时间必须晚于开始时间", code="end_before_start")
    assert room.id is not None
    block = RoomBlock(
        room_id=room.id,
        start_at=start,
        end_at=end,
        reason=reason.strip(),
        created_by=actor.user_id,
    )
    session.add(block)
    session.flush()
    audit.record(
        session,
        actor,
        "meeting.room.block",
        target_type="meeting_room",
        target_id=room.id,
        detail={"start": iso(start), "end": iso(end), "reason": reason},
    )
    return block


def remove_block(session: Session, actor: Actor, room_id: int, block_id: int) -> None:
    policy.require(actor, "meeting.room.manage")
    access_room(session, actor, room_id)
    block = session.get(RoomBlock, block_id)
    if block is None or block.room_id != room_id:
        raise NotFound("维护时段不存在", code="block_not_found")
    session.delete(block)
    audit.record(
        session,
        actor,
        "meeting.room.unblock",
        target_type="meeting_room",
        target_id=room_id,
        detail={"block_id": block_id},
    )


def blocks_of(session: Session, room_ids: list[int], start: dt.datetime, end: dt.datetime) -> list[RoomBlock]:
    if not room_ids:
        return []
    return list(
        session.exec(
            select(RoomBlock).where(
                col(RoomBlock.room_id).in_(room_ids), col(RoomBlock.start_at) < end, col(RoomBlock.end_at) > start
            )
        ).all()
    )
