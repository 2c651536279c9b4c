"""What submitting a 办事 form would do, without writing anything: the values cleaned and computed, the
route resolved now and 抄送."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from banshi import behaviours, templates
from banshi.models import ApprovalRequest
from banshi.request_values import clean, title_of
from banshi.routing import resolve
from office import policy
from office.actor import Actor
from office.models import User


def preview(session: Session, actor: Actor, *, template_id: int, values: Any, partial: bool = False) -> dict[str, Any]:
    """What submitting these values would do, without writing anything: the cleaned and computed
    values, the route resolved now (who would approve, who is skipped and why) and 抄送. ``partial``
    (the form still being filled) skips only the required-field check, so the 差旅费 allowances or the
    leave balance show before everything is in; every other check is made as at submission."""
    policy.require(actor, "banshi.use")
    t, v = templates.template_for_use(session, actor, template_id)
    cleaned = clean(session, actor, t, v, values, partial=partial)
    resolution = resolve(session, actor, v, cleaned)
    people = {s_id for s in resolution.steps for s_id in s["actor"].get("user_ids", [])}
    cc_ids = set(resolution.cc_submit) | set(resolution.cc_end) | {u for us in resolution.cc_after.values() for u in us}
    names = _names(session, people | cc_ids)
    behaviour = behaviours.behaviour_for(t)
    info: dict[str, Any] = {}
    if behaviour is not None:
        draft = ApprovalRequest(
            agency_id=actor.agency_id or 0,
            template_id=t.id or 0,
            version_id=v.id or 0,
            title=title_of(actor, t, v),
            applicant_id=actor.user_id,
            applicant_dept_id=actor.department_id,
            values=cleaned,
        )
        info = behaviour.info(session, actor, draft)
    return {
        "values": cleaned,
        "branch": resolution.branch,
        "route": [
            {
                "key": s["key"],
                "name": s["name"],
                "mode": s["mode"],
                "people": [{"id": u, "name": names.get(u, "")} for u in s["actor"].get("user_ids", [])],
            }
            for s in resolution.steps
        ],
        "skipped": resolution.skipped,
        "cc": [{"id": u, "name": names.get(u, "")} for u in sorted(cc_ids)],
        "info": info,
    }


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u: n for u, n in session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all() if u}
