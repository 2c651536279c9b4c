"""The result of judging rendered pages (:mod:`typeset.page_rules`): the rules broken, each with its code."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from typeset.pdf_pages import Measured


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    page: int | None = None  # 1-based


@dataclass
class PageReport:
    fmt: str
    pages: int
    violations: list[Violation] = field(default_factory=list)
    measured: Measured | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def codes(self) -> list[str]:
        return [v.code for v in self.violations]

    def add(self, code: str, message: str, page: int | None = None) -> None:
        self.violations.append(Violation(code, message, page))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "format": self.fmt,
            "pages": self.pages,
            "violations": [asdict(v) for v in self.violations],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
