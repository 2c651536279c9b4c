"""The built-in forms every agency gets (请假, 出差审批, 差旅费报销, 用车, 公务接待, 加班, 物品领用,
采购申请, 用印申请): their fields, routes and options in the shapes of ``banshi.fields`` and
``banshi.routing``, and ``ensure_builtin_templates``, which gives an agency the ones it lacks.

An agency may edit a built-in form like any other (new versions); the behaviour that goes with it
(leave balances, allowances, seal authorisation) follows ``FormTemplate.builtin``, so its field keys
named here (``kind``, ``dates``, ``details``, ``rank``, ``amount``, ``seal_id``, ``file``, ``times``)
are what that code reads.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from banshi import leave, leave_rules, travel
from banshi.models import FormTemplate, FormVersion, TemplateStatus, VersionState
from office.db import utcnow

YUAN = 100  # 分
BEHAVIOURS = (leave.BEHAVIOUR, travel.BEHAVIOUR)  # imported for their registration


def _load_seal_behaviour() -> None:
    """用印申请's behaviour registers itself in ``banshi.seal_request`` (the seal piece, on esign)."""
    try:
        importlib.import_module("banshi.seal_request")
    except ModuleNotFoundError as exc:
        if exc.name != "banshi.seal_request":
            raise


_load_seal_behaviour()


def f(key: str, label: str, type_: str, *, required: bool = True, help: str = "", **options: Any) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "type": type_,
        "required": required,
        "help": help,
        "visible_to": None,
        **options,
    }


def column(key: str, label: str, type_: str, *, required: bool = True, **options: Any) -> dict[str, Any]:
    """A detail table's column: a field without visibility of its own (the table's applies)."""
    out = f(key, label, type_, required=required, **options)
    del out["visible_to"]
    return out


def step(key: str, name: str, approvers: dict[str, Any], *, mode: str = "any") -> dict[str, Any]:
    return {"key": key, "name": name, "mode": mode, "approvers": approvers, "cc": [], "deadline_hours": None}


HEAD = {"kind": "head"}
SUPERVISOR = {"kind": "supervisor"}
PRINCIPAL = {"kind": "principal"}
FINANCE_HEAD = {"kind": "offices", "office": "finance", "role": "dept_head"}
PERSONNEL = {"kind": "offices", "office": "personnel", "role": None}
FINANCE = {"kind": "offices", "office": "finance", "role": None}
LARGE = {"field": "amount", "op": ">=", "value": 50_000 * YUAN}  # 5 万元 and more: the leaders too


def route(
    steps: list[dict[str, Any]],
    *,
    branches: list[dict[str, Any]] | None = None,
    cc_end: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {"branches": branches or [], "default": {"steps": steps}, "cc": {"submit": [], "end": cc_end or []}}


def options(*, batch: bool) -> dict[str, Any]:
    return {"dedupe": "adjacent", "skip_applicant": True, "batch": batch, "title": "{applicant}的{template}"}


@dataclass(frozen=True)
class Builtin:
    builtin: str
    name: str
    category: str
    description: str
    fields: list[dict[str, Any]]
    route: dict[str, Any]
    options: dict[str, Any] = field(default_factory=lambda: options(batch=False))


def _leave() -> Builtin:
    return Builtin(
        "leave",
        "请假",
        "人事",
        "年休假、病假、事假、婚假、产假、探亲假；按工作日历计算天数",
        [
            f("kind", "请假类型", "select", options=[k.label for k in leave_rules.LEAVE_KINDS]),
            f(
                "dates",
                "请假时间",
                "daterange",
                count="workdays",
                halves=True,
                help="年休假、事假、婚假按工作日计算，节假日不计；病假、产假、探亲假按日历天数计算",
            ),
            # The reason (a diagnosis, a family matter) is for the head and the personnel office, not every approver.
            {
                **f("reason", "请假事由", "textarea", max_length=500),
                "visible_to": {"steps": ["s1"], "offices": ["personnel"]},
            },
            f("handover", "工作交接人", "person", required=False, multiple=False),
        ],
        route(
            [step("s1", "部门负责人审批", HEAD)],
            branches=[
                {
                    "name": "超过三天",
                    "when": {"field": "dates.days", "op": ">", "value": 3},
                    "steps": [step("s1", "部门负责人审批", HEAD), step("s2", "分管领导审批", SUPERVISOR)],
                }
            ],
            cc_end=[PERSONNEL],
        ),
        options(batch=True),
    )


def _travel() -> Builtin:
    return Builtin(
        "travel",
        "出差审批",
        "财务",
        "出差前报批：目的地、时间、事由、同行人员",
        [
            f("destination", "出差地点", "text", max_length=100, help="省/市，如：北京、广东/广州"),
            f("dates", "出差时间", "daterange", count="calendar", halves=False),
            f("reason", "出差事由", "textarea", max_length=1000),
            f("companions", "同行人员", "person", required=False, multiple=True),
            f("transport", "交通工具", "select", options=["飞机", "火车", "汽车", "轮船", "自驾", "其他"]),
            f("amount", "预计费用", "money", required=False, min=0, max=10_000_000 * YUAN),
        ],
        route(
            [step("s1", "部门负责人审批", HEAD)],
            branches=[
                {
                    "name": "超过五天",
                    "when": {"field": "dates.days", "op": ">", "value": 5},
                    "steps": [step("s1", "部门负责人审批", HEAD), step("s2", "分管领导审批", SUPERVISOR)],
                }
            ],
        ),
    )


def _expense() -> Builtin:
    columns = [
        column("region", "出差地点", "text", max_length=40, help="省/市，如：北京、广东/广州"),
        column("start", "出发日期", "date"),
        column("end", "返回日期", "date"),
        column("tickets", "城市间交通费", "money", required=False, min=0, max=1_000_000 * YUAN, total=True),
        column("nights", "住宿天数", "number", required=False, min=0, max=366, decimals=0, total=True),
        column("lodging", "住宿费（实际）", "money", required=False, min=0, max=1_000_000 * YUAN, total=True),
        column("other", "其他费用", "money", required=False, min=0, max=1_000_000 * YUAN, total=True),
    ]
    steps = [step("s1", "部门负责人审批", HEAD), step("s2", "财务处审核", FINANCE_HEAD)]
    return Builtin(
        "expense",
        "差旅费报销",
        "财务",
        "按差旅费标准计算住宿费上限和伙食、市内交通补助，附发票",
        [
            f("trip", "出差审批单", "link", required=False, to="request", link_form="travel"),
            f("rank", "职级", "select", options=list(travel.RANKS)),
            f("details", "行程明细", "table", columns=columns, min_rows=1, max_rows=50),
            # Computed by the server from the standards (ExpenseBehaviour); what the client sends is replaced.
            f("amount", "报销总额", "money", required=False, min=0, help="系统按差旅费标准计算"),
            f("invoices", "发票及附件", "attachment", max_files=20),
        ],
        route(
            steps,
            branches=[
                {
                    "name": "五万元以上",
                    "when": LARGE,
                    "steps": [*steps, step("s3", "分管领导审批", SUPERVISOR), step("s4", "主要领导审批", PRINCIPAL)],
                }
            ],
        ),
    )


def _simple(
    builtin: str,
    name: str,
    category: str,
    description: str,
    fields: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    *,
    batch: bool = False,
    cc_end: list[dict[str, Any]] | None = None,
    large: bool = False,
) -> Builtin:
    branches = (
        [
            {
                "name": "五万元以上",
                "when": LARGE,
                "steps": [*steps, step("s8", "分管领导审批", SUPERVISOR), step("s9", "主要领导审批", PRINCIPAL)],
            }
        ]
        if large
        else []
    )
    return Builtin(
        builtin,
        name,
        category,
        description,
        fields,
        route(steps, branches=branches, cc_end=cc_end),
        options(batch=batch),
    )


def _others() -> list[Builtin]:
    head = [step("s1", "部门负责人审批", HEAD)]
    return [
        _simple(
            "vehicle",
            "用车",
            "行政",
            "公务用车申请",
            [
                f("start", "用车时间", "datetime"),
                f("end", "预计返回时间", "datetime"),
                f("destination", "目的地", "text", max_length=100),
                f("passengers", "乘车人数", "number", min=1, max=60, decimals=0),
                f("purpose", "用车事由", "textarea", max_length=500),
            ],
            head,
            batch=True,
        ),
        _simple(
            "reception",
            "公务接待",
            "行政",
            "公务接待审批（来访单位、人数、标准）",
            [
                f("guest_unit", "来访单位", "text", max_length=100),
                f("guests", "来访人数", "number", min=1, max=500, decimals=0),
                f("hosts", "陪同人数", "number", min=0, max=100, decimals=0),
                f("date", "接待日期", "date"),
                f("plan", "接待事由及安排", "textarea", max_length=2000),
                f("amount", "预算金额", "money", min=0, max=10_000_000 * YUAN),
            ],
            [*head, step("s2", "分管领导审批", SUPERVISOR)],
            cc_end=[FINANCE],
        ),
        _simple(
            "overtime",
            "加班",
            "人事",
            "加班申请（可用于调休）",
            [
                f("date", "加班日期", "date"),
                f("hours", "加班时长（小时）", "number", min=0.5, max=24, decimals=1),
                f("reason", "加班事由", "textarea", max_length=500),
            ],
            head,
            batch=True,
        ),
        _simple(
            "supplies",
            "物品领用",
            "行政",
            "办公用品领用",
            [
                f(
                    "items",
                    "领用明细",
                    "table",
                    min_rows=1,
                    max_rows=50,
                    columns=[
                        column("name", "物品名称", "text", max_length=60),
                        column("spec", "规格型号", "text", required=False, max_length=60),
                        column("quantity", "数量", "number", min=1, max=10_000, decimals=0, total=True),
                    ],
                ),
                f("purpose", "用途", "textarea", required=False, max_length=500),
            ],
            head,
            batch=True,
        ),
        _simple(
            "purchase",
            "采购申请",
            "财务",
            "采购申请；五万元以上报分管领导和主要领导",
            [
                f(
                    "items",
                    "采购明细",
                    "table",
                    min_rows=1,
                    max_rows=100,
                    columns=[
                        column("name", "名称", "text", max_length=60),
                        column("spec", "规格型号", "text", required=False, max_length=60),
                        column("quantity", "数量", "number", min=1, max=1_000_000, decimals=0, total=True),
                        column("price", "单价", "money", min=0, max=100_000_000 * YUAN),
                    ],
                ),
                f("amount", "预算金额", "money", min=0, max=100_000_000 * YUAN),
                f("reason", "采购理由", "textarea", max_length=2000),
                f("attachments", "附件", "attachment", required=False, max_files=10),
            ],
            [*head, step("s2", "财务处审核", FINANCE_HEAD)],
            large=True,
        ),
        # 用印申请: the seal is named by its esign seal id (the seal behaviour checks it is one of the
        # agency's seals and shows its name); approval authorises that seal on this file's hash.
        _simple(
            "seal",
            "用印申请",
            "行政",
            "申请在文件上加盖本机关印章；批准后印章管理员凭此用印",
            [
                f("seal_id", "印章", "number", min=1, decimals=0, help="选择本机关的印章"),
                f("file", "用印文件", "attachment", max_files=1),
                f("times", "用印次数", "number", min=1, max=100, decimals=0),
                f("purpose", "用印事由", "textarea", max_length=500),
            ],
            [*head, step("s2", "分管领导审批", SUPERVISOR)],
        ),
    ]


def definitions() -> list[Builtin]:
    """Every built-in form, in the order the 发起 page lists them."""
    return [_leave(), _travel(), _expense(), *_others()]


BUILTIN_KEYS = tuple(b.builtin for b in definitions())


def ensure_builtin_templates(session: Session, agency_id: int) -> list[FormTemplate]:
    """Give the agency each built-in form it lacks (published as version 1) and, when it has none,
    the example travel standards. Idempotent; returns the templates created. Run for every agency
    at start-up and by the demo: a template the agency renamed or disabled is left as it is."""
    have = set(session.exec(select(FormTemplate.builtin).where(FormTemplate.agency_id == agency_id)).all())
    taken = set(session.exec(select(FormTemplate.code).where(FormTemplate.agency_id == agency_id)).all())
    created = []
    for sort, b in enumerate(definitions()):
        if b.builtin in have or b.builtin in taken:
            continue
        template = FormTemplate(
            agency_id=agency_id,
            code=b.builtin,
            name=b.name,
            category=b.category,
            description=b.description,
            builtin=b.builtin,
            status=TemplateStatus.active,
            sort=sort,
        )
        session.add(template)
        session.flush()
        assert template.id is not None
        version = FormVersion(
            template_id=template.id,
            no=1,
            state=VersionState.published,
            fields=b.fields,
            route=b.route,
            options=b.options,
            published_at=utcnow(),
        )
        session.add(version)
        session.flush()
        template.published_version_id = version.id
        session.add(template)
        created.append(template)
    travel.ensure_examples(session, agency_id)
    session.flush()
    return created
