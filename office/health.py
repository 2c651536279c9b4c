"""What ``/healthz`` reports beside "the process answers", and whether ``/readyz`` says ready.

The core imports no domain, so each registers its own check at start (e.g. ``typeset`` the
LibreOffice converters that make official copies); a check is a quick, read-only look that
returns a small dict with at least ``available``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

_CHECKS: dict[str, Callable[[], dict[str, Any]]] = {}


def register(name: str, check: Callable[[], dict[str, Any]]) -> None:
    _CHECKS[name] = check


def report() -> dict[str, Any]:
    return {"status": "ok", "components": {name: check() for name, check in sorted(_CHECKS.items())}}


def readiness(app: Any) -> dict[str, dict[str, Any]]:
    """Each part ``/readyz`` waits for, with ``ok`` and, when not, why: the database takes a write,
    its schema is at the newest migration, the event hub is connected, and every registered
    component (official copies) is available."""
    state = app.state
    parts = {"database": _safely(_writable, state.db), "migrations": _safely(_migrated, state.db)}
    parts["hub"] = _safely(_hub_connected, state.hub)
    for name, info in report()["components"].items():
        parts[name] = {"ok": bool(info.get("available")), **({} if info.get("available") else {"reason": info})}
    return parts


def _safely(check: Callable[[Any], str | None], target: Any) -> dict[str, Any]:
    try:
        reason = check(target)
    except Exception as exc:  # a probe must answer, and name what failed
        reason = f"{type(exc).__name__}: {exc}"[:300]
    return {"ok": True} if reason is None else {"ok": False, "reason": reason}


def _writable(db: Any) -> str | None:
    if db.is_sqlite:
        # Its own connection with a short wait: a probe must not queue 30 s behind a stuck writer.
        path = db.engine.url.database
        conn = sqlite3.connect(path, timeout=2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            return f"cannot take the write lock: {exc}"
        finally:
            conn.close()
        return None
    with db.engine.connect() as conn:
        read_only = conn.exec_driver_sql(
            "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
        )
        return "the database is read-only (a standby?)" if read_only.scalar() else None


def _migrated(db: Any) -> str | None:
    from office.migrate import revisions

    current, heads = revisions(db)
    return (
        None
        if current == heads
        else f"database at {sorted(current) or 'no schema'}, code at {sorted(heads)}: run office migrate"
    )


def _hub_connected(hub: Any) -> str | None:
    if hub.loop is None or hub._sink not in hub.db.event_sinks:
        return "the hub is not started"
    ping = getattr(hub.backend, "ping", None)
    if ping is not None:
        ping()
    return None


async def readyz(request: Request) -> Response:
    """200 when every part is ready, else 503 naming the failing ones (office/health.py)."""
    parts = await asyncio.get_running_loop().run_in_executor(None, readiness, request.app)
    failing = sorted(name for name, part in parts.items() if not part["ok"])
    body = {"status": "ready" if not failing else "not_ready", "failing": failing, "parts": parts}
    return JSONResponse(body, status_code=503 if failing else 200)


readyz.__policy__ = "public"  # type: ignore[attr-defined]
