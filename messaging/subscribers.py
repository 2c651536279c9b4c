"""In-process reactions to other domains' events (registered by ``messaging.startup``).

* ``directory.posts_changed`` -> refresh that person's department groups.
* ``notify.*`` -> a 工作通知 message for each listed user (contract in docs/events.md).
* ``meeting.created`` -> the meeting's group, owned by the organiser, with every member (a group by
  rule, ``service.create_rule_group``: the meeting chose them, not the organiser's pick in the chat).
  A meeting confirmed again (a room change that needed approval) keeps its group.
* ``meeting.members_changed`` -> that group gains and loses the people the meeting did
  (``rule_groups.sync_members``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from messaging import batcher, department_groups, rule_groups, service
from messaging.noticebatch import NoticeOp
from office import groupcommit
from office.db import Database
from office.errors import Overloaded
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
    """After a group commit (``groupcommit.after_answer``: its callers already answered), queued on the
    app's chat writer (``batcher.notice_writer``), which takes the notices the batch's events produced
    as one run (``noticebatch.NoticeBatch``: one transaction, multi-row statements), not one fsync'd
    transaction each on the submitting writer's thread. Otherwise (a plain ``Database.write``, whose
    caller hears back after this; no app; chat's writer stopping or full) the notice is written here,
    so none is lost; either way it is written once."""
    cleaned = clean_notice(event.payload)
    if cleaned is None:
        log.warning("ignored malformed %s event (see docs/events.md, notify.*)", event.type)
        return
    op = NoticeOp(event.type, *cleaned)
    writer = batcher.notice_writer(db) if groupcommit.after_answer() else None
    if writer is not None:
        try:
            writer.submit(op).add_done_callback(lambda done: _written(db, op, done))
            return
        except (Overloaded, batcher.Stopped):
            pass
    with db.write() as s:
        op(s)


def _written(db: Database, op: NoticeOp, done: Future[int]) -> None:
    """Chat's writer answered: if it could not write the notice (nothing of it was committed), it is
    written once more alone, in a transaction of its own."""
    if done.exception() is None:
        return
    log.warning("工作通知 not written by chat's writer (%r); writing it alone", done.exception())
    try:
        with db.write() as s:
            op(s)
    except Exception:
        log.exception("工作通知 %s not written", op.event_type)


def on_meeting_created(db: Database, event: Event) -> None:
    payload = event.payload
    organizer, members, title = payload.get("organizer_id"), payload.get("member_ids"), payload.get("title")
    if not isinstance(organizer, int) or not isinstance(members, list) or not isinstance(title, str):
        log.warning("ignored malformed meeting.created event")
        return
    from office.accounts import load_actor

    meeting_id = payload.get("meeting_id")
    key = rule_groups.meeting_key(meeting_id) if isinstance(meeting_id, int) else None
    people = [m for m in members if isinstance(m, int)]
    with db.write() as s:
        conv = rule_groups.find(s, key) if key else None
        if conv is not None:  # handled twice, or confirmed again: the same group, with everyone
            rule_groups.sync_members(s, conv, add=people, remove=(), why={"meeting_id": meeting_id})
            return
        owner = load_actor(s, organizer)
        service.create_rule_group(s, owner, name=f"会议：{title}"[:60], member_ids=people, key=key)


def on_meeting_members_changed(db: Database, event: Event) -> None:
    payload = event.payload
    meeting_id, added, removed = payload.get("meeting_id"), payload.get("added"), payload.get("removed")
    if not isinstance(meeting_id, int) or not isinstance(added, list) or not isinstance(removed, list):
        log.warning("ignored malformed meeting.members_changed event")
        return
    with db.write() as s:
        conv = rule_groups.find(s, rule_groups.meeting_key(meeting_id))
        if conv is None:  # a meeting whose group was made before groups had keys, or none at all
            return
        rule_groups.sync_members(
            s,
            conv,
            add=[u for u in added if isinstance(u, int)],
            remove=[u for u in removed if isinstance(u, int)],
            why={"meeting_id": meeting_id},
        )
