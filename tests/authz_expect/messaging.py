"""Expected authorization outcomes for messaging routes and websocket frames (see ``tests/authz_expect``).

The group is hamlet's (owner) with polonius; laertes is added during the walk. Non-members, the
administrator included, get 404 for the group, its messages and its attachments. ``FRAMES`` lists
every frame type a client may send on /ws: what the owner gets, and what a user of another agency
gets when naming the owner's conversation (the reply frame type, ``error:<code>``, or ``none``).
"""

from __future__ import annotations

from typing import Any

from tests.authz_expect import REFUSED, everyone, private

C = "/api/messages/conversations/{cid:int}"

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/messages/conversations"): everyone(),
    # Whom a caller may pick for a chat (the directory's cross-agency rule) is a matter of the people
    # picked, not of the caller: tests/messaging/test_group_visibility.py and test_directory_visibility.py.
    ("POST", "/api/messages/conversations"): everyone(REFUSED),
    ("POST", "/api/messages/direct"): everyone(REFUSED),
    ("GET", "/api/messages/unread"): everyone(),
    ("GET", "/api/messages/search"): everyone(),  # searches only the caller's conversations
    ("GET", "/api/messages/presence"): everyone(),
    ("GET", C): private(),
    ("PUT", C): private(),
    ("GET", C + "/members"): private(),
    ("POST", C + "/members"): private(),
    ("DELETE", C + "/members/{uid:int}"): private(),
    ("PUT", C + "/members/{uid:int}"): private(),
    ("POST", C + "/leave"): private(owner_user="polonius"),  # a member leaves
    ("POST", C + "/dissolve"): private(),
    ("PUT", C + "/mute"): private(),
    ("POST", C + "/read"): private(),
    ("GET", C + "/messages"): private(),
    ("POST", C + "/messages"): private(),
    ("POST", C + "/attachments"): private(),
    ("PUT", C + "/messages/{seq:int}"): private(),
    ("GET", C + "/messages/{seq:int}/edits"): private(),
    ("POST", C + "/messages/{seq:int}/recall"): private(),
    ("POST", C + "/messages/{seq:int}/reactions"): private(),
    ("GET", C + "/messages/{seq:int}/reads"): private(),
    ("GET", C + "/messages/{seq:int}/ding"): private(),
    ("POST", C + "/messages/{seq:int}/ding/ack"): private(404),  # not a DING addressed to the owner
    ("GET", "/api/messages/attachments/{aid:int}"): private(),
}

NOT_FOUND = "error:conversation_not_found"
FRAMES: dict[str, dict[str, str]] = {
    "chat.send": {"owner": "chat.ack", "other_agency": NOT_FOUND},
    "chat.read": {"owner": "chat.read.ack", "other_agency": NOT_FOUND},
    "chat.typing": {"owner": "none", "other_agency": NOT_FOUND},
    "presence.set": {"owner": "none", "other_agency": "none"},  # about oneself
    "presence.watch": {"owner": "none", "other_agency": "none"},  # presence is as visible as the directory
}
