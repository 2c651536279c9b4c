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
from sqlalchemy import event, insert
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session

from office import metrics
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
    kept = session.info.get(_KEPT)
    if kept is not None:  # inside ``collected``: stored with the others when it ends
        kept.append(((type, payload, tuple(user_ids), audience), session.get_nested_transaction()))
        return
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


# Collected: many transactions' worth of events in one write ------------------------------------------

_KEPT = "office.events.kept"
KeptItem = tuple[tuple[str, dict[str, Any], Iterable[int], str | None], Any]


@contextlib.contextmanager
def collected(session: Session) -> Iterator[None]:
    """Inside the block, ``publish_on_commit`` keeps its events; they are stored when the block ends,
    in the order published, with ``publish_many_on_commit`` (one multi-row insert of the events and
    one of their recipients). For a group-commit writer that runs many requests' service code in one
    transaction (``banshi.submission``): four events a request were four ORM flushes.

    What must hold is what the caller saw before: an event's id is given when it is published.
    Events get their ids when they are stored, so anything that reads the newest event id inside the
    block must find the events published before it already stored. One reader does:
    ``messaging.audience`` marks a member's joining (and leaving) with ``max(stored_event.id)`` in the
    mapper events of the member row, so a conversation's events published before someone joined are
    not replayed to them on resume, and those after are. Kept events are therefore stored before any
    flush that writes a row whose mapper has such hooks (``before_insert``/``before_delete``), and the
    later ones get larger ids, exactly as without the block. A savepoint rolled back inside the block
    drops the events published in it (their rows would have been rolled back with it).
    Events stay undelivered until commit, as always; the block adds nothing to the transaction's
    outcome if it raises (its events are dropped with it)."""
    if _KEPT in session.info:  # already collecting: the outer block stores them
        yield
        return
    session.info[_KEPT] = []
    event.listen(session, "before_flush", _store_before_hooks)
    event.listen(session, "after_soft_rollback", _drop_rolled_back)
    try:
        yield
        _store_kept(session)
    finally:
        session.info.pop(_KEPT, None)
        event.remove(session, "before_flush", _store_before_hooks)
        event.remove(session, "after_soft_rollback", _drop_rolled_back)


def _store_kept(session: Session) -> None:
    kept: list[KeptItem] = session.info.get(_KEPT) or []
    if kept:
        items = [item for item, _tx in kept]
        kept.clear()
        publish_many_on_commit(session, items)


def _store_before_hooks(session: Any, _flush_context: Any, _instances: Any) -> None:
    if not session.info.get(_KEPT):
        return
    for obj in (*session.new, *session.deleted):
        dispatch = sa_inspect(obj).mapper.dispatch
        if dispatch.before_insert or dispatch.before_delete:
            _store_kept(session)
            return


def _drop_rolled_back(session: Any, previous: Any) -> None:
    kept: list[KeptItem] | None = session.info.get(_KEPT)
    if kept:
        kept[:] = [(item, tx) for item, tx in kept if not _inside(tx, previous)]


def _inside(tx: Any, outer: Any) -> bool:
    """Whether savepoint ``tx`` (None: no savepoint) is ``outer`` or began inside it."""
    if not outer.nested:
        return True  # the whole transaction rolled back
    while tx is not None:
        if tx is outer:
            return True
        tx = tx.parent
    return False


def deliver(db: Database, events: list[Event]) -> None:
    """Hand committed events with recipients to the database's sinks (the hub), in order."""
    deliverable = [e for e in events if e.user_ids]
    metrics.events_committed(deliverable)
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
