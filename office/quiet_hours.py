"""免打扰: a person's quiet hours, kept on the server so every device of theirs keeps them.

Stored as minutes after midnight, China time (``User.quiet_from``, ``User.quiet_to``; both None: off).
The span may cross midnight (22:00–07:00). In those hours the web client shows no pop-up notices
and no system notifications; badges, the 待办 list and messages are unaffected, and DING reminders
still reach the person's devices for when the hours end.
"""

from __future__ import annotations

import re

from office.errors import ValidationError
from office.models import User

_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse(value: str, field: str) -> int:
    """``"22:00"`` -> 1320; anything else is refused with a Chinese message naming the field."""
    m = _HHMM.fullmatch(value.strip())
    if m is None:
        raise ValidationError("免打扰时间应写成 时:分，例如 22:00", code="bad_quiet_hours", field=field)
    return int(m.group(1)) * 60 + int(m.group(2))


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def public(user: User) -> dict[str, str] | None:
    if user.quiet_from is None or user.quiet_to is None:
        return None
    return {"start": hhmm(user.quiet_from), "end": hhmm(user.quiet_to)}


def apply(user: User, start: str | None, end: str | None) -> None:
    """Set (both given) or clear (both None) the quiet hours; a span of no length is refused."""
    if start is None and end is None:
        user.quiet_from = user.quiet_to = None
        return
    if start is None or end is None:
        raise ValidationError("请同时填写免打扰的开始和结束时间", code="bad_quiet_hours", field="quiet_hours")
    begin, finish = parse(start, "quiet_hours.start"), parse(end, "quiet_hours.end")
    if begin == finish:
        raise ValidationError("免打扰的开始和结束时间不能相同", code="bad_quiet_hours", field="quiet_hours")
    user.quiet_from, user.quiet_to = begin, finish
