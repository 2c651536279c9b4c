"""Who may read which 办事 request: the one copy, as an SQL condition on ``bs_request``, that the
four boxes (``banshi.listing``), the detail (``service.access_request``), the files and the 工作台 use.

A request is read by its applicant; by anyone with a task on its case (the approvers, people added by
转交 or 加签, and deputies under a running 委托: ``workflow.worklist.on_route_cond``); by the people
copied (抄送); once submitted, by members of the template's reader departments; by the agency's
personnel office for 请假 and its finance office for 出差 and 报销; and by the agency's seal keepers
for an approved 用印申请 (they carry out its 用印授权, reached from the 用印登记's link). Never across
agencies: the condition starts with the reader's agency. Everyone else gets 404.

Which fields each reader sees is ``fields_seen``: the applicant all, others what the template's
field-level ``visible_to`` gives the steps they had a task at and the offices they belong to.
A seal keeper reading an approved 用印申请 is such an "other" reader, deliberately not a full one: the
built-in form's fields (seal, file, times, purpose: what they seal, how often, why) carry no
``visible_to``, so they see them all, while a field an administrator added and restricted stays
restricted to whom it names (the keeper needs nothing beyond the built-in fields to seal).
Files follow their field (``hidden_file_ids``): one attached through a field the reader may not see
(or taken out of the form after 退回) is neither listed nor served to them; opinions' files are every
reader's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from banshi import office_access
from banshi.field_display import referenced_ids, visible_fields
from banshi.models import ApprovalRequest, FormTemplate, FormVersion, RequestCc, RequestFile, RequestStatus
from esign import seals
from office.actor import Actor
from workflow import worklist
from workflow.models import WfCase, WfTask

# The built-in forms each office reads every request of (issue #17: personnel sees leave, finance expenses).
OFFICE_FORMS = {"personnel": ("leave",), "finance": ("travel", "expense")}
# The built-in form the agency's seal keepers read once approved: its approval is what they carry out.
SEAL_FORM = "seal"


def offices_of(session: Session, actor: Actor) -> set[str]:
    """The agency offices 办事 knows ("personnel", "finance") that ``actor`` works in (or below)."""
    return {office for office in OFFICE_FORMS if office_access.in_office(session, actor, office)}


def reader_template_ids(session: Session, actor: Actor) -> list[int]:
    """The templates of the actor's agency whose every submitted request the actor reads: those naming
    one of the actor's departments as a reader, and the built-in forms of the offices they work in.
    An agency has tens of templates: they are filtered here rather than in JSON SQL."""
    if actor.agency_id is None:
        return []
    offices = offices_of(session, actor)
    builtins = {b for office in offices for b in OFFICE_FORMS[office]}
    rows = session.exec(
        select(FormTemplate.id, FormTemplate.builtin, FormTemplate.reader_department_ids).where(
            FormTemplate.agency_id == actor.agency_id
        )
    ).all()
    return sorted(
        tid
        for tid, builtin, readers in rows
        if tid is not None and (builtin in builtins or actor.department_ids & set(readers or ()))
    )


def keeper_template_ids(session: Session, actor: Actor) -> list[int]:
    """The agency's 用印申请 templates, if ``actor`` keeps the agency's seals (``esign.seals.is_keeper``)."""
    if actor.agency_id is None or not seals.is_keeper(actor, actor.agency_id):
        return []
    return sorted(
        tid
        for tid in session.exec(
            select(FormTemplate.id).where(FormTemplate.agency_id == actor.agency_id, FormTemplate.builtin == SEAL_FORM)
        ).all()
        if tid is not None
    )


def readable_cond(session: Session, actor: Actor) -> Any:
    """The condition on ``ApprovalRequest`` that ``actor`` may read the request."""
    if actor.agency_id is None:
        return false()
    cc = select(RequestCc.request_id).where(RequestCc.user_id == actor.user_id)
    who = [
        col(ApprovalRequest.applicant_id) == actor.user_id,
        worklist.on_route_cond(ApprovalRequest.case_id, actor.user_id),
        col(ApprovalRequest.id).in_(cc),
    ]
    templates = reader_template_ids(session, actor)
    if templates:
        who.append(
            and_(col(ApprovalRequest.template_id).in_(templates), col(ApprovalRequest.status) != RequestStatus.draft)
        )
    # The keeper needs an approved 用印申请 only: a running one is not yet theirs to act on.
    sealing = keeper_template_ids(session, actor)
    if sealing:
        who.append(
            and_(col(ApprovalRequest.template_id).in_(sealing), col(ApprovalRequest.status) == RequestStatus.approved)
        )
    return and_(of_agency(actor), or_(*who))


def of_agency(actor: Actor) -> Any:
    """The agency term of ``readable_cond``: never a request of another agency.

    ``+ 0``: every caller finds its rows by id or by the person's own index; SQLite has no statistics
    and otherwise starts from the agency's index, reading every request of the agency (10^6)."""
    if actor.agency_id is None:
        return false()
    return col(ApprovalRequest.agency_id) + 0 == actor.agency_id


def may_read(session: Session, actor: Actor, request: ApprovalRequest) -> bool:
    """``readable_cond`` for one request (the same SQL, so the detail and the lists never disagree).

    The applicant of a request of their own agency is the condition's first ground, ``of_agency`` and
    ``applicant_id``, and is answered from the row without the query: the applicant opens their request
    after every submission, and the query builds every other ground (reader templates, offices, seals)."""
    if actor.agency_id is not None and (request.agency_id, request.applicant_id) == (actor.agency_id, actor.user_id):
        return True
    found = session.exec(
        select(ApprovalRequest.id).where(ApprovalRequest.id == request.id, readable_cond(session, actor))
    ).first()
    return found is not None


def fields_seen(session: Session, actor: Actor, request: ApprovalRequest) -> tuple[set[str], set[str], bool]:
    """(template step keys the actor had a task at, offices they work in, whether they see every field):
    the arguments of ``fields.visible_values`` for this reader.

    A task's step is matched by the template step it came from (its ``origin``): the levels of a
    连续多级主管 step (``lv_1``, ``lv_2``) and a step added by 加签 (``add1``) have keys of their own."""
    full = actor.user_id == request.applicant_id
    steps: set[str] = set()
    if request.case_id is not None and not full:
        keys = set(
            session.exec(
                select(WfTask.step_key).where(
                    WfTask.case_id == request.case_id,
                    or_(col(WfTask.assignee_id) == actor.user_id, col(WfTask.acted_by_id) == actor.user_id),
                )
            ).all()
        )
        case = session.get(WfCase, request.case_id)
        origins = {s["key"]: s.get("origin", s["key"]) for s in (case.route if case else [])}
        steps = {origins.get(k, k) for k in keys}
    return steps, offices_of(session, actor), full


def hidden_file_ids(session: Session, actor: Actor, request: ApprovalRequest) -> set[int]:
    """The request's files ``actor`` may not see: the applicant's files that no field the reader sees
    names. Only the applicant fills fields, so their files are the fields' files: those of a hidden
    field, and those taken out of a field when the request was changed after 退回 (which field they
    were in is no longer known, so they stay hidden). The approvers' files are their opinions' and
    every reader's. The page lists and ``files.get_file`` serves what is left."""
    steps, offices, full = fields_seen(session, actor, request)
    if full:
        return set()
    version = session.get(FormVersion, request.version_id)
    shown = visible_fields(version.fields if version else [], steps_seen=steps, offices=offices, full=False)
    applicants = session.exec(
        select(RequestFile.id).where(
            RequestFile.request_id == request.id, RequestFile.uploaded_by == request.applicant_id
        )
    ).all()
    return {i for i in applicants if i is not None} - referenced_ids(shown, request.values or {})["file"]
