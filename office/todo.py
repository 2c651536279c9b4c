"""工作台: one 待办 list across domains, gathered from the sources each domain registers.

The core imports no domain, so each domain registers its own ``TodoSource`` objects when the app
starts (``app.state.todo.register(...)`` in its ``startup.start``). A source answers for the acting
user only: ``count`` is how many 待办 of its kind wait for them, ``items`` lists them (or, with
``box="done"`` / ``"mine"``, what they did and what they started), newest first. Whoever is asking,
a source looks only at that person's own work, so nothing crosses people or agencies.

The list stays live without events of its own: each source names the event types (``events``)
after which its items may have changed for the person who receives the event. The web client
listens to those on ``/ws`` and asks again; the events are stored and replayed on resume like any
other, so a reconnect misses nothing. An entry may name a member that must be truthy
(``"chat.message?message.ding"``: only DING messages).

Order: overdue first, then due within ``SOON`` or marked urgent, then the rest; newest first within
each. A source hands over at most ``PER_SOURCE`` items, so a kind with more shows its newest
``PER_SOURCE`` while its count stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session

from office.actor import Actor
from office.errors import ValidationError
from office.timefmt import iso

BOXES = ("todo", "done", "mine")
PER_SOURCE = 200
SOON = timedelta(hours=4)  # a step's usual time limit is a day: "urgent" must mean sooner than that
RECENT = 5


@dataclass(frozen=True)
class TodoItem:
    """One entry of the list. ``since``: when it became the person's (for 已办 when they did it, for
    我发起的 when they started it). ``link``: the web client's address of the place where it is
    done (``#/docs/12``)."""

    kind: str
    key: str
    title: str
    link: str
    since: datetime
    deadline: datetime | None = None
    detail: str = ""
    urgent: bool = False  # 特急 / 加急, a DING
    action: str = "办理"  # the verb on its button


class TodoSource(Protocol):
    """What a domain registers: ``kind`` (unique), ``label`` (shown, e.g. 公文), ``section`` (the
    navigation item whose badge counts it, "" for none but the 工作台's), ``events`` (see above).

    ``count`` must be the number of items ``items(box="todo")`` hands over without a limit: when a
    source hands over fewer than it was allowed, the registry counts those instead of asking."""

    @property
    def kind(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def events(self) -> tuple[str, ...]: ...

    def count(self, session: Session, actor: Actor, *, now: datetime) -> int: ...

    def items(self, session: Session, actor: Actor, *, box: str, now: datetime, limit: int) -> list[TodoItem]: ...


def level(item: TodoItem, now: datetime) -> int:
    """0 overdue, 1 due within ``SOON`` or urgent, 2 the rest."""
    if item.deadline is not None and item.deadline <= now:
        return 0
    if item.urgent or (item.deadline is not None and item.deadline - now <= SOON):
        return 1
    return 2


LEVELS = ("overdue", "urgent", "normal")


class Registry:
    """The sources of one app (``app.state.todo``), in the order registered."""

    def __init__(self) -> None:
        self._sources: dict[str, TodoSource] = {}

    def register(self, *sources: TodoSource) -> None:
        """Add sources; the same object again is a no-op, another one under a taken kind is refused."""
        for source in sources:
            if self._sources.setdefault(source.kind, source) is not source:
                raise RuntimeError(f"待办 source {source.kind!r} registered twice")

    def sources(self, kind: str = "") -> list[TodoSource]:
        if not kind:
            return list(self._sources.values())
        if kind not in self._sources:
            raise ValidationError(f"没有这类待办：{kind[:40]}", code="bad_kind", field="kind")
        return [self._sources[kind]]

    def kinds(
        self, session: Session, actor: Actor, now: datetime, listed: dict[str, tuple[list[TodoItem], int]] | None = None
    ) -> list[dict[str, Any]]:
        """Every kind with the person's count, and the events that change it. ``listed``: the 待办 a
        source already handed over, and the limit it was given; fewer than the limit is all of them,
        so their number is the count (``count`` is asked only for the others)."""
        listed = listed or {}
        out = []
        for s in self._sources.values():
            items, limit = listed.get(s.kind, ([], 0))
            count = len(items) if len(items) < limit else s.count(session, actor, now=now)
            out.append(
                {"kind": s.kind, "label": s.label, "section": s.section, "count": count, "events": list(s.events)}
            )
        return out

    def page(
        self,
        session: Session,
        actor: Actor,
        *,
        box: str = "todo",
        kind: str = "",
        offset: int = 0,
        limit: int = 20,
        now: datetime,
    ) -> dict[str, Any]:
        """One page of a box (待办 / 已办 / 我发起的), with every kind's count beside it."""
        if box not in BOXES:
            raise ValidationError("box 只能是 todo / done / mine", code="bad_query", field="box")
        chosen = self.sources(kind)
        got = {s.kind: s.items(session, actor, box=box, now=now, limit=PER_SOURCE) for s in chosen}
        items = [i for listed in got.values() for i in listed]
        if box == "todo":
            kinds = self.kinds(session, actor, now, {k: (v, PER_SOURCE) for k, v in got.items()})
            items.sort(key=lambda i: (level(i, now), -i.since.timestamp()))
            total = sum(k["count"] for k in kinds if not kind or k["kind"] == kind)
        else:
            kinds = self.kinds(session, actor, now)
            items.sort(key=lambda i: -i.since.timestamp())
            total = len(items)
        return {
            "box": box,
            "kind": kind,
            "now": iso(now),
            "kinds": kinds,
            "total": total,
            "offset": offset,
            "items": self.public(items[offset : offset + limit], now),
        }

    def summary(self, session: Session, actor: Actor, *, now: datetime) -> dict[str, Any]:
        """For badges and toasts: the counts, and the newest few 待办 (the client tells what is new)."""
        got = {s.kind: s.items(session, actor, box="todo", now=now, limit=RECENT) for s in self._sources.values()}
        kinds = self.kinds(session, actor, now, {k: (v, RECENT) for k, v in got.items()})
        recent = [i for listed in got.values() for i in listed if i.since <= now]
        recent.sort(key=lambda i: -i.since.timestamp())
        return {
            "now": iso(now),
            "kinds": kinds,
            "total": sum(k["count"] for k in kinds),
            "recent": self.public(recent[:RECENT], now),
        }

    def public(self, items: Sequence[TodoItem], now: datetime) -> list[dict[str, Any]]:
        labels = {s.kind: s.label for s in self._sources.values()}
        return [
            {
                "kind": i.kind,
                "label": labels.get(i.kind, i.kind),
                "key": f"{i.kind}:{i.key}",
                "title": i.title,
                "detail": i.detail,
                "link": i.link,
                "since": iso(i.since),
                "deadline": iso(i.deadline),
                "urgent": i.urgent,
                "level": LEVELS[level(i, now)],
                "action": i.action,
            }
            for i in items
        ]
