"""通讯录 (read) and organisation administration (departments, users, roles, CSV, audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from office import accounts, audit, hotpath
from office.actor import Actor
from office.db import settings_of
from office.directory import csvio, lookup, service, visibility
from office.directory.service import PostSpec
from office.errors import ValidationError
from office.models import DeptKind, Role
from office.timefmt import iso
from office.web import Body, Ctx, api

# Directory -------------------------------------------------------------------------------------


@api(action="directory.read")
def tree(ctx: Ctx) -> dict[str, Any]:
    return {"items": service.department_tree(ctx.session)}


def _search_cached(request: Request, actor: Actor) -> bytes | None:
    """The search answered from the in-memory index on the event loop (see ``office.hotpath``)."""
    q = hotpath.query(request).get("q", "")
    dept = hotpath.int_param(request, "department_id", 0, 0, 1_000_000)
    limit = hotpath.int_param(request, "limit", 20, 1, 100)
    index = hotpath.app_cache(request).directory_index
    if len(q) > 50 or dept is None or limit is None or index is None:
        return None
    scope = visibility.scope_of(request.app.state.db.settings, actor)  # the settings ``settings_of`` reads
    return lookup.search_body(index, q, department_id=dept or None, limit=limit, scope=scope)


@hotpath.fast_first(_search_cached, path="/api/directory/search")
@api(action="directory.read")
def search(ctx: Ctx) -> Any:
    q = ctx.query("q")
    if len(q) > 50:
        raise ValidationError("搜索词不能超过 50 个字符", code="query_too_long")
    dept = ctx.query_int("department_id", 0) or None
    limit = ctx.query_int("limit", 20, lo=1, hi=100)
    body = lookup.search_json(ctx.session, ctx.user, q, department_id=dept, limit=limit)
    if body is not None:
        return Response(body, media_type="application/json")
    return {"items": lookup.search(ctx.session, ctx.user, q, department_id=dept, limit=limit)}


@api(action="directory.read")
def members(ctx: Ctx) -> dict[str, Any]:
    return lookup.department_members(
        ctx.session,
        ctx.user,
        ctx.path_int("dept_id"),
        offset=ctx.query_int("offset", 0),
        limit=ctx.query_int("limit", 100, lo=1, hi=500),
    )


@api(action="directory.read")
def person(ctx: Ctx) -> dict[str, Any]:
    return service.person_card(ctx.session, ctx.user, ctx.path_int("user_id"))


# Departments -----------------------------------------------------------------------------------


class DepartmentCreate(Body):
    name: str = Field(max_length=100)
    parent_id: int | None = None
    kind: DeptKind = DeptKind.department
    code: str | None = Field(default=None, max_length=20)
    sort_order: int = 0


class DepartmentUpdate(Body):
    name: str | None = Field(default=None, max_length=100)
    parent_id: int | None = None
    code: str | None = Field(default=None, max_length=20)
    sort_order: int | None = None


def _dept(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "kind": d.kind.value,
        "parent_id": d.parent_id,
        "agency_id": d.agency_id,
        "code": d.code,
        "sort_order": d.sort_order,
    }


@api(action="org.manage", body=DepartmentCreate, write=True, status=201)
def create_department(ctx: Ctx) -> dict[str, Any]:
    b: DepartmentCreate = ctx.body
    return _dept(
        service.create_department(
            ctx.session, ctx.user, name=b.name, parent_id=b.parent_id, kind=b.kind, code=b.code, sort_order=b.sort_order
        )
    )


@api(action="org.manage", body=DepartmentUpdate, write=True)
def update_department(ctx: Ctx) -> dict[str, Any]:
    b: DepartmentUpdate = ctx.body
    return _dept(
        service.update_department(
            ctx.session,
            ctx.user,
            ctx.path_int("dept_id"),
            name=b.name,
            code=b.code,
            sort_order=b.sort_order,
            parent_id=b.parent_id,
        )
    )


@api(action="org.manage", write=True)
def delete_department(ctx: Ctx) -> None:
    service.delete_department(ctx.session, ctx.user, ctx.path_int("dept_id"))


# Users -----------------------------------------------------------------------------------------


class PostBody(Body):
    department_id: int
    title: str = Field(default="", max_length=50)
    is_primary: bool = True
    rank: int = 100


class UserCreate(Body):
    username: str = Field(max_length=64)
    name: str = Field(max_length=50)
    password: str = Field(max_length=200)
    posts: list[PostBody] = Field(default_factory=list, max_length=20)
    roles: list[Role] = Field(default_factory=lambda: [Role.staff], max_length=10)
    phone: str = Field(default="", max_length=40)
    office: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=200)
    staff_no: str = Field(default="", max_length=32)


class UserUpdate(Body):
    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=40)
    office: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    staff_no: str | None = Field(default=None, max_length=32)


class PostsBody(Body):
    posts: list[PostBody] = Field(max_length=20)


class RolesBody(Body):
    roles: list[Role] = Field(max_length=10)


class ResetBody(Body):
    password: str = Field(max_length=200)


def _posts(items: list[PostBody]) -> list[PostSpec]:
    return [PostSpec(department_id=p.department_id, title=p.title, is_primary=p.is_primary, rank=p.rank) for p in items]


def _user_out(ctx: Ctx, user_id: int) -> dict[str, Any]:
    user = service.get_user(ctx.session, user_id)
    return service.person_public(
        user, service.posts_of(ctx.session, [user_id])[user_id], service.roles_of(ctx.session, user_id)
    )


@api(action="user.manage")
def list_users(ctx: Ctx) -> dict[str, Any]:
    return lookup.list_users(
        ctx.session,
        ctx.user,
        q=ctx.query("q")[:50],
        offset=ctx.query_int("offset", 0),
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )


@api(action="user.manage", body=UserCreate, write=True, status=201)
def create_user(ctx: Ctx) -> dict[str, Any]:
    b: UserCreate = ctx.body
    user = service.create_user(
        ctx.session,
        ctx.user,
        username=b.username,
        name=b.name,
        password=b.password,
        posts=_posts(b.posts),
        roles=b.roles,
        phone=b.phone,
        office=b.office,
        email=b.email,
        staff_no=b.staff_no,
    )
    return _user_out(ctx, user.id)  # type: ignore[arg-type]


@api(action="user.manage", body=UserUpdate, write=True)
def update_user(ctx: Ctx) -> dict[str, Any]:
    uid = ctx.path_int("user_id")
    service.update_user(ctx.session, ctx.user, uid, **ctx.body.model_dump(exclude_none=True))
    return _user_out(ctx, uid)


@api(action="user.manage", body=PostsBody, write=True)
def set_posts(ctx: Ctx) -> dict[str, Any]:
    uid = ctx.path_int("user_id")
    service.set_posts(ctx.session, ctx.user, uid, _posts(ctx.body.posts))
    return _user_out(ctx, uid)


@api(action="role.assign", body=RolesBody, write=True)
def set_roles(ctx: Ctx) -> dict[str, Any]:
    uid = ctx.path_int("user_id")
    service.set_roles(ctx.session, ctx.user, uid, ctx.body.roles)
    return _user_out(ctx, uid)


@api(action="user.manage", write=True)
def disable_user(ctx: Ctx) -> dict[str, Any]:
    uid = ctx.path_int("user_id")
    service.set_active(ctx.session, ctx.user, uid, False)
    return _user_out(ctx, uid)


@api(action="user.manage", write=True)
def enable_user(ctx: Ctx) -> dict[str, Any]:
    uid = ctx.path_int("user_id")
    service.set_active(ctx.session, ctx.user, uid, True)
    return _user_out(ctx, uid)


@api(action="user.manage", body=ResetBody, write=True)
def reset_password(ctx: Ctx) -> dict[str, Any]:
    accounts.reset_password(ctx.session, ctx.user, ctx.path_int("user_id"), new=ctx.body.password)
    return {"ok": True}


# CSV -------------------------------------------------------------------------------------------


@api(action="org.manage", write=True, raw=True, max_bytes=20 * 1024 * 1024)
def import_org(ctx: Ctx) -> Any:
    dry_run = ctx.query("dry_run") in ("1", "true")
    report = csvio.import_csv(ctx.session, ctx.user, ctx.raw, dry_run=dry_run)
    if report.errors:
        from starlette.responses import JSONResponse

        # Nothing was applied: roll back anything and answer 422 with the per-line report.
        ctx.session.rollback()
        return JSONResponse(
            {
                "error": "import_rejected",
                "message": f"有 {len(report.errors)} 行有误，未导入任何数据",
                **report.as_dict(),
            },
            status_code=422,
        )
    return report.as_dict() | {"dry_run": dry_run}


@api(action="org.manage", write=True)
def export_org(ctx: Ctx) -> Response:
    data = csvio.export_csv(ctx.session, ctx.user)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''organisation.csv"},
    )


# Audit and settings ------------------------------------------------------------------------------


def _parse_time(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"参数 {name} 不是有效的时间（ISO 8601）", code="bad_query") from None
    if parsed.tzinfo is None:
        raise ValidationError(f"参数 {name} 需要带时区", code="bad_query")
    return parsed


@api(action="audit.read")
def audit_list(ctx: Ctx) -> dict[str, Any]:
    rows = audit.query(
        ctx.session,
        actor_id=ctx.query_int("actor_id", 0) or None,
        action=ctx.query("action")[:80] or None,
        target_type=ctx.query("target_type")[:50] or None,
        since=_parse_time(ctx.query("since"), "since"),
        until=_parse_time(ctx.query("until"), "until"),
        before_seq=ctx.query_int("before", 0) or None,
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )
    return {
        "items": [
            {
                "seq": e.seq,
                "at": iso(e.at),
                "actor_id": e.actor_id,
                "actor_name": e.actor_name,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "ip": e.ip,
                "detail": e.detail,
                "names": names,
            }
            for e, names in zip(rows, audit.named(ctx.session, rows), strict=True)
        ],
        "next_before": rows[-1].seq if rows else None,
    }


@api(action="audit.read")
def audit_verify(ctx: Ctx) -> dict[str, Any]:
    report = audit.verify_chain(ctx.session)
    return report.__dict__


class RolePolicyBody(Body):
    role: Role
    require_2fa: bool


def _policies(ctx: Ctx) -> dict[str, Any]:
    """Each role's requirement, and the roles the deployment requires it of (``OFFICE_ADMIN_2FA``),
    which the page shows as fixed."""
    fixed = accounts.required_2fa(settings_of(ctx.session), frozenset())
    return {"items": accounts.role_policies(ctx.session), "fixed": sorted(r.value for r in fixed)}


@api(action="settings.manage")
def role_policies(ctx: Ctx) -> dict[str, Any]:
    return _policies(ctx)


@api(action="settings.manage", body=RolePolicyBody, write=True)
def set_role_policy(ctx: Ctx) -> dict[str, Any]:
    accounts.set_role_policy(ctx.session, ctx.user, ctx.body.role, require_2fa=ctx.body.require_2fa)
    return _policies(ctx)


class WatermarkBody(Body):
    enabled: bool


@api(action="settings.manage", body=WatermarkBody, write=True)
def set_watermark(ctx: Ctx) -> dict[str, Any]:
    """Turn the anti-leak watermark on or off for the whole deployment (audited)."""
    from office.models import SystemSetting

    row = ctx.session.get(SystemSetting, "watermark") or SystemSetting(key="watermark", value={})
    row.value = {"enabled": ctx.body.enabled}
    ctx.session.add(row)
    audit.record(
        ctx.session,
        ctx.actor,
        "settings.watermark",
        target_type="setting",
        target_id="watermark",
        detail={"enabled": ctx.body.enabled},
    )
    return {"enabled": ctx.body.enabled}


routes = [
    Route("/api/admin/settings/watermark", set_watermark, methods=["PUT"]),
    Route("/api/directory/tree", tree, methods=["GET"]),
    Route("/api/directory/search", search, methods=["GET"]),
    Route("/api/directory/departments/{dept_id:int}/members", members, methods=["GET"]),
    Route("/api/directory/people/{user_id:int}", person, methods=["GET"]),
    Route("/api/admin/departments", create_department, methods=["POST"]),
    Route("/api/admin/departments/{dept_id:int}", update_department, methods=["PATCH"]),
    Route("/api/admin/departments/{dept_id:int}", delete_department, methods=["DELETE"]),
    Route("/api/admin/users", list_users, methods=["GET"]),
    Route("/api/admin/users", create_user, methods=["POST"]),
    Route("/api/admin/users/{user_id:int}", update_user, methods=["PATCH"]),
    Route("/api/admin/users/{user_id:int}/posts", set_posts, methods=["PUT"]),
    Route("/api/admin/users/{user_id:int}/roles", set_roles, methods=["PUT"]),
    Route("/api/admin/users/{user_id:int}/disable", disable_user, methods=["POST"]),
    Route("/api/admin/users/{user_id:int}/enable", enable_user, methods=["POST"]),
    Route("/api/admin/users/{user_id:int}/reset-password", reset_password, methods=["POST"]),
    Route("/api/admin/org/import", import_org, methods=["POST"]),
    Route("/api/admin/org/export", export_org, methods=["GET"]),
    Route("/api/admin/audit", audit_list, methods=["GET"]),
    Route("/api/admin/audit/verify", audit_verify, methods=["GET"]),
    Route("/api/admin/role-policies", role_policies, methods=["GET"]),
    Route("/api/admin/role-policies", set_role_policy, methods=["PUT"]),
]
