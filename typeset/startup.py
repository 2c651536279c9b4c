"""On start: set up the LibreOffice converter pool from the settings and warm it in the background
(the server does not wait for it); on shutdown: stop the converters.

Under ``settings.testing`` the pool is configured but not warmed, and not closed when an app stops:
the suite creates an app per test, so the converters start on the first conversion and are shared
by every later app with the same settings (``convert.configure``); they end with the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from office import health
from typeset import convert

log = logging.getLogger("typeset.startup")


def start(app: Any) -> Coroutine[Any, Any, None]:
    settings = app.state.settings
    pool = convert.configure(settings)
    health.register("official_copy", pool.status)
    if pool.available() and not settings.testing:
        pool.start()
    elif not pool.available():
        log.warning("%s", pool.status()["message"])
    return _close_on_shutdown(pool, keep=settings.testing)


async def _close_on_shutdown(pool: convert.ConverterPool, *, keep: bool) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        if not keep:  # tests reuse the warm pool across apps; it is closed at exit (atexit)
            pool.close()
