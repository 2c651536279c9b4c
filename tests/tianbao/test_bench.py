"""``bench/tianbao_bench.py`` runs end to end at a tiny size (the sizes of ``python -m bench`` take
minutes): every figure is measured, with its baseline, and the discovery of ``python -m bench``
finds the module."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.__main__ import discover
from bench.tianbao_bench import Sizes, measure


def test_the_benchmarks_measure_every_figure() -> None:
    assert "tianbao_bench" in discover()
    rows = measure(Sizes(units=12, items=4, form_items=10, values=2_000, repeat=3))
    names = [r["name"].split(" ")[0] for r in rows]
    figures = [
        "tianbao.issue",
        "tianbao.board_p99",
        "tianbao.summary",
        "tianbao.open_prefilled_form_p99",
    ]
    assert names == [f"{f}_ms" for f in figures] + [f"{f}_cpu_ms" for f in figures]
    for row in rows[:4]:
        assert {"name", "value", "unit", "baseline_value", "ratio", "target", "cpu_ms"} <= set(row)
        assert row["value"] > 0 and row["baseline_value"] > 0
    for row, cpu in zip(rows[:4], rows[4:], strict=True):  # the CPU figure printed on a row of its own
        assert cpu["value"] == row["cpu_ms"] and cpu["unit"] == "ms cpu"


def test_a_kept_seed_is_reused_and_each_run_measures_a_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``TIANBAO_BENCH_DIR``: the 10-million-value seed takes minutes, so it is kept and copied; the
    kept database is not changed by a run (each starts from the same data)."""
    tiny = Sizes(units=6, items=2, form_items=3, values=200, repeat=2)
    first = measure(tiny, tmp_path)
    kept = next(tmp_path.iterdir()) / "office.db"
    stamp = kept.stat().st_mtime_ns, kept.stat().st_size
    second = measure(tiny, tmp_path)
    err = capsys.readouterr().err
    assert err.count("seeded 6 units") == 1 and err.count("copied the seeded database") == 2
    assert (kept.stat().st_mtime_ns, kept.stat().st_size) == stamp
    assert [r["name"] for r in first] == [r["name"] for r in second]


def test_a_kept_seed_at_a_revision_this_tree_lacks_is_seeded_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another working tree with a migration this one lacks must not leave the kept seed unusable:
    the copy is what gets migrated, and a seed this tree cannot migrate is seeded again."""
    tiny = Sizes(units=4, items=2, form_items=2, values=100, repeat=2)
    measure(tiny, tmp_path)
    kept = next(tmp_path.iterdir()) / "office.db"
    with sqlite3.connect(kept) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_elsewhere'")
    rows = measure(tiny, tmp_path)
    err = capsys.readouterr().err
    assert "seeding it again" in err and err.count("seeded 4 units") == 2
    assert len(rows) == 8
