"""``messaging.send_rules`` on plain values (both send paths call it; their parity is tested in
``test_sendbatch.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from messaging import send_rules
from messaging.models import ConversationKind, MemberRole
from office.errors import OfficeError

OPEN: dict[str, Any] = {"dissolved": False, "kind": ConversationKind.group, "muted_all": False}
MESSAGE: dict[str, Any] = {
    "max_text": 10,
    "allow_empty": False,
    "role": MemberRole.member,
    "mention_all": False,
    "reply_to_seq": None,
    "floor": 3,
    "last_seq": 8,
}


def _code(check: Any, *args: Any, **kw: Any) -> str | None:
    try:
        check(*args, **kw)
    except OfficeError as exc:
        return exc.code
    return None


def test_who_may_send_where() -> None:
    assert _code(send_rules.check_may_send, **OPEN, role=MemberRole.member) is None
    assert _code(send_rules.check_may_send, **{**OPEN, "dissolved": True}, role=MemberRole.owner) == "dissolved"
    notice = {**OPEN, "kind": ConversationKind.notice}
    assert _code(send_rules.check_may_send, **notice, role=MemberRole.owner) == "read_only"
    muted = {**OPEN, "muted_all": True}
    assert _code(send_rules.check_may_send, **muted, role=MemberRole.member) == "muted_all"
    assert _code(send_rules.check_may_send, **muted, role=MemberRole.admin) is None


@pytest.mark.parametrize(
    "text,changes,code",
    [
        ("你好", {}, None),
        ("x" * 10, {}, None),
        ("x" * 11, {}, "text_too_long"),
        ("a\x00", {}, "bad_text"),
        ("  ", {}, "empty_text"),
        ("  ", {"allow_empty": True}, None),
        ("x", {"mention_all": True}, "mention_all_denied"),
        ("x", {"mention_all": True, "role": MemberRole.admin}, None),
        ("x", {"reply_to_seq": 3}, "bad_reply"),  # before the sender may read
        ("x", {"reply_to_seq": 4}, None),
        ("x", {"reply_to_seq": 8}, None),
        ("x", {"reply_to_seq": 9}, "bad_reply"),  # not sent yet
    ],
)
def test_the_message_itself(text: str, changes: dict[str, Any], code: str | None) -> None:
    assert _code(send_rules.check_message, text, **{**MESSAGE, **changes}) == code


def test_retry_keys() -> None:
    assert _code(send_rules.check_client_id, None) is None
    assert _code(send_rules.check_client_id, "k" * 64) is None
    assert _code(send_rules.check_client_id, "") == _code(send_rules.check_client_id, "k" * 65) == "bad_client_id"
    assert _code(send_rules.check_retry, 5, 5) is None
    assert _code(send_rules.check_retry, 5, 6) == "client_id_reused"
