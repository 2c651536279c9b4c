"""HTTP API of 办事 under ``/api/banshi`` (thin: every rule is in the service modules)."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
