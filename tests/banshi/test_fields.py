"""Form fields (banshi/fields.py, field_defs.py, field_display.py): the designer's check of a field list,
the server's check of a submission for every type that needs no database (those that do are in
test_field_refs.py), tables and formulas, who sees which field, and values as text.

Types that never touch the database are cleaned with ``session=None``: that they run without one is
part of what is tested (a 30-field form costs no query)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from banshi.field_defs import MAX_FIELDS
from banshi.fields import (
    clean_values,
    display_value,
    money_in_words,
    referenced_ids,
    validate_fields,
    visible_fields,
    visible_values,
)
from office.actor import Actor
from office.errors import ValidationError

APPLICANT = Actor(user_id=7, username="hamlet", name="张伟", agency_id=1, department_id=3)


def clean(fields: list[dict[str, Any]], raw: Any) -> dict[str, Any]:
    return clean_values(None, APPLICANT, validate_fields(fields), raw)  # type: ignore[arg-type]


def refused(call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as e:
        call(*args, **kwargs)
    assert e.value.status_code == 422
    assert any("\u4e00" <= c <= "\u9fff" for c in e.value.message), e.value.message
    return e.value


def bad_value(fields: list[dict[str, Any]], raw: Any) -> ValidationError:
    return refused(clean, fields, raw)


def bad_design(fields: Any) -> ValidationError:
    return refused(validate_fields, fields)


def F(key: str, type_: str, **options: Any) -> dict[str, Any]:
    return {"key": key, "label": options.pop("label", key.upper()), "type": type_, **options}


# The designer's check -------------------------------------------------------------------------------

EVERY_TYPE = [
    F(
        "title",
        "text",
        label="标题",
        required=True,
        max_length=50,
        pattern=r"[^<>]{2,50}",
        pattern_message="2 到 50 个字",
    ),
    F("body", "textarea", label="说明", help="写清楚"),
    F("count", "number", label="数量", min=0, max=1000, decimals=0),
    F("amount", "money", label="金额", max=5_000_000),
    F("day", "date", label="日期"),
    F("at", "datetime", label="时间"),
    F("dates", "daterange", label="起止日期", count="calendar", halves=True),
    F("kind", "select", label="类型", options=["年休假", "事假"]),
    F("tags", "multiselect", label="标签", options=["急", "密"]),
    F("who", "person", label="经办人", multiple=True),
    F("dept", "department", label="部门"),
    F("files", "attachment", label="附件", max_files=3),
    F(
        "items",
        "table",
        label="明细",
        min_rows=1,
        max_rows=10,
        columns=[
            F("name", "text", label="名称", required=True),
            F("qty", "number", label="数量", decimals=0, total=True),
            F("price", "money", label="单价"),
            F("subtotal", "formula", label="小计", expr="qty * price", result="money", total=True),
        ],
    ),
    F("total", "formula", label="合计", expr="items.subtotal + amount / 100 * 0", result="money"),
    F("per_day", "formula", label="日均", expr="round(total / dates, 2)", decimals=2),
    F("trip", "link", label="关联申请", to="request", visible_to={"steps": ["s2"], "offices": ["finance"]}),
]


def test_every_type_is_accepted_and_normalised() -> None:
    fields = validate_fields(EVERY_TYPE)
    by_key = {f["key"]: f for f in fields}
    assert [f["key"] for f in fields] == [f["key"] for f in EVERY_TYPE]
    assert by_key["body"] == {
        "key": "body",
        "label": "说明",
        "type": "textarea",
        "required": False,
        "help": "写清楚",
        "placeholder": "",
        "visible_to": None,
        "max_length": 2000,
    }
    assert by_key["amount"]["min"] == 0  # money is not negative unless the designer says so
    assert by_key["dates"]["count"] == "calendar" and by_key["dates"]["halves"] is True
    assert by_key["items"]["columns"][1]["total"] is True and "visible_to" not in by_key["items"]["columns"][1]
    assert by_key["total"]["required"] is False and by_key["total"]["result"] == "money"
    assert by_key["trip"]["visible_to"] == {"steps": ["s2"], "offices": ["finance"]}
    assert validate_fields(fields) == fields  # normalising twice changes nothing


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ([F("Reason", "text")], None, "标识"),
        ([F("1a", "text")], None, "标识"),
        ([F("a" * 41, "text")], None, "标识"),
        ([F("a", "text"), F("a", "number")], "a", "两个标识"),
        ([F("a", "html")], "a", "类型"),
        ([F("a", "text", max_lenght=10)], "a", "max_lenght"),
        ([F("a", "text", label="")], "a", "label"),
        ([F("a", "text", label="长" * 41)], "a", "label"),
        ([F("a", "text", required="yes")], "a", "required"),
        ([F("a", "text", max_length=501)], "a", "max_length"),
        ([F("a", "text", pattern=r"(a+)+$")], "a", "重复"),
        ([F("a", "text", pattern=r"\d*\d*\d*")], "a", "复杂"),
        ([F("a", "text", pattern=r"(?=x)")], "a", "分组"),
        ([F("a", "text", pattern="[a-")], "a", "[ ]"),
        ([F("a", "textarea", max_length=5001)], "a", "max_length"),
        ([F("a", "number", min=5, max=1)], "a", "最小值"),
        ([F("a", "number", decimals=5)], "a", "decimals"),
        ([F("a", "number", max=float("inf"))], "a", "max"),
        ([F("a", "number", min=True)], "a", "min"),
        ([F("a", "money", min=100, max=1)], "a", "最小金额"),
        ([F("a", "money", max=1.5)], "a", "max"),
        ([F("a", "daterange", count="hours")], "a", "count"),
        ([F("a", "select")], "a", "选项"),
        ([F("a", "select", options=[])], "a", "选项"),
        ([F("a", "select", options=["x", "x"])], "a", "重复"),
        ([F("a", "multiselect", options=["x" * 51])], "a", "选项"),
        ([F("a", "person", multiple="no")], "a", "multiple"),
        ([F("a", "attachment", max_files=21)], "a", "max_files"),
        ([F("a", "link")], "a", "to"),
        ([F("a", "link", to="user")], "a", "to"),
        ([F("a", "link", to="document", link_form="travel")], "a", "link_form"),
        ([F("a", "link", to="request", link_form="出差")], "a", "link_form"),
        ([F("a", "text", visible_to={"offices": ["it"]})], "a", "可见范围"),
        ([F("a", "text", visible_to={"steps": []})], "a", "可见范围"),
        ([F("a", "text", visible_to=["s1"])], "a", "可见范围"),
        ([F("a", "formula")], "a", "公式"),
        ([F("a", "formula", expr="2 ** 10")], "a", "乘方"),
        ([F("a", "formula", expr="b * 2"), F("b", "text")], "a", "“b”"),
        ([F("a", "formula", expr="missing + 1")], "a", "“missing”"),
        ([F("a", "formula", expr="a + 1")], "a", "循环"),
        (
            [F("a", "formula", expr="b + 1"), F("b", "formula", expr="c"), F("c", "formula", expr="a")],
            "a",
            "a → b → c → a",
        ),
        ([F("a", "formula", expr="t.name"), F("t", "table", columns=[F("name", "text")])], "a", "明细表"),
        ([F("a", "formula", expr="t.qty"), F("t", "number")], "a", "明细表"),
        ([F("a", "formula", expr="x + 1", result="percent")], "a", "result"),
    ],
)
def test_bad_designs_are_refused_naming_the_field(fields: list[dict[str, Any]], field: str | None, words: str) -> None:
    error = bad_design(fields)
    assert error.extra.get("field") == field
    assert words in error.message, error.message


@pytest.mark.parametrize(
    ("columns", "column", "words"),
    [
        ([F("who", "person")], "who", "类型"),  # a person column is not one of the column types
        ([F("n", "text", total=True)], "n", "合计"),
        ([F("n", "text", visible_to={"offices": ["finance"]})], "n", "visible_to"),
        ([F("n", "number"), F("n", "money")], "n", "两个标识"),
        ([F("n", "formula", expr="m * 2"), F("m", "formula", expr="n")], "n", "循环"),
        ([F("n", "formula", expr="amount")], "n", "amount"),  # a row formula reads its own row only
    ],
)
def test_bad_columns_are_refused_naming_the_table_and_column(
    columns: list[dict[str, Any]], column: str | None, words: str
) -> None:
    error = bad_design([F("amount", "money"), F("t", "table", columns=columns)])
    assert error.extra["field"] == "t"
    assert error.extra.get("column") == column
    assert words in error.message, error.message


def test_table_shape_limits() -> None:
    assert "列" in bad_design([F("t", "table", columns=[])]).message
    assert "列" in bad_design([F("t", "table", columns=[F(f"c{i}", "text") for i in range(21)])]).message
    assert "行数" in bad_design([F("t", "table", columns=[F("c", "text")], min_rows=5, max_rows=2)]).message
    assert "max_rows" in bad_design([F("t", "table", columns=[F("c", "text")], max_rows=201)]).message


def test_the_list_itself_is_checked() -> None:
    assert bad_design({"key": "a"}).code == "bad_fields"
    assert bad_design([F(f"f{i}", "text") for i in range(MAX_FIELDS + 1)]).code == "bad_fields"
    assert "第 2 个字段" in bad_design([F("a", "text"), "b"]).message
    assert validate_fields([]) == []


# Submissions: scalar types -------------------------------------------------------------------------


def test_required_fields_and_blank_optional_ones() -> None:
    fields = [F("reason", "text", label="事由", required=True), F("note", "textarea")]
    error = bad_value(fields, {"note": "x"})
    assert (error.code, error.extra["field"], error.message) == ("required", "reason", "请填写“事由”")
    bad_value(fields, {"reason": "   "})  # only spaces is blank
    assert clean(fields, {"reason": " 出差 ", "note": "", "unknown": "dropped"}) == {"reason": "出差"}
    assert bad_value(fields, ["reason"]).code == "bad_values"


def test_text() -> None:
    fields = [
        F("t", "text", label="标题", max_length=5, pattern=r"\d{3}[A-Z]?", pattern_message="三位数字加一个大写字母")
    ]
    assert clean(fields, {"t": "123A"}) == {"t": "123A"}
    assert bad_value(fields, {"t": "123456"}).code == "too_long"
    error = bad_value(fields, {"t": "12A"})
    assert (error.code, error.message) == ("bad_pattern", "三位数字加一个大写字母")
    assert "格式" in bad_value([F("t", "text", pattern=r"\d+")], {"t": "1a"}).message
    assert "换行" in bad_value([F("t", "text")], {"t": "a\nb"}).message
    assert "文字" in bad_value([F("t", "text")], {"t": 12}).message
    assert "文字" in bad_value([F("t", "text")], {"t": ["x"]}).message


def test_textarea_keeps_line_breaks() -> None:
    fields = [F("t", "textarea", max_length=10)]
    assert clean(fields, {"t": "一\r\n二\n\t三"}) == {"t": "一\n二\n\t三"}
    assert "控制字符" in bad_value(fields, {"t": "a\x07"}).message
    assert bad_value(fields, {"t": "长" * 11}).code == "too_long"


def test_number() -> None:
    fields = [F("n", "number", label="天数", min=0.5, max=30, decimals=1)]
    assert clean(fields, {"n": 2.5}) == {"n": 2.5}
    assert clean(fields, {"n": 3}) == {"n": 3}
    assert clean(fields, {"n": "4.0"}) == {"n": 4}  # typed into a box: sent as text
    assert clean(fields, {"n": 30}) == {"n": 30}
    assert "1 位小数" in bad_value(fields, {"n": 2.25}).message
    assert "不能小于 0.5" in bad_value(fields, {"n": 0.4}).message
    assert "不能大于 30" in bad_value(fields, {"n": 30.1}).message
    for bad in (True, "abc", "1e3", float("nan"), float("inf"), [1], {"v": 1}, "１２"):
        assert bad_value(fields, {"n": bad}).extra["field"] == "n"
    assert "整数" in bad_value([F("n", "number", decimals=0)], {"n": 1.5}).message
    assert "超出范围" in bad_value([F("n", "number")], {"n": 10**13}).message


def test_money_is_integer_fen() -> None:
    fields = [F("m", "money", label="金额", max=1_000_000)]
    assert clean(fields, {"m": 12345}) == {"m": 12345}
    assert clean(fields, {"m": 12345.0}) == {"m": 12345}
    assert clean(fields, {"m": "900000"}) == {"m": 900000}  # large amounts may come as digits
    assert clean(fields, {"m": 0}) == {"m": 0}
    assert "以分为单位" in bad_value(fields, {"m": 123.45}).message
    assert "以分为单位" in bad_value(fields, {"m": True}).message
    assert "以分为单位" in bad_value(fields, {"m": "12.5"}).message
    assert "不能少于 ¥0.00" in bad_value(fields, {"m": -1}).message
    assert "不能超过 ¥10,000.00" in bad_value(fields, {"m": 1_000_001}).message
    assert clean([F("m", "money", min=-500)], {"m": -500}) == {"m": -500}
    big = [F("m", "money")]
    assert clean(big, {"m": str(10**14)}) == {"m": 10**14}
    assert bad_value(big, {"m": str(10**14 + 1)}).code == "out_of_range"


def test_dates_and_times() -> None:
    fields = [F("d", "date", label="日期"), F("t", "datetime", label="时间")]
    assert clean(fields, {"d": "2026-10-01", "t": "2026-10-01 09:30"}) == {"d": "2026-10-01", "t": "2026-10-01T09:30"}
    for bad in ("2026-02-30", "2026/10/01", "20261001", "2026-10-1", "1899-12-31", 20261001, "２０２６-10-01"):
        assert bad_value(fields, {"d": bad}).extra["field"] == "d"
    for bad in ("2026-10-01", "2026-10-01T25:00", "2026-10-01T09:30:00", "2026-10-01T09:30+08:00"):
        assert bad_value(fields, {"t": bad}).extra["field"] == "t"


def test_calendar_day_ranges_and_halves() -> None:
    fields = [F("r", "daterange", label="起止日期", count="calendar", halves=True)]
    value = clean(fields, {"r": {"start": "2026-09-30", "end": "2026-10-09", "days": 99}})["r"]
    assert value == {"start": "2026-09-30", "end": "2026-10-09", "start_half": "am", "end_half": "pm", "days": 10.0}
    half = {"start": "2026-09-30", "end": "2026-09-30", "start_half": "pm", "end_half": "pm"}
    assert clean(fields, {"r": half})["r"]["days"] == 0.5
    half = {"start": "2026-09-30", "end": "2026-10-01", "start_half": "pm", "end_half": "am"}
    assert clean(fields, {"r": half})["r"]["days"] == 1.0
    same_day_backwards = {"start": "2026-09-30", "end": "2026-09-30", "start_half": "pm", "end_half": "am"}
    assert "下午到上午" in bad_value(fields, {"r": same_day_backwards}).message
    assert (
        "am 或 pm"
        in bad_value(fields, {"r": {"start": "2026-09-30", "end": "2026-09-30", "start_half": "noon"}}).message
    )
    assert "早于" in bad_value(fields, {"r": {"start": "2026-10-02", "end": "2026-10-01"}}).message
    assert "两年" in bad_value(fields, {"r": {"start": "2026-01-01", "end": "2028-01-02"}}).message
    assert clean(fields, {"r": {"start": "2026-01-01", "end": "2027-12-31"}})["r"]["days"] == 730
    assert "结束日期" in bad_value(fields, {"r": {"start": "2026-01-01"}}).message
    assert bad_value(fields, {"r": "2026-01-01"}).extra["field"] == "r"
    whole_days = [F("r", "daterange", count="calendar")]
    assert clean(whole_days, {"r": {"start": "2026-09-30", "end": "2026-09-30", "start_half": "pm"}}) == {
        "r": {"start": "2026-09-30", "end": "2026-09-30", "days": 1.0}  # halves off: whole days
    }
    assert clean(whole_days, {"r": {"start": "", "end": ""}}) == {}  # left blank


def test_select_and_multiselect() -> None:
    fields = [F("k", "select", options=["年休假", "事假"]), F("m", "multiselect", options=["甲", "乙", "丙"])]
    assert clean(fields, {"k": "事假", "m": ["丙", "甲"]}) == {"k": "事假", "m": ["甲", "丙"]}
    assert bad_value(fields, {"k": "病假"}).code == "bad_choice"
    assert bad_value(fields, {"m": ["丁"]}).code == "bad_choice"
    assert "重复" in bad_value(fields, {"m": ["甲", "甲"]}).message
    assert bad_value(fields, {"m": "甲"}).extra["field"] == "m"


def test_ids_are_checked_for_shape_before_the_database() -> None:
    fields = [F("p", "person", multiple=True), F("f", "attachment", max_files=2), F("l", "link", to="request")]
    for raw, field in (
        ({"p": [1, "2"]}, "p"),
        ({"p": [1, True]}, "p"),
        ({"p": [0]}, "p"),
        ({"p": [2**31]}, "p"),
        ({"p": ["１"]}, "p"),
        ({"p": 5}, "p"),
        ({"p": [1, 1]}, "p"),
        ({"p": list(range(1, 102))}, "p"),
        ({"f": [1, 2, 3]}, "f"),
        ({"l": {"kind": "document", "id": 1}}, "l"),
        ({"l": {"kind": "request"}}, "l"),
        ({"l": 5}, "l"),
    ):
        assert bad_value(fields, raw).extra["field"] == field, raw
    two = [F("a", "attachment"), F("b", "attachment")]
    assert bad_value(two, {"a": [5], "b": [5]}).extra["field"] == "b"


# Tables and formulas -------------------------------------------------------------------------------

TABLE = F(
    "items",
    "table",
    label="明细",
    min_rows=2,
    max_rows=3,
    columns=[
        F("name", "text", label="名称", required=True),
        F("qty", "number", label="数量", decimals=0, total=True),
        F("price", "money", label="单价"),
        F("subtotal", "formula", label="小计", expr="qty * price", result="money", total=True),
        F("unit", "formula", label="人均", expr="price / qty", result="money"),
    ],
)


def test_tables_clean_each_cell_and_total_the_columns() -> None:
    rows = [
        {"name": "打印纸", "qty": 3, "price": 2550, "subtotal": 1},
        {"name": "", "qty": None, "price": None},  # a blank row is dropped
        {"name": "墨盒", "qty": "2", "price": 19999},
    ]
    value = clean([TABLE], {"items": rows})["items"]
    assert value == {
        "rows": [
            {"name": "打印纸", "qty": 3, "price": 2550, "subtotal": 7650, "unit": 850},
            {"name": "墨盒", "qty": 2, "price": 19999, "subtotal": 39998, "unit": 10000},  # 99.995 元 → 100.00
        ],
        "totals": {"qty": 5, "subtotal": 47648},
    }


def test_table_errors_name_the_row_and_column() -> None:
    good = {"name": "纸", "qty": 1, "price": 100}
    error = bad_value([TABLE], {"items": [good, {"qty": 1}]})
    assert (error.code, error.extra) == ("required", {"field": "items", "row": 1, "column": "name"})
    assert error.message == "“明细”第 2 行：请填写“名称”"
    error = bad_value([TABLE], {"items": [good, {**good, "qty": 1.5}]})
    assert error.extra == {"field": "items", "row": 1, "column": "qty"}
    error = bad_value([TABLE], {"items": [good, {}, {"name": "", "qty": None}, {**good, "qty": "x"}]})
    assert error.extra == {"field": "items", "row": 3, "column": "qty"}  # its place as sent, blank rows too
    assert "第 4 行" in error.message
    error = bad_value([TABLE], {"items": [good, {**good, "qty": 0}]})
    assert (error.code, error.extra) == ("division_by_zero", {"field": "items", "row": 1, "column": "unit"})
    assert "除数为零" in error.message and "第 2 行" in error.message
    assert "至少填写 2 行" in bad_value([TABLE], {"items": [good]}).message
    assert "最多 3 行" in bad_value([TABLE], {"items": [good] * 4}).message
    assert bad_value([TABLE], {"items": {"name": "x"}}).extra == {"field": "items"}
    assert bad_value([TABLE], {"items": [good, "row"]}).extra == {"field": "items"}
    assert clean([TABLE], {"items": []}) == {}  # optional and empty
    assert bad_value([{**TABLE, "required": True}], {"items": []}).code == "required"
    # Rows left blank are a table left empty: required is missing, optional is left out (not stored as no rows).
    assert bad_value([{**TABLE, "required": True}], {"items": [{}, {"name": " ", "subtotal": 5}]}).code == "required"
    assert clean([TABLE], {"items": [{}, {"name": ""}]}) == {}


def test_formulas_read_money_in_yuan_days_and_column_totals() -> None:
    fields = [
        F("dates", "daterange", label="日期", count="calendar"),
        F("rate", "money", label="每日标准"),
        F("items", "table", label="明细", columns=[F("amount", "money", label="金额", total=True)]),
        F("allowance", "formula", label="补助", expr="dates * rate", result="money"),
        F("total", "formula", label="合计", expr="allowance + items.amount + 0.005", result="money"),
        F("share", "formula", label="占比", expr="round(items.amount / total * 100, 1)", decimals=1),
        F("per_day", "formula", label="日均", expr="total / dates", decimals=2),
    ]
    raw = {
        "dates": {"start": "2026-10-01", "end": "2026-10-03"},
        "rate": 10050,
        "items": [{"amount": 12345}, {"amount": 55}],
        "total": 1,  # the client's own figure is ignored
    }
    values = clean(fields, raw)
    assert values["allowance"] == 30150  # 3 days × 100.50 元
    assert values["total"] == 30150 + 12400 + 1  # 0.005 元 rounds half up to 1 分
    assert values["share"] == 29.1
    assert values["per_day"] == 141.84  # 425.51 元 / 3
    blank = clean(fields[:5], {})  # blank optional inputs read as 0
    assert blank["allowance"] == 0 and blank["total"] == 1
    error = bad_value(fields, {"rate": 1})  # total / dates with no dates
    assert (error.code, error.extra) == ("division_by_zero", {"field": "per_day"})
    assert "“日均”" in error.message


# Who sees what, and values as text ---------------------------------------------------------------


def test_visible_values_follow_visible_to() -> None:
    fields = validate_fields(
        [
            F("kind", "text"),
            F("reason", "text", visible_to={"offices": ["personnel"]}),
            F("cost", "money", visible_to={"steps": ["s2"], "offices": ["finance"]}),
        ]
    )
    values = {"kind": "病假", "reason": "住院", "cost": 100, "stray": 1}
    assert visible_values(fields, values, steps_seen=set(), offices=set(), full=True) == values
    assert visible_values(fields, values, steps_seen={"s1"}, offices=set(), full=False) == {"kind": "病假"}
    assert visible_values(fields, values, steps_seen={"s2"}, offices=set(), full=False) == {"kind": "病假", "cost": 100}
    assert visible_values(fields, values, steps_seen=set(), offices={"personnel"}, full=False) == {
        "kind": "病假",
        "reason": "住院",
    }
    assert [f["key"] for f in visible_fields(fields, steps_seen=set(), offices={"finance"}, full=False)] == [
        "kind",
        "cost",
    ]


def test_a_formula_is_seen_by_no_one_who_may_not_see_what_it_reads() -> None:
    personnel = {"offices": ["personnel"]}
    hidden = F("cost", "money", visible_to={"steps": ["s2"], "offices": ["personnel"]})
    for formula_visible_to in (None, {"offices": ["finance"]}, {"steps": ["s1"]}, {"steps": ["s2", "s3"]}):
        error = bad_design([hidden, F("double", "formula", expr="cost * 2", visible_to=formula_visible_to)])
        assert (error.code, error.extra) == ("formula_visibility", {"field": "double"})
        assert "“COST”" in error.message
    validate_fields([hidden, F("double", "formula", expr="cost * 2", visible_to=personnel)])
    validate_fields([hidden, F("double", "formula", expr="cost * 2", visible_to=hidden["visible_to"])])
    # Through another formula, and through a table's column total.
    chain = [hidden, F("a", "formula", expr="cost", visible_to=personnel), F("b", "formula", expr="a + 1")]
    assert bad_design(chain).extra == {"field": "b"}
    table = F("t", "table", columns=[F("n", "number")], visible_to=personnel)
    assert bad_design([table, F("sum_n", "formula", expr="t.n")]).extra == {"field": "sum_n"}


def test_display_values() -> None:
    fields = {f["key"]: f for f in validate_fields(EVERY_TYPE)}
    names = {"person": {5: "李娜"}, "department": {3: "综合处"}, "file": {9: "发票.pdf"}, "request": {4: "张伟的出差"}}
    shown = {
        "title": ("报告", "报告"),
        "count": (12, "12"),
        "amount": (1234567, "¥12,345.67"),
        "day": ("2026-10-01", "2026年10月1日"),
        "at": ("2026-10-01T09:30", "2026年10月1日 09:30"),
        "tags": (["急", "密"], "急、密"),
        "who": ([5, 6], "李娜、#6"),
        "dept": (3, "综合处"),
        "files": ([9], "发票.pdf"),
        "trip": ({"kind": "request", "id": 4}, "申请 张伟的出差"),
        "total": (100, "¥1.00"),
        "per_day": (0.5, "0.5"),
    }
    for key, (value, text) in shown.items():
        assert display_value(fields[key], value, names=names) == text, key
    dates = {"start": "2026-09-30", "end": "2026-10-09", "start_half": "pm", "end_half": "am", "days": 2.5}
    assert display_value(fields["dates"], dates) == "2026年9月30日下午 至 2026年10月9日上午，共 2.5 天"
    table = {"rows": [{}, {}], "totals": {"qty": 5, "subtotal": 47648}}
    assert display_value(fields["items"], table) == "共 2 行，“数量”合计 5，“小计”合计 ¥476.48"
    assert display_value(fields["title"], None) == ""
    assert money_in_words(1004050) == "壹万零肆拾元伍角"


def test_referenced_ids_collects_every_kind() -> None:
    fields = validate_fields(EVERY_TYPE)
    values = {"who": [5, 6], "dept": 3, "files": [9, 10], "trip": {"kind": "request", "id": 4}}
    assert referenced_ids(fields, values) == {
        "person": {5, 6},
        "department": {3},
        "file": {9, 10},
        "request": {4},
        "document": set(),
    }


# Speed ---------------------------------------------------------------------------------------------


def test_a_thirty_field_form_cleans_in_well_under_a_millisecond() -> None:
    """Without database lookups (none of these types needs one: ``session`` is None), a 30-field form
    with a table and formulas is cleaned in about 0.2 ms; the bound is loose for a loaded machine."""
    kinds = [
        (F("t{}", "text", pattern=r"[\u4e00-\u9fa5]{1,20}"), "请假"),
        (F("n{}", "number"), 3.5),
        (F("m{}", "money"), 123456),
        (F("d{}", "date"), "2026-10-01"),
        (F("s{}", "select", options=["甲", "乙"]), "乙"),
        (F("r{}", "daterange", count="calendar", halves=True), {"start": "2026-10-01", "end": "2026-10-05"}),
    ]
    fields: list[dict[str, Any]] = []
    raw: dict[str, Any] = {}
    for i in range(4):
        for template, value in kinds:
            f = {**template, "key": template["key"].format(i)}
            fields.append(f)
            raw[f["key"]] = value
    fields.append({**TABLE, "min_rows": 0, "max_rows": 10})
    raw["items"] = [{"name": "纸", "qty": i + 1, "price": 250} for i in range(5)]
    for i in range(5):
        fields.append(F(f"x{i}", "formula", expr=f"m{i % 4} * 2 + n{i % 4} + items.subtotal + r0", result="money"))
    assert len(fields) == 30
    checked = validate_fields(fields)
    clean_values(None, APPLICANT, checked, raw)  # type: ignore[arg-type]
    runs = []
    for _ in range(50):
        start = time.perf_counter()
        clean_values(None, APPLICANT, checked, raw)  # type: ignore[arg-type]
        runs.append(time.perf_counter() - start)
    runs.sort()
    assert runs[len(runs) // 2] < 0.003, runs[len(runs) // 2]
