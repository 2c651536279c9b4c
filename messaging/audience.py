"""A conversation is an event audience (``office.eventstore``): events that go to all its members
("chat:<id>") are stored once, and resume replays them to whoever is a member, from the moment
they joined.

``Member.joined_event_id`` is set when the member row is inserted, to the newest event id then:
events published later in the same transaction (the "you were added" message) are theirs, earlier
ones are not, as on the live path. When the row is deleted (left, removed, moved department) the
period is kept in ``chat_member_past`` up to the newest event id at that moment, so a client that
was away through a removal and a rejoin is still replayed exactly what the live path sent it.
Such a row is dropped when the events it covers are pruned: a client that far behind is told to
resync instead.

Where the conversation shows new members its history (``Conversation.history_visible``, the rule
of ``rules.history_floor``), a membership covers the conversation's events from before the joining
too, as HTTP history does: resume then replays whatever the client missed of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, func, select
from sqlmodel import Session

from messaging.models import Conversation, Member, PastMembership
from messaging.rules import history_floor
from office import eventstore
from office.models import StoredEvent

PREFIX = "chat:"
_MEMBER = Member.__table__  # type: ignore[attr-defined]
_PAST = PastMembership.__table__  # type: ignore[attr-defined]
_CONV = Conversation.__table__  # type: ignore[attr-defined]


def of(conversation_id: int) -> str:
    return f"{PREFIX}{conversation_id}"


def _newest(connection: Any) -> int:
    return int(connection.execute(select(func.max(StoredEvent.id))).scalar() or 0)


@event.listens_for(Member, "before_insert")
def _joined_now(_mapper: Any, connection: Any, target: Member) -> None:
    target.joined_event_id = _newest(connection)


@event.listens_for(Member, "before_delete")
def _left_now(_mapper: Any, connection: Any, target: Member) -> None:
    connection.execute(
        _PAST.insert().values(
            conversation_id=target.conversation_id,
            user_id=target.user_id,
            joined_event_id=target.joined_event_id,
            left_event_id=_newest(connection),
        )
    )


@eventstore.register_audience
def conversations_of(session: Session, user_id: int, after: int) -> list[tuple[str, int, int | None]]:
    conn = session.connection()
    visible = _CONV.c.history_visible
    now = conn.execute(
        select(_MEMBER.c.conversation_id, _MEMBER.c.joined_event_id, visible)
        .join(_CONV, _CONV.c.id == _MEMBER.c.conversation_id)
        .where(_MEMBER.c.user_id == user_id)
    )
    past = conn.execute(
        select(_PAST.c.conversation_id, _PAST.c.joined_event_id, _PAST.c.left_event_id, visible)
        .join(_CONV, _CONV.c.id == _PAST.c.conversation_id)
        .where(
            _PAST.c.user_id == user_id, _PAST.c.left_event_id > after, _PAST.c.left_event_id > _PAST.c.joined_event_id
        )
    )
    return [(of(cid), history_floor(shown, joined), None) for cid, joined, shown in now] + [
        (of(cid), history_floor(shown, joined), left) for cid, joined, left, shown in past
    ]


@eventstore.register_pruner
def forget_ended(session: Session, newest_removed: int) -> None:
    session.connection().execute(delete(_PAST).where(_PAST.c.left_event_id <= newest_removed))
