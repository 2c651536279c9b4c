"""A 办事 form's route: branches with conditions, steps with approvers, 抄送, and 去重.

``validate_route`` is the designer's check against the form's fields (the shape is in
docs/banshi.md §3). ``resolve`` turns the published route into the engine steps of one
request: the first branch whose condition holds (in order), else the default; each step's approvers
resolved to people now (``banshi.route_people``; 连续多级主管 gives one step per level, keyed
``<key>_1``, ``<key>_2`` …); then 去重 by the form's options. Every resolved step keeps the template
step it came from in ``origin`` (field visibility by step keys on it).

去重 removes only people certain to have approved earlier: everyone of a 会签 (all) step, the one
person of a step, or someone whose approval a skipped step carried over. Someone on an 或签 (any)
step with others may never have approved (a colleague did), so a later step still asks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from banshi.models import FormVersion
from banshi.route_conditions import ApplicantFacts, clean_condition, matches
from banshi.route_people import People, applicant_place, clean_approver, post_titles
from office.actor import Actor
from office.errors import ValidationError
from workflow.steps import validate_route as validate_engine_route

STEP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,35}$")  # room for the level suffix of 连续多级主管
MAX_BRANCHES = 20
MAX_STEPS = 20
MAX_CC = 20
DEDUPE = ("none", "adjacent", "all")
DEFAULT_BRANCH = "默认"
SKIP_APPLICANT = "申请人本人"
SKIP_DONE = "已在前面审批"


@dataclass
class Resolution:
    branch: str
    steps: list[dict[str, Any]]
    cc_submit: list[int] = field(default_factory=list)
    cc_end: list[int] = field(default_factory=list)
    cc_after: dict[str, list[int]] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _bad(message: str, where: str, code: str = "bad_route") -> ValidationError:
    return ValidationError(f"{where}：{message}" if where else message, code=code, field="route", where=where)


# The designer's check --------------------------------------------------------------------------------


def validate_route(raw: Any, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A checked copy of a route for ``fields`` (the version's cleaned fields); 422 naming the place."""
    by_key = {f["key"]: f for f in fields}
    if not isinstance(raw, dict) or set(raw) - {"branches", "default", "cc"}:
        raise _bad("流程应包含 branches（条件分支）、default（默认流程）和 cc（抄送）", "")
    branches = raw.get("branches") or []
    if not isinstance(branches, list) or len(branches) > MAX_BRANCHES:
        raise _bad(f"条件分支最多 {MAX_BRANCHES} 个", "")
    out_branches = []
    for i, b in enumerate(branches):
        where = f"条件分支 {i + 1}"
        if not isinstance(b, dict) or set(b) - {"name", "when", "steps"}:
            raise _bad("分支应包含 name、when 和 steps", where)
        name = b.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 40:
            raise _bad("分支名称应为 1 到 40 个字", where)
        where = f"条件分支“{name.strip()}”"
        out_branches.append(
            {
                "name": name.strip(),
                "when": clean_condition(b.get("when"), by_key, where),
                "steps": _clean_steps(b.get("steps"), by_key, where),
            }
        )
    default = raw.get("default")
    if not isinstance(default, dict) or set(default) - {"steps"}:
        raise _bad("缺少默认流程（不满足任何条件时的审批步骤）", "默认流程", code="route_no_default")
    cc = raw.get("cc") or {}
    if not isinstance(cc, dict) or set(cc) - {"submit", "end"}:
        raise _bad("抄送应为 {submit: [...], end: [...]}", "抄送")
    return {
        "branches": out_branches,
        "default": {"steps": _clean_steps(default.get("steps"), by_key, "默认流程")},
        "cc": {when: _clean_cc(cc.get(when), by_key, f"抄送（{label}）") for when, label in CC_LABELS.items()},
    }


CC_LABELS = {"submit": "提交时", "end": "结束时"}


def _clean_steps(raw: Any, fields: dict[str, dict[str, Any]], where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        raise _bad(f"应有 1 到 {MAX_STEPS} 个审批步骤", where)
    steps: list[dict[str, Any]] = []
    for i, s in enumerate(raw):
        here = f"{where}第 {i + 1} 步"
        if not isinstance(s, dict) or set(s) - {"key", "name", "mode", "approvers", "cc", "deadline_hours"}:
            raise _bad("步骤应包含 key、name、mode、approvers、cc、deadline_hours", here)
        key = s.get("key") or f"s{i + 1}"
        if not isinstance(key, str) or not STEP_KEY.match(key):
            raise _bad("步骤标识应为小写字母开头的字母、数字或下划线，最多 36 个字符", here)
        name = s.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 60:
            raise _bad("步骤名称应为 1 到 60 个字", here)
        mode = s.get("mode") or "any"
        if mode not in ("any", "all"):
            raise _bad("审批方式应为 any（或签）或 all（会签）", here)
        hours = s.get("deadline_hours")
        if hours is not None and (not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 8760):
            raise _bad("办理时限应为 1 到 8760 小时", here)
        here = f"{where}步骤“{name.strip()}”"
        steps.append(
            {
                "key": key,
                "name": name.strip(),
                "mode": mode,
                "approvers": clean_approver(s.get("approvers"), fields, here),
                "cc": _clean_cc(s.get("cc"), fields, f"{here}的抄送"),
                "deadline_hours": hours,
            }
        )
    if len({s["key"] for s in steps}) != len(steps):
        raise _bad("步骤标识（key）不能重复", where)
    # The engine's own rules on the shape, with a stand-in for the people resolved at submission.
    validate_engine_route([_engine_step(s, s["key"], s["name"], [1]) for s in steps])
    return steps


def _clean_cc(raw: Any, fields: dict[str, dict[str, Any]], where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_CC:
        raise _bad(f"抄送最多 {MAX_CC} 项", where)
    return [clean_approver(a, fields, where) for a in raw]


def _engine_step(step: dict[str, Any], key: str, name: str, people: list[int]) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "mode": step.get("mode") or "any",
        "actor": {"kind": "user", "user_ids": people},
        "deadline_hours": step.get("deadline_hours"),
        "allow_add_signer": True,  # every approver of a 办事 step may 加签 before or after themselves
        "origin": step["key"],
    }


# At submission (and preview) -------------------------------------------------------------------------


def resolve(session: Session, applicant: Actor, version: FormVersion, values: dict[str, Any]) -> Resolution:
    """The concrete route of a request with ``values`` by ``applicant``, resolved now. Writes nothing.
    ``ValidationError`` ``no_approver`` names a step whose approvers are nobody. ``steps`` may come out
    empty (every step skipped): the caller decides (submission refuses it)."""
    route, options = version.route or {}, version.options or {}
    place = applicant_place(session, applicant)
    facts = ApplicantFacts(
        department_path=frozenset(d for d, _ in place.chain),
        roles=frozenset(r.value for r in applicant.roles),
        posts=lambda: post_titles(session, applicant.user_id),
    )
    branch = next((b for b in route.get("branches") or [] if matches(b["when"], values, facts)), None)
    steps = (branch or route.get("default") or {}).get("steps") or []
    cc = route.get("cc") or {}
    approvers = [s["approvers"] for s in steps] + [a for s in steps for a in s.get("cc") or []]
    approvers += list(cc.get("submit") or []) + list(cc.get("end") or [])
    people = People(session, applicant, place, approvers, values)
    out = Resolution(branch=branch["name"] if branch else DEFAULT_BRANCH, steps=[])
    dedupe = options.get("dedupe") or "none"
    skip_applicant = bool(options.get("skip_applicant"))
    certain: list[set[int]] = []  # per step (kept or skipped), who surely approved there
    for s in steps:
        groups = people.groups(s["approvers"])
        if not groups:
            raise ValidationError(
                f"步骤“{s['name']}”找不到审批人，请联系管理员设置（部门负责人、分管领导、人事处或财务处等）",
                code="no_approver",
                step=s["key"],
            )
        for n, group in enumerate(groups, start=1):
            key, name = (s["key"], s["name"]) if len(groups) == 1 else (f"{s['key']}_{n}", f"{s['name']}（第{n}级）")
            left, reason, carried = list(group), "", set()
            if skip_applicant and applicant.user_id in left:
                left.remove(applicant.user_id)
                reason = SKIP_APPLICANT
            if dedupe in ("adjacent", "all") and certain:
                before = certain[-1] if dedupe == "adjacent" else set().union(*certain)
                carried = before & set(left)
                if carried:
                    left = [u for u in left if u not in carried]
                    reason = SKIP_DONE
            # Who counts as having approved this step: those whose earlier approval carried over, and
            # its people where each must approve (会签, or one person).
            certain.append(carried | (set(left) if (s.get("mode") == "all" or len(left) == 1) else set()))
            if not left:
                out.skipped.append({"key": key, "name": name, "reason": reason, "user_ids": group})
                continue
            out.steps.append(_engine_step(s, key, name, left))
        _cc_after(out, people, s, applicant.user_id)
    out.cc_submit = sorted(set(out.cc_submit) | _people(people, cc.get("submit"), applicant.user_id))
    out.cc_end = sorted(_people(people, cc.get("end"), applicant.user_id))
    if out.steps:
        out.steps = validate_engine_route(out.steps)
    return out


def _people(people: People, approvers: list[dict[str, Any]] | None, applicant_id: int) -> set[int]:
    """Everyone a list of 抄送 approvers names (nobody found is no error: 抄送 only informs)."""
    return {u for a in approvers or [] for g in people.groups(a) for u in g} - {applicant_id}


def _cc_after(out: Resolution, people: People, step: dict[str, Any], applicant_id: int) -> None:
    """A step's 抄送 goes out when it is done; for a skipped step, when the one before it is (at
    submission if none is)."""
    ids = _people(people, step.get("cc"), applicant_id)
    if not ids:
        return
    if not out.steps:
        out.cc_submit = sorted(set(out.cc_submit) | ids)
        return
    key = out.steps[-1]["key"]
    out.cc_after[key] = sorted(set(out.cc_after.get(key, [])) | ids)
