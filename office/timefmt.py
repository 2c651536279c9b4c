"""The one format for moments in JSON answers and event payloads: ISO 8601 in UTC with a "Z".

``2026-03-02T01:00:00Z``, with ``.ffffff`` when the moment has microseconds (as stored: a value a
client sends back, such as a cursor or an occurrence's start, then compares equal to the stored
one). "Z" rather than "+00:00" because it is what ``Date.prototype.toISOString`` writes and what
ISO 8601 clients read first; ``new Date(...)`` in the web client reads both. Calendar days
(``datetime.date``) stay ``YYYY-MM-DD``: a day is not a moment. The one other shape is a meeting's
``local_*`` field: its wall-clock time in the meeting's own zone with that zone's offset, which the
meeting form shows and edits as a local date and time. ``tests/test_time_format.py`` reads every
route's answers and every event and holds them to this.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import overload

#: What :func:`iso` writes, for tests and clients that check a value.
PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")


@overload
def iso(value: dt.datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: dt.datetime | None) -> str | None: ...
def iso(value: dt.datetime | None) -> str | None:
    """``value`` in UTC as ISO 8601 with "Z"; None stays None. A naive value is refused: its zone
    would be a guess (every stored time is UTC-aware, ``office.db.UTCDateTime``)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given; use UTC-aware datetimes")
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
