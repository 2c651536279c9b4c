"""``bench/tianbao_bench.py`` runs end to end at a tiny size (the sizes of ``python -m bench`` take
minutes): every figure is measured, with its baseline, and the discovery of ``python -m bench``
finds the module."""

from __future__ import annotations

from bench.__main__ import discover
from bench.tianbao_bench import Sizes, measure


def test_the_benchmarks_measure_every_figure() -> None:
    assert "tianbao_bench" in discover()
    rows = measure(Sizes(units=12, items=4, form_items=10, values=2_000, repeat=3))
    names = [r["name"].split(" ")[0] for r in rows]
    assert names == [
        "tianbao.issue_ms",
        "tianbao.board_p99_ms",
        "tianbao.summary_ms",
        "tianbao.open_prefilled_form_p99_ms",
    ]
    for row in rows:
        assert {"name", "value", "unit", "baseline_value", "ratio", "target", "cpu_ms"} <= set(row)
        assert row["value"] > 0 and row["baseline_value"] > 0
