"""Cells written into CSV and xlsx exports from user text: one rule for every export."""

from __future__ import annotations

import unicodedata
from typing import Any

FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Cells starting with = + - @ (or tab/CR) would run as formulas in Excel: prefix a quote. The
    full-width and small forms (＝ ＋ － ＠, ﹦ ﹢ ﹣ ﹫), which a Chinese input method types and Excel
    takes as the ASCII ones, are compared by their NFKC form."""
    lead = unicodedata.normalize("NFKC", cell[:1])[:1]
    return "'" + cell if lead in FORMULA_LEAD else cell


def safe_cell(value: Any) -> Any:
    """``neutralise`` for text; numbers, dates and empty cells as they are."""
    return neutralise(value) if isinstance(value, str) else value
