"""Word generation and conformance-check timings for a three-page 通知 (target: render < 100 ms)."""

from __future__ import annotations

import time
from collections.abc import Callable

from typeset.conformance import check_docx
from typeset.render import render_docx
from typeset.samples import demo_notice


def _per_call_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: imports, template parsing
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best * 1000


def run(quick: bool) -> list[dict[str, object]]:
    repeat = 3 if quick else 20
    doc = demo_notice(pages=3)
    data = render_docx(doc)
    return [
        {
            "name": "docs_flow.render_docx_3page_notice",
            "value": round(_per_call_ms(lambda: render_docx(doc), repeat), 2),
            "unit": "ms",
        },
        {
            "name": "docs_flow.check_docx_3page_notice",
            "value": round(_per_call_ms(lambda: check_docx(data), repeat), 2),
            "unit": "ms",
        },
        {"name": "docs_flow.docx_size_3page_notice", "value": len(data), "unit": "bytes"},
    ]
