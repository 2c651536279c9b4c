"""What ``/healthz`` reports beside "the process answers": the state of parts a domain depends on.

The core imports no domain, so each registers its own check at start (e.g. ``typeset`` the
LibreOffice converters that make official copies); a check is a quick, read-only look that
returns a small dict with at least ``available``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_CHECKS: dict[str, Callable[[], dict[str, Any]]] = {}


def register(name: str, check: Callable[[], dict[str, Any]]) -> None:
    _CHECKS[name] = check


def report() -> dict[str, Any]:
    return {"status": "ok", "components": {name: check() for name, check in sorted(_CHECKS.items())}}
