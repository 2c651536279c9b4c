"""A started app freezes its long-lived objects out of the collector's generations (office.app's
lifespan), so full collections stop walking them; stopping it gives them back."""

from __future__ import annotations

import gc
from typing import Any

from starlette.testclient import TestClient


def test_the_started_app_is_frozen_and_given_back_at_shutdown(app: Any) -> None:
    gc.unfreeze()
    with TestClient(app):
        assert gc.get_freeze_count() > 10_000  # the app's modules, models and routes
        tracked_by_a_full_collection = len(gc.get_objects())
        assert tracked_by_a_full_collection < gc.get_freeze_count()
    assert gc.get_freeze_count() == 0
