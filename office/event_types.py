"""Core (office): sessions, the directory, and 工作通知.

Close codes the server uses on `/ws` (with a Chinese reason): 1008 the handshake was refused
(unauthenticated, foreign origin, bad `last_event_id`), the session ended (logout, revocation,
password change) or the account was disabled, or a sender kept flooding; **4401** the session
expired (idle or absolute limit), found by the next frame or by the timer
(`OFFICE_WS_SESSION_CHECK_SECONDS`): the client shows the login page; **4429** too many sockets
open for this login or this user (`OFFICE_WS_MAX_PER_SESSION`, `OFFICE_WS_MAX_PER_USER`): the
client retries at its longest interval; 1013 the client read too slowly (it resumes); 1001 the
server is restarting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class SessionEnded:
    """Sessions ended (logout, revocation, password change, disabled account); `reason` says which."""

    type: ClassVar[str] = "auth.session_ended"
    recipients: ClassVar[str] = "the sessions' user; the hub then closes those sockets with 1008"
    session_ids: list[int]
    reason: str


@dataclass(frozen=True)
class PostsChanged:
    """A person's posts (department, title) changed: messaging updates department group membership."""

    type: ClassVar[str] = "directory.posts_changed"
    recipients: ClassVar[str] = "that user"
    user_id: int


@dataclass(frozen=True)
class Notice:
    """Any domain puts a 工作通知 (work notice) in people's 消息 by publishing an event whose type
    starts with `notify.` and whose payload has these fields (each domain declares its own
    `notify.<name>` type as a subclass of `office.event_types.Notice`). Messaging subscribes to the
    prefix and appends one notice message per listed user to that user's read-only 工作通知 channel;
    the message is then delivered as an ordinary `chat.message`.

    `user_ids`: inactive or unknown users are skipped, at most 5,000. `title` is cut to 200
    characters, `body` to 2,000. `link` must be a same-site path starting with `/` (anything else is
    dropped). `source` is the publishing domain, shown as the notice's origin. A payload that breaks
    the contract is logged and ignored. Notices are created after your transaction commits; if yours
    rolls back, no notice is sent.
    """

    user_ids: list[int]
    title: str
    body: str = ""
    link: str = ""
    source: str = ""


EVENT_TYPES = (SessionEnded, PostsChanged)
