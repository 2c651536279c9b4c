"""办事 routes: the designer's check (``validate_route``) and the resolution of one request's route
(``resolve``): branches by condition, every approver kind in a deep tree, 去重 and 抄送."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from banshi import leaders, routing
from banshi.models import FormVersion
from office.actor import SYSTEM
from office.directory import service
from office.errors import ValidationError
from office.models import Role, User
from tests.factories import Org, make_user

FIELDS: list[dict[str, Any]] = [
    {"key": "amount", "label": "金额", "type": "money"},
    {"key": "count", "label": "数量", "type": "number"},
    {"key": "dates", "label": "时间", "type": "daterange"},
    {"key": "day", "label": "日期", "type": "date"},
    {"key": "kind", "label": "类型", "type": "select", "options": ["年休假", "事假", "病假"]},
    {"key": "tags", "label": "用途", "type": "multiselect", "options": ["会议", "培训", "接待"]},
    {"key": "note", "label": "说明", "type": "textarea"},
    {"key": "who", "label": "审批人", "type": "person"},
    {"key": "dept", "label": "协办部门", "type": "department", "multiple": True},
    {
        "key": "items",
        "label": "明细",
        "type": "table",
        "columns": [
            {"key": "cost", "label": "金额", "type": "money", "total": True},
            {"key": "what", "label": "内容", "type": "text"},
        ],
    },
]


@dataclass
class Tree:
    org: Org
    sect: int  # 综合处 › 一科
    team: int  # 综合处 › 一科 › 一组 (no head)


@pytest.fixture
def tree(org: Org) -> Tree:
    """Below 综合处 (head 王强 polonius): 一科 (head 钱科长 sect_head) › 一组 (worker, no head). 分管领导
    of 综合处: 赵刚 (claudius); 主要领导: 钱主任 (chief); 人事处: 秘书处 (head laertes, horatio)."""
    with org.db.write() as s:
        sect = service.create_department(s, SYSTEM, name="一科", parent_id=org.depts["A1"]).id or 0
        team = service.create_department(s, SYSTEM, name="一组", parent_id=sect).id or 0
    org.users["sect_head"] = make_user(org.db, "sect_head", "钱科长", dept_id=sect, roles={Role.staff, Role.dept_head})
    org.users["worker"] = make_user(org.db, "worker", "孙工", dept_id=team, title="主任科员")
    org.users["chief"] = make_user(
        org.db, "chief", "钱主任", dept_id=org.depts["A1"], title="主任", roles={Role.staff, Role.leader}
    )
    admin = org.actor("prospero")
    with org.db.write() as s:
        leaders.set_leaders(
            s,
            admin,
            {
                "principal": org.users["chief"],
                "supervisors": [{"department_id": org.depts["A1"], "user_id": org.users["claudius"]}],
            },
        )
        leaders.set_offices(
            s, admin, {"personnel_department_id": org.depts["A2"], "finance_department_id": org.depts["A1"]}
        )
    return Tree(org, sect, team)


def step(key: str, approvers: dict[str, Any], *, mode: str = "any", cc: list[Any] | None = None) -> dict[str, Any]:
    return {"key": key, "name": f"步骤{key}", "mode": mode, "approvers": approvers, "cc": cc or []}


def version(route: dict[str, Any], **options: Any) -> FormVersion:
    return FormVersion(template_id=0, no=1, fields=FIELDS, route=routing.validate_route(route, FIELDS), options=options)


def resolve(
    t: Tree, username: str, route: dict[str, Any], values: dict[str, Any] | None = None, **options: Any
) -> routing.Resolution:
    with t.org.db.read() as s:
        return routing.resolve(s, t.org.actor(username), version(route, **options), values or {})


def only(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"branches": [], "default": {"steps": list(steps)}, **extra}


def people(r: routing.Resolution) -> list[list[int]]:
    return [s["actor"]["user_ids"] for s in r.steps]


def u(t: Tree, *names: str) -> list[int]:
    return sorted(t.org.users[n] for n in names)


# The designer's check ------------------------------------------------------------------------------


def test_a_full_route_is_accepted_and_cleaned() -> None:
    route = {
        "branches": [
            {
                "name": " 大额 ",
                "when": {
                    "any": [
                        {"field": "amount", "op": ">=", "value": 5_000_000},
                        {
                            "all": [
                                {"field": "items.cost", "op": ">", "value": 100},
                                {"field": "dates.days", "op": ">", "value": 3},
                            ]
                        },
                        {"applicant": "role", "op": "in", "value": ["leader"]},
                    ]
                },
                "steps": [
                    {"name": "主管", "approvers": {"kind": "heads", "levels": 3}},
                    step("lead", {"kind": "principal"}),
                ],
            }
        ],
        "default": {"steps": [step("s1", {"kind": "head"})]},
    }
    cleaned = routing.validate_route(route, FIELDS)
    big = cleaned["branches"][0]
    assert big["name"] == "大额"
    assert big["steps"][0] == {
        "key": "s1",
        "name": "主管",
        "mode": "any",
        "approvers": {"kind": "heads", "levels": 3, "stop_depth": None},
        "cc": [],
        "deadline_hours": None,
    }
    assert cleaned["cc"] == {"submit": [], "end": []}


BAD = [
    ({"branches": []}, "route_no_default"),
    (only(step("s1", {"kind": "nobody"})), "bad_approver"),
    (only(step("s1", {"kind": "role", "role": "leader", "scope": "world"})), "bad_approver"),
    (only(step("s1", {"kind": "role", "role": "leader", "scope": "department"})), "bad_approver"),
    (only(step("s1", {"kind": "heads", "levels": 0})), "bad_approver"),
    (only(step("s1", {"kind": "chosen", "field": "note"})), "bad_approver"),  # not a person field
    (only(step("s1", {"kind": "form_department", "field": "who"})), "bad_approver"),
    (only(step("s1", {"kind": "offices", "office": "canteen"})), "bad_approver"),
    (only(step("s1", {"kind": "users", "user_ids": []})), "bad_approver"),
    (only(step("s1", {"kind": "head"}), step("s1", {"kind": "principal"})), "bad_route"),  # duplicate key
    (only(step("s1", {"kind": "head"}, mode="most")), "bad_route"),
    (only(step("S-1", {"kind": "head"})), "bad_route"),
    (only({"name": "", "approvers": {"kind": "head"}}), "bad_route"),
    ({"default": {"steps": []}}, "bad_route"),
    (only(step("s1", {"kind": "head"}), cc={"later": []}), "bad_route"),
]


@pytest.mark.parametrize("route, code", BAD)
def test_bad_routes_are_refused_naming_the_place(route: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        routing.validate_route(route, FIELDS)
    assert exc.value.code == code
    assert exc.value.message and exc.value.extra.get("field") == "route"


BAD_CONDITIONS = [
    {"field": "missing", "op": "==", "value": 1},  # no such field
    {"field": "kind", "op": ">", "value": "事假"},  # a choice is not ordered
    {"field": "kind", "op": "==", "value": "婚假"},  # not one of its options
    {"field": "amount", "op": ">=", "value": 50.5},  # money is whole 分
    {"field": "amount", "op": ">=", "value": True},
    {"field": "count", "op": "in", "value": []},
    {"field": "note", "op": "==", "value": "x"},  # a long text is no condition
    {"field": "amount.days", "op": ">", "value": 1},
    {"field": "items.what", "op": ">", "value": 1},  # a column without a total
    {"field": "dates.hours", "op": ">", "value": 1},
    {"field": "day", "op": ">", "value": "明天"},
    {"field": "tags", "op": "==", "value": "会议"},
    {"applicant": "role", "op": "in", "value": ["pope"]},
    {"applicant": "department", "op": "in", "value": ["综合处"]},
    {"applicant": "post", "op": "==", "value": ["处长"]},
    {"all": []},
    {"all": [{"all": [{"all": [{"all": [{"all": [{"all": [{"field": "count", "op": ">", "value": 1}]}]}]}]}]}]},
    "amount > 5",
]


@pytest.mark.parametrize("when", BAD_CONDITIONS)
def test_bad_conditions_are_refused(when: Any) -> None:
    route = {
        "branches": [{"name": "甲", "when": when, "steps": [step("s1", {"kind": "head"})]}],
        "default": only(step("s1", {"kind": "head"}))["default"],
    }
    with pytest.raises(ValidationError) as exc:
        routing.validate_route(route, FIELDS)
    assert exc.value.code == "bad_condition"
    assert "条件分支“甲”" in exc.value.message


# Branches --------------------------------------------------------------------------------------------


def branching(when: Any) -> dict[str, Any]:
    return {
        "branches": [{"name": "特殊", "when": when, "steps": [step("s1", {"kind": "principal"})]}],
        "default": {"steps": [step("s1", {"kind": "head"})]},
    }


@pytest.mark.parametrize(
    "when, values, hit",
    [
        ({"field": "amount", "op": ">=", "value": 5_000_000}, {"amount": 5_000_000}, True),
        ({"field": "amount", "op": ">=", "value": 5_000_000}, {"amount": 4_999_999}, False),
        ({"field": "amount", "op": ">=", "value": 5_000_000}, {}, False),  # empty: no branch
        ({"field": "kind", "op": "not_in", "value": ["事假"]}, {}, False),  # whatever the operator
        ({"field": "kind", "op": "!=", "value": "事假"}, {"kind": ""}, False),
        ({"field": "dates.days", "op": ">", "value": 3}, {"dates": {"start": "2026-12-01", "days": 3.5}}, True),
        ({"field": "dates.days", "op": ">", "value": 3}, {"dates": {"start": "2026-12-01", "days": 3}}, False),
        ({"field": "items.cost", "op": ">", "value": 100}, {"items": {"rows": [], "totals": {"cost": 101}}}, True),
        ({"field": "items.cost", "op": ">", "value": 100}, {"items": {"rows": [], "totals": {"cost": 100}}}, False),
        ({"field": "kind", "op": "in", "value": ["事假", "病假"]}, {"kind": "病假"}, True),
        ({"field": "kind", "op": "not_in", "value": ["事假", "病假"]}, {"kind": "病假"}, False),
        ({"field": "kind", "op": "!=", "value": "事假"}, {"kind": "年休假"}, True),
        ({"field": "tags", "op": "contains", "value": "接待"}, {"tags": ["会议", "接待"]}, True),
        ({"field": "tags", "op": "in", "value": ["培训"]}, {"tags": ["会议", "接待"]}, False),
        ({"field": "tags", "op": "not_in", "value": ["培训"]}, {"tags": ["会议"]}, True),
        ({"field": "day", "op": "<", "value": "2027-01-01"}, {"day": "2026-12-31"}, True),
        ({"field": "count", "op": "==", "value": 2}, {"count": 2.0}, True),
        (
            {"all": [{"field": "count", "op": ">", "value": 1}, {"field": "kind", "op": "==", "value": "事假"}]},
            {"count": 2, "kind": "病假"},
            False,
        ),
        (
            {"any": [{"field": "count", "op": ">", "value": 1}, {"field": "kind", "op": "==", "value": "事假"}]},
            {"count": 2, "kind": "病假"},
            True,
        ),
    ],
)
def test_branch_conditions_on_values(tree: Tree, when: Any, values: dict[str, Any], hit: bool) -> None:
    r = resolve(tree, "worker", branching(when), values)
    assert (r.branch == "特殊") is hit
    assert people(r) == ([u(tree, "chief")] if hit else [u(tree, "sect_head")])


def test_branch_conditions_on_the_applicant(tree: Tree) -> None:
    org = tree.org
    in_a1 = branching({"applicant": "department", "op": "in", "value": [org.depts["A1"]]})
    assert resolve(tree, "worker", in_a1).branch == "特殊"  # 一组 is below 综合处
    assert resolve(tree, "horatio", in_a1).branch == routing.DEFAULT_BRANCH  # 秘书处 is not
    assert (
        resolve(
            tree, "horatio", branching({"applicant": "department", "op": "not_in", "value": [org.depts["A1"]]})
        ).branch
        == "特殊"
    )
    assert (
        resolve(tree, "laertes", branching({"applicant": "role", "op": "in", "value": ["dept_head"]})).branch == "特殊"
    )
    assert (
        resolve(tree, "horatio", branching({"applicant": "role", "op": "in", "value": ["dept_head"]})).branch == "默认"
    )
    assert resolve(tree, "worker", branching({"applicant": "post", "op": "in", "value": ["主任科员"]})).branch == "特殊"
    assert resolve(tree, "hamlet", branching({"applicant": "post", "op": "in", "value": ["主任科员"]})).branch == "默认"


def test_first_matching_branch_wins(tree: Tree) -> None:
    route = {
        "branches": [
            {
                "name": "一",
                "when": {"field": "count", "op": ">", "value": 10},
                "steps": [step("s1", {"kind": "principal"})],
            },
            {
                "name": "二",
                "when": {"field": "count", "op": ">", "value": 5},
                "steps": [step("s1", {"kind": "supervisor"})],
            },
        ],
        "default": {"steps": [step("s1", {"kind": "head"})]},
    }
    assert resolve(tree, "worker", route, {"count": 20}).branch == "一"
    assert resolve(tree, "worker", route, {"count": 7}).branch == "二"
    assert resolve(tree, "worker", route, {"count": 1}).branch == "默认"


# Approver kinds ----------------------------------------------------------------------------------------


def test_head_is_the_nearest_head_up_and_a_heads_own_head_is_one_level_up(tree: Tree) -> None:
    route = only(step("s1", {"kind": "head"}))
    assert people(resolve(tree, "worker", route)) == [u(tree, "sect_head")]  # 一组 has no head: 一科's
    assert people(resolve(tree, "sect_head", route)) == [u(tree, "polonius")]
    assert people(resolve(tree, "hamlet", route)) == [u(tree, "polonius")]


def test_head_without_anyone_above_is_no_approver(tree: Tree) -> None:
    with pytest.raises(ValidationError) as exc:
        resolve(tree, "polonius", only(step("s1", {"kind": "head"})))
    assert exc.value.code == "no_approver" and exc.value.extra["step"] == "s1"


def test_heads_walk_levels_up_the_tree_one_step_each(tree: Tree) -> None:
    r = resolve(tree, "worker", only(step("lv", {"kind": "heads", "levels": 5}), step("end", {"kind": "principal"})))
    assert [s["key"] for s in r.steps] == ["lv_1", "lv_2", "end"]
    assert people(r) == [u(tree, "sect_head"), u(tree, "polonius"), u(tree, "chief")]
    assert r.steps[0]["name"] == "步骤lv（第1级）" and r.steps[0]["origin"] == "lv"
    r = resolve(tree, "worker", only(step("lv", {"kind": "heads", "levels": 1})))
    assert [s["key"] for s in r.steps] == ["lv"] and people(r) == [u(tree, "sect_head")]
    # Not above depth 3 (一科): 综合处 (depth 2) is left out.
    r = resolve(tree, "worker", only(step("lv", {"kind": "heads", "levels": 5, "stop_depth": 3})))
    assert people(r) == [u(tree, "sect_head")]
    r = resolve(tree, "sect_head", only(step("lv", {"kind": "heads", "levels": 2})))
    assert people(r) == [u(tree, "polonius")]


def test_form_department_chosen_and_named_people(tree: Tree) -> None:
    org = tree.org
    r = resolve(
        tree,
        "worker",
        only(step("s1", {"kind": "form_department", "field": "dept"}, mode="all")),
        {"dept": [org.depts["A1"], org.depts["A2"]]},
    )
    assert people(r) == [u(tree, "laertes", "polonius")] and r.steps[0]["mode"] == "all"
    r = resolve(tree, "worker", only(step("s1", {"kind": "chosen", "field": "who"})), {"who": org.users["ophelia"]})
    assert people(r) == [u(tree, "ophelia")]
    with pytest.raises(ValidationError):  # someone of another agency is nobody here
        resolve(tree, "worker", only(step("s1", {"kind": "chosen", "field": "who"})), {"who": org.users["iago"]})
    with org.db.write() as s:
        user = s.get(User, org.users["hamlet"])
        assert user is not None
        user.is_active = False
        s.add(user)
    r = resolve(tree, "worker", only(step("s1", {"kind": "users", "user_ids": u(tree, "hamlet", "ophelia")})))
    assert people(r) == [u(tree, "ophelia")]  # a named person who left is dropped


def test_roles_by_scope(tree: Tree) -> None:
    org = tree.org
    r = resolve(tree, "hamlet", only(step("s1", {"kind": "role", "role": "clerk", "scope": "applicant_department"})))
    assert people(r) == [u(tree, "gertrude")]
    r = resolve(tree, "horatio", only(step("s1", {"kind": "role", "role": "leader", "scope": "agency"})))
    assert people(r) == [u(tree, "chief", "claudius")]
    route = only(
        step("s1", {"kind": "role", "role": "dept_head", "scope": "department", "department_id": org.depts["A2"]})
    )
    assert people(resolve(tree, "worker", route)) == [u(tree, "laertes")]
    bad = only(
        step("s1", {"kind": "role", "role": "dept_head", "scope": "department", "department_id": org.depts["B1"]})
    )
    with pytest.raises(ValidationError):  # another agency's department names nobody here
        resolve(tree, "worker", bad)


def test_supervisor_principal_and_offices(tree: Tree) -> None:
    org = tree.org
    assert people(resolve(tree, "worker", only(step("s1", {"kind": "supervisor"})))) == [u(tree, "claudius")]
    with org.db.write() as s:  # a 分管领导 named for 一科 is nearer
        leaders.set_leaders(
            s,
            org.actor("prospero"),
            {
                "principal": org.users["chief"],
                "supervisors": [
                    {"department_id": org.depts["A1"], "user_id": org.users["claudius"]},
                    {"department_id": tree.sect, "user_id": org.users["polonius"]},
                ],
            },
        )
    assert people(resolve(tree, "worker", only(step("s1", {"kind": "supervisor"})))) == [u(tree, "polonius")]
    assert people(resolve(tree, "hamlet", only(step("s1", {"kind": "supervisor"})))) == [u(tree, "claudius")]
    with pytest.raises(ValidationError) as exc:  # nobody supervises 秘书处
        resolve(tree, "horatio", only(step("s1", {"kind": "supervisor"})))
    assert exc.value.code == "no_approver"
    assert people(resolve(tree, "horatio", only(step("s1", {"kind": "principal"})))) == [u(tree, "chief")]
    office_head = only(step("s1", {"kind": "offices", "office": "personnel", "role": "dept_head"}))
    assert people(resolve(tree, "worker", office_head)) == [u(tree, "laertes")]
    everyone = only(step("s1", {"kind": "offices", "office": "personnel", "role": None}))
    assert people(resolve(tree, "worker", everyone)) == [u(tree, "horatio", "laertes")]
    finance = only(step("s1", {"kind": "offices", "office": "finance", "role": None}))
    assert set(u(tree, "worker", "sect_head", "hamlet")) <= set(people(resolve(tree, "horatio", finance))[0])


# 去重 --------------------------------------------------------------------------------------------------


def test_the_applicant_never_approves_their_own_request(tree: Tree) -> None:
    route = only(
        step("s1", {"kind": "users", "user_ids": u(tree, "polonius")}),
        step("s2", {"kind": "users", "user_ids": u(tree, "polonius", "ophelia")}),
        step("s3", {"kind": "principal"}),
    )
    r = resolve(tree, "polonius", route, skip_applicant=True)
    assert [s["key"] for s in r.steps] == ["s2", "s3"] and people(r) == [u(tree, "ophelia"), u(tree, "chief")]
    assert r.skipped == [{"key": "s1", "name": "步骤s1", "reason": "申请人本人", "user_ids": u(tree, "polonius")}]
    r = resolve(tree, "polonius", route)  # the template did not ask for it
    assert [s["key"] for s in r.steps] == ["s1", "s2", "s3"]
    only_me = resolve(
        tree, "polonius", only(step("s1", {"kind": "users", "user_ids": u(tree, "polonius")})), skip_applicant=True
    )
    assert only_me.steps == [] and only_me.skipped[0]["reason"] == "申请人本人"


def test_dedupe_adjacent_and_all(tree: Tree) -> None:
    route = only(
        step("a", {"kind": "head"}),  # 钱科长
        step("b", {"kind": "users", "user_ids": u(tree, "sect_head", "ophelia")}, mode="all"),
        step("c", {"kind": "heads", "levels": 1}),  # 钱科长 again, after b
        step("d", {"kind": "users", "user_ids": u(tree, "ophelia")}),
    )
    r = resolve(tree, "worker", route, dedupe="adjacent")
    assert [s["key"] for s in r.steps] == ["a", "b", "d"]
    # b keeps ophelia only; 钱科长's approval carries over b, so c (him again) is skipped; d is not
    # right after ophelia's step.
    assert people(r) == [u(tree, "sect_head"), u(tree, "ophelia"), u(tree, "ophelia")]
    assert [(x["key"], x["reason"]) for x in r.skipped] == [("c", "已在前面审批")]
    r = resolve(tree, "worker", route, dedupe="all")
    assert [s["key"] for s in r.steps] == ["a", "b"]
    assert [x["key"] for x in r.skipped] == ["c", "d"]
    r = resolve(tree, "worker", route, dedupe="none")
    assert [s["key"] for s in r.steps] == ["a", "b", "c", "d"]
    # "all": anyone who surely approved on any earlier step; "adjacent" only the step right before.
    spaced = only(
        step("a", {"kind": "head"}),
        step("b", {"kind": "principal"}),
        step("c", {"kind": "head"}),
    )
    assert [s["key"] for s in resolve(tree, "worker", spaced, dedupe="adjacent").steps] == ["a", "b", "c"]
    assert [s["key"] for s in resolve(tree, "worker", spaced, dedupe="all").steps] == ["a", "b"]


def test_dedupe_keeps_someone_an_or_step_may_not_have_asked(tree: Tree) -> None:
    route = only(
        step("a", {"kind": "users", "user_ids": u(tree, "hamlet", "ophelia")}),  # either may approve
        step("b", {"kind": "users", "user_ids": u(tree, "hamlet")}),
    )
    r = resolve(tree, "worker", route, dedupe="all")
    assert [s["key"] for s in r.steps] == ["a", "b"]


# 抄送 --------------------------------------------------------------------------------------------------


def test_cc_is_resolved_to_people(tree: Tree) -> None:
    route = only(
        step("a", {"kind": "head"}, cc=[{"kind": "offices", "office": "personnel", "role": "dept_head"}]),
        step(
            "b", {"kind": "users", "user_ids": u(tree, "worker")}, cc=[{"kind": "principal"}]
        ),  # the applicant: skipped
        step("c", {"kind": "supervisor"}),
        cc={
            "submit": [{"kind": "head"}],
            "end": [{"kind": "offices", "office": "personnel", "role": None}, {"kind": "supervisor"}],
        },
    )
    r = resolve(tree, "worker", route, skip_applicant=True)
    assert [s["key"] for s in r.steps] == ["a", "c"]
    assert r.cc_submit == u(tree, "sect_head")
    assert r.cc_after == {"a": u(tree, "chief", "laertes")}  # b's 抄送 goes when a is done
    assert r.cc_end == u(tree, "claudius", "horatio", "laertes")


# Speed ---------------------------------------------------------------------------------------------------


def test_resolution_reads_the_tree_in_a_few_queries_whatever_its_depth(tree: Tree) -> None:
    org = tree.org
    parent = tree.team
    levels = []
    with org.db.write() as s:
        for level in range(8):
            parent = service.create_department(s, SYSTEM, name=f"层{level}", parent_id=parent).id or 0
            levels.append(parent)
    org.users["deep"] = make_user(org.db, "deep", "深处", dept_id=parent)
    for level in (2, 5):  # two of the deep levels have a head
        org.users[f"head{level}"] = make_user(
            org.db, f"head{level}", f"{level}层主管", dept_id=levels[level], roles={Role.staff, Role.dept_head}
        )
    route = {
        "branches": [
            {
                "name": "大额",
                "when": {
                    "all": [
                        {"field": "amount", "op": ">=", "value": 100},
                        {"applicant": "post", "op": "in", "value": ["科员"]},
                    ]
                },
                "steps": [
                    step("lv", {"kind": "heads", "levels": 10}),
                    step("sup", {"kind": "supervisor"}),
                    step("top", {"kind": "principal"}),
                ],
            }
        ],
        "default": {"steps": [step("s1", {"kind": "head"})]},
        "cc": {"end": [{"kind": "offices", "office": "personnel", "role": "dept_head"}]},
    }
    statements: list[str] = []

    def count(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            statements.append(args[2])

    with org.db.read() as s:
        actor = org.actor("deep")
        v = version(route, dedupe="all")
        event.listen(org.db.engine, "before_cursor_execute", count)
        try:
            r = routing.resolve(s, actor, v, {"amount": 100})
        finally:
            event.remove(org.db.engine, "before_cursor_execute", count)
    assert r.branch == "大额"
    assert people(r) == [
        u(tree, "head5"),
        u(tree, "head2"),
        u(tree, "sect_head"),
        u(tree, "polonius"),
        u(tree, "claudius"),
        u(tree, "chief"),
    ]
    assert r.cc_end == u(tree, "laertes")
    # the department (with the offices), the post titles, the role holders with the leaders: none per level
    assert len(statements) == 3, statements
