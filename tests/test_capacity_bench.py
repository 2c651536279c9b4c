"""``bench/capacity_bench.py`` runs end to end at a tiny size (its real ramp takes minutes): a real
server, staff with open sockets chatting, reading, listing and opening 公文 and searching, every
figure of a step measured, and ``python -m bench`` finds the module."""

from __future__ import annotations

import math

from bench.__main__ import discover
from bench.capacity_bench import Model, measure, rows_of


def test_a_tiny_ramp_measures_every_figure() -> None:
    assert "capacity_bench" in discover()
    # Actions every second or so instead of every minute, so two short steps have samples of each kind.
    results, load = measure((6, 12), hold=2.0, model=Model(chat=0.6, docs=1.0, search=1.0))
    assert [r["staff"] for r in results] == [6, 12]
    for r in results:
        for key in ("http_p95", "ack_p95", "delivery_p95", "server_cpu", "client_cpu", "rss_mb"):
            assert r[key] > 0 and not math.isnan(r[key]), (key, r)
        assert r["errors_pct"] == 0, r["error_kinds"]
        assert r["online"] == r["staff"] and r["passed"]
    rows = rows_of(results, load)
    assert len(rows) == 2 * 8 + 1
    assert rows[-1]["value"] == 12 and rows[-1]["unit"] == "staff"
