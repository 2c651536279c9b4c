"""OFFICE_REQUEST_THREADS bounds the threads that run blocking handlers: past it requests wait on the
event loop for a thread instead of all running at once and queueing for the interpreter lock."""

from __future__ import annotations

import threading
from typing import Any

import anyio.to_thread
import pytest
from starlette.testclient import TestClient

from office.config import ConfigError, Settings, load_settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(request_threads=3)


def test_the_app_runs_blocking_handlers_on_at_most_the_configured_threads(app: Any) -> None:
    with TestClient(app) as client:
        portal = client.portal  # the app's event loop, while the client is open
        assert portal is not None
        limiter = portal.call(anyio.to_thread.current_default_thread_limiter)
        assert limiter.total_tokens == 3
        # Four handlers that block at once: three run, the fourth waits for a thread.
        gate = threading.Event()
        started: list[int] = []

        def blocking() -> None:
            started.append(1)
            gate.wait(5)

        async def four() -> None:
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(anyio.to_thread.run_sync, blocking)
                with anyio.fail_after(10):
                    while len(started) < 3:
                        await anyio.sleep(0.01)
                await anyio.sleep(0.2)
                assert len(started) == 3
                gate.set()

        portal.call(four)
        assert len(started) == 4


def test_a_thread_count_out_of_range_is_refused(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="OFFICE_REQUEST_THREADS"):
        load_settings({"OFFICE_REQUEST_THREADS": "1"}, data_dir=tmp_path, secret_key="x" * 32)
