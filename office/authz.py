"""Expected authorization outcomes for the core routes, checked by ``tests/test_authz_matrix.py``.

Every HTTP route (method, path as in the route table) has one entry saying what each kind of caller
gets: ``owner`` (the user who owns the object in the test world, ``owner_user``, hamlet by default),
``same_dept`` / ``other_dept`` / ``other_agency`` (people with no part in the object), ``admin`` (the
system administrator, who has no part in other people's objects either), and the signed-out kinds
``anonymous`` / ``disabled`` / ``expired`` / ``pending_2fa``. Outcomes: ``OK`` (2xx), ``REFUSED``
(authorized, then refused on input or state), or 401 / 403 / 404. Objects of other people answer
404, exactly like a missing id (the test compares status and body). Each domain package keeps the
same kind of table in its own ``authz.py``; a route without an entry fails the test.
"""

from __future__ import annotations

from typing import Any

OK = "2xx"
REFUSED = "4xx"
SIGNED_OUT = ("anonymous", "disabled", "expired", "pending_2fa")
SIGNED_IN = ("owner", "same_dept", "other_dept", "other_agency", "admin")


def expect(
    owner: Any, *, same_dept: Any, other_dept: Any, other_agency: Any, admin: Any, owner_user: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {k: 401 for k in SIGNED_OUT}
    out.update(owner=owner, same_dept=same_dept, other_dept=other_dept, other_agency=other_agency, admin=admin)
    if owner_user:
        out["owner_user"] = owner_user
    return out


def public(outcome: Any = OK) -> dict[str, Any]:
    """No session needed: every caller gets the same."""
    return {k: outcome for k in SIGNED_OUT + SIGNED_IN}


def everyone(outcome: Any = OK) -> dict[str, Any]:
    """Any signed-in user, about themselves (or readable by all staff, like the directory)."""
    return expect(outcome, same_dept=outcome, other_dept=outcome, other_agency=outcome, admin=outcome)


def private(owner: Any = OK, *, owner_user: str | None = None, admin: Any = 404) -> dict[str, Any]:
    """An object only its owner (and people taking part in it) may touch: everyone else gets 404."""
    return expect(owner, same_dept=404, other_dept=404, other_agency=404, admin=admin, owner_user=owner_user)


def admin_only(outcome: Any = OK) -> dict[str, Any]:
    """System administration: the admin is the owner; everyone else 403 (the route itself is refused)."""
    return expect(outcome, same_dept=403, other_dept=403, other_agency=403, admin=outcome, owner_user="prospero")


def role_only(owner_user: str, outcome: Any = OK) -> dict[str, Any]:
    """A route for one role (clerk, seal keeper): holders get ``outcome``, everyone else 403."""
    return expect(outcome, same_dept=403, other_dept=403, other_agency=403, admin=403, owner_user=owner_user)


EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/"): public(),
    ("GET", "/api/openapi.json"): public(),
    ("GET", "/healthz"): public(),
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
    # Another session of hamlet's: only hamlet may end it.
    ("DELETE", "/api/me/sessions/{session_id:int}"): private(),
    # The directory is readable by all staff of every agency (a province-wide 通讯录).
    ("GET", "/api/directory/tree"): everyone(),
    ("GET", "/api/directory/search"): everyone(),
    ("GET", "/api/directory/departments/{dept_id:int}/members"): everyone(),
    ("GET", "/api/directory/people/{user_id:int}"): everyone(),
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
