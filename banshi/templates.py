"""Form templates and their versions: what staff pick on the 发起 page, and the designer's drafts.

A template has at most one draft version (being designed) and one published version (what staff
start requests on); publishing makes the draft the published one and retires the previous one.
Published and retired versions never change: a request points at the version it was made with
(``ApprovalRequest.version_id``), so later edits never change a request in flight or on file. Only
the agency's administrators design (``banshi.template.manage``); every change is audited.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from banshi.field_defs import quoted
from banshi.fields import validate_fields
from banshi.models import FORM_CODE, FormTemplate, FormVersion, TemplateStatus, VersionState
from banshi.routing import validate_route
from office import audit, policy
from office.actor import Actor
from office.db import utcnow
from office.errors import InvalidTransition, NotFound, ValidationError
from office.models import Department

DEDUPE = ("none", "adjacent", "all")
TITLE_MAX = 60


# For staff ------------------------------------------------------------------------------------------


def published_templates(session: Session, actor: Actor) -> list[FormTemplate]:
    """The actor's agency's active templates that have a published version, in the designer's order."""
    return list(
        session.exec(
            select(FormTemplate)
            .where(
                FormTemplate.agency_id == (actor.agency_id or 0),
                FormTemplate.status == TemplateStatus.active,
                col(FormTemplate.published_version_id).is_not(None),
            )
            .order_by(col(FormTemplate.sort), col(FormTemplate.id))
        ).all()
    )


def grouped(templates: list[FormTemplate]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for t in templates:
        groups.setdefault(t.category, []).append(
            {"id": t.id, "code": t.code, "name": t.name, "description": t.description, "builtin": t.builtin}
        )
    return {"groups": [{"category": c, "items": items} for c, items in groups.items()]}


def template_for_use(session: Session, actor: Actor, template_id: int) -> tuple[FormTemplate, FormVersion]:
    """A template staff of the actor's agency may start a request on, with its published version;
    ``NotFound`` for another agency's, a disabled or an unpublished one alike."""
    t = session.get(FormTemplate, template_id)
    if (
        t is None
        or t.agency_id != actor.agency_id
        or t.status != TemplateStatus.active
        or t.published_version_id is None
    ):
        raise NotFound("表单不存在或已停用", code="template_not_found")
    v = session.get(FormVersion, t.published_version_id)
    if v is None:
        raise NotFound("表单不存在或已停用", code="template_not_found")
    return t, v


def version_public(v: FormVersion) -> dict[str, Any]:
    return {"id": v.id, "no": v.no, "state": v.state.value, "fields": v.fields, "route": v.route, "options": v.options}


def template_public(t: FormTemplate, v: FormVersion | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": t.id,
        "code": t.code,
        "name": t.name,
        "category": t.category,
        "description": t.description,
        "builtin": t.builtin,
    }
    if v is not None:
        out["version"] = {"id": v.id, "no": v.no, "fields": v.fields, "options": v.options}
    return out


# For administrators -----------------------------------------------------------------------------------


def _admin_template(session: Session, actor: Actor, template_id: int) -> FormTemplate:
    policy.require(actor, "banshi.template.manage")
    t = session.get(FormTemplate, template_id)
    if t is None or t.agency_id != actor.agency_id:
        raise NotFound()
    return t


def admin_templates(session: Session, actor: Actor) -> list[FormTemplate]:
    policy.require(actor, "banshi.template.manage")
    return list(
        session.exec(
            select(FormTemplate)
            .where(FormTemplate.agency_id == (actor.agency_id or 0))
            .order_by(col(FormTemplate.sort), col(FormTemplate.id))
        ).all()
    )


def admin_public(session: Session, t: FormTemplate) -> dict[str, Any]:
    draft = _draft(session, t)
    return {
        **template_public(t),
        "status": t.status.value,
        "reader_department_ids": t.reader_department_ids,
        "published_version_id": t.published_version_id,
        "draft_version_id": draft.id if draft else None,
        "sort": t.sort,
    }


def _clean_text(value: str | None, label: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"{label}不能为空", code="invalid_field", field=label)
    if len(text) > limit:
        raise ValidationError(f"{label}不能超过 {limit} 字", code="invalid_field", field=label)
    return text


def _check_readers(session: Session, actor: Actor, ids: list[int]) -> list[int]:
    ids = sorted(set(ids))
    if ids:
        found = session.exec(
            select(Department.id).where(col(Department.id).in_(ids), Department.agency_id == actor.agency_id)
        ).all()
        if len(set(found)) != len(ids):
            raise ValidationError("可查阅部门必须是本机关的部门", code="bad_department", field="reader_department_ids")
    return ids


def create_template(
    session: Session,
    actor: Actor,
    *,
    name: str,
    category: str = "其他",
    description: str = "",
    code: str | None = None,
) -> FormTemplate:
    """A new template with an empty draft version (nothing staff see until it is published)."""
    policy.require(actor, "banshi.template.manage")
    agency_id = actor.agency_id or 0
    if code is None:
        n = session.exec(
            select(func.count()).select_from(FormTemplate).where(FormTemplate.agency_id == agency_id)
        ).one()
        code = f"form_{n + 1}"
        while session.exec(
            select(FormTemplate.id).where(FormTemplate.agency_id == agency_id, FormTemplate.code == code)
        ).first():
            n += 1
            code = f"form_{n + 1}"
    elif not FORM_CODE.fullmatch(code):
        raise ValidationError("表单标识只能用小写字母、数字和下划线，以字母开头", code="invalid_field", field="code")
    elif session.exec(
        select(FormTemplate.id).where(FormTemplate.agency_id == agency_id, FormTemplate.code == code)
    ).first():
        raise ValidationError("本机关已有同一标识的表单", code="duplicate_code", field="code")
    t = FormTemplate(
        agency_id=agency_id,
        code=code,
        name=_clean_text(name, "名称", 60),
        category=_clean_text(category, "分组", 20),
        description=_clean_text(description, "说明", 200, required=False),
        created_by=actor.user_id,
    )
    session.add(t)
    session.flush()
    session.add(FormVersion(template_id=t.id or 0, no=1, author_id=actor.user_id))
    session.flush()
    audit.record(
        session, actor, "banshi.template_create", target_type="bs_template", target_id=t.id, detail={"name": t.name}
    )
    return t


def update_template(
    session: Session,
    actor: Actor,
    template_id: int,
    *,
    name: str | None = None,
    category: str | None = None,
    description: str | None = None,
    reader_department_ids: list[int] | None = None,
    status: TemplateStatus | None = None,
    sort: int | None = None,
) -> FormTemplate:
    """Rename, regroup, describe, name reader departments, enable or disable a template (a disabled
    one keeps its requests; nobody starts a new one)."""
    t = _admin_template(session, actor, template_id)
    changed: dict[str, Any] = {}
    if name is not None:
        t.name = changed["name"] = _clean_text(name, "名称", 60)
    if category is not None:
        t.category = changed["category"] = _clean_text(category, "分组", 20)
    if description is not None:
        t.description = changed["description"] = _clean_text(description, "说明", 200, required=False)
    if reader_department_ids is not None:
        t.reader_department_ids = changed["reader_department_ids"] = _check_readers(
            session, actor, reader_department_ids
        )
    if status is not None:
        if status == TemplateStatus.active and t.published_version_id is None:
            raise InvalidTransition("表单尚未发布，不能启用", code="not_published")
        t.status = status
        changed["status"] = status.value
    if sort is not None:
        t.sort = changed["sort"] = sort
    t.updated_at = utcnow()
    session.add(t)
    audit.record(session, actor, "banshi.template_update", target_type="bs_template", target_id=t.id, detail=changed)
    return t


def _draft(session: Session, t: FormTemplate) -> FormVersion | None:
    return session.exec(
        select(FormVersion).where(FormVersion.template_id == t.id, FormVersion.state == VersionState.draft)
    ).first()


def get_draft(session: Session, actor: Actor, template_id: int) -> FormVersion:
    """The template's draft, made from the published version when there is none (the designer edits a
    copy; the published version stays as it is)."""
    t = _admin_template(session, actor, template_id)
    draft = _draft(session, t)
    if draft is not None:
        return draft
    base = session.get(FormVersion, t.published_version_id) if t.published_version_id else None
    no = session.exec(select(func.max(FormVersion.no)).where(FormVersion.template_id == t.id)).one() or 0
    draft = FormVersion(
        template_id=t.id or 0,
        no=no + 1,
        fields=list(base.fields) if base else [],
        route=dict(base.route) if base else {},
        options=dict(base.options) if base else {},
        author_id=actor.user_id,
    )
    session.add(draft)
    session.flush()
    audit.record(
        session, actor, "banshi.draft_create", target_type="bs_template", target_id=t.id, detail={"no": draft.no}
    )
    return draft


def validate_options(raw: Any) -> dict[str, Any]:
    """The template's options: 去重 (dedupe), skip the applicant, batch approval, the title pattern."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError("选项格式错误", code="bad_options", field="options")
    unknown = set(raw) - {"dedupe", "skip_applicant", "batch", "title"}
    if unknown:
        raise ValidationError(f"不认识的选项：{'、'.join(sorted(unknown))}", code="bad_options", field="options")
    dedupe = raw.get("dedupe", "none")
    if dedupe not in DEDUPE:
        raise ValidationError("去重方式只能是 none / adjacent / all", code="bad_options", field="dedupe")
    title = raw.get("title", "{applicant}的{template}")
    if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
        raise ValidationError(f"标题格式不能为空，且不超过 {TITLE_MAX} 字", code="bad_options", field="title")
    for key in ("skip_applicant", "batch"):
        if not isinstance(raw.get(key, False), bool):
            raise ValidationError(f"选项 {key} 必须是真或假", code="bad_options", field=key)
    return {
        "dedupe": dedupe,
        "skip_applicant": raw.get("skip_applicant", False),
        "batch": raw.get("batch", False),
        "title": title.strip(),
    }


def save_draft(
    session: Session, actor: Actor, template_id: int, *, fields_raw: Any, route_raw: Any, options_raw: Any
) -> FormVersion:
    """Check and store the designer's fields, route and options in the draft (422 naming the field)."""
    draft = get_draft(session, actor, template_id)
    cleaned = validate_fields(fields_raw)
    _check_link_targets(session, actor.agency_id, cleaned)
    route = validate_route(route_raw, cleaned)
    options = validate_options(options_raw)
    draft.fields, draft.route, draft.options = cleaned, route, options
    session.add(draft)
    audit.record(
        session,
        actor,
        "banshi.draft_save",
        target_type="bs_template",
        target_id=template_id,
        detail={"no": draft.no, "fields": len(cleaned)},
    )
    return draft


def _check_link_targets(session: Session, agency_id: int | None, fields: list[dict[str, Any]]) -> None:
    """A link's ``link_form`` names a form of the agency by its code (any state: a form disabled
    later keeps the links to it); another code would make the field refuse every request."""
    named = {f["link_form"]: f for f in fields if f.get("link_form")}
    if not named:
        return
    known = set(
        session.exec(
            select(FormTemplate.code).where(
                FormTemplate.agency_id == (agency_id or 0), col(FormTemplate.code).in_(named)
            )
        ).all()
    )
    for code, f in named.items():
        if code not in known:
            raise ValidationError(f"字段{quoted(f)}：限定的表单不是本机关的表单", code="bad_field", field=f["key"])


def publish(session: Session, actor: Actor, template_id: int) -> FormVersion:
    """The draft becomes the published version (checked again as a whole); the previous published
    one is retired, kept unchanged for the requests made on it."""
    t = _admin_template(session, actor, template_id)
    draft = _draft(session, t)
    if draft is None:
        raise InvalidTransition("没有待发布的草稿", code="no_draft")
    if not draft.fields:
        raise ValidationError("表单至少需要一个字段", code="no_fields", field="fields")
    cleaned = validate_fields(draft.fields)
    _check_link_targets(session, t.agency_id, cleaned)
    validate_route(draft.route, cleaned)
    validate_options(draft.options)
    if t.published_version_id is not None:
        old = session.get(FormVersion, t.published_version_id)
        if old is not None:
            old.state = VersionState.retired
            session.add(old)
    draft.state = VersionState.published
    draft.published_at = utcnow()
    t.published_version_id = draft.id
    t.updated_at = utcnow()
    session.add(draft)
    session.add(t)
    session.flush()
    audit.record(session, actor, "banshi.publish", target_type="bs_template", target_id=t.id, detail={"no": draft.no})
    return draft
