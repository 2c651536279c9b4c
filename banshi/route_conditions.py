"""Branch conditions of a 办事 route: on the form's values (numbers, money, a date range's days, a detail
table's column total, dates, single and multiple choice) and on the applicant (department subtree,
role, post title). ``clean_condition`` is the designer's check against the form's fields;
``matches`` evaluates a cleaned condition at submission, without a query (the applicant's facts are
gathered once by the caller).

A condition on a value the applicant left empty is false, whatever its operator: a branch for "amount
≥ 5 万" or "not in 事假" is never taken on a blank.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from office.errors import ValidationError
from office.models import Role

COMPARE = ("==", "!=", ">", ">=", "<", "<=")
SETS = ("in", "not_in")
OPS_BY_KIND = {
    "number": COMPARE + SETS,
    "date": COMPARE,
    "choice": ("==", "!=") + SETS,
    "multi": ("contains",) + SETS,
}
APPLICANT = ("department", "role", "post")
MAX_DEPTH = 4
MAX_TERMS = 50
MAX_LIST = 100
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ApplicantFacts:
    """What applicant conditions read: departments on the way up from the applicant's (ids), roles and
    (read only when a condition asks) post titles."""

    department_path: frozenset[int]
    roles: frozenset[str]
    posts: Callable[[], frozenset[str]]


def _bad(message: str, where: str) -> ValidationError:
    return ValidationError(f"{where}：{message}", code="bad_condition", field="route", where=where)


# The designer's check --------------------------------------------------------------------------------


def clean_condition(raw: Any, fields: Mapping[str, dict[str, Any]], where: str) -> dict[str, Any]:
    """A checked copy of ``raw``; 422 (``bad_condition``, naming ``where``: the branch) otherwise."""
    count = [0]
    return _clean(raw, fields, where, 0, count)


def _clean(raw: Any, fields: Mapping[str, dict[str, Any]], where: str, depth: int, count: list[int]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad("条件格式错误", where)
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_TERMS:
        raise _bad(f"条件过于复杂（最多 {MAX_DEPTH} 层、{MAX_TERMS} 项）", where)
    for group in ("all", "any"):
        if group in raw:
            parts = raw[group]
            if set(raw) != {group} or not isinstance(parts, list) or not parts:
                raise _bad(f"“{group}”应为非空的条件列表", where)
            return {group: [_clean(p, fields, where, depth + 1, count) for p in parts]}
    if "applicant" in raw:
        return _clean_applicant(raw, where)
    if set(raw) != {"field", "op", "value"} or not isinstance(raw["field"], str):
        raise _bad("条件应写明 field、op 和 value", where)
    kind, f = operand(raw["field"], fields, where)
    op = raw["op"]
    if op not in OPS_BY_KIND[kind]:
        raise _bad(f"“{f.get('label', raw['field'])}”不能用运算符 {op}", where)
    label = f.get("label", raw["field"])
    if op in SETS:
        values = raw["value"]
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_LIST:
            raise _bad(f"“{label}”的 {op} 需要 1 到 {MAX_LIST} 个值", where)
        return {"field": raw["field"], "op": op, "value": [_literal(kind, f, v, label, where) for v in values]}
    return {"field": raw["field"], "op": op, "value": _literal(kind, f, raw["value"], label, where)}


def operand(ref: str, fields: Mapping[str, dict[str, Any]], where: str) -> tuple[str, dict[str, Any]]:
    """What a condition's ``field`` names: ("number" | "date" | "choice" | "multi", the field or column)."""
    head, _, tail = ref.partition(".")
    f = fields.get(head)
    if f is None:
        raise _bad(f"条件引用了不存在的字段 {ref}", where)
    t = f["type"]
    if tail:
        if t == "daterange" and tail == "days":
            return "number", {**f, "type": "number", "label": f"{f.get('label', head)}天数"}
        if t == "table":
            column = next((c for c in f.get("columns", []) if c["key"] == tail), None)
            if column is not None and column.get("total") and column["type"] in ("number", "money", "formula"):
                return "number", {**column, "label": f"{f.get('label', head)}合计{column.get('label', tail)}"}
        raise _bad(f"条件字段 {ref} 无效（日期区间用 .days，明细表用有合计的数字列）", where)
    if t in ("number", "money", "formula"):
        return "number", f
    if t == "date":
        return "date", f
    if t in ("select", "text"):
        return "choice", f
    if t == "multiselect":
        return "multi", f
    raise _bad(f"“{f.get('label', ref)}”（{t}）不能作为条件", where)


def _literal(kind: str, f: dict[str, Any], v: Any, label: str, where: str) -> Any:
    if kind == "number":
        is_money = f["type"] == "money" or (f["type"] == "formula" and f.get("result") == "money")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _bad(f"“{label}”的比较值应为数字", where)
        if is_money and not isinstance(v, int):
            raise _bad(f"“{label}”是金额，比较值应为整数（单位：分）", where)
        return v
    if kind == "date":
        if not isinstance(v, str) or not DATE.fullmatch(v):
            raise _bad(f"“{label}”的比较值应为日期 YYYY-MM-DD", where)
        return v
    if not isinstance(v, str) or not v or len(v) > 200:
        raise _bad(f"“{label}”的比较值应为文字", where)
    options = f.get("options")
    if f["type"] in ("select", "multiselect") and options is not None and v not in options:
        raise _bad(f"“{label}”没有选项“{v}”", where)
    return v


def _clean_applicant(raw: dict[str, Any], where: str) -> dict[str, Any]:
    what, op, values = raw.get("applicant"), raw.get("op"), raw.get("value")
    if set(raw) != {"applicant", "op", "value"} or what not in APPLICANT or op not in SETS:
        raise _bad("申请人条件应为 {applicant: department|role|post, op: in|not_in, value: [...]}", where)
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_LIST:
        raise _bad(f"申请人条件需要 1 到 {MAX_LIST} 个值", where)
    if what == "department":
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            raise _bad("部门条件的值应为部门编号", where)
    elif what == "role":
        known = {r.value for r in Role}
        if not all(v in known for v in values):
            raise _bad("角色条件的值无效", where)
    elif not all(isinstance(v, str) and 0 < len(v) <= 50 for v in values):
        raise _bad("职务条件的值应为职务名称", where)
    return {"applicant": what, "op": op, "value": list(dict.fromkeys(values))}


# At submission ---------------------------------------------------------------------------------------


def matches(cond: dict[str, Any], values: Mapping[str, Any], who: ApplicantFacts) -> bool:
    if "all" in cond:
        return all(matches(c, values, who) for c in cond["all"])
    if "any" in cond:
        return any(matches(c, values, who) for c in cond["any"])
    if "applicant" in cond:
        have: frozenset[Any]
        if cond["applicant"] == "department":
            have = who.department_path
        elif cond["applicant"] == "role":
            have = who.roles
        else:
            have = who.posts()
        hit = bool(have & set(cond["value"]))
        return hit if cond["op"] == "in" else not hit
    actual = value_of(cond["field"], values)
    if actual is None:
        return False
    op, want = cond["op"], cond["value"]
    if isinstance(actual, list):  # a multiple choice
        chosen = {a for a in actual if isinstance(a, str)}
        if op == "contains":
            return want in chosen
        return bool(chosen & set(want)) == (op == "in")
    if op in SETS:
        return (actual in want) == (op == "in")
    try:
        return bool(_COMPARE[op](actual, want))
    except TypeError:  # a stored value of another type than the condition's (a changed form): no match
        return False


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def value_of(ref: str, values: Mapping[str, Any]) -> Any:
    """The value a condition reads (None when empty): a field's, a date range's days, a table column's total."""
    head, _, tail = ref.partition(".")
    v = values.get(head)
    if tail and isinstance(v, dict):
        v = v.get(tail) if tail == "days" else (v.get("totals") or {}).get(tail)
    elif tail:
        return None
    if v is None or v == "" or v == []:
        return None
    if isinstance(v, bool) or (isinstance(v, dict)):
        return None
    return v
