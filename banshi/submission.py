"""办事 drafts and submission: a request made on its template's published version, saved and submitted
(again, after a return to the applicant), and its 审批编号.

At submission the route is resolved from the branches (``banshi.routing.resolve``) into a concrete list
of steps: the snapshot its case (kind ``banshi``) runs along. Submission is one write transaction: the
request, its serial number (审批编号, per agency and day), the case, the first approvers' tasks, 抄送,
the audit entries and the events all commit together, or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from banshi import behaviours, files, notices, templates, transitions
from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestStatus
from banshi.request_values import as_raw, attachment_ids, clean, summarise, title_of
from banshi.routing import Resolution, resolve
from banshi.service import CHINA, EDITABLE, KIND, STALE, STATUS_LABELS, access_request, bump, case_of, template_of
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, PermissionDenied, ValidationError
from workflow import engine, versioning
from workflow.models import WfCase
from workflow.steps import validate_route


@dataclass
class Draft:
    """A new request worked out before the write transaction (``prepare_create``): its values checked and
    its route resolved on a read snapshot, so the single writer that submissions share
    (``app.state.banshi_commit``) only writes. ``write_create`` checks again what may have changed
    since the snapshot."""

    actor: Actor
    template_id: int
    version_id: int
    raw: Any  # the values as sent (cleaned again in the writer if the version changed meanwhile)
    values: dict[str, Any]
    client_id: str | None
    submit: bool
    # Resolved on the snapshot; None when the writer must resolve it (a draft, or a form whose
    # behaviour reads what other submissions write: the annual-leave balance).
    resolution: Resolution | None
    recheck: bool  # the form's behaviour (``banshi.behaviours``) checks the values against stored state


def create_request(
    session: Session,
    actor: Actor,
    *,
    template_id: int,
    values: Any,
    client_id: str | None = None,
    submit: bool = False,
) -> ApprovalRequest:
    """A new request on the template's published version, saved as a draft or submitted at once.

    With ``client_id``, a create the applicant already made with that key returns that request again
    and changes nothing (the answer to the first try was lost; the retry must not make a second)."""
    draft = prepare_create(session, actor, template_id=template_id, values=values, client_id=client_id, submit=submit)
    return draft if isinstance(draft, ApprovalRequest) else write_create(session, draft)


def prepare_create(
    session: Session,
    actor: Actor,
    *,
    template_id: int,
    values: Any,
    client_id: str | None = None,
    submit: bool = False,
) -> Draft | ApprovalRequest:
    """Everything of a create that only reads: the earlier request of this ``client_id`` if there is
    one, else a ``Draft`` (the values cleaned, the route resolved). Raises what the create would."""
    policy.require(actor, "banshi.use")
    earlier = _earlier(session, actor, client_id)
    if earlier is not None:
        return earlier
    t, v = templates.template_for_use(session, actor, template_id)
    cleaned = clean(session, actor, t, v, values)
    recheck = behaviours.behaviour_for(t) is not None
    resolution = _resolution(session, actor, v, cleaned) if submit and not recheck else None
    return Draft(actor, t.id or 0, v.id or 0, values, cleaned, client_id, submit, resolution, recheck)


def write_create(session: Session, draft: Draft) -> ApprovalRequest:
    """Write a prepared create in the caller's write transaction (``write_create_and_case``)."""
    return write_create_and_case(session, draft)[0]


def write_create_and_case(session: Session, draft: Draft) -> tuple[ApprovalRequest, WfCase | None]:
    """Write a prepared create in the caller's write transaction; the request, and its case when it was
    submitted (the writer's answer names its current step without reading the case back). Checked
    again here, under the write lock: the ``client_id`` (a retry may have raced the first try), the
    template still usable and its published version the one the values were checked against (else
    they are cleaned and resolved anew on it, as a create made now would be), and, for a form whose
    behaviour checks stored state, the values. Files are checked by ``files.attach``, the serial read
    here."""
    actor = draft.actor
    earlier = _earlier(session, actor, draft.client_id)
    if earlier is not None:
        return earlier, case_of(session, earlier)
    t, v = templates.template_for_use(session, actor, draft.template_id)
    cleaned, resolution = draft.values, draft.resolution
    if v.id != draft.version_id or draft.recheck:
        cleaned, resolution = clean(session, actor, t, v, draft.raw), None
    req = ApprovalRequest(
        agency_id=actor.agency_id or 0,
        template_id=t.id or 0,
        version_id=v.id or 0,
        title=title_of(actor, t, v),
        applicant_id=actor.user_id,
        applicant_dept_id=actor.department_id,
        values=cleaned,
        client_id=draft.client_id,
    )
    summarise(req, v.fields)
    session.add(req)
    session.flush()
    files.attach(session, actor, req, attachment_ids(v.fields, cleaned))
    audit.record(
        session,
        actor,
        "banshi.create",
        target_type="bs_request",
        target_id=req.id,
        detail={"template_id": t.id, "version_no": v.no, "title": req.title},
    )
    if draft.submit:
        return req, _submit(session, actor, req, t, v, resolution, fresh=True)
    notices.changed(session, req, "create")
    return req, None


def _earlier(session: Session, actor: Actor, client_id: str | None) -> ApprovalRequest | None:
    if not client_id:
        return None
    return session.exec(
        select(ApprovalRequest).where(
            ApprovalRequest.applicant_id == actor.user_id, ApprovalRequest.client_id == client_id
        )
    ).first()


def update_request(session: Session, actor: Actor, request_id: int, *, values: Any, version: int) -> ApprovalRequest:
    """Save a draft or a returned request's values (the applicant only; the version it was made with)."""
    req = _own_editable(session, actor, request_id, version)
    t, v = template_of(session, req)
    req.values = clean(session, actor, t, v, values, request_id=req.id)
    summarise(req, v.fields)
    files.attach(session, actor, req, attachment_ids(v.fields, req.values))
    req.updated_at = utcnow()
    bump(session, req)
    audit.record(session, actor, "banshi.save", target_type="bs_request", target_id=req.id)
    notices.changed(session, req, "save")
    return req


def submit_request(session: Session, actor: Actor, request_id: int, *, version: int) -> ApprovalRequest:
    """Submit a draft, or submit a returned request again (its route resolved anew from its values)."""
    req = _own_editable(session, actor, request_id, version)
    t, v = template_of(session, req)
    # The values are checked again: a person, a department or a file they name may have changed since.
    req.values = clean(session, actor, t, v, as_raw(v.fields, req.values), request_id=req.id)
    summarise(req, v.fields)
    _submit(session, actor, req, t, v)
    return req


def _own_editable(session: Session, actor: Actor, request_id: int, version: int) -> ApprovalRequest:
    req = access_request(session, actor, request_id)
    if req.applicant_id != actor.user_id:
        raise PermissionDenied("只有申请人可以修改或提交申请", code="not_applicant")
    versioning.check_version(req, version, STALE)
    if req.status not in EDITABLE:
        raise InvalidTransition(f"申请{STATUS_LABELS[req.status]}，不能修改或提交", code="not_editable")
    return req


def _resolution(session: Session, actor: Actor, v: FormVersion, values: dict[str, Any]) -> Resolution:
    """The route resolved for these values; refused when every step is skipped."""
    resolution = resolve(session, actor, v, values)
    if not resolution.steps:
        raise ValidationError("按当前填写的内容，流程中没有需要审批的步骤，请联系管理员调整流程", code="no_approver")
    return resolution


def _submit(
    session: Session,
    actor: Actor,
    req: ApprovalRequest,
    t: FormTemplate,
    v: FormVersion,
    resolution: Resolution | None = None,
    *,
    fresh: bool = False,
) -> WfCase:
    """``fresh``: the request was inserted by this transaction, so nobody can have read its version.
    Returns the request's case."""
    if resolution is None:
        resolution = _resolution(session, actor, v, req.values)
    # Every approver of a 办事 step may 加签 (before or after themselves), as in DingTalk's approvals.
    steps = [{**s, "allow_add_signer": s.get("allow_add_signer", True)} for s in resolution.steps]
    context = {
        "branch": resolution.branch,
        "cc_after": resolution.cc_after,
        "cc_end": resolution.cc_end,
        "skipped": resolution.skipped,
    }
    # Read before the case is made and set with the rest below: the request's row is written once.
    serial = req.serial or next_serial(session, req.agency_id)
    case = case_of(session, req)
    if case is None:
        case = engine.create_case(
            session, actor, kind=KIND, subject_id=req.id or 0, agency_id=req.agency_id, route=steps, context=context
        )
        req.case_id = case.id
    else:  # resubmitted after a return to the applicant: the values (and so the branch) may have changed
        case.route, case.context = validate_route(steps), {**case.context, **context}
    req.serial = serial
    req.status = RequestStatus.running
    req.submitted_at = req.updated_at = utcnow()
    session.add(req)
    session.flush()
    t_submit = engine.submit(session, actor, case)
    notices.cc(session, req, resolution.cc_submit, "submit")
    transitions.apply(session, req, t, t_submit)
    if fresh:  # moved on with the row's other changes, in its one UPDATE: no compare-and-set to lose
        req.version += 1
        session.add(req)
    else:
        bump(session, req)
    audit.record(
        session,
        actor,
        "banshi.submit",
        target_type="bs_request",
        target_id=req.id,
        detail={"serial": req.serial, "branch": resolution.branch, "steps": [s["key"] for s in steps]},
    )
    # The route's people as the engine read them for its own event: not read again.
    notices.changed(session, req, "submit", t_submit.participants)
    return case


# ``session.info`` key: while a run of creates is written (``banshi.submit_batch``), the day's last serial
# of each agency as this run handed it out, so each create after the first adds one without reading.
# Only the run's creates give out serials in its transaction, and the run drops it if it fails.
SERIALS = "banshi.serials"


def next_serial(session: Session, agency_id: int) -> str:
    """审批编号: the date in China (YYYYMMDD) and a 4-digit count of the agency's requests that day
    (202612070001). Write transactions are serialised (``office.db``: a process lock on SQLite, an
    advisory lock on PostgreSQL), so reading the day's highest and adding one cannot hand out one twice."""
    prefix = utcnow().astimezone(CHINA).strftime("%Y%m%d")
    counted: dict[tuple[int, str], int] | None = session.info.get(SERIALS)
    if counted is not None and (agency_id, prefix) in counted:
        n = counted[agency_id, prefix] + 1
    else:
        last = session.exec(last_serial_query(agency_id, prefix)).first()
        n = int(last[len(prefix) :]) + 1 if last else 1
    if counted is not None:
        counted[agency_id, prefix] = n
    return f"{prefix}{n:04d}"


def last_serial_query(agency_id: int, prefix: str) -> Any:
    """The day's highest serial of the agency. A range on ``ix_bs_request_agency_serial`` (a serial is
    the day's digits then more digits, and ":" sorts right after "9"), read under the write lock at
    every submission: ``LIKE 'prefix%'`` used no index on SQLite and read every request of the agency."""
    return (
        select(ApprovalRequest.serial)
        .where(
            ApprovalRequest.agency_id == agency_id,
            col(ApprovalRequest.serial) >= prefix,
            col(ApprovalRequest.serial) < prefix + ":",
        )
        .order_by(func.length(ApprovalRequest.serial).desc(), col(ApprovalRequest.serial).desc())
        .limit(1)
    )
