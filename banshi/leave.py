"""Leave balances and history from the ledger (``bs_leave_entry``), the personnel records they rest
on, the personnel office's adjustments, and the 请假 form's behaviour.

The ledger is append-only; an entry's part is read from who made it:
- a grant: kind ``annual``, no request, no person (``by_id`` None): the year's entitlement, written
  when first needed (an approval, an adjustment) from ``bs_personnel.work_start``, and corrected by
  another grant entry when the personnel office changes that date. A year without one yet has the
  entitlement computed on the fly, so reading never writes;
- a use (negative days) or a return (positive) of an approved request (``request_id``);
- an adjustment by the personnel office (``by_id``), with its reason. For kinds without a balance
  (病假, 事假, ...) an adjustment corrects the days taken (negative: taken on paper).
Pure rules (entitlement, forfeits, counting days) are in ``banshi.leave_rules``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from banshi import behaviours
from banshi import leave_rules as rules
from banshi.models import ApprovalRequest, FormTemplate, LeaveEntry, PersonnelRecord, RequestStatus
from banshi.office_access import agency_people, in_office, require_office, require_same_agency
from office import audit
from office.actor import Actor
from office.db import utcnow
from office.errors import PermissionDenied, ValidationError
from office.models import User
from office.timefmt import iso
from office.workcal import load_calendar

CHINA = dt.timezone(dt.timedelta(hours=8))


def this_year() -> int:
    return dt.datetime.now(CHINA).year


def check_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise ValidationError("年份超出范围（2000–2100）", code="bad_year", field="year")
    return year


def is_grant(e: LeaveEntry) -> bool:
    return e.kind == "annual" and e.request_id is None and e.by_id is None


# Reading the ledger ---------------------------------------------------------------------------------


def _entries(session: Session, user_ids: Iterable[int], years: Iterable[int]) -> list[LeaveEntry]:
    return list(
        session.exec(
            select(LeaveEntry)
            .where(col(LeaveEntry.user_id).in_(list(user_ids)), col(LeaveEntry.year).in_(list(years)))
            .order_by(col(LeaveEntry.id))
        ).all()
    )


def _year_use(entries: list[LeaveEntry], year: int) -> rules.YearUse:
    used: dict[str, float] = defaultdict(float)
    for e in entries:
        if e.year != year or is_grant(e):
            continue
        if e.kind == "annual" and e.request_id is None:
            continue  # an adjustment of the balance, not days taken
        used[e.kind] -= e.days
    return rules.YearUse(
        annual=used["annual"],
        sick=used["sick"],
        personal=used["personal"],
        school_vacation=-used[rules.SCHOOL_VACATION],
    )


def summarise(
    entries: list[LeaveEntry],
    work_start: dt.date | None,
    year: int,
    *,
    pending: float = 0,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """One person's leave in ``year`` from their ledger entries of that year and the one before.
    Years of service count to the day (``rules.service_date``): today in the current year."""
    counted_to = rules.service_date(year, today or dt.datetime.now(CHINA).date())
    years = rules.years_completed(work_start, counted_to) if work_start else 0
    crossed = rules.crossing(work_start, year) if work_start else None
    grants = [e.days for e in entries if e.year == year and is_grant(e)]
    entitled = sum(grants) if grants else rules.entitlement(work_start, year)
    this, last = _year_use(entries, year), _year_use(entries, year - 1)
    adjusted = sum(e.days for e in entries if e.year == year and e.kind == "annual" and e.by_id is not None)
    reasons = rules.forfeits(this, last, years=years, entitled=int(entitled))
    remaining = 0.0 if reasons else entitled - this.annual + adjusted
    kinds = []
    for kind in rules.LEAVE_KINDS:
        taken = sum(-e.days for e in entries if e.year == year and e.kind == kind.key and not is_grant(e))
        if kind.key == "annual":
            taken = this.annual
        kinds.append(
            {
                "kind": kind.key,
                "label": kind.label,
                "count": kind.count,
                "standard": kind.standard,
                "note": kind.note,
                "used": taken,
            }
        )
    return {
        "year": year,
        "work_start": work_start.isoformat() if work_start else None,
        "years_of_service": years,
        "service_counted_to": counted_to.isoformat(),
        # A threshold reached this year: its extra days are prorated (shown with the entitlement).
        "crossing": None
        if crossed is None
        else {
            "on": crossed.on.isoformat(),
            "years": crossed.years,
            "extra": crossed.extra,
            "remaining": crossed.remaining,
            "days": crossed.days,
        },
        "annual": {
            "entitled": entitled,
            "used": this.annual,
            "adjusted": adjusted,
            "pending": pending,
            "remaining": remaining,
            "available": max(remaining - pending, 0.0),
            "forfeited": reasons,
        },
        "kinds": kinds,
    }


def _work_start(session: Session, user_id: int) -> dt.date | None:
    record = session.get(PersonnelRecord, user_id)
    return record.work_start if record else None


def pending_annual(session: Session, user_id: int, *, exclude: int | None = None) -> dict[int, float]:
    """Annual leave days, by year, of the person's requests still on their route (not yet in the
    ledger): a second request must leave room for them."""
    rows = session.exec(
        select(ApprovalRequest)
        .join(FormTemplate, col(FormTemplate.id) == ApprovalRequest.template_id)
        .where(
            ApprovalRequest.applicant_id == user_id,
            ApprovalRequest.status == RequestStatus.running,
            FormTemplate.builtin == "leave",
        )
    ).all()
    out: dict[int, float] = defaultdict(float)
    for r in rows:
        if r.id == exclude or r.values.get("kind") != "年休假":
            continue
        for year, days in request_days(session, r.values).items():
            out[year] += days
    return out


def balance(session: Session, user_id: int, year: int, *, exclude: int | None = None) -> dict[str, Any]:
    pending = pending_annual(session, user_id, exclude=exclude).get(year, 0.0)
    entries = _entries(session, [user_id], [year - 1, year])
    return summarise(entries, _work_start(session, user_id), year, pending=pending)


def my_balance(session: Session, actor: Actor, year: int) -> dict[str, Any]:
    return balance(session, actor.user_id, check_year(year))


def people(session: Session, actor: Actor, year: int) -> dict[str, Any]:
    """The personnel office's list: everyone of the agency with their annual leave in ``year``."""
    require_office(session, actor, "personnel")
    check_year(year)
    staff = agency_people(session, actor.agency_id or 0)
    ids = [p["id"] for p in staff]
    by_user: dict[int, list[LeaveEntry]] = defaultdict(list)
    for e in _entries(session, ids, [year - 1, year]):
        by_user[e.user_id].append(e)
    records = {r.user_id: r for r in session.exec(select(PersonnelRecord).where(col(PersonnelRecord.user_id).in_(ids)))}
    items = []
    for p in staff:
        record = records.get(p["id"])
        summary = summarise(by_user[p["id"]], record.work_start if record else None, year)
        items.append(
            {
                **p,
                "work_start": summary["work_start"],
                "years_of_service": summary["years_of_service"],
                "annual": summary["annual"],
            }
        )
    return {"year": year, "items": items}


def history(session: Session, actor: Actor, user_id: int, year: int) -> dict[str, Any]:
    """A person's balance, personnel record and ledger entries of ``year``: for the person, and for
    the personnel office of their agency."""
    check_year(year)
    if user_id != actor.user_id:  # first: staff outside the office learn nothing, not even who exists
        require_office(session, actor, "personnel")
    user = require_same_agency(session, actor, user_id)
    record = session.get(PersonnelRecord, user_id)
    entries = [e for e in _entries(session, [user_id], [year]) if e.year == year]
    names = _names(session, {e.by_id for e in entries if e.by_id})
    return {
        "user": {"id": user.id, "name": user.name},
        "record": {
            "work_start": record.work_start.isoformat() if record and record.work_start else None,
            "note": record.note if record else "",
        },
        "balance": balance(session, user_id, year),
        "entries": [_entry_view(e, names) for e in entries],
        "may_adjust": in_office(session, actor, "personnel"),
    }


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(ids))) if u.id is not None}


def _entry_view(e: LeaveEntry, names: dict[int, str]) -> dict[str, Any]:
    part = "grant" if is_grant(e) else "adjust" if e.by_id else "return" if e.days > 0 else "use"
    return {
        "id": e.id,
        "year": e.year,
        "kind": e.kind,
        "kind_label": rules.ADJUSTABLE_KINDS.get(e.kind, e.kind),
        "part": part,
        "days": e.days,
        "reason": e.reason,
        "request_id": e.request_id,
        "by": {"id": e.by_id, "name": names.get(e.by_id, "")} if e.by_id else None,
        "at": iso(e.at),
    }


# Writing the ledger ---------------------------------------------------------------------------------


def _require_keeper(session: Session, actor: Actor, user_id: int) -> None:
    """The personnel office of the person's agency, and not the person: nobody raises their own leave."""
    require_office(session, actor, "personnel")  # first, as in ``history``
    require_same_agency(session, actor, user_id)
    if user_id == actor.user_id:
        raise PermissionDenied("不能办理本人的假期和人事档案，请由人事处其他工作人员办理", code="own_record")


def ensure_grant(session: Session, user_id: int, year: int) -> None:
    """Write the year's grant if it is not in the ledger yet (the entitlement then stays as granted)."""
    exists = session.exec(
        select(LeaveEntry.id).where(
            LeaveEntry.user_id == user_id,
            LeaveEntry.year == year,
            LeaveEntry.kind == "annual",
            col(LeaveEntry.request_id).is_(None),
            col(LeaveEntry.by_id).is_(None),
        )
    ).first()
    if exists is not None:
        return
    work_start = _work_start(session, user_id)
    days = rules.entitlement(work_start, year)
    why = f"参加工作时间 {work_start.isoformat()}" if work_start else "未登记参加工作时间"
    session.add(LeaveEntry(user_id=user_id, year=year, kind="annual", days=days, reason=f"{year} 年年休假（{why}）"))
    session.flush()


def adjust(
    session: Session, actor: Actor, user_id: int, *, year: int, kind: str, days: float, reason: str
) -> LeaveEntry:
    """The personnel office changes a balance (or the days taken of a kind), with a reason; audited."""
    _require_keeper(session, actor, user_id)
    check_year(year)
    if kind not in rules.ADJUSTABLE_KINDS:
        raise ValidationError("假期类型无效", code="bad_leave_kind", field="kind")
    if not math.isfinite(days) or days == 0 or abs(days) > 366 or (days * 2) != int(days * 2):
        raise ValidationError("调整天数须为非零的半天倍数，且不超过 366 天", code="bad_days", field="days")
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise ValidationError("请填写调整原因（200 字以内）", code="reason_required", field="reason")
    if kind == "annual":
        ensure_grant(session, user_id, year)
    entry = LeaveEntry(user_id=user_id, year=year, kind=kind, days=days, reason=reason, by_id=actor.user_id)
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor,
        "banshi.leave.adjust",
        target_type="user",
        target_id=user_id,
        detail={"user_id": user_id, "year": year, "kind": kind, "days": days, "reason": reason},
    )
    return entry


def set_personnel(
    session: Session, actor: Actor, user_id: int, *, work_start: dt.date | None, note: str
) -> PersonnelRecord:
    """The personnel office records when a person started work (参加工作时间); grants already written
    for the years since are corrected by the difference."""
    _require_keeper(session, actor, user_id)
    if work_start is not None and not dt.date(1950, 1, 1) <= work_start <= dt.datetime.now(CHINA).date():
        raise ValidationError("参加工作时间须在 1950 年之后且不晚于今天", code="bad_work_start", field="work_start")
    if len(note) > 200:
        raise ValidationError("备注不能超过 200 字", code="too_long", field="note")
    record = session.get(PersonnelRecord, user_id) or PersonnelRecord(user_id=user_id)
    before = record.work_start
    record.work_start, record.note, record.updated_by, record.updated_at = work_start, note, actor.user_id, utcnow()
    session.add(record)
    session.flush()
    if before != work_start:
        _correct_grants(session, user_id, work_start)
    audit.record(
        session,
        actor,
        "banshi.personnel.update",
        target_type="user",
        target_id=user_id,
        detail={
            "user_id": user_id,
            "work_start": work_start.isoformat() if work_start else None,
            "before": before.isoformat() if before else None,
        },
    )
    return record


def _correct_grants(session: Session, user_id: int, work_start: dt.date | None) -> None:
    granted: dict[int, float] = defaultdict(float)
    for e in session.exec(select(LeaveEntry).where(LeaveEntry.user_id == user_id, LeaveEntry.kind == "annual")):
        if is_grant(e):
            granted[e.year] += e.days
    for year, days in granted.items():
        delta = rules.entitlement(work_start, year) - days
        if delta:
            why = f"参加工作时间更正为 {work_start.isoformat()}" if work_start else "参加工作时间已清除"
            session.add(LeaveEntry(user_id=user_id, year=year, kind="annual", days=delta, reason=why))
    session.flush()


# The 请假 form's behaviour ---------------------------------------------------------------------------


def _dates(values: dict[str, Any]) -> tuple[dt.date, dt.date, dict[str, Any]]:
    raw = values.get("dates")
    try:
        assert isinstance(raw, dict)
        start, end = dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"])
    except (AssertionError, KeyError, TypeError, ValueError):
        raise ValidationError("请填写请假起止日期", code="dates_required", field="dates") from None
    if end < start:
        raise ValidationError("结束日期不能早于开始日期", code="bad_range", field="dates")
    return start, end, raw


def leave_kind(values: dict[str, Any]) -> rules.LeaveKind:
    kind = rules.KIND_BY_LABEL.get(str(values.get("kind", "")))
    if kind is None:
        raise ValidationError("请选择请假类型", code="bad_leave_kind", field="kind")
    return kind


def request_days(session: Session, values: dict[str, Any]) -> dict[int, float]:
    """The days a leave request takes, by year, counted as its kind counts (working days or calendar)."""
    kind = leave_kind(values)
    start, end, raw = _dates(values)
    cal = load_calendar(session, start, end)
    return rules.count_days(
        cal, start, end, mode=kind.count, start_half=raw.get("start_half"), end_half=raw.get("end_half")
    )


def check_annual(session: Session, user_id: int, split: dict[int, float], *, exclude: int | None = None) -> None:
    """Refuse annual leave beyond what is left of each year (requests still pending count as taken)."""
    for year, days in sorted(split.items()):
        info = balance(session, user_id, year, exclude=exclude)["annual"]
        if info["forfeited"]:
            reason = "；".join(info["forfeited"])
            raise ValidationError(f"{year} 年不享受年休假：{reason}", code="annual_forfeited", field="dates")
        if days > info["available"]:
            raise ValidationError(
                f"年休假余额不足：{year} 年可休 {info['available']:g} 天，本次申请 {days:g} 天",
                code="annual_balance",
                field="dates",
                remaining=info["available"],
            )


class LeaveBehaviour:
    """Counts the days by the kind, refuses annual leave beyond the balance, writes the ledger on
    approval (in the approval's transaction) and shows the balance on the request page."""

    def prepare(self, session: Session, applicant: Actor, template: Any, values: dict[str, Any]) -> dict[str, Any]:
        split = request_days(session, values)
        total = sum(split.values())
        if total <= 0:
            raise ValidationError("所选日期内没有需要请假的工作日", code="no_leave_days", field="dates")
        if leave_kind(values).key == "annual":
            check_annual(session, applicant.user_id, split)
        _start, _end, raw = _dates(values)
        return {"dates": {**raw, "days": total}}

    def approved(self, session: Session, request: ApprovalRequest) -> None:
        kind = leave_kind(request.values)
        split = request_days(session, request.values)
        if kind.key == "annual":
            check_annual(session, request.applicant_id, split, exclude=request.id)
            for year in split:
                ensure_grant(session, request.applicant_id, year)
        for year, days in sorted(split.items()):
            session.add(
                LeaveEntry(
                    user_id=request.applicant_id,
                    year=year,
                    kind=kind.key,
                    days=-days,
                    reason=f"{request.serial} {request.title}".strip(),
                    request_id=request.id,
                )
            )
        session.flush()

    def undone(self, session: Session, request: ApprovalRequest) -> None:
        uses = session.exec(select(LeaveEntry).where(LeaveEntry.request_id == request.id)).all()
        for e in list(uses):
            session.add(
                LeaveEntry(
                    user_id=e.user_id,
                    year=e.year,
                    kind=e.kind,
                    days=-e.days,
                    reason=f"撤销已批准的申请 {request.serial}".strip(),
                    request_id=request.id,
                )
            )
        session.flush()

    def info(self, session: Session, viewer: Actor, request: ApprovalRequest) -> dict[str, Any]:
        kind = leave_kind(request.values)
        start, _end, _raw = _dates(request.values)
        out: dict[str, Any] = {
            "leave": {
                "kind": kind.key,
                "label": kind.label,
                "count": kind.count,
                "standard": kind.standard,
                "note": kind.note,
            }
        }
        if kind.key == "annual":
            exclude = request.id if request.status == RequestStatus.running else None
            out["leave"]["balance"] = balance(session, request.applicant_id, start.year, exclude=exclude)["annual"]
        return out


BEHAVIOUR = LeaveBehaviour()
behaviours.register("leave", BEHAVIOUR)
