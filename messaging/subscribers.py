"""In-process reactions to other domains' events (registered by ``messaging.startup``).

* ``directory.posts_changed`` -> refresh that person's department groups.
* ``notify.*`` -> a 工作通知 message for each listed user (contract in docs/events.md).
* ``meeting.created`` -> the meeting's group, owned by the organiser, with every member.
"""

from __future__ import annotations

import logging
from typing import Any

from messaging import department_groups, service
from messaging.models import MessageKind
from messaging.timeline import append_message
from office.db import Database
from office.events import Event

log = logging.getLogger("messaging.subscribers")
MAX_NOTIFY_USERS = 5000


def on_posts_changed(db: Database, event: Event) -> None:
    user_id = event.payload.get("user_id")
    if not isinstance(user_id, int):
        return
    with db.write() as s:
        department_groups.sync_user_departments(s, user_id)


def clean_notice(payload: dict[str, Any]) -> tuple[list[int], dict[str, str]] | None:
    """Validate a ``notify.*`` payload; None (and a log line) when it breaks the contract."""
    users = payload.get("user_ids")
    title = payload.get("title")
    if not isinstance(users, list) or not all(isinstance(u, int) for u in users) or not isinstance(title, str):
        return None
    link = payload.get("link") or ""
    # Only same-site paths: a notification can't become a javascript: or off-site link.
    if not isinstance(link, str) or not (link == "" or (link.startswith("/") and not link.startswith("//"))):
        link = ""
    body = payload.get("body") if isinstance(payload.get("body"), str) else ""
    source = payload.get("source") if isinstance(payload.get("source"), str) else ""
    return sorted(set(users))[:MAX_NOTIFY_USERS], {
        "title": title[:200],
        "body": str(body)[:2000],
        "link": link[:500],
        "source": str(source)[:50],
    }


def on_notify(db: Database, event: Event) -> None:
    cleaned = clean_notice(event.payload)
    if cleaned is None:
        log.warning("ignored malformed %s event (see docs/events.md, notify.*)", event.type)
        return
    users, meta = cleaned
    with db.write() as s:
        from sqlmodel import col, select

        from office.models import User

        active = s.exec(select(User.id).where(col(User.id).in_(users), User.is_active == True)).all()  # noqa: E712
        for uid in active:
            assert uid is not None  # a stored row's key
            conv = service.notice_channel(s, uid)
            text = meta["title"] + ("\n" + meta["body"] if meta["body"] else "")
            append_message(
                s,
                conv,
                sender_id=None,
                kind=MessageKind.notice,
                body=text,
                meta={**meta, "event": event.type},
                recipients=[uid],
            )


def on_meeting_created(db: Database, event: Event) -> None:
    payload = event.payload
    organizer, members, title = payload.get("organizer_id"), payload.get("member_ids"), payload.get("title")
    if not isinstance(organizer, int) or not isinstance(members, list) or not isinstance(title, str):
        log.warning("ignored malformed meeting.created event")
        return
    from office.accounts import load_actor

    with db.write() as s:
        owner = load_actor(s, organizer)
        service.create_group(
            s, owner, name=f"会议：{title}"[:60], member_ids=[m for m in members if isinstance(m, int)]
        )
