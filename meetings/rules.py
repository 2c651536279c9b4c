"""Policy rules for meetings. Object rules take a ``Relation`` (how the actor stands to one meeting);
with no resource they answer the route-level question "may this kind of user call this at all"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from office import policy
from office.actor import Actor


@dataclass(frozen=True)
class Relation:
    """How one actor stands to one meeting."""

    organizer: bool = False
    attendee: bool = False  # invited (any answer) or a substitute
    agency_contact: frozenset[int] = frozenset()  # invited agencies this actor answers for
    approver: bool = False

    @property
    def any(self) -> bool:
        return self.organizer or self.attendee or bool(self.agency_contact) or self.approver


@policy.rule("meeting.read")
def _read(actor: Actor, rel: Any = None) -> bool:
    return rel is None or rel.any


@policy.rule("meeting.materials")
def _materials(actor: Actor, rel: Any = None) -> bool:
    # Agenda and materials: attendees and organisers only (not approvers or agency contacts).
    return rel is None or rel.organizer or rel.attendee


@policy.rule("meeting.manage")
def _manage(actor: Actor, rel: Any = None) -> bool:
    return rel is None or rel.organizer


@policy.rule("meeting.approve")
def _approve(actor: Actor, rel: Any = None) -> bool:
    return rel is None or rel.approver


@policy.rule("meeting.nominate")
def _nominate(actor: Actor, rel: Any = None) -> bool:
    return rel is None or bool(rel.agency_contact)


@policy.rule("meeting.create")
def _create(actor: Actor, _resource: Any = None) -> bool:
    return actor.agency_id is not None


@policy.rule("meeting.room.manage")
def _room_manage(actor: Actor, _resource: Any = None) -> bool:
    return actor.is_admin
