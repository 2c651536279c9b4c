"""Computed fields: a small arithmetic language over other fields, evaluated by our own code.

An expression is parsed with ``ast.parse(mode="eval")`` and only these nodes are accepted: numbers,
field keys (``amount``), a table column's total (``items.price``), ``+ - * /``, unary ``-``/``+``,
parentheses and calls of ``min max round abs sum``. Everything else (``**``, comparisons,
attribute chains, subscripts, strings, lambdas, any other name called) is refused with a 422
before anything runs, and nothing is ever handed to ``eval``/``exec``: the accepted tree is turned
into a chain of closures over ``decimal.Decimal``, so money stays exact (0.1 + 0.2 is 0.3).

Units: a money field enters a formula in 元 (its 分 divided by 100, exactly), so a designer writes
``nights * 350``; a money result is rounded half up to 分. ``round`` rounds half up too (四舍五入),
as finance staff expect, not to even as Python's ``round`` does.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from functools import lru_cache

from office.errors import ValidationError

MAX_LENGTH = 500
MAX_DEPTH = 20  # brackets, signs and calls nested inside each other
MAX_NODES = 200  # numbers, names, operators and calls
MAX_CONSTANT = Decimal(10) ** 15
MAX_RESULT = Decimal(10) ** 15  # 1000万亿: far above any form's amounts, far below trouble
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
FUNCTIONS = ("min", "max", "round", "abs", "sum")
# Designers type formulas on Chinese keyboards: the full-width signs mean the same as ASCII ones.
FULL_WIDTH = str.maketrans(
    {"（": "(", "）": ")", "＋": "+", "－": "-", "×": "*", "＊": "*", "÷": "/", "／": "/", "，": ","}
)

# Exact decimal arithmetic with traps: an overflow or 0/0 is an error, never Infinity or NaN.
CONTEXT = Context(prec=34, Emax=60, Emin=-60, traps=[InvalidOperation, DivisionByZero, Overflow])
ZERO = Decimal(0)

Env = Mapping[str, Decimal]
Node = Callable[[Env], Decimal]

REFUSED = {
    ast.Pow: "公式不支持乘方（**）",
    ast.Mod: "公式不支持取余（%）",
    ast.FloorDiv: "公式不支持整除（//），请用 / 和 round",
    ast.Compare: "公式不支持比较运算",
    ast.BoolOp: "公式不支持逻辑运算",
    ast.IfExp: "公式不支持条件表达式",
    ast.Subscript: "公式不支持下标",
    ast.Lambda: "公式不能定义函数",
}


class FormulaError(ValueError):
    """An expression that is not one of ours; the message is for the designer."""


@dataclass(frozen=True)
class Formula:
    expr: str
    refs: frozenset[str]  # field keys and "table.column" names it reads
    run: Node


def _fail(message: str) -> FormulaError:
    return FormulaError(message)


def _constant(node: ast.Constant, source: str) -> Decimal:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail("公式中只能出现数字、字段和运算符")
    text = ast.get_source_segment(source, node) or repr(value)
    try:
        number = Decimal(text) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        number = Decimal(repr(value))
    if not number.is_finite() or abs(number) > MAX_CONSTANT:
        raise _fail("公式中的数字过大")
    return number


def _name(node: ast.expr) -> str:
    """``amount`` or ``items.price``; anything else that names something is refused."""
    if isinstance(node, ast.Name) and KEY.fullmatch(node.id):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if KEY.fullmatch(node.value.id) and KEY.fullmatch(node.attr):
            return f"{node.value.id}.{node.attr}"
    if isinstance(node, ast.Name | ast.Attribute):
        raise _fail("公式只能引用字段标识（小写字母开头）或“明细表.列”")
    raise _fail("公式中只能出现数字、字段和运算符")


def _lookup(name: str) -> Node:
    def run(env: Env) -> Decimal:
        try:
            return env[name]
        except KeyError:
            raise _fail(f"公式引用的字段“{name}”不存在") from None

    return run


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if not b:  # 0/0 would surface as InvalidOperation: say what it is
        raise DivisionByZero()
    return CONTEXT.divide(a, b)


BINARY: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: CONTEXT.add,
    ast.Sub: CONTEXT.subtract,
    ast.Mult: CONTEXT.multiply,
    ast.Div: _divide,
}


def _round(value: Decimal, places: Decimal = ZERO) -> Decimal:
    if places != places.to_integral_value() or not 0 <= places <= 6:
        raise _fail("round 的小数位数只能是 0 到 6 的整数")
    return value.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP, context=CONTEXT)


def _sum(*values: Decimal) -> Decimal:
    total = ZERO
    for value in values:
        total = CONTEXT.add(total, value)
    return total


CALLS: dict[str, tuple[int, int, Callable[..., Decimal]]] = {  # name: (least args, most args, function)
    "min": (1, 20, min),
    "max": (1, 20, max),
    "round": (1, 2, _round),
    "abs": (1, 1, CONTEXT.abs),
    "sum": (1, 20, _sum),
}


def _call(node: ast.Call, build: Callable[[ast.expr], Node]) -> Node:
    func = node.func.id if isinstance(node.func, ast.Name) else ""
    if func not in CALLS:
        raise _fail("公式只能调用函数 " + "、".join(FUNCTIONS))
    least, most, function = CALLS[func]
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise _fail(f"{func} 只接受用逗号分隔的参数")
    if not least <= len(node.args) <= most:
        raise _fail(f"{func} 的参数个数不对")
    args = [build(a) for a in node.args]
    return lambda env: function(*(a(env) for a in args))


def _builder(source: str, refs: set[str]) -> Callable[[ast.expr], Node]:
    def build(node: ast.expr, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise _fail("公式嵌套过深")

        def sub(child: ast.expr) -> Node:
            return build(child, depth + 1)

        if isinstance(node, ast.Constant):
            number = _constant(node, source)
            return lambda env: number
        if isinstance(node, ast.Name | ast.Attribute):
            name = _name(node)
            refs.add(name)
            return _lookup(name)
        if isinstance(node, ast.BinOp):
            op = BINARY.get(type(node.op))
            if op is None:
                raise _fail(REFUSED.get(type(node.op), "公式只支持 + - * / 运算"))
            # A chain a + b + c nests to the left: it is long, not deep, so its left side stays level.
            left, right = build(node.left, depth), sub(node.right)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = sub(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda env: CONTEXT.minus(operand(env))
            return operand
        if isinstance(node, ast.Call):
            return _call(node, sub)
        raise _fail(REFUSED.get(type(node), "公式中只能出现数字、字段、+ - * / 、括号和函数 " + "、".join(FUNCTIONS)))

    return build


@lru_cache(maxsize=2048)
def _compile(expr: str) -> Formula:
    if not expr.strip():
        raise _fail("请填写公式")
    if len(expr) > MAX_LENGTH:
        raise _fail(f"公式不能超过 {MAX_LENGTH} 个字符")
    source = expr.translate(FULL_WIDTH).strip()
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _fail("公式有语法错误，请检查括号和运算符") from None
    if sum(1 for n in ast.walk(tree) if isinstance(n, ast.expr)) > MAX_NODES:
        raise _fail("公式过长，请拆成几个计算字段")
    refs: set[str] = set()
    run = _builder(source, refs)(tree.body)
    return Formula(expr=expr, refs=frozenset(refs), run=run)


def compile_formula(expr: str, *, field: str | None = None) -> Formula:
    """The parsed expression (cached); a ValidationError (422, code ``bad_formula``) naming ``field``
    when it is not one we evaluate."""
    if not isinstance(expr, str):
        raise ValidationError("公式必须是文字", code="bad_formula", field=field)
    try:
        return _compile(expr)
    except FormulaError as e:
        raise ValidationError(str(e), code="bad_formula", field=field) from None


def references(expr: str) -> set[str]:
    """The field keys and ``table.column`` names the expression reads (for the designer's checks)."""
    return set(compile_formula(expr).refs)


def evaluate(expr: str | Formula, env: Env, *, field: str | None = None, label: str = "") -> Decimal:
    """The value of the expression with ``env`` giving each referenced name's value (money in 元).
    Division by zero, an overflow or a missing name is a ValidationError naming ``field``."""
    formula = expr if isinstance(expr, Formula) else compile_formula(expr, field=field)
    try:
        value = formula.run(env)
    except DivisionByZero:
        raise ValidationError(f"{_what(label)}计算时除数为零", code="division_by_zero", field=field) from None
    except (Overflow, InvalidOperation):
        raise ValidationError(f"{_what(label)}的计算结果超出范围", code="formula_overflow", field=field) from None
    except FormulaError as e:
        raise ValidationError(str(e), code="bad_formula", field=field) from None
    if abs(value) > MAX_RESULT:
        raise ValidationError(f"{_what(label)}的计算结果超出范围", code="formula_overflow", field=field)
    return value


def _what(label: str) -> str:
    return f"“{label}”" if label else "公式"


def to_fen(yuan: Decimal) -> int:
    """A money result in 元 rounded half up to 分."""
    return int(yuan.scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_number(value: Decimal, decimals: int) -> int | float:
    """A number result rounded half up to ``decimals`` places: an int at 0 places, a float otherwise."""
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)


def from_fen(fen: int) -> Decimal:
    """A money value as a formula sees it: 元, exactly."""
    return Decimal(fen).scaleb(-2)


def from_number(value: int | float) -> Decimal:
    """A number value as a formula sees it (a float by its shortest repr, so 0.1 is 0.1)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))
