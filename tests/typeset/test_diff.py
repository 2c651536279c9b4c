from __future__ import annotations

from typeset.diff import DiffOp, body_text, diff_bodies, diff_text, stats
from typeset.layout import Heading, Paragraph, Table


def _apply(ops: list[DiffOp]) -> tuple[str, str]:
    old = "".join(o.text for o in ops if o.op != "insert")
    new = "".join(o.text for o in ops if o.op != "delete")
    return old, new


def test_character_level_ops_for_chinese_edits() -> None:
    ops = diff_text("各地要加强组织领导。", "各地各部门要切实加强组织领导。")
    assert [o.to_dict() for o in ops] == [
        {"op": "equal", "text": "各地"},
        {"op": "insert", "text": "各部门"},
        {"op": "equal", "text": "要"},
        {"op": "insert", "text": "切实"},
        {"op": "equal", "text": "加强组织领导。"},
    ]
    ops = diff_text("于12月31日前完成", "于11月30日前完成")
    assert _apply(ops) == ("于12月31日前完成", "于11月30日前完成")
    assert [o.op for o in ops if o.op != "equal"] == ["delete", "insert", "delete", "insert"] or stats(ops)[
        "insert"
    ] == stats(ops)["delete"]


def test_no_autojunk_on_long_texts_with_frequent_characters() -> None:
    old = "的" * 300 + "甲" + "的" * 300
    new = "的" * 300 + "乙" + "的" * 300
    ops = diff_text(old, new)
    assert stats(ops) == {"equal": 600, "insert": 1, "delete": 1}
    assert _apply(ops) == (old, new)


def test_identical_and_empty_inputs() -> None:
    assert diff_text("", "") == []
    assert diff_text("同", "同") == [DiffOp("equal", "同")]
    assert diff_text("", "新") == [DiffOp("insert", "新")]
    assert diff_text("旧", "") == [DiffOp("delete", "旧")]


def test_diff_bodies_over_blocks() -> None:
    old = [Heading(1, "一、总体要求"), Paragraph("甲乙丙"), Table([["a", "b"]])]
    new = [Heading(1, "一、总体要求"), Paragraph("甲丙丁"), Table([["a", "c"]])]
    assert body_text(old) == "一、总体要求\n甲乙丙\na\tb"
    ops = diff_bodies(old, new)
    assert _apply(ops) == (body_text(old), body_text(new))
    assert stats(ops) == {"equal": len(body_text(old)) - 2, "insert": 2, "delete": 2}
