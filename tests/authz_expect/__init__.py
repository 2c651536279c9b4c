"""Expected authorization outcomes, checked by ``tests/test_authz_matrix.py``: the format and the
helpers; the tables are this package's modules, one per package (``office.py`` for the core routes).

Every HTTP route (method, path as in the route table) has one entry saying what each kind of caller
gets: ``owner`` (the user who owns the object in the test world, ``owner_user``, hamlet by default),
``same_dept`` / ``other_dept`` / ``other_agency`` (people with no part in the object), ``admin`` (the
system administrator, who has no part in other people's objects either), and the signed-out kinds
``anonymous`` / ``disabled`` / ``expired`` / ``pending_2fa``. Outcomes: ``OK`` (2xx), ``REFUSED``
(authorized, then refused on input or state), or 401 / 403 / 404. Objects of other people answer
404, exactly like a missing id (the test compares status and body). A route without an entry fails
the test.
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
