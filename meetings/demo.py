"""Demo data for ``office demo``: meeting rooms in every agency (the large one needs approval)."""

from __future__ import annotations

from sqlmodel import Session, select

from meetings import rooms
from office.actor import SYSTEM
from office.directory.service import users_with_role
from office.models import Department, DeptKind, Role


def seed(session: Session) -> None:
    agencies = session.exec(select(Department).where(Department.kind == DeptKind.agency)).all()
    for agency in agencies:
        approvers = users_with_role(session, Role.clerk, agency_id=agency.id)[:1]
        for name, location, capacity, equipment, approval in (
            ("第一会议室", "三楼 301", 12, ["投影", "白板"], False),
            ("第二会议室", "五楼 502", 20, ["投影", "视频会议"], False),
            ("大会议室", "一楼", 80, ["投影", "视频会议", "扩音"], bool(approvers)),
        ):
            rooms.create_room(
                session,
                SYSTEM,
                name=name,
                location=location,
                capacity=capacity,
                equipment=equipment,
                open_from="08:00",
                open_to="21:00",
                approval_required=approval,
                approver_ids=approvers if approval else [],
                agency_id=agency.id,
            )
