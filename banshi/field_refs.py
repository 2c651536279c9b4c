"""What a submission's fields point at, checked in the database: people, departments, uploaded files,
linked requests and 公文, and the working calendar for date ranges. ``banshi.fields`` collects every
id of a kind across the form first, so each kind costs one query however many fields hold it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from banshi.models import ApprovalRequest, FormTemplate, RequestFile
from banshi.visibility import readable_cond
from docs_flow.models import OutgoingDocument
from docs_flow.visibility import outgoing_cond
from office.actor import Actor
from office.models import Department, Post, User
from office.workcal import WorkCalendar, load_calendar


def agency_people(session: Session, agency_id: int | None, ids: set[int]) -> set[int]:
    """Those of ``ids`` who are active users with a post in the agency."""
    if not ids or agency_id is None:
        return set()
    rows = session.exec(
        select(Post.user_id)
        .join(User, col(User.id) == col(Post.user_id))
        .join(Department, col(Department.id) == col(Post.department_id))
        .where(col(Post.user_id).in_(sorted(ids)), col(User.is_active), col(Department.agency_id) == agency_id)
        .distinct()
    ).all()
    return set(rows)


def agency_departments(session: Session, agency_id: int | None, ids: set[int]) -> set[int]:
    """Those of ``ids`` that are departments of the agency (or the agency itself)."""
    if not ids or agency_id is None:
        return set()
    rows = session.exec(
        select(Department.id).where(col(Department.id).in_(sorted(ids)), col(Department.agency_id) == agency_id)
    ).all()
    return {r for r in rows if r is not None}


def usable_files(session: Session, uploader_id: int, ids: set[int], request_id: int | None) -> set[int]:
    """Those of ``ids`` that ``uploader_id`` uploaded and that belong to no request, or to ``request_id``
    (a draft saved again). Reads the ids only, never the files' bytes."""
    if not ids:
        return set()
    owned: Any = col(RequestFile.request_id).is_(None)
    if request_id is not None:
        owned = or_(owned, col(RequestFile.request_id) == request_id)
    rows = session.exec(
        select(RequestFile.id).where(
            col(RequestFile.id).in_(sorted(ids)), col(RequestFile.uploaded_by) == uploader_id, owned
        )
    ).all()
    return {r for r in rows if r is not None}


def readable_requests(session: Session, actor: Actor, ids: set[int]) -> set[int]:
    """Those of ``ids`` the actor may read: ``banshi.visibility``'s one reading condition (what
    ``may_read`` asks for one request: applicant, route, 抄送, reader offices, one agency), here for
    every linked request in one query."""
    if not ids:
        return set()
    rows = session.exec(
        select(ApprovalRequest.id).where(col(ApprovalRequest.id).in_(sorted(ids)), readable_cond(session, actor))
    ).all()
    return {r for r in rows if r is not None}


def requests_of_form(session: Session, ids: set[int], agency_id: int | None, code: str) -> set[int]:
    """Those of ``ids`` started on the agency's form ``code`` (a link's ``link_form``: the form's code,
    which a built-in form has from its key, so "travel" is the agency's 出差审批)."""
    if not ids or agency_id is None:
        return set()
    rows = session.exec(
        select(ApprovalRequest.id)
        .join(FormTemplate, col(FormTemplate.id) == col(ApprovalRequest.template_id))
        .where(
            col(ApprovalRequest.id).in_(sorted(ids)),
            col(FormTemplate.agency_id) == agency_id,
            col(FormTemplate.code) == code,
        )
    ).all()
    return {r for r in rows if r is not None}


def form_name(session: Session, agency_id: int | None, code: str) -> str:
    """The agency's name for its form ``code`` (for an error message); the code if none."""
    name = session.exec(
        select(FormTemplate.name).where(FormTemplate.agency_id == agency_id, FormTemplate.code == code)
    ).first()
    return name or code


def readable_documents(session: Session, actor: Actor, ids: set[int]) -> set[int]:
    """Those of ``ids`` (发文) the actor may read: docs_flow's one reading condition."""
    if not ids:
        return set()
    rows = session.exec(
        select(OutgoingDocument.id).where(col(OutgoingDocument.id).in_(sorted(ids)), outgoing_cond(actor))
    ).all()
    return {r for r in rows if r is not None}


def calendar_for(session: Session, ranges: Mapping[str, tuple[dt.date, dt.date]]) -> WorkCalendar:
    """The marked days covering every range (one query)."""
    if not ranges:
        return WorkCalendar({})
    start = min(s for s, _ in ranges.values())
    end = max(e for _, e in ranges.values())
    return load_calendar(session, start, end)
