"""Wires 办事 into a running app."""

from __future__ import annotations

from typing import Any


def start(app: Any) -> None:
    return None
