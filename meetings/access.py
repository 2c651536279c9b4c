"""Who a meeting concerns and what they may do with it: the actor's ``Relation`` to a meeting, the
permission-checked loader, and the people invited (attendees, agency contacts, names)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from meetings.models import AgencyInvite, Meeting, MeetingAttendee, Room, Rsvp
from meetings.rules import Relation
from office import policy
from office.actor import Actor
from office.directory.service import posts_of, users_with_role
from office.errors import NotFound, PermissionDenied
from office.models import Department, Role, User


def agency_contacts(session: Session, agency_id: int) -> list[int]:
    """Who answers a 会议通知 for an agency: its clerks (文书), or its department heads if it has none."""
    return users_with_role(session, Role.clerk, agency_id=agency_id) or users_with_role(
        session, Role.dept_head, agency_id=agency_id
    )


def relation(session: Session, actor: Actor, meeting: Meeting) -> Relation:
    attendee = session.exec(
        select(MeetingAttendee.id).where(
            MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.user_id == actor.user_id
        )
    ).first()
    contact: set[int] = set()
    if actor.agency_id is not None:
        invited = session.exec(
            select(AgencyInvite.agency_id).where(
                AgencyInvite.meeting_id == meeting.id, AgencyInvite.agency_id == actor.agency_id
            )
        ).first()
        if invited is not None and actor.user_id in agency_contacts(session, invited):
            contact.add(invited)
    approver = False
    if meeting.room_id is not None:
        room = session.get(Room, meeting.room_id)
        approver = bool(room and room.approval_required and actor.user_id in room.approver_ids)
    return Relation(
        organizer=meeting.organizer_id == actor.user_id,
        attendee=attendee is not None,
        agency_contact=frozenset(contact),
        approver=approver,
    )


def access_meeting(
    session: Session, actor: Actor, meeting_id: int, action: str = "meeting.read"
) -> tuple[Meeting, Relation]:
    """The meeting and the actor's relation to it. NotFound when it is missing *or* the actor may not
    see it (so existence is not revealed); PermissionDenied when they see it but may not do ``action``."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("会议不存在或无权查看", code="meeting_not_found")
    rel = relation(session, actor, meeting)
    if not policy.can(actor, "meeting.read", rel):
        raise NotFound("会议不存在或无权查看", code="meeting_not_found")
    if action != "meeting.read" and not policy.can(actor, action, rel):
        raise PermissionDenied("你对这个会议没有此项权限", code="meeting_forbidden")
    return meeting, rel


def attendees_of(session: Session, meeting_id: int | None) -> list[MeetingAttendee]:
    return list(
        session.exec(
            select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id).order_by(col(MeetingAttendee.id))
        ).all()
    )


def attendee_ids(session: Session, meeting_id: int | None, *, answering: bool = False) -> list[int]:
    """Everyone invited; with ``answering`` only those still expected (not declined or delegated)."""
    rows = attendees_of(session, meeting_id)
    return [a.user_id for a in rows if not answering or a.rsvp not in (Rsvp.declined, Rsvp.delegated)]


def member_ids(session: Session, meeting: Meeting) -> list[int]:
    return sorted({meeting.organizer_id, *attendee_ids(session, meeting.id)})


def user_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}  # type: ignore[misc]


def in_agency(session: Session, agency_id: int | None, user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` with a post in ``agency_id`` (the directory's posts, ``posts_of``): the
    people an organiser of that agency may name, and its contact may nominate. Another agency's staff
    come only through that agency's 会议通知 (``invitations.nominate``)."""
    if agency_id is None:
        return set()
    return {u for u, posts in posts_of(session, user_ids).items() if any(p["agency_id"] == agency_id for p in posts)}


def own_department(session: Session, actor: Actor, dept_id: int) -> Department | None:
    """The department when it belongs to the actor's agency (``Department.agency_id``, kept by the
    directory); None for another agency's, as for a missing one."""
    dept = session.get(Department, dept_id)
    if dept is None or actor.agency_id is None or dept.agency_id != actor.agency_id:
        return None
    return dept


def agency_of_user(session: Session, user_id: int) -> set[int]:
    return {p["agency_id"] for p in posts_of(session, [user_id])[user_id] if p["agency_id"]}
