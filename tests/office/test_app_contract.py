"""Contracts: every route declares a policy, errors are JSON, bad input is refused, OpenAPI is served."""

from __future__ import annotations

import shutil
from typing import Any

from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from office import policy
from tests.factories import Org, login


def test_every_route_declares_a_known_policy_action(app: Any) -> None:
    missing = []
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, (Route, WebSocketRoute))
        action = getattr(route.endpoint, "__policy__", None)
        if action is None or not policy.known(action):
            missing.append(f"{route.path} -> {action!r}")
    assert not missing, "routes without a registered policy action:\n" + "\n".join(missing)


def test_unknown_actions_are_denied_and_failing_rules_fail_closed(org: Org) -> None:
    actor = org.actor("prospero")
    assert not policy.can(actor, "no.such.action")

    @policy.rule("test.explodes")
    def _boom(_a: Any, _r: Any) -> bool:
        raise RuntimeError("bug")

    assert not policy.can(actor, "test.explodes")
    assert policy.can(actor, "audit.read") and not policy.can(org.actor("hamlet"), "audit.read")


def test_healthz_openapi_and_json_404(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["components"]["official_copy"]["available"] is bool(shutil.which("soffice"))
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/auth/login" in spec["paths"]
    assert "requestBody" in spec["paths"]["/api/auth/login"]["post"]
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.delete("/healthz")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_security_headers(client: TestClient) -> None:
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_bad_bodies_get_clear_4xx_and_change_nothing(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    url = "/api/admin/departments"
    cases = [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe\xfa", "bad_encoding"),
        (b"[1,2]", "not_object"),
        (b'{"name": "x", "parent_id": 1, "surprise": 1}', "invalid_field"),
        (b'{"name": 5, "parent_id": "abc"}', "invalid_field"),
        (b"", "empty_body"),
        (b"[" * 100 + b"]" * 100, "too_deep"),
    ]
    for body, code in cases:
        r = client.post(url, content=body, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (body, r.status_code)
        assert r.json()["error"] == code, (body, r.json())
        assert r.json()["message"]
    r = client.post(
        url, content=b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    tree = client.get("/api/directory/tree").json()["items"]
    assert sum(len(a["children"]) for a in tree) == 3  # nothing was created


def test_anonymous_gets_401_on_every_protected_api_route(client: TestClient, app: Any) -> None:
    checked = 0
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api"):
            continue
        if getattr(route.endpoint, "__policy__", None) == "public":
            continue
        path = route.path.replace("{", "").replace(":int}", "").replace("}", "")
        path = "/".join(
            "1" if part.endswith(("_id", "id")) or part.isidentifier() and part in route.param_convertors else part
            for part in path.split("/")
        )
        for method in (route.methods or set()) - {"HEAD"}:
            r = client.request(method, path)
            assert r.status_code in (401, 404, 405), (method, route.path, r.status_code)
            checked += 1
    assert checked > 20
