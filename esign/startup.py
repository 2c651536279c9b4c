"""On start: make sure the root CA, the TSA and the log key exist and CRLs are fresh."""

from __future__ import annotations

from typing import Any

from esign import authority


def start(app: Any) -> None:
    with app.state.db.write() as session:
        authority.ensure_base(session, authority.keys_for(session))
