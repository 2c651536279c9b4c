from __future__ import annotations

from bench.docs_bench import run


def test_bench_entries_have_name_value_unit() -> None:
    entries = run(quick=True)
    assert {e["name"] for e in entries} >= {"docs_flow.render_docx_3page_notice", "docs_flow.check_docx_3page_notice"}
    for entry in entries:
        assert set(entry) == {"name", "value", "unit"}
        assert isinstance(entry["value"], (int, float)) and entry["value"] > 0
