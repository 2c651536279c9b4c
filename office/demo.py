"""``office demo``: a demo province — 3 agencies, about 15 departments, about 60 staff, every role."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from office import accounts as auth
from office.actor import SYSTEM
from office.db import settings_of
from office.directory import service
from office.directory.pinyin import full_and_initials
from office.directory.service import PostSpec
from office.models import ROLE_LABELS, DeptKind, Role, User, UserRole
from office.secrets_box import hash_password

AGENCIES = [
    ("广东省人民政府办公厅", "粤府办", ["秘书一处", "秘书二处", "综合处", "督查室", "信息处", "行政处"]),
    ("广东省发展和改革委员会", "粤发改", ["办公室", "政策研究室", "规划处", "投资处", "法规处"]),
    ("广东省财政厅", "粤财", ["办公室", "预算处", "国库处", "综合处"]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程苏魏吕丁任沈"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "晓东",
    "海燕",
    "国庆",
    "文博",
    "思远",
    "雨欣",
    "子涵",
    "浩然",
    "嘉怡",
]


@dataclass
class DemoAccount:
    username: str
    name: str
    role: str
    department: str
    totp_secret: str = ""  # set for the accounts ``enrol_two_step`` enrolled
    recovery_codes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _username(name: str, taken: set[str]) -> str:
    full, _ = full_and_initials(name)
    base = full or "user"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    taken.add(candidate)
    return candidate


# Each account gets its own Argon2 hash (its own salt, the real accounts' parameters): one shared hash
# would show that every demo account has the same password, and cracking it would open them all.
# A hash takes 0.1-0.3 s, so they are computed on threads (argon2 releases the GIL) while the rows are
# written, and filled in before the transaction commits; until then a row holds no usable hash.
HASH_THREADS = max(2, os.cpu_count() or 2)
#: The signing PIN of every demo key and seal (``esign.demo``); ``office demo --pin`` prints it.
DEMO_PIN = "135246"
NOT_YET_HASHED = "!"


def seed(session: Session, *, password: str, seed_value: int = 2026) -> list[DemoAccount]:
    """Create the demo organisation in ``session``; returns the accounts (one line each)."""
    settings = settings_of(session)
    with ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="demo-hash") as pool:
        hashing: list[tuple[User, Future[str]]] = []
        accounts = _seed(
            session,
            password=password,
            seed_value=seed_value,
            hash_later=lambda user: hashing.append((user, pool.submit(hash_password, settings, password))),
        )
        for user, hashed in hashing:
            user.password_hash = hashed.result()
            session.add(user)
    enrol_two_step(session, accounts)
    return accounts


def enrol_two_step(session: Session, accounts: list[DemoAccount]) -> None:
    """The demo's 系统管理员 and 印章管理员 must use two-step verification, as in any deployment
    (``OFFICE_ADMIN_2FA``): rather than turn that off, each gets its own random secret and recovery
    codes, printed with the logins (``print_accounts``), so the printed logins work and the demo
    password alone does not open them."""
    settings = settings_of(session)
    roles = auth.required_2fa(settings, frozenset())
    if not roles:
        return
    ids = select(UserRole.user_id).where(col(UserRole.role).in_(roles))
    by_name = {a.username: a for a in accounts}
    for user in session.exec(select(User).where(col(User.id).in_(ids)).order_by(col(User.id))).all():
        account = by_name.get(user.username)
        if account is not None:
            account.totp_secret, account.recovery_codes = auth.enrol_for_demo(session, settings, user)


def _seed(session: Session, *, password: str, seed_value: int, hash_later: Callable[[User], None]) -> list[DemoAccount]:
    rng = random.Random(seed_value)
    taken: set[str] = set()
    accounts: list[DemoAccount] = []
    names_used: set[str] = set()

    def person(
        dept_id: int, dept_name: str, title: str, roles: set[Role], name: str | None = None, username: str | None = None
    ) -> None:
        if name is None:
            while True:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                if name not in names_used:
                    break
        names_used.add(name)
        uname = username or _username(name, taken)
        taken.add(uname)
        user = service.create_user(
            session,
            SYSTEM,
            username=uname,
            name=name,
            password=password,
            roles=roles,
            posts=[PostSpec(department_id=dept_id, title=title, rank=10 if roles - {Role.staff} else 100)],
            phone=f"020-8{rng.randint(1000000, 9999999)}",
            office=f"{rng.randint(1, 12)}号楼{rng.randint(101, 920)}室",
            staff_no=f"GD{rng.randint(100000, 999999)}",
            check_password=False,
            password_hash=NOT_YET_HASHED,
        )
        hash_later(user)
        main_role = sorted(roles - {Role.staff}, key=lambda r: list(Role).index(r))
        label = ROLE_LABELS[main_role[0]] if main_role else ROLE_LABELS[Role.staff]
        accounts.append(DemoAccount(uname, name, label, dept_name))

    for index, (agency_name, code, depts) in enumerate(AGENCIES):
        agency = service.create_department(
            session, SYSTEM, name=agency_name, kind=DeptKind.agency, code=code, sort_order=index
        )
        assert agency.id is not None
        leader_office = service.create_department(
            session, SYSTEM, name="厅（委）领导", parent_id=agency.id, sort_order=0
        )
        assert leader_office.id is not None
        if index == 0:
            person(
                leader_office.id,
                leader_office.name,
                "副秘书长",
                {Role.leader, Role.staff},
                name="张伟",
                username="zhangwei",
            )
            person(leader_office.id, leader_office.name, "秘书长", {Role.leader, Role.staff})
        else:
            person(leader_office.id, leader_office.name, "主任" if index == 1 else "厅长", {Role.leader, Role.staff})
            person(
                leader_office.id, leader_office.name, "副主任" if index == 1 else "副厅长", {Role.leader, Role.staff}
            )
        for d_index, dept_name in enumerate(depts, start=1):
            dept = service.create_department(session, SYSTEM, name=dept_name, parent_id=agency.id, sort_order=d_index)
            assert dept.id is not None
            person(dept.id, dept_name, "处长" if "室" not in dept_name else "主任", {Role.dept_head, Role.staff})
            if dept_name in ("综合处", "办公室") and index < 3:
                person(dept.id, dept_name, "收发员", {Role.clerk, Role.staff})
                person(dept.id, dept_name, "印章管理员", {Role.seal_keeper, Role.staff})
            for _ in range(2 if index else 3):
                person(dept.id, dept_name, rng.choice(["科员", "一级主任科员", "二级主任科员", "副处长"]), {Role.staff})
        if index == 0:
            info = next(d for d in service.department_tree(session) if d["id"] == agency.id)
            it = next(c for c in info["children"] if c["name"] == "信息处")
            person(it["id"], "信息处", "系统管理员", {Role.admin, Role.staff}, name="系统管理员", username="admin")
    return accounts


def print_accounts(
    accounts: list[DemoAccount],
    password: str,
    url: str | None = None,
    *,
    pin: str = "",
    more: Sequence[DemoAccount] = (),
) -> str:
    lines = []
    if url:
        lines.append(f"通办已启动：{url}")
    lines.append(f"演示账号（密码均为 {password}）：")
    if pin:
        lines.append(f"签发、用印的签名 PIN 码（机关领导、印章管理员）均为 {pin}")
    seen_roles: set[str] = set()
    for a in accounts:
        if a.role not in seen_roles or a.username in ("zhangwei", "admin"):
            seen_roles.add(a.role)
            lines.append(f"  {a.username:<16} {a.name:<6} {a.role:<8} {a.department}")
    enrolled = [a for a in accounts if a.totp_secret]
    if enrolled:
        lines.append(
            "两步验证（系统管理员、印章管理员必须开启，演示库已为其开启）：登录时输入手机验证器上的 6 位数字，"
        )
        lines.append(
            "  把下面的密钥加入验证器（FreeOTP、Google Authenticator 等）；手边没有时可用恢复码，每个只能用一次"
        )
        lines += [
            f"  {a.username:<16} 验证器密钥 {a.totp_secret}  恢复码 {' '.join(a.recovery_codes[:2])}" for a in enrolled
        ]
    if more:  # the domains' own accounts (数据填报: the cities' 填报员 and 审核人)
        lines.append("下级单位账号（数据填报）：")
        lines += [f"  {a.username:<16} {a.name:<6} {a.role:<8} {a.department}" for a in more]
    lines.append(f"  …共 {len(accounts) + len(more)} 个账号（office demo --json 可列出全部）")
    return "\n".join(lines)


def as_json(accounts: list[DemoAccount]) -> list[dict[str, Any]]:
    return [a.as_dict() for a in accounts]
