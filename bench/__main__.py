"""``python -m bench``: run every package's benchmarks and print a table (``--json FILE`` too).

Each ``bench/<name>_bench.py`` module exposes ``run(quick: bool) -> list[dict]`` whose rows carry
``name``, ``value``, ``unit`` and, where a baseline ran in the same process or run,
``baseline_value`` and ``ratio``. Figures are measurements, never pass/fail assertions.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import bench


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.endswith("_bench"))


def format_table(rows: list[dict[str, Any]]) -> str:
    header = f"{'benchmark':<58} {'value':>14} {'unit':<10} {'baseline':>12} {'ratio':>7}  target"
    lines = [header, "-" * len(header)]
    for r in rows:
        base = r.get("baseline_value")
        ratio = r.get("ratio")
        lines.append(
            f"{r['name'][:58]:<58} {_num(r['value']):>14} {r['unit'][:10]:<10} "
            f"{_num(base) if base is not None else '':>12} {f'{ratio:.2f}' if ratio is not None else '':>7}  "
            f"{r.get('target', '')}"
        )
    return "\n".join(lines)


def _num(v: float) -> str:
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="通办性能基准")
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--only", action="append", default=[], help="module name (e.g. office_bench); repeatable")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            print(f"unknown benchmark module(s): {', '.join(unknown)}; have: {', '.join(names)}", file=sys.stderr)
            return 2
        names = args.only
    rows: list[dict[str, Any]] = []
    failed = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            got = module.run(args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for row in got:
            row.setdefault("module", name)
        rows.extend(got)
        print(f"   {len(got)} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
