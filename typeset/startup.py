"""On start: set up the LibreOffice converter pool from the settings and warm it in the background
(the server does not wait for it); on shutdown: stop the converters.

Under ``settings.testing`` the pool is configured but not warmed: the test suite creates an app per
test, and two LibreOffice processes each would swamp the machine; tests that convert start their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from typeset import convert

log = logging.getLogger("typeset.startup")


def start(app: Any) -> Coroutine[Any, Any, None]:
    settings = app.state.settings
    pool = convert.configure(settings)
    if pool.available() and not settings.testing:
        pool.start()
    elif not pool.available():
        log.warning("%s", pool.status()["message"])
    return _close_on_shutdown(pool)


async def _close_on_shutdown(pool: convert.ConverterPool) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        pool.close()
