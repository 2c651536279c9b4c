"""Shared helpers for docs_flow tests: a recording event subscriber and documents driven through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factories import login, new_client


class Clients:
    """One logged-in TestClient per username, created on first use."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._clients: dict[str, TestClient] = {}

    def __getitem__(self, username: str) -> TestClient:
        if username not in self._clients:
            c = new_client(self.app)  # shares the app (and its lifespan) with the ``client`` fixture
            login(c, username)
            self._clients[username] = c
        return self._clients[username]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()


@pytest.fixture
def users(client: TestClient, org: Any) -> Iterator[Clients]:
    """Logged-in clients per user; the leader and the seal keeper hold signing keys (PIN ``PIN``)
    and agency A has an official seal the keeper may apply."""
    from tests.esign.svc import enrol, make_seal

    enrol(org, "claudius")
    enrol(org, "yorick")
    make_seal(org, users=("yorick",))
    cs = Clients(client.app)
    yield cs
    cs.close()


BODY = [
    {"kind": "heading", "level": 1, "text": "一、工作目标"},
    {"kind": "paragraph", "text": "各地各部门要认真贯彻落实本通知要求。"},
    {"kind": "list_item", "text": "按时报送材料。"},
    {"kind": "table", "rows": [["单位", "联系人"], ["综合处", "张伟"]]},
]


SIGNING_STEPS = ("机关领导签发", "用印")


def act(c: TestClient, doc: dict[str, Any], action: str, **extra: Any) -> Any:
    return c.post(f"/api/docs/{doc['id']}/actions", json={"action": action, "version": doc["version"], **extra})
