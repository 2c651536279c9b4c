"""Organisation CSV import and export.

One row per person: 机关, 部门 (nested departments joined with "/"), 姓名, 用户名, 职务, 角色,
电话, 办公室, 邮箱, 工号, 兼职 ("部门路径:职务" joined with ";"), and on import an optional
初始密码. Import is all-or-nothing and idempotent: the same file twice changes nothing the second
time. GBK/GB18030 files (as Excel saves them on Chinese Windows) are detected.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from office import audit, policy
from office.actor import Actor
from office.directory import service
from office.directory.service import PostSpec
from office.errors import ValidationError
from office.models import ROLE_LABELS, Department, DeptKind, Post, Role, User, UserRole
from office.spreadsheet import neutralise

COLUMNS = ["机关", "部门", "姓名", "用户名", "职务", "角色", "电话", "办公室", "邮箱", "工号", "兼职"]
ALIASES = {
    "agency": "机关",
    "department": "部门",
    "name": "姓名",
    "username": "用户名",
    "title": "职务",
    "roles": "角色",
    "phone": "电话",
    "office": "办公室",
    "email": "邮箱",
    "staff_no": "工号",
    "concurrent": "兼职",
    "password": "初始密码",
    "初始密码": "初始密码",
}
REQUIRED = ["机关", "姓名", "用户名"]
ROLE_BY_NAME = {
    **{label: role for role, label in ROLE_LABELS.items()},
    **{r.value: r for r in Role},
    "文书": Role.clerk,
    "收发员": Role.clerk,
    "领导": Role.leader,
    "管理员": Role.admin,
}
MAX_ROWS = 200_000


@dataclass
class ImportReport:
    created_users: int = 0
    updated_users: int = 0
    unchanged_users: int = 0
    created_departments: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"ok": not self.errors}


def decode_csv(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValidationError("无法识别文件编码：请保存为 UTF-8 或 GBK 编码的 CSV", code="bad_encoding")


def parse_rows(text: str) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError("文件为空", code="empty_file") from None
    except csv.Error as exc:
        raise ValidationError(f"CSV 格式错误：{exc}", code="bad_csv") from None
    names = [ALIASES.get(h.strip().lower(), ALIASES.get(h.strip(), h.strip())) for h in header]
    unknown = [h for h in names if h not in COLUMNS and h != "初始密码"]
    missing = [c for c in REQUIRED if c not in names]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"缺少列：{'、'.join(missing)}")
        if unknown:
            parts.append(f"不认识的列：{'、'.join(unknown)}")
        raise ValidationError("；".join(parts) + f"。应为：{','.join(COLUMNS)}", code="bad_columns")
    rows: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    try:
        for lineno, raw in enumerate(reader, start=2):
            if len(rows) >= MAX_ROWS:
                raise ValidationError(f"行数超过上限 {MAX_ROWS}", code="too_many_rows")
            if not any(c.strip() for c in raw):
                continue
            if len(raw) != len(names):
                errors.append({"line": lineno, "message": f"列数为 {len(raw)}，应为 {len(names)}"})
                continue
            row = {k: v.strip() for k, v in zip(names, raw, strict=False)}
            row["_line"] = str(lineno)
            rows.append(row)
    except csv.Error as exc:
        raise ValidationError(f"CSV 格式错误：{exc}", code="bad_csv") from None
    return rows, errors


def import_csv(session: Session, actor: Actor, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Validate every row first; apply only when all rows are good (the caller's transaction)."""
    policy.require(actor, "org.manage")
    policy.require(actor, "user.manage")
    rows, errors = parse_rows(decode_csv(data))
    report = ImportReport(errors=errors)
    seen: dict[str, int] = {}
    for row in rows:
        line = int(row["_line"])
        for col_name in REQUIRED:
            if not row.get(col_name):
                report.errors.append({"line": line, "message": f"“{col_name}”不能为空"})
        uname = row.get("用户名", "").lower()
        if uname and not service.USERNAME_RE.match(uname):
            report.errors.append({"line": line, "message": f"用户名“{uname}”格式不正确"})
        if uname in seen:
            report.errors.append({"line": line, "message": f"用户名“{uname}”与第 {seen[uname]} 行重复"})
        seen[uname] = line
        try:
            row["_roles"] = ",".join(r.value for r in _parse_roles(row.get("角色", "")))
            _parse_concurrent(row.get("兼职", ""))
        except ValidationError as exc:
            report.errors.append({"line": line, "message": exc.message})
    if report.errors:
        report.errors.sort(key=lambda e: e["line"])
        return report
    for row in rows:
        _apply_row(session, actor, row, report)
    audit.record(session, actor, "org.import", detail={k: v for k, v in report.as_dict().items() if k != "errors"})
    if dry_run:
        session.rollback()
    return report


def _parse_roles(text: str) -> list[Role]:
    out = []
    for part in text.replace("、", ";").replace("，", ";").replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        role = ROLE_BY_NAME.get(part)
        if role is None:
            raise ValidationError(f"不认识的角色“{part}”")
        out.append(role)
    return out or [Role.staff]


def _parse_concurrent(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        path, _, title = part.partition(":")
        if not path.strip():
            raise ValidationError(f"兼职格式应为“部门:职务”，而不是“{part}”")
        out.append((path.strip(), title.strip()))
    return out


def _ensure_dept(session: Session, actor: Actor, agency: str, path: str, report: ImportReport) -> Department:
    node = _find_child(session, None, agency)
    if node is None:
        node = service.create_department(session, actor, name=agency, kind=DeptKind.agency)
        report.created_departments += 1
    for name in [p.strip() for p in path.split("/") if p.strip()]:
        child = _find_child(session, node.id, name)
        if child is None:
            child = service.create_department(session, actor, name=name, parent_id=node.id)
            report.created_departments += 1
        node = child
    return node


def _find_child(session: Session, parent_id: int | None, name: str) -> Department | None:
    cond = col(Department.parent_id).is_(None) if parent_id is None else Department.parent_id == parent_id
    return session.exec(select(Department).where(cond, Department.name == name)).first()


def _apply_row(session: Session, actor: Actor, row: dict[str, str], report: ImportReport) -> None:
    agency = row["机关"]
    primary = _ensure_dept(session, actor, agency, row.get("部门", ""), report)
    posts = [PostSpec(department_id=primary.id, title=row.get("职务", ""), is_primary=True)]  # type: ignore[arg-type]
    for path, title in _parse_concurrent(row.get("兼职", "")):
        dept = _ensure_dept(session, actor, agency, path, report)
        if dept.id != primary.id:
            posts.append(PostSpec(department_id=dept.id, title=title, is_primary=False))  # type: ignore[arg-type]
    roles = {Role(r) for r in row["_roles"].split(",") if r}
    uname = row["用户名"].lower()
    contact = {
        "name": row["姓名"],
        "phone": row.get("电话", ""),
        "office": row.get("办公室", ""),
        "email": row.get("邮箱", ""),
        "staff_no": row.get("工号", ""),
    }
    user = service.get_user_by_username(session, uname)
    if user is None:
        password = row.get("初始密码") or secrets.token_urlsafe(24)
        service.create_user(
            session,
            actor,
            username=uname,
            password=password,
            posts=posts,
            roles=roles,
            check_password=bool(row.get("初始密码")),
            **contact,
        )
        report.created_users += 1
        return
    assert user.id is not None
    changed = False
    if any(getattr(user, k) != v for k, v in contact.items()):
        service.update_user(session, actor, user.id, **contact)
        changed = True
    current_posts = sorted(
        (p.department_id, p.title, p.is_primary)
        for p in session.exec(select(Post).where(Post.user_id == user.id)).all()
    )
    if current_posts != sorted((p.department_id, p.title, p.is_primary) for p in posts):
        service.set_posts(session, actor, user.id, posts)
        changed = True
    if set(session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all()) != roles:
        service.set_roles(session, actor, user.id, roles)
        changed = True
    if changed:
        report.updated_users += 1
    else:
        report.unchanged_users += 1


def export_csv(session: Session, actor: Actor) -> bytes:
    policy.require(actor, "org.manage")
    depts = {d.id: d for d in session.exec(select(Department)).all()}

    def dept_path(d: Department) -> tuple[str, str]:
        names = []
        node: Department | None = d
        while node is not None and node.kind != DeptKind.agency:
            names.append(node.name)
            node = depts.get(node.parent_id) if node.parent_id else None
        return (node.name if node else ""), "/".join(reversed(names))

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    users = session.exec(select(User).where(User.is_active == True).order_by(User.id)).all()  # type: ignore[arg-type]  # noqa: E712
    posts: dict[int, list[Post]] = {}
    for p in session.exec(select(Post).order_by(Post.rank, Post.id)).all():  # type: ignore[arg-type]
        posts.setdefault(p.user_id, []).append(p)
    roles: dict[int, list[Role]] = {}
    for r in session.exec(select(UserRole)).all():
        roles.setdefault(r.user_id, []).append(r.role)
    for u in users:
        ups = posts.get(u.id or 0, [])
        primary = next((p for p in ups if p.is_primary), None)
        agency, path = dept_path(depts[primary.department_id]) if primary else ("", "")
        concurrent = ";".join(f"{dept_path(depts[p.department_id])[1]}:{p.title}" for p in ups if not p.is_primary)
        role_text = "、".join(
            ROLE_LABELS[r] for r in sorted(roles.get(u.id or 0, []), key=lambda r: list(Role).index(r))
        )
        writer.writerow(
            [
                neutralise(c)
                for c in [
                    agency,
                    path,
                    u.name,
                    u.username,
                    primary.title if primary else "",
                    role_text,
                    u.phone,
                    u.office,
                    u.email,
                    u.staff_no,
                    concurrent,
                ]
            ]
        )
    audit.record(session, actor, "org.export", detail={"users": len(users)})
    return "\ufeff".join(["", buf.getvalue()]).encode("utf-8")
