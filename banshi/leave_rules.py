"""The rules of leave, pure (no database): paid annual leave by years of service and the cases that
forfeit it (《职工带薪年休假条例》, 2007), the other kinds and how each is counted.

条例 第三条: 累计工作已满1年不满10年 5 天, 已满10年不满20年 10 天, 已满20年 15 天; 国家法定休假日、休息日
不计入年休假的假期 (so annual leave counts working days by the working calendar, 调休 included).
第四条: 不享受当年的年休假 when (一) 寒暑假 longer than the annual leave, (二) 事假累计20天以上且单位按照
规定不扣工资, (三)(四)(五) 病假累计 2 / 3 / 4 个月以上 for 1–10 / 10–20 / ≥ 20 years of service. The
机关事业单位 implementing measures add: if the leave of a year was taken and (二)–(五) then arise in that
year, the next year's leave is forfeited. "以上" includes the number itself (as in law generally).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from banshi import fields
from office.workcal import WorkCalendar


@dataclass(frozen=True)
class LeaveKind:
    key: str  # the ledger's kind
    label: str  # the form's option
    count: str  # "workdays" (holidays and rest days not counted) or "calendar" (every day counts)
    standard: float | None  # the national standard days, shown to applicant and approvers
    note: str


LEAVE_KINDS: tuple[LeaveKind, ...] = (
    LeaveKind("annual", "年休假", "workdays", None, "按累计工作年限 5、10、15 天；法定节假日、休息日不计入"),
    # 病假 by the calendar days of the medical certificate: 第四条 measures it in months.
    LeaveKind("sick", "病假", "calendar", None, "按日历天数计；病假累计达到规定月数的，不享受当年年休假"),
    LeaveKind("personal", "事假", "workdays", None, "按工作日计；事假累计20天以上且不扣工资的，不享受当年年休假"),
    # 婚假 3 days (国家劳动总局 1980); provinces add days of their own: the personnel office grants them.
    LeaveKind("marriage", "婚假", "workdays", 3, "国家规定 3 天（不含节假日）；地方延长的天数由人事处调整"),
    # 产假 98 days (《女职工劳动保护特别规定》第七条), calendar days, holidays included.
    LeaveKind("maternity", "产假", "calendar", 98, "98 天，按日历天数计；难产、多胞胎及地方奖励假由人事处调整"),
    # 探亲假 (《国务院关于职工探亲待遇的规定》): 配偶 30 days a year, parents 20; 包括公休假日和法定节日.
    LeaveKind("home_visit", "探亲假", "calendar", 30, "探望配偶每年 30 天；探望父母 20 天（已婚者四年一次）；含节假日"),
)
KIND_BY_LABEL = {k.label: k for k in LEAVE_KINDS}
KIND_BY_KEY = {k.key: k for k in LEAVE_KINDS}
# Recorded by the personnel office for staff with 寒暑假 (teachers): only used for 第四条（一）.
SCHOOL_VACATION = "school_vacation"
ADJUSTABLE_KINDS = {**{k.key: k.label for k in LEAVE_KINDS}, SCHOOL_VACATION: "寒暑假"}

TIERS = ((20, 15), (10, 10), (1, 5))  # (years of service at least, days)
SICK_MONTHS = ((20, 4), (10, 3), (0, 2))  # (years at least, months of sick leave that forfeit)
DAYS_PER_MONTH = 30  # 第四条's months, counted in calendar days of sick leave
PERSONAL_DAYS_FORFEIT = 20


def anniversary(start: dt.date, years: int) -> dt.date:
    """``start`` plus whole years; 29 February becomes 1 March in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return dt.date(start.year + years, 3, 1)


def years_completed(start: dt.date, on: dt.date) -> int:
    """Whole years of service from ``start`` up to and including ``on``."""
    years = on.year - start.year
    if anniversary(start, years) > on:
        years -= 1
    return max(years, 0)


def tier_days(years: int) -> int:
    return next((days for least, days in TIERS if years >= least), 0)


def service_date(year: int, today: dt.date) -> dt.date:
    """The day years of service are counted to for ``year``: today within it, else its nearer end (31
    December of a past year, 1 January of a coming one). 累计工作年限 count to the day, not from the
    year's start: a person whose 10th year falls in July has 10 years from that day on."""
    return min(max(today, dt.date(year, 1, 1)), dt.date(year, 12, 31))


@dataclass(frozen=True)
class Crossing:
    """A threshold (1, 10 or 20 years) reached during a year, and the extra days it brings that year."""

    on: dt.date  # the anniversary
    years: int  # the years of service reached
    extra: int  # the tier's extra days for a whole year (5)
    remaining: int  # calendar days of the year from the anniversary on, the anniversary included
    days: int  # the extra days credited this year: remaining ÷ 365 × extra, whole days


def crossing(work_start: dt.date, year: int) -> Crossing | None:
    """The threshold ``work_start`` reaches during ``year`` (at most one: they are years apart)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    before = tier_days(years_completed(work_start, first))
    for least, _ in sorted(TIERS):
        on = anniversary(work_start, least)
        if first < on <= last:
            extra = tier_days(least) - before
            remaining = (last - on).days + 1
            return Crossing(on=on, years=least, extra=extra, remaining=remaining, days=extra * remaining // 365)
    return None


def entitlement(work_start: dt.date | None, year: int) -> int:
    """Annual leave days for ``year``. The tier is the one reached by 1 January; when a threshold (1,
    10 or 20 years) is crossed during the year, the extra days count for the rest of the year only
    (剩余日历天数 ÷ 365 × 增加的天数, 不足 1 整天的部分不享受), as the implementing measures (第五条) do for
    newcomers (``crossing``)."""
    if work_start is None or work_start > dt.date(year, 12, 31):
        return 0
    before = tier_days(years_completed(work_start, dt.date(year, 1, 1)))
    crossed = crossing(work_start, year)
    return before + (crossed.days if crossed else 0)


def sick_forfeit_days(years: int) -> int:
    months = next(m for least, m in SICK_MONTHS if years >= least)
    return months * DAYS_PER_MONTH


@dataclass(frozen=True)
class YearUse:
    """One person's leave of one year as the ledger has it (days used per kind, 寒暑假 recorded)."""

    annual: float = 0
    sick: float = 0
    personal: float = 0
    school_vacation: float = 0


def forfeits_in_year(use: YearUse, *, years: int, entitled: int) -> list[str]:
    """The 第四条 cases that arise from a year's own leave."""
    reasons = []
    if entitled and use.school_vacation > entitled:
        reasons.append(f"依法享受寒暑假 {use.school_vacation:g} 天，多于年休假天数（第四条第一项）")
    reasons.extend(_later_cases(use, years=years))
    return reasons


def _later_cases(use: YearUse, *, years: int) -> list[str]:
    """Cases (二)–(五): the ones that also forfeit next year's leave when this year's was taken."""
    reasons = []
    if use.personal >= PERSONAL_DAYS_FORFEIT:
        # 机关 do not deduct pay for 事假 within the rules; where an agency does, the office adjusts.
        reasons.append(f"请事假累计 {use.personal:g} 天（20 天以上，第四条第二项）")
    limit = sick_forfeit_days(years)
    if use.sick >= limit:
        reasons.append(f"请病假累计 {use.sick:g} 天（{limit // DAYS_PER_MONTH} 个月以上，第四条）")
    return reasons


def forfeits(this: YearUse, last: YearUse, *, years: int, entitled: int) -> list[str]:
    """Why ``entitled`` days of this year are not available (empty: they are)."""
    reasons = forfeits_in_year(this, years=years, entitled=entitled)
    if last.annual > 0 and _later_cases(last, years=max(years - 1, 0)):
        reasons.append("上一年度已休年休假后又请事假或病假达到第四条规定，本年度不享受年休假")
    return reasons


def count_days(
    cal: WorkCalendar,
    start: dt.date,
    end: dt.date,
    *,
    mode: str,
    start_half: str | None = None,
    end_half: str | None = None,
) -> dict[int, float]:
    """Days of leave from ``start`` to ``end`` by year (a leave over New Year counts in both years),
    each year's part counted as the form's date range counts (``banshi.fields.count_days``, one copy):
    ``workdays`` skips rest days and holidays and counts 调休 working Saturdays, ``calendar`` counts
    every day; half days come off the leave's own first and last days."""
    out: dict[int, float] = {}
    for year in range(start.year, end.year + 1):
        first, last = max(start, dt.date(year, 1, 1)), min(end, dt.date(year, 12, 31))
        days = fields.count_days(
            cal if mode == "workdays" else None,
            first,
            last,
            (start_half or "am") if first == start else "am",
            (end_half or "pm") if last == end else "pm",
        )
        if days > 0:
            out[year] = days
    return out
