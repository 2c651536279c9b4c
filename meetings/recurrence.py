"""Recurrence rules (RFC 5545 RRULE) for 周例会 and the like: validate, normalise, expand. Pure.

Rules are expanded in the meeting's wall-clock zone (Asia/Shanghai by default) so "every Monday
09:00" stays 09:00 there, whatever zone a viewer uses. Expansion is capped: a rule must end
(COUNT or UNTIL) and may produce at most ``MAX_OCCURRENCES`` occurrences.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from office.errors import ValidationError
from office.jsonin import is_digits

MAX_OCCURRENCES = 260  # five years of weekly meetings
ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
ALLOWED_KEYS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
UTC = dt.UTC


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or len(text) > 250:
        raise ValidationError("重复规则为空或过长", code="bad_rrule")
    parts: dict[str, str] = {}
    for chunk in text.split(";"):
        key, sep, value = chunk.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise ValidationError(f"重复规则无效：“{chunk}”不是 键=值", code="bad_rrule")
        if key not in ALLOWED_KEYS:
            raise ValidationError(f"重复规则不支持 {key}", code="bad_rrule")
        if key in parts:
            raise ValidationError(f"重复规则中 {key} 出现了两次", code="bad_rrule")
        parts[key] = value.strip().upper()
    return parts


def _until_utc(value: str, tz: ZoneInfo) -> str:
    """UNTIL must be UTC when DTSTART has a zone (RFC 5545 3.3.10); a date or floating time is local."""
    try:
        if value.endswith("Z"):
            moment = dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        elif "T" in value:
            moment = dt.datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        else:
            day = dt.datetime.strptime(value, "%Y%m%d")
            moment = day.replace(hour=23, minute=59, second=59, tzinfo=tz)
    except ValueError:
        raise ValidationError(f"重复规则的 UNTIL 日期无效：{value}", code="bad_rrule") from None
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def normalise(rule: str, tz: ZoneInfo) -> str:
    """Check a rule and return it in canonical form (UNTIL in UTC). Unbounded rules are refused."""
    parts = _parts(rule)
    freq = parts.get("FREQ")
    if freq not in ALLOWED_FREQ:
        raise ValidationError("重复频率只能是 DAILY、WEEKLY、MONTHLY 或 YEARLY", code="bad_rrule")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValidationError("重复规则不能同时有 COUNT 和 UNTIL", code="bad_rrule")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise ValidationError(
            f"重复会议必须有结束条件（COUNT 或 UNTIL），最多 {MAX_OCCURRENCES} 次", code="unbounded_rrule"
        )
    for key in ("COUNT", "INTERVAL"):
        if key in parts and (not is_digits(parts[key]) or not 1 <= int(parts[key]) <= 1000):
            raise ValidationError(f"重复规则的 {key} 必须是 1–1000 的整数", code="bad_rrule")
    for key, hi in (("BYMONTHDAY", 31), ("BYMONTH", 12), ("BYSETPOS", 366)):
        for item in parts.get(key, "").split(",") if key in parts else []:
            value = item.lstrip("+-")
            if not is_digits(value) or not 1 <= int(value) <= hi or (key == "BYMONTH" and item.startswith("-")):
                raise ValidationError(f"重复规则的 {key} 取值无效：{item}", code="bad_rrule")
    if "COUNT" in parts and int(parts["COUNT"]) > MAX_OCCURRENCES:
        raise ValidationError(f"重复次数不能超过 {MAX_OCCURRENCES} 次", code="too_many_occurrences")
    if "UNTIL" in parts:
        parts["UNTIL"] = _until_utc(parts["UNTIL"], tz)
    order = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"]
    canonical = ";".join(f"{k}={parts[k]}" for k in order if k in parts)
    try:
        rrulestr(canonical, dtstart=dt.datetime(2026, 1, 1, tzinfo=tz))
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"重复规则无效：{exc}", code="bad_rrule") from None
    return canonical


def expand(rule: str, start: dt.datetime, tz: ZoneInfo) -> list[dt.datetime]:
    """UTC starts of every occurrence of ``rule`` from ``start`` (aware). ``rule`` empty: just ``start``.

    Raises ValidationError when the rule yields nothing or more than ``MAX_OCCURRENCES``.
    """
    if not rule:
        return [start.astimezone(UTC)]
    local = start.astimezone(tz)
    try:
        it = rrulestr(rule, dtstart=local)
        found = list(itertools.islice(iter(it), MAX_OCCURRENCES + 1))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"重复规则无效：{exc}", code="bad_rrule") from None
    if len(found) > MAX_OCCURRENCES:
        raise ValidationError(
            f"重复规则产生的会议超过 {MAX_OCCURRENCES} 次，请缩短结束日期", code="too_many_occurrences"
        )
    if not found:
        raise ValidationError("重复规则没有产生任何会议（结束日期早于开始？）", code="empty_rrule")
    # Re-attach the zone by wall time: dateutil keeps the tzinfo, ZoneInfo resolves each date's offset.
    return [d.replace(tzinfo=tz).astimezone(UTC) for d in found]


def with_until(rule: str, until_utc: dt.datetime) -> str:
    """The same rule ending at ``until_utc`` (inclusive): used to end a series for "this and following"."""
    parts = _parts(rule)
    parts.pop("COUNT", None)
    parts["UNTIL"] = until_utc.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    order = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"]
    return ";".join(f"{k}={parts[k]}" for k in order if k in parts)


def with_count(rule: str, count: int) -> str:
    parts = _parts(rule)
    parts.pop("UNTIL", None)
    parts["COUNT"] = str(count)
    order = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"]
    return ";".join(f"{k}={parts[k]}" for k in order if k in parts)


def has_count(rule: str) -> int | None:
    value = _parts(rule).get("COUNT")
    return int(value) if value else None
