"""The designer's check of a form's field list (``FormVersion.fields``): every field well formed,
its options sane, and every formula parsed and reading only numeric fields, without cycles.

The contract (the shape of each type and its options) is docs/banshi.md §2; what this
returns is the list normalised, each option present with its default, so the code that cleans a
submission (``banshi.fields``) never guesses. Anything unknown is refused rather than dropped: a
misspelt option silently ignored would be a limit nobody enforces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from banshi import formula
from banshi.models import FORM_CODE
from banshi.textpattern import PatternError, check_pattern
from office.errors import ValidationError

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
STEP_KEY = re.compile(r"[A-Za-z0-9_-]{1,40}")
OFFICES = ("personnel", "finance")
TYPES = (
    "text",
    "textarea",
    "number",
    "money",
    "date",
    "datetime",
    "daterange",
    "select",
    "multiselect",
    "person",
    "department",
    "attachment",
    "table",
    "formula",
    "link",
)
COLUMN_TYPES = ("text", "number", "money", "date", "select", "formula")
READABLE_BY_FORMULA = ("number", "money", "daterange", "formula")  # a daterange gives its days
TOTALLED = ("number", "money", "formula")  # table columns that may have a total
MAX_FIELDS = 100
MAX_COLUMNS = 20
MAX_OPTIONS = 100
MAX_NUMBER = 10**12
MAX_MONEY_FEN = 10**14  # 1 万亿元
COMMON = {"key", "label", "type", "required", "help", "placeholder"}

Field = dict[str, Any]


def quoted(f: Field) -> str:
    """A field's label in quotes, for messages: “请假事由”."""
    return f"“{f.get('label') or f['key']}”"


def _bad(message: str, *, field: str | None, column: str | None = None, code: str = "bad_field") -> ValidationError:
    extra: dict[str, Any] = {"field": field}
    if column is not None:
        extra["column"] = column
    return ValidationError(message, code=code, **extra)


class _Check:
    """One field definition being checked: where errors point, and typed option readers."""

    def __init__(self, raw: Mapping[str, Any], *, key: str, table: str | None) -> None:
        self.raw = raw
        self.key = key
        self.table = table
        self.name = f"“{raw.get('label') or key}”"

    def error(self, message: str, code: str = "bad_field") -> ValidationError:
        if self.table is not None:
            return _bad(f"明细列{self.name}：{message}", field=self.table, column=self.key, code=code)
        return _bad(f"字段{self.name}：{message}", field=self.key, code=code)

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            raise self.error(f"{name} 应为 true 或 false")
        return value

    def integer(self, name: str, low: int, high: int, default: int | None) -> int | None:
        value = self.raw.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(f"{name} 应为 {low} 到 {high} 之间的整数")
        return value

    def number(self, name: str) -> int | float | None:
        value = self.raw.get(name)
        if value is None:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or abs(value) > MAX_NUMBER:
            raise self.error(f"{name} 应为绝对值不超过 {MAX_NUMBER} 的数")
        return value

    def text(self, name: str, limit: int, *, required: bool = False) -> str:
        value = self.raw.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value.strip()) > limit or "\x00" in value:
            raise self.error(f"{name} 应为不超过 {limit} 个字的文字")
        if required and not value.strip():
            raise self.error(f"请填写 {name}")
        return value.strip()

    def choice(self, name: str, choices: tuple[str, ...], default: str | None) -> str:
        value = self.raw.get(name, default)
        if value not in choices:
            raise self.error(f"{name} 只能是 " + "、".join(choices))
        return str(value)


# Options per type ---------------------------------------------------------------------------------


def _text(c: _Check) -> Field:
    out: Field = {"max_length": c.integer("max_length", 1, 500, 200), "pattern": None, "pattern_message": ""}
    pattern = c.raw.get("pattern")
    if pattern not in (None, ""):
        if not isinstance(pattern, str):
            raise c.error("格式（pattern）应为文字")
        try:
            check_pattern(pattern)
        except PatternError as e:
            raise c.error(str(e), code="bad_pattern") from None
        out["pattern"] = pattern
        out["pattern_message"] = c.text("pattern_message", 50)
    return out


def _textarea(c: _Check) -> Field:
    return {"max_length": c.integer("max_length", 1, 5000, 2000)}


def _number(c: _Check) -> Field:
    low, high = c.number("min"), c.number("max")
    if low is not None and high is not None and low > high:
        raise c.error("最小值不能大于最大值")
    return {"min": low, "max": high, "decimals": c.integer("decimals", 0, 4, 2)}


def _money(c: _Check) -> Field:
    low = c.integer("min", -MAX_MONEY_FEN, MAX_MONEY_FEN, 0)
    high = c.integer("max", -MAX_MONEY_FEN, MAX_MONEY_FEN, MAX_MONEY_FEN)
    if low is not None and high is not None and low > high:
        raise c.error("最小金额不能大于最大金额")
    return {"min": low, "max": high}


def _daterange(c: _Check) -> Field:
    return {"count": c.choice("count", ("workdays", "calendar"), "workdays"), "halves": c.boolean("halves")}


def _select(c: _Check) -> Field:
    options = c.raw.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS:
        raise c.error(f"请设置 1 到 {MAX_OPTIONS} 个选项")
    cleaned: list[str] = []
    for option in options:
        if not isinstance(option, str) or not 1 <= len(option.strip()) <= 50 or "\x00" in option:
            raise c.error("每个选项应为 1 到 50 个字的文字")
        if option.strip() in cleaned:
            raise c.error(f"选项“{option.strip()}”重复")
        cleaned.append(option.strip())
    return {"options": cleaned}


def _multiple(c: _Check) -> Field:
    return {"multiple": c.boolean("multiple")}


def _attachment(c: _Check) -> Field:
    return {"max_files": c.integer("max_files", 1, 20, 10)}


def _formula(c: _Check) -> Field:
    expr = c.raw.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        raise c.error("请填写计算公式", code="bad_formula")
    try:
        formula.compile_formula(expr)
    except ValidationError as e:
        raise c.error(e.message, code="bad_formula") from None
    return {
        "expr": expr.strip(),
        "result": c.choice("result", ("number", "money"), "number"),
        "decimals": c.integer("decimals", 0, 4, 2),
    }


def _link(c: _Check) -> Field:
    to = c.choice("to", ("request", "document"), None)
    # ``link_form``: the agency's form (its code, ``FormTemplate.code``: a built-in's is its key, e.g.
    # "travel"; a designed one's "form_3") whose requests alone the link may point at — 差旅费报销's
    # 出差审批单 is a 出差审批, never a 请假. Checked on the server at submit (banshi.fields).
    form = c.text("link_form", 40)
    if form and (to != "request" or not FORM_CODE.fullmatch(form)):
        raise c.error("link_form 应为本机关一种表单的标识，且只用于关联审批申请")
    return {"to": to, "link_form": form} if form else {"to": to}


def _table(c: _Check) -> Field:
    columns = c.raw.get("columns")
    if not isinstance(columns, list) or not 1 <= len(columns) <= MAX_COLUMNS:
        raise c.error(f"明细表应有 1 到 {MAX_COLUMNS} 列")
    cleaned: list[Field] = []
    for position, column in enumerate(columns):
        cleaned.append(_field(column, position, table=c.key))
    _unique(cleaned, table=c.key)
    _check_formulas(cleaned, table=c.key)
    max_rows = c.integer("max_rows", 1, 200, 50)
    min_rows = c.integer("min_rows", 0, 200, 0)
    assert max_rows is not None and min_rows is not None  # both have defaults
    if min_rows > max_rows:
        raise c.error("最少行数不能大于最多行数")
    return {"columns": cleaned, "min_rows": min_rows, "max_rows": max_rows}


def _none(c: _Check) -> Field:
    return {}


OPTIONS: dict[str, tuple[set[str], Callable[[_Check], Field]]] = {
    "text": ({"max_length", "pattern", "pattern_message"}, _text),
    "textarea": ({"max_length"}, _textarea),
    "number": ({"min", "max", "decimals"}, _number),
    "money": ({"min", "max"}, _money),
    "date": (set(), _none),
    "datetime": (set(), _none),
    "daterange": ({"count", "halves"}, _daterange),
    "select": ({"options"}, _select),
    "multiselect": ({"options"}, _select),
    "person": ({"multiple"}, _multiple),
    "department": ({"multiple"}, _multiple),
    "attachment": ({"max_files"}, _attachment),
    "table": ({"columns", "min_rows", "max_rows"}, _table),
    "formula": ({"expr", "result", "decimals"}, _formula),
    "link": ({"to", "link_form"}, _link),
}


# One field ---------------------------------------------------------------------------------------


def _visible_to(c: _Check) -> Field | None:
    raw = c.raw.get("visible_to")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"steps", "offices"}:
        raise c.error("可见范围应为 {steps: [...], offices: [...]}")
    steps, offices = raw.get("steps") or [], raw.get("offices") or []
    good_steps = isinstance(steps, list) and len(steps) <= 50
    if not good_steps or not all(isinstance(s, str) and STEP_KEY.fullmatch(s) for s in steps):
        raise c.error("可见范围中的审批环节标识不正确")
    if not isinstance(offices, list) or not all(o in OFFICES for o in offices):
        raise c.error("可见范围中的部门只能是 personnel（人事处）或 finance（财务处）")
    if not steps and not offices:
        raise c.error("可见范围至少要选一个审批环节或部门")
    return {"steps": list(dict.fromkeys(steps)), "offices": list(dict.fromkeys(offices))}


def _field(raw: Any, position: int, *, table: str | None) -> Field:
    where = f"明细表的第 {position + 1} 列" if table is not None else f"第 {position + 1} 个字段"
    if not isinstance(raw, dict):
        raise _bad(f"{where}格式不正确", field=table)
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        message = f"{where}的标识应以小写字母开头，只含小写字母、数字和下划线，不超过 40 个字符"
        raise _bad(message, field=table if table is not None else None)
    c = _Check(raw, key=key, table=table)
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in (COLUMN_TYPES if table is not None else TYPES):
        allowed = "、".join(COLUMN_TYPES) if table is not None else "、".join(TYPES)
        raise c.error(f"类型只能是 {allowed}")
    known, options = OPTIONS[kind]
    allowed_keys = COMMON | known | ({"total"} if table is not None else {"visible_to"})
    unknown = sorted(str(k) for k in set(raw) - allowed_keys)
    if unknown:
        raise c.error("不认识的设置 " + "、".join(unknown))
    out: Field = {
        "key": key,
        "label": c.text("label", 40, required=True),
        "type": kind,
        "required": c.boolean("required") and kind != "formula",
        "help": c.text("help", 200),
        "placeholder": c.text("placeholder", 100),
    }
    if table is None:
        out["visible_to"] = _visible_to(c)
    else:
        total = c.boolean("total")
        if total and kind not in TOTALLED:
            raise c.error("只有数字、金额和计算列可以合计")
        out["total"] = total
    out.update(options(c))
    return out


def _unique(fields: list[Field], *, table: str | None) -> None:
    seen: set[str] = set()
    for f in fields:
        if f["key"] in seen:
            where = "明细表中" if table is not None else "表单中"
            column = f["key"] if table is not None else None
            raise _bad(f"{where}有两个标识都是“{f['key']}”", field=table or f["key"], column=column)
        seen.add(f["key"])


# Formulas ----------------------------------------------------------------------------------------


def _check_formulas(fields: list[Field], *, table: str | None) -> None:
    """Each formula reads only numeric fields (or, at the top level, a numeric column's total as
    ``table.column``); formulas reading formulas form no cycle."""
    readable = {f["key"] for f in fields if f["type"] in READABLE_BY_FORMULA}
    if table is None:
        for t in fields:
            if t["type"] == "table":
                readable |= {f"{t['key']}.{col['key']}" for col in t["columns"] if col["type"] in TOTALLED}
    deps: dict[str, set[str]] = {}
    for f in fields:
        if f["type"] != "formula":
            continue
        c = _Check(f, key=f["key"], table=table)
        refs = formula.references(f["expr"])
        for ref in sorted(refs):
            if ref not in readable:
                what = "明细表中的数字列" if "." in ref else "数字、金额、日期区间或计算字段"
                raise c.error(f"公式引用的“{ref}”不存在或不是{what}", code="bad_formula")
        deps[f["key"]] = refs
    cycle = formula_cycle(deps)
    if cycle:
        c = _Check(next(f for f in fields if f["key"] == cycle[0]), key=cycle[0], table=table)
        raise c.error("公式循环引用：" + " → ".join(cycle), code="formula_cycle")


def _check_formula_visibility(fields: list[Field]) -> None:
    """A formula shows what it reads: one reading a field with ``visible_to`` must be seen by no one
    who may not see that field (``amount * 1`` would otherwise copy a hidden amount into view). Each
    formula is held to what it reads directly; formulas reading formulas chain the rule along."""
    by_key = {f["key"]: f for f in fields}
    for f in fields:
        if f["type"] != "formula":
            continue
        mine = f.get("visible_to")
        for ref in sorted(formula.references(f["expr"])):
            source = by_key[ref.split(".", 1)[0]]
            theirs = source.get("visible_to")
            if theirs is None:
                continue
            if mine is None or not (
                set(mine["steps"]) <= set(theirs["steps"]) and set(mine["offices"]) <= set(theirs["offices"])
            ):
                c = _Check(f, key=f["key"], table=None)
                message = f"公式读取了限定可见的字段{quoted(source)}，它的可见范围不能比{quoted(source)}更宽"
                raise c.error(message, code="formula_visibility")


def formula_cycle(deps: Mapping[str, set[str]]) -> list[str]:
    """A cycle among formulas (``[a, b, a]``) if there is one, else ``[]``."""
    order, cycle = formula_order(deps)
    return cycle


def formula_order(deps: Mapping[str, set[str]]) -> tuple[list[str], list[str]]:
    """The formula keys in an order where each comes after the formulas it reads, and a cycle if
    one stops that (then the order is partial)."""
    done: set[str] = set()
    order: list[str] = []
    for start in deps:
        if start in done:
            continue
        path: list[str] = []
        stack: list[tuple[str, list[str]]] = [(start, sorted(d for d in deps[start] if d in deps))]
        path.append(start)
        while stack:
            node, pending = stack[-1]
            if pending:
                nxt = pending.pop()
                if nxt in done:
                    continue
                if nxt in path:
                    return order, path[path.index(nxt) :] + [nxt]
                path.append(nxt)
                stack.append((nxt, sorted(d for d in deps[nxt] if d in deps)))
                continue
            stack.pop()
            path.pop()
            done.add(node)
            order.append(node)
    return order, []


# The designer's check -----------------------------------------------------------------------------


def validate_fields(raw: Any) -> list[Field]:
    """The field list normalised (every option present, with its default), or a 422 naming the
    field (and ``column`` inside a table)."""
    if not isinstance(raw, list):
        raise ValidationError("字段列表格式不正确", code="bad_fields")
    if len(raw) > MAX_FIELDS:
        raise ValidationError(f"一个表单最多 {MAX_FIELDS} 个字段", code="bad_fields")
    fields = [_field(item, position, table=None) for position, item in enumerate(raw)]
    _unique(fields, table=None)
    _check_formulas(fields, table=None)
    _check_formula_visibility(fields)
    return fields
