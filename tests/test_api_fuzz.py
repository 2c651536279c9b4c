"""Property-based API fuzzing with schemathesis against a live uvicorn server, from the served
/api/openapi.json: every operation gets generated path ids, query parameters and bodies (valid and
invalid), sent as an ordinary user (hamlet) and as the administrator (prospero), with the session
cookie and CSRF token. No answer may be a 5xx, and every error must have the declared shape
``{"error": str, "message": str}``. Bounded: one pass over every operation for each identity, then
more examples while the time budget (``FUZZ_SECONDS``, default 40) lasts.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import PASSWORD, Org

# Ending the fuzzer's own session, or changing its password, would turn the rest of the run into 401s.
SKIP = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/me/password"),
    ("POST", "/api/auth/login"),
    ("DELETE", "/api/me/sessions/{session_id}"),
    ("POST", "/api/me/2fa/disable"),
}
BUDGET = float(os.environ.get("FUZZ_SECONDS", "40"))


def _session(base: str, username: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD}, timeout=10)
    if r.status_code == 200:  # a re-login may find the account disabled or locked by earlier fuzzing
        s.headers["x-csrf-token"] = r.json()["user"]["csrf_token"]
    return s


def _check(case: Any, response: Any, problems: list[str]) -> None:
    label = f"{case.method} {case.path} {case.path_parameters or ''} {str(case.query or '')[:80]}"
    if response.status_code >= 500:
        problems.append(f"{label}: {response.status_code} {response.text[:200]}")
        return
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            problems.append(f"{label}: {response.status_code} is not JSON: {response.text[:100]}")
            return
        if not (isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str)):
            problems.append(f"{label}: {response.status_code} error shape {str(body)[:150]}")


def test_fuzz_every_operation_as_user_and_admin(live: Any, live_org: Org) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in SKIP]
    assert len(operations) > 150
    sessions = {"hamlet": _session(live.url, "hamlet"), "prospero": _session(live.url, "prospero")}
    assert all("x-csrf-token" in s.headers for s in sessions.values())
    problems: list[str] = []
    calls = {"n": 0}
    deadline = time.monotonic() + BUDGET

    def run(op: Any, who: str, examples: int) -> None:
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def one(case: Any) -> None:
            session = sessions[who]
            response = case.call(base_url=live.url, session=session, timeout=15)
            calls["n"] += 1
            if response.status_code == 401 and case.path != "/api/auth/totp":
                sessions[who] = _session(live.url, who)  # an admin operation disabled or reset someone
            _check(case, response, problems)

        one()

    for who in sessions:  # every operation once per identity
        for op in operations:
            run(op, who, 1)
    rng = random.Random(2026)
    while time.monotonic() < deadline:  # then more examples while the budget lasts
        run(rng.choice(operations), rng.choice(list(sessions)), 5)
    assert not problems, f"{len(problems)} problems in {calls['n']} calls:\n" + "\n".join(problems[:40])
    assert calls["n"] >= 2 * len(operations)


def test_fuzzed_strategy_covers_query_parameters(live: Any, live_org: Org) -> None:
    """The served schema is rich enough to fuzz: list routes declare their query parameters."""
    spec = requests.get(f"{live.url}/api/openapi.json", timeout=10).json()
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["in"] == "query"}
    assert {"q", "limit", "offset", "year"} <= names
    upload = spec["paths"]["/api/messages/conversations/{cid}/attachments"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
