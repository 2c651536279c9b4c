from __future__ import annotations

from bench.incoming_bench import run


def test_incoming_bench_reports_search_and_dashboard_figures() -> None:
    entries = run(quick=True)
    names = [e["name"] for e in entries]
    assert names == [
        "incoming.search_index_build_10000_docs",
        "incoming.search_p50_10000_docs",
        "incoming.search_p99_10000_docs",
        "incoming.search_p99_10000_docs_clerk",
        "incoming.search_p99_10000_docs_staff",
        "incoming.search_cpu_p50_10000_docs",
        "incoming.search_cpu_p99_10000_docs",
        "incoming.search_cpu_p99_10000_docs_clerk",
        "incoming.search_cpu_p99_10000_docs_staff",
        "incoming.dashboard_10000_items",
    ]
    for entry in entries:
        assert set(entry) == {"name", "value", "unit"}
        assert isinstance(entry["value"], (int, float)) and entry["value"] > 0
