"""Events leave only after the commit that caused them.

``publish_on_commit(session, type, payload, user_ids=...)`` stores the event and its recipients in
the caller's transaction (so a client that reconnects can be replayed exactly what it missed, even
across a restart) and queues it on the session. After the commit, ``Database.write`` hands the
events to the hub (which fans them out to the recipients' websockets) while still holding the
write lock, so the hub sees them in id order; then in-process subscribers run (other domains
react: a document assigned to you becomes a 工作通知 message). On rollback nothing is sent.

Event ids come from one table and writes are serialised, so each user sees strictly increasing
ids.

Every event type is declared once, in its domain's ``event_types.py``, as a frozen dataclass whose
fields are the payload's members (``declare``; ``office.app.load_event_types`` declares them all).
``docs/events.md`` is generated from those declarations (``python -m office.events_doc``). The test
suite turns on ``check_payloads``, and then every published payload must match its declaration;
production skips the check (one boolean test per publish).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import insert
from sqlmodel import Session

from office.db import insert_plain_rows, reserve_ids, sql_json, sql_time, utcnow
from office.models import EventRecipient, StoredEvent

if TYPE_CHECKING:
    from office.db import Database

log = logging.getLogger("office.events")


@dataclass(frozen=True)
class Event:
    """A committed event: ``id`` is None for events with no user recipients (not stored)."""

    type: str
    payload: dict[str, Any]
    user_ids: tuple[int, ...] = ()
    id: int | None = None
    # The frame as JSON text, when the publisher already serialised the payload (the hub then sends
    # it as is instead of encoding the same payload again on the event loop).
    text: str | None = None

    def frame(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, **self.payload}


Subscriber = Callable[["Database", Event], None]
_subscribers: list[tuple[str, Subscriber]] = []


def subscribe(prefix: str, fn: Subscriber) -> Subscriber:
    """Call ``fn(db, event)`` after commit for every event whose type starts with ``prefix``.

    Subscribers run in the process that committed, outside the write lock, so they may open
    their own write transactions (which publish further events).
    """
    if (prefix, fn) not in _subscribers:
        _subscribers.append((prefix, fn))
    return fn


def unsubscribe(fn: Subscriber) -> None:
    _subscribers[:] = [(p, f) for p, f in _subscribers if f is not fn]


# The catalogue ----------------------------------------------------------------------------------


class EventTypeError(TypeError):
    """A published event that is not declared, or whose payload does not match its declaration
    (raised only while ``check_payloads`` is on)."""


_catalogue: dict[str, type] = {}
# name -> (validator, required) per declared type, built on first check.
_validators: dict[type, dict[str, tuple[TypeAdapter[Any], bool]]] = {}
_checking = False


def declare(*classes: type) -> None:
    """Add event declarations: frozen dataclasses with a ``type`` (the event's name) and a
    ``recipients`` (who gets it, in words) class variable. A name declared twice is refused."""
    for cls in classes:
        params = getattr(cls, "__dataclass_params__", None)
        name = getattr(cls, "type", None)
        if params is None or not params.frozen or not isinstance(name, str) or not cls.__doc__:
            raise RuntimeError(f"{cls!r} is not a frozen dataclass with a docstring and a type")
        if not isinstance(getattr(cls, "recipients", None), str):
            raise RuntimeError(f"{cls!r} does not say who receives it (recipients)")
        if _catalogue.setdefault(name, cls) is not cls:
            raise RuntimeError(f"event type {name!r} declared twice")


def catalogue() -> dict[str, type]:
    """Every declared event type by name, in the order declared."""
    return dict(_catalogue)


def check_payloads(on: bool = True) -> None:
    """Check every published event against its declaration (the test suite turns this on)."""
    global _checking
    _checking = on


@contextlib.contextmanager
def unchecked() -> Iterator[None]:
    """For a test that publishes a malformed event on purpose, to see its subscriber refuse it."""
    global _checking
    was, _checking = _checking, False
    try:
        yield
    finally:
        _checking = was


def check(type: str, payload: dict[str, Any]) -> None:
    """Raise ``EventTypeError`` unless ``type`` is declared and ``payload`` has exactly its fields
    (those without a default required), each of its declared type (strictly: no coercion)."""
    cls = _catalogue.get(type)
    if cls is None:
        raise EventTypeError(f"event type {type!r} is not declared (office.events.declare)")
    if cls not in _validators:
        _validators[cls] = _fields(cls)
    fields = _validators[cls]
    missing = [name for name, (_, required) in fields.items() if required and name not in payload]
    extra = sorted(set(payload) - set(fields))
    if missing or extra:
        raise EventTypeError(f"{type}: payload lacks {missing} / has undeclared {extra} ({cls.__qualname__})")
    for name, value in payload.items():
        try:
            fields[name][0].validate_python(value, strict=True)
        except PydanticValidationError as exc:
            raise EventTypeError(f"{type}: {name}={value!r} is not {cls.__qualname__}.{name}'s type") from exc


def _fields(cls: type) -> dict[str, tuple[TypeAdapter[Any], bool]]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: (
            TypeAdapter(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    }


def publish_on_commit(
    session: Session,
    type: str,
    payload: dict[str, Any],
    *,
    user_ids: Iterable[int] = (),
    audience: str | None = None,
) -> None:
    """Queue an event on ``session``; it is stored now and delivered after commit.

    The service chooses the recipients: sending to the wrong users is a security bug. With
    ``audience`` (a group whose members the owning domain answers for on resume, see
    ``office.eventstore.register_audience``), ``user_ids`` must be exactly its members now: the
    event is stored once, without a row per recipient.
    """
    if _checking:
        check(type, payload)
    recipients = tuple(sorted({int(u) for u in user_ids if u}))
    pending: list[Event] = session.info.setdefault("pending_events", [])
    event_id = None
    if recipients:
        row = StoredEvent(type=type, payload=payload, audience=audience)
        session.add(row)
        session.flush()
        event_id = row.id
        if audience is None:
            session.execute(insert(EventRecipient), [{"event_id": event_id, "user_id": u} for u in recipients])
    pending.append(Event(type=type, payload=payload, user_ids=recipients, id=event_id))


def publish_many_on_commit(
    session: Session,
    items: Sequence[tuple[str, dict[str, Any], Iterable[int]]]
    | Sequence[tuple[str, dict[str, Any], Iterable[int], str | None]],
) -> list[Event]:
    """``publish_on_commit`` for several events at once, in order: ids reserved in one query, then
    one multi-row insert of the events and one of all their recipients (values in driver form:
    the group-commit path writes thousands of rows per batch). An item may carry a fourth member,
    its audience (as ``publish_on_commit``'s)."""
    if _checking:
        for item in items:
            check(item[0], item[1])
    prepared = [
        (item[0], item[1], tuple(sorted({int(u) for u in item[2] if u})), item[3] if len(item) > 3 else None)
        for item in items
    ]
    conn = session.connection()
    ids = iter(reserve_ids(conn, _EVENT, sum(1 for _, _, recipients, _ in prepared if recipients)))
    now = sql_time(conn, utcnow())
    out: list[Event] = []
    event_rows: list[tuple[Any, ...]] = []
    recipient_rows: list[tuple[int, int]] = []
    for type, payload, recipients, audience in prepared:
        eid = next(ids) if recipients else None
        text = None
        if eid is not None:
            stored = sql_json(payload)
            event_rows.append((eid, type, stored, now, audience))
            if audience is None:
                recipient_rows.extend([(eid, u) for u in recipients])
            # ``Event.frame()`` as JSON: the stored payload's members follow the id and type.
            text = f'{{"id":{eid},"type":{sql_json(type)}{"," + stored[1:] if payload else "}"}'
        out.append(Event(type=type, payload=payload, user_ids=recipients, id=eid, text=text))
    insert_plain_rows(conn, _EVENT, ("id", "type", "payload", "created_at", "audience"), event_rows)
    insert_plain_rows(conn, _RECIPIENT, ("event_id", "user_id"), recipient_rows)
    session.info.setdefault("pending_events", []).extend(out)
    return out


_EVENT = StoredEvent.__table__  # type: ignore[attr-defined]
_RECIPIENT = EventRecipient.__table__  # type: ignore[attr-defined]


def deliver(db: Database, events: list[Event]) -> None:
    """Hand committed events with recipients to the database's sinks (the hub), in order."""
    deliverable = [e for e in events if e.user_ids]
    if not deliverable:
        return
    for sink in list(db.event_sinks):
        try:
            sink(deliverable)
        except Exception:
            log.exception("event sink failed")


def notify_subscribers(db: Database, events: list[Event]) -> None:
    for ev in events:
        for prefix, fn in list(_subscribers):
            if ev.type.startswith(prefix):
                try:
                    fn(db, ev)
                except Exception:
                    log.exception("subscriber %r failed on %s", fn, ev.type)
