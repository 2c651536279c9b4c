"""On start: make sure the root CA, the TSA and the log key exist and CRLs are fresh; then keep
re-signing CRLs (each is valid for 7 days, re-signed when older than a day) while the server runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from esign import authority

log = logging.getLogger("esign.startup")
CRL_CHECK_SECONDS = 6 * 3600


def _refresh(db: Any) -> None:
    with db.write() as session:
        authority.refresh_stale_crls(session, authority.keys_for(session))


def start(app: Any) -> Coroutine[Any, Any, None]:
    with app.state.db.write() as session:
        authority.ensure_base(session, authority.keys_for(session))
    return _crl_loop(app.state.db)


async def _crl_loop(db: Any) -> None:
    while True:
        await asyncio.sleep(CRL_CHECK_SECONDS)
        try:
            await asyncio.get_running_loop().run_in_executor(None, _refresh, db)
        except Exception:
            log.exception("CRL refresh failed")
