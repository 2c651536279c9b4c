"""The formula evaluator (banshi/formula.py): exact decimal arithmetic, the whitelisted functions,
references for the designer's cycle check, and hostile expressions refused with a 422 before
anything runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from banshi import formula
from banshi.formula import compile_formula, evaluate, from_fen, references, to_fen, to_number
from office.errors import ValidationError

D = Decimal
ENV = {
    "a": D("0.1"),
    "b": D("0.2"),
    "qty": D(3),
    "price": D("19.99"),
    "zero": D(0),
    "items.amount": D("1250.50"),
    "dates": D("2.5"),
}


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("a + b", D("0.3")),  # exact: not 0.30000000000000004
        ("qty * price", D("59.97")),
        ("qty - price", D("-16.99")),
        ("(a + b) * 10", D("3.0")),
        ("-a + +b", D("0.1")),
        ("items.amount / 2", D("625.25")),
        ("max(a, b, qty)", D(3)),
        ("min(a, b)", D("0.1")),
        ("abs(qty - price)", D("16.99")),
        ("sum(a, b, qty)", D("3.3")),
        ("round(10 / 3, 2)", D("3.33")),
        ("round(2.5)", D(3)),  # 四舍五入, not Python's round-half-even
        ("round(0.125, 2)", D("0.13")),
        ("round(-2.5)", D(-3)),
        ("dates * 100", D("250.0")),
        ("1_000 + 0.5", D("1000.5")),
        ("（a＋b）×qty÷3", D("0.3")),  # full-width signs typed on a Chinese keyboard
        ("  a  ", D("0.1")),
    ],
)
def test_evaluates_exactly(expr: str, value: Decimal) -> None:
    assert evaluate(expr, ENV) == value


def test_references_lists_fields_and_columns() -> None:
    assert references("qty * price + items.amount - max(a, round(b, 2))") == {"qty", "price", "items.amount", "a", "b"}
    assert references("1 + 2") == set()
    assert compile_formula("a + a").refs == frozenset({"a"})


def test_money_rounds_half_up_to_fen() -> None:
    assert to_fen(D("0.005")) == 1
    assert to_fen(D("0.004")) == 0
    assert to_fen(D("12.345")) == 1235
    assert to_fen(D("-0.005")) == -1
    assert to_fen(evaluate("1 / 3", {})) == 33
    assert from_fen(12345) == D("123.45")
    assert to_fen(from_fen(12345)) == 12345


def test_numbers_round_to_their_places() -> None:
    assert to_number(D("2.345"), 2) == 2.35
    assert to_number(D("2.5"), 0) == 3
    assert isinstance(to_number(D("2.5"), 0), int)
    assert to_number(D("1") / D("3") * 3, 2) == 1.0


def _refused(expr: str, code: str = "bad_formula") -> ValidationError:
    with pytest.raises(ValidationError) as e:
        evaluate(expr, ENV, field="total")
    assert e.value.status_code == 422
    assert e.value.code == code
    assert e.value.extra["field"] == "total"
    return e.value


def test_division_by_zero_is_a_422() -> None:
    assert "除数为零" in _refused("qty / zero", "division_by_zero").message
    assert "除数为零" in _refused("zero / zero", "division_by_zero").message
    assert "除数为零" in _refused("1 / (a - a + zero)", "division_by_zero").message


def test_overflow_is_a_422() -> None:
    _refused("999999999999999 * 999999999999999 * 999999999999999 * 999999999999999 * 99999", "formula_overflow")
    _refused("999999999999999 * 999999999999999", "formula_overflow")  # past 10^15 at the end
    assert "过大" in _refused("1" + "0" * 20).message


HOSTILE = [
    "__import__('os').system('id')",
    "__import__",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('1')",
    "getattr(a, 'x')",
    "a.__class__",
    "a.__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "items.amount.real",
    "a.b.c",
    "(1).real",
    "a[0]",
    "2 ** 1000000",
    "a ** 2",
    "pow(2, 10)",
    "9 ** 9 ** 9",
    "a % 2",
    "a // 2",
    "a << 2",
    "a & 1",
    "~a",
    "not a",
    "a < b",
    "a and b",
    "a if b else qty",
    "lambda: 1",
    "[x for x in (1, 2)]",
    "{'a': 1}",
    "[1, 2]",
    "(1, 2)",
    "'text'",
    "f'{a}'",
    "b'1'",
    "True",
    "None",
    "...",
    "1j",
    "(x := 1)",
    "max(*[1, 2])",
    "max(a, key=b)",
    "round(a, qty * 10)",
    "abs()",
    "abs(a, b)",
    "Max(a)",
    "sum",
    "_a",
    "A",
    "金额 * 2",
    "a +",
    "(a",
    "a;b",
    "a\nb",
    "a\x00",
    "",
    "   ",
    "nonexistent + 1",
]


@pytest.mark.parametrize("expr", HOSTILE)
def test_hostile_expressions_are_refused(expr: str) -> None:
    error = _refused(expr)
    assert any("\u4e00" <= c <= "\u9fff" for c in error.message)  # a Chinese sentence for the designer


def test_length_and_depth_are_bounded() -> None:
    assert "不能超过" in _refused("a + " * 200 + "a").message
    assert "嵌套过深" in _refused("-(" * 25 + "a" + ")" * 25).message
    assert "嵌套过深" in _refused("max(" * 25 + "a" + ")" * 25).message
    assert "公式过长" in _refused("+".join(["a"] * 220)).message  # under 500 characters, too many nodes
    assert "嵌套过深" in _refused("a+(" * 25 + "a" + ")" * 25).message
    assert evaluate("+".join(["a"] * 90), ENV) == D("9.0")  # a long flat sum is not deep
    _refused("(" * 240 + "a" + ")" * 240)  # the parser's own nesting limit, still a clean 422
    assert evaluate("-(" * 10 + "a" + ")" * 10, ENV) == D("0.1")


def test_a_non_string_formula_is_refused() -> None:
    for bad in (None, 1, ["a"], {"a": 1}):
        with pytest.raises(ValidationError) as e:
            compile_formula(bad, field="f")  # type: ignore[arg-type]
        assert e.value.extra["field"] == "f"


def test_nothing_runs_through_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluator never reaches Python's eval, exec or compile: they are made to fail here."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec/compile called")

    formula._compile.cache_clear()
    import builtins

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert evaluate("round(qty * price / 7, 2) + items.amount", ENV) == D("1259.07")
