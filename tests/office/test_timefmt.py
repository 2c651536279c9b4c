"""The one time format of JSON answers (``office.timefmt.iso``), on values."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from office.timefmt import PATTERN, iso


def test_moments_are_written_in_utc_with_z() -> None:
    shanghai = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert iso(shanghai) == "2026-03-02T01:00:00Z"
    assert iso(dt.datetime(2026, 3, 2, 1, 0, 0, 120, tzinfo=dt.UTC)) == "2026-03-02T01:00:00.000120Z"
    assert iso(None) is None
    for value in (shanghai, dt.datetime(2026, 3, 2, 1, 0, 0, 120, tzinfo=dt.UTC)):
        written = iso(value)
        assert PATTERN.fullmatch(written) and dt.datetime.fromisoformat(written) == value
    with pytest.raises(ValueError):
        iso(dt.datetime(2026, 3, 2, 9, 0))  # naive: its zone would be a guess
