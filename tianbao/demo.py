"""Demo data for ``office demo``: 数据填报 from the province down to three cities.

Seeded through the same services a user goes through (so 留痕, events and audit entries are real):

* three cities, each its own agency (广州市人民政府, 深圳市人民政府, 珠海市人民政府) with 办公室 and
  统计科; in each 统计科 a clerk 填报员, its head 审核人 and a 科员; in each 办公室 its head;
* the three provincial agencies may collect from the three cities (采集范围);
* twelve items owned by 广东省发展和改革委员会's 规划处 (one by 财政厅's 预算处): yearly, quarterly and
  standing figures, two computed from the directory, a table of key projects, one 敏感;
* a 2026年第3季度 task the three 统计科 filled, submitted and had accepted, so their figures are in the
  registry; and the issued task "2026年第4季度经济运行数据", whose forms open prefilled from them.

Each city account gets its own password hash, like ``office.demo``'s (``password``: the demo's)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from office.accounts import load_actor
from office.actor import SYSTEM, Actor
from office.db import settings_of, utcnow
from office.demo import DemoAccount
from office.directory import service
from office.directory.service import PostSpec
from office.models import ROLE_LABELS, Department, DeptKind, Post, Role
from office.secrets_box import hash_password
from tianbao import items, returns, scopes, tasks
from tianbao.models import CollectTask, UnitReturn

PROVINCE = ("广东省人民政府办公厅", "广东省发展和改革委员会", "广东省财政厅")
COLLECTOR = ("广东省发展和改革委员会", "规划处")
FINANCE = ("广东省财政厅", "预算处")
Q4_TITLE = "2026年第4季度经济运行数据"
Q3_TITLE = "2026年第3季度经济运行数据"

# (city, code, usernames prefix, [(name, title, roles, department)])
CITIES: list[tuple[str, str, str, list[tuple[str, str, set[Role], str]]]] = [
    (
        "广州市人民政府",
        "穗府",
        "gz",
        [
            ("林晓燕", "填报员", {Role.clerk, Role.staff}, "统计科"),
            ("陈建国", "统计科科长", {Role.dept_head, Role.staff}, "统计科"),
            ("黄志明", "科员", {Role.staff}, "统计科"),
            ("梁文博", "办公室主任", {Role.dept_head, Role.staff}, "办公室"),
        ],
    ),
    (
        "深圳市人民政府",
        "深府",
        "sz",
        [
            ("郑雨欣", "填报员", {Role.clerk, Role.staff}, "统计科"),
            ("吴海涛", "统计科科长", {Role.dept_head, Role.staff}, "统计科"),
            ("许嘉怡", "办公室主任", {Role.dept_head, Role.staff}, "办公室"),
        ],
    ),
    (
        "珠海市人民政府",
        "珠府",
        "zh",
        [
            ("苏思远", "填报员", {Role.clerk, Role.staff}, "统计科"),
            ("叶国庆", "统计科科长", {Role.dept_head, Role.staff}, "统计科"),
            ("何子涵", "科员", {Role.staff}, "统计科"),
        ],
    ),
]
USERNAMES = {"填报员": "filler", "统计科科长": "reviewer", "科员": "staff", "办公室主任": "office"}

NUMBER = {"type": "number", "min": 0, "decimals": 2}
PERCENT = {"type": "number", "min": -100, "max": 100, "decimals": 1}
PROJECTS = {
    "type": "table",
    "columns": [
        {"key": "name", "label": "项目名称", "type": "text", "required": True},
        {"key": "total", "label": "总投资（亿元）", "type": "number", "min": 0},
        {"key": "done", "label": "年度完成投资（亿元）", "type": "number", "min": 0},
    ],
    "max_rows": 50,
}
# code, name, unit, spec, cycle, level, source, section
ITEMS: list[tuple[str, str, str, dict[str, Any], str, str, str, str]] = [
    ("GD.A01.001", "辖区常住人口", "万人", NUMBER, "year", "public", "", "人口与机构"),
    (
        "GD.A01.002",
        "在编人数",
        "人",
        {"type": "number", "min": 0},
        "year",
        "internal",
        "directory.staff_count",
        "人口与机构",
    ),
    (
        "GD.A01.003",
        "内设机构数",
        "个",
        {"type": "number", "min": 0},
        "year",
        "internal",
        "directory.department_count",
        "人口与机构",
    ),
    ("GD.A01.004", "辖区行政村（社区）数", "个", {"type": "number", "min": 0}, "once", "public", "", "人口与机构"),
    ("GD.B01.001", "地区生产总值", "亿元", NUMBER, "quarter", "internal", "", "经济运行"),
    ("GD.B01.002", "地区生产总值增速", "%", PERCENT, "quarter", "internal", "", "经济运行"),
    ("GD.B01.003", "社会消费品零售总额", "亿元", NUMBER, "quarter", "internal", "", "经济运行"),
    ("GD.B01.004", "居民人均可支配收入", "元", NUMBER, "quarter", "internal", "", "经济运行"),
    ("GD.B01.005", "城镇调查失业率", "%", PERCENT, "quarter", "internal", "", "经济运行"),
    ("GD.C01.001", "财政一般公共预算收入", "万元", NUMBER, "quarter", "internal", "", "财政"),
    ("GD.D01.001", "重点项目清单", "", PROJECTS, "quarter", "internal", "", "重点项目"),
    ("GD.E01.001", "规模以上工业企业亏损面", "%", PERCENT, "quarter", "sensitive", "", "经济运行"),
]
REQUIRED = {"GD.A01.001", "GD.B01.001", "GD.B01.002"}

# What each city's 统计科 reported for 2026年第3季度 (the yearly and standing figures carry into 第4季度).
Q3: dict[str, dict[str, Any]] = {
    "gz": {
        "GD.A01.001": 1882.7,
        "GD.A01.004": 2778,
        "GD.B01.001": 7520.3,
        "GD.B01.002": 3.2,
        "GD.B01.003": 2650.1,
        "GD.B01.004": 18200,
        "GD.B01.005": 5.1,
        "GD.C01.001": 4120000,
        "GD.D01.001": [
            {"name": "广州东站改造", "total": 320, "done": 45.5},
            {"name": "南沙港四期", "total": 150, "done": 30},
        ],
    },
    "sz": {
        "GD.A01.001": 1779.0,
        "GD.A01.004": 1088,
        "GD.B01.001": 9102.6,
        "GD.B01.002": 5.0,
        "GD.B01.003": 2480.7,
        "GD.B01.004": 20150,
        "GD.B01.005": 4.8,
        "GD.C01.001": 5230000,
        "GD.D01.001": [{"name": "深中通道配套", "total": 210, "done": 60}],
    },
    "zh": {
        "GD.A01.001": 249.4,
        "GD.A01.004": 332,
        "GD.B01.001": 1098.2,
        "GD.B01.002": 4.1,
        "GD.B01.003": 312.5,
        "GD.B01.004": 17800,
        "GD.B01.005": 4.5,
        "GD.C01.001": 930000,
        "GD.D01.001": [{"name": "珠海机场扩建", "total": 85, "done": 12.3}],
    },
}


def seed(session: Session, password: str | None = None) -> list[DemoAccount]:
    """The cities' 填报 demo; returns the accounts worth printing (each city's 填报员 and 审核人)."""
    province = _province(session)
    if province is None or session.exec(select(CollectTask.id).limit(1)).first() is not None:
        return []  # not the demo organisation, or seeded already
    units = _cities(session, password)
    for unit in units.values():  # each city's administrator lets the three provincial agencies collect
        admin = dataclasses.replace(SYSTEM, agency_id=unit["agency_id"])
        scopes.set_grants(session, admin, [(p, unit["agency_id"]) for p in province.values()])
    found = _items(session, province)
    head = _head(session, COLLECTOR)
    q3 = _task(session, head, found, units, Q3_TITLE, "2026Q3", dt.timedelta(days=1))
    for prefix, unit in units.items():
        _fill(session, q3, unit, {found[c]: v for c, v in Q3[prefix].items()})
    for ret in session.exec(select(UnitReturn).where(UnitReturn.task_id == q3.id)).all():
        returns.accept(session, head, ret, ret.version)
    tasks.close(session, head, q3.id or 0, q3.version)
    _task(session, head, found, units, Q4_TITLE, "2026Q4", dt.timedelta(days=14))
    return [
        DemoAccount(f"{prefix}_{USERNAMES[title]}", name, ROLE_LABELS[min(roles - {Role.staff})], f"{city} {dept}")
        for city, _code, prefix, people in CITIES
        for name, title, roles, dept in people
        if title in ("填报员", "统计科科长")
    ]


def _province(session: Session) -> dict[str, int] | None:
    rows = session.exec(
        select(Department.name, Department.id).where(
            col(Department.name).in_(PROVINCE), Department.kind == DeptKind.agency
        )
    ).all()
    found = {name: i for name, i in rows if i is not None}
    return found if len(found) == len(PROVINCE) else None


def _dept(session: Session, agency: str, name: str) -> Department:
    agency_row = session.exec(
        select(Department).where(Department.name == agency, Department.kind == DeptKind.agency)
    ).one()
    return session.exec(select(Department).where(Department.parent_id == agency_row.id, Department.name == name)).one()


def _head(session: Session, where: tuple[str, str]) -> Actor:
    dept = _dept(session, *where)
    heads = session.exec(
        select(Post.user_id).where(Post.department_id == dept.id).order_by(col(Post.rank), col(Post.user_id))
    ).all()
    for user_id in heads:
        actor = load_actor(session, user_id)
        if dept.id in actor.headed_department_ids:
            return actor
    raise RuntimeError(f"demo: {where} has no head")


def _cities(session: Session, password: str | None) -> dict[str, dict[str, Any]]:
    """The cities, their departments and people; returns {prefix: {agency_id, unit_id, filler, reviewer}}."""
    settings = settings_of(session)
    units: dict[str, dict[str, Any]] = {}
    for index, (city, code, prefix, people) in enumerate(CITIES):
        agency = service.create_department(
            session, SYSTEM, name=city, kind=DeptKind.agency, code=code, sort_order=10 + index
        )
        depts = {
            name: service.create_department(session, SYSTEM, name=name, parent_id=agency.id, sort_order=n).id or 0
            for n, name in enumerate(("办公室", "统计科"), start=1)
        }
        ids: dict[str, int] = {}
        for name, title, roles, dept in people:
            role = USERNAMES[title]
            user = service.create_user(
                session,
                SYSTEM,
                username=f"{prefix}_{role}",
                name=name,
                password=password or "",
                roles=roles,
                posts=[PostSpec(department_id=depts[dept], title=title, rank=10 if roles - {Role.staff} else 100)],
                check_password=False,
                password_hash=hash_password(settings, password) if password else "!",
            )
            ids[role] = user.id or 0
        units[prefix] = {"agency_id": agency.id, "unit_id": depts["统计科"], **ids}
    return units


def _items(session: Session, province: dict[str, int]) -> dict[str, int]:
    owner = _dept(session, *COLLECTOR)
    finance = _dept(session, *FINANCE)
    out: dict[str, int] = {}
    for code, name, unit, spec, cycle, level, source, _section in ITEMS:
        theirs = code.startswith("GD.C")
        item = items.create_item(
            session,
            SYSTEM,
            {
                "code": code,
                "name": name,
                "unit_label": unit,
                "definition": f"{name}，按国家统计制度口径填报。",
                "spec": spec,
                "cycle": cycle,
                "level": level,
                "source": source,
                "owner_dept_id": (finance if theirs else owner).id,
                # 财政厅's figure is read by the 发改委, which collects it (and the 省政府办公厅)
                "reader_agency_ids": [province[PROVINCE[0]], province[PROVINCE[1]]]
                if theirs
                else [province[PROVINCE[0]]],
            },
        )
        out[code] = item.id or 0
    return out


def _task(
    session: Session,
    head: Actor,
    found: dict[str, int],
    units: dict[str, dict[str, Any]],
    title: str,
    period: str,
    due: dt.timedelta,
) -> CollectTask:
    sections = {code: section for code, *_, section in ITEMS}
    task = tasks.create_task(
        session,
        head,
        {
            "title": title,
            "description": "请各市统计部门按统计制度口径填报，经科室负责人审核后报送。",
            "period": period,
            "deadline": utcnow() + due,
            "items": [{"item_id": found[c], "section": sections[c], "required": c in REQUIRED} for c in found],
            "units": [
                {"unit_id": u["unit_id"], "filler_id": u["filler"], "reviewer_id": u["reviewer"]}
                for u in units.values()
            ],
        },
    )
    return tasks.issue(session, head, task.id or 0, task.version)


def _fill(session: Session, task: CollectTask, unit: dict[str, Any], typed: dict[int, Any]) -> None:
    ret = session.exec(
        select(UnitReturn).where(UnitReturn.task_id == task.id, UnitReturn.unit_id == unit["unit_id"])
    ).one()
    filler, reviewer = load_actor(session, unit["filler"]), load_actor(session, unit["reviewer"])
    returns.open_return(session, filler, ret)
    returns.save_values(session, filler, ret, {str(k): v for k, v in typed.items()}, {}, ret.version)
    returns.to_review(session, filler, ret, ret.version)
    returns.submit(session, reviewer, ret, ret.version)
