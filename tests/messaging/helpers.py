"""Shared helpers for messaging tests: build conversations and send through the real services."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from messaging import messages, service
from messaging.models import Conversation
from office import events
from office.db import Database
from tests.factories import Org, login, new_client, settings_changed


@contextmanager
def config(db: Database, **changes: Any) -> Iterator[None]:
    """Chat limits changed for a while: ``config(db, recall_seconds=0)`` sets ``chat_recall_seconds``."""
    with settings_changed(db, **{f"chat_{k}": v for k, v in changes.items()}):
        yield


@contextmanager
def capture_events(prefix: str = "chat.") -> Iterator[list[events.Event]]:
    """A recording subscriber: every committed event whose type starts with ``prefix``."""
    seen: list[events.Event] = []

    def record(_db: Any, ev: events.Event) -> None:
        seen.append(ev)

    events.subscribe(prefix, record)
    try:
        yield seen
    finally:
        events.unsubscribe(record)


def group(org: Org, owner: str, name: str, members: list[str]) -> int:
    with org.db.write() as s:
        conv = service.create_group(s, org.actor(owner), name=name, member_ids=[org.users[m] for m in members])
        return conv.id  # type: ignore[return-value]


def send(org: Org, user: str, cid: int, text: str, **kw: Any) -> dict[str, Any]:
    with org.db.write() as s:
        return messages.send_message(s, org.actor(user), conversation_id=cid, text=text, **kw)


def dept_group(db: Database, dept_id: int) -> int:
    with db.read() as s:
        from sqlmodel import select

        conv = s.exec(select(Conversation).where(Conversation.department_id == dept_id)).one()
        return conv.id  # type: ignore[return-value]


def user_client(app: Any, username: str) -> TestClient:
    c = new_client(app)
    login(c, username)
    return c


def cid() -> str:
    return uuid.uuid4().hex
