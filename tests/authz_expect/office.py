"""Expected authorization outcomes for the core routes (see ``tests/authz_expect`` for the format)."""

from __future__ import annotations

from typing import Any

from tests.authz_expect import OK, REFUSED, admin_only, everyone, expect, private, public

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/"): public(),
    ("GET", "/api/openapi.json"): public(),
    ("GET", "/healthz"): public(),
    ("GET", "/readyz"): public(),  # 503 (never expected) only when a part is down: tests/office/test_health.py
    ("GET", "/metrics"): public(403),  # loopback, listed addresses or the token only: tests/office/test_metrics.py
    ("GET", "/sw.js"): public(),  # the service worker of the offline shell
    # Login steps answer everybody; with no body they refuse the request itself.
    ("POST", "/api/auth/login"): public(REFUSED),
    ("POST", "/api/auth/totp"): public(REFUSED),
    ("POST", "/api/auth/logout"): public(),
    # The caller's own account.
    ("GET", "/api/me"): everyone(),
    ("PUT", "/api/me/preferences"): everyone(REFUSED),
    ("POST", "/api/me/password"): everyone(REFUSED),
    ("POST", "/api/me/2fa/setup"): everyone(),
    ("POST", "/api/me/2fa/enable"): everyone(REFUSED),
    ("POST", "/api/me/2fa/disable"): everyone(REFUSED),
    ("GET", "/api/me/sessions"): everyone(),
    # The 工作台: each caller's own 待办 across domains.
    ("GET", "/api/todo"): everyone(),
    ("GET", "/api/todo/summary"): everyone(),
    # Another session of hamlet's: only hamlet may end it.
    ("DELETE", "/api/me/sessions/{session_id:int}"): private(),
    # The directory is readable by all staff of every agency (a province-wide 通讯录); of another
    # agency one sees only its 机关领导 and 收发员 (office.directory.visibility), so hamlet's card
    # (a 科员) answers othello as a missing person.
    ("GET", "/api/directory/tree"): everyone(),
    ("GET", "/api/directory/search"): everyone(),
    ("GET", "/api/directory/departments/{dept_id:int}/members"): everyone(),
    ("GET", "/api/directory/people/{user_id:int}"): expect(OK, same_dept=OK, other_dept=OK, other_agency=404, admin=OK),
    # Administration.
    ("PUT", "/api/admin/settings/watermark"): admin_only(REFUSED),
    ("POST", "/api/admin/departments"): admin_only(REFUSED),
    ("PATCH", "/api/admin/departments/{dept_id:int}"): admin_only(),
    ("DELETE", "/api/admin/departments/{dept_id:int}"): admin_only(REFUSED),  # not empty
    ("GET", "/api/admin/users"): admin_only(),
    ("POST", "/api/admin/users"): admin_only(REFUSED),
    ("PATCH", "/api/admin/users/{user_id:int}"): admin_only(),
    ("PUT", "/api/admin/users/{user_id:int}/posts"): admin_only(REFUSED),
    ("PUT", "/api/admin/users/{user_id:int}/roles"): admin_only(REFUSED),
    ("POST", "/api/admin/users/{user_id:int}/disable"): admin_only(),
    ("POST", "/api/admin/users/{user_id:int}/enable"): admin_only(),
    ("POST", "/api/admin/users/{user_id:int}/reset-password"): admin_only(REFUSED),
    ("POST", "/api/admin/org/import"): admin_only(REFUSED),
    ("GET", "/api/admin/org/export"): admin_only(),
    ("GET", "/api/admin/audit"): admin_only(),
    ("GET", "/api/admin/audit/verify"): admin_only(),
    ("GET", "/api/admin/role-policies"): admin_only(),
    ("PUT", "/api/admin/role-policies"): admin_only(REFUSED),
}
