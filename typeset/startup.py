"""On start: set up the LibreOffice converter pool from the settings and warm it in the background
(the server does not wait for it), and open the fonts the OFD copy embeds; on shutdown: stop the
converters.

Under ``settings.testing`` the pool is configured but not warmed, and not closed when an app stops:
the suite creates an app per test, so the converters start on the first conversion and are shared
by every later app with the same settings (``convert.configure``); they end with the process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from office import health
from typeset import convert, ofd_fonts

log = logging.getLogger("typeset.startup")


def start(app: Any) -> Coroutine[Any, Any, None]:
    settings = app.state.settings
    pool = convert.configure(settings)
    health.register("official_copy", pool.status)
    if pool.available() and not settings.testing:
        pool.start()
        # The OFD copy embeds the fonts the converters use: open them now, not in the first 用印.
        threading.Thread(target=ofd_fonts.warm, args=(pool.fontconfig,), name="ofd-fonts", daemon=True).start()
    elif not pool.available():
        log.warning("%s", pool.status()["message"])
    return _close_on_shutdown(pool, keep=settings.testing)


async def _close_on_shutdown(pool: convert.ConverterPool, *, keep: bool) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        if not keep:  # tests reuse the warm pool across apps; it is closed at exit (atexit)
            pool.close()
