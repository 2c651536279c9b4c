"""Failed-login counting and lockout, in the database so every worker sees the same counts.

Each failure is a ``login_failure`` row under several keys, counted over the lockout window:

- ``pair:<address>|<name>``: the account's failures (either factor) from one address. At
  ``login_max_failures_account`` the account is locked *from that address*.
- ``user:<name>``: the account's wrong passwords from anywhere (a correct password clears them) and
- ``mfa:<name>``: its wrong second-factor codes from anywhere. Only a correct second factor clears
  these, so knowing the password cannot reset the count of guessed codes. Together they lock the
  account everywhere at ``login_max_failures_account_all``; codes alone at ``login_max_failures_account``
  (only someone who has the password can send a code, so the stricter limit cannot be used by a
  stranger to lock the owner out, and six digits are a small space).
- ``ip:<address>``: failures from an address, whatever the account.

The address limit applies to failures only: a correct login is never refused for its address, because
every user behind one NAT or reverse proxy shares it and a stranger could otherwise lock them all
out. What bounds a password spray from one address is the per-account counting: each account
takes ``login_max_failures_account`` guesses per window from that address and
``login_max_failures_account_all`` from all addresses, against passwords of at least 12 characters
that are not on the common-password list; every failure is audited with its address. Past the
address limit, failures answer 429 ``address_locked`` instead of 401, which shows the spray in the
audit log and to monitoring. Behind a reverse proxy, list it in ``OFFICE_TRUSTED_PROXIES`` so the
address is the client's and not the proxy's.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from office import audit, metrics
from office.config import Settings
from office.db import utcnow
from office.errors import Locked, RateLimited
from office.models import LoginFailure


def _keys(username: str, ip: str) -> dict[str, str]:
    return {"pair": f"pair:{ip[:64]}|{username}", "user": f"user:{username}", "mfa": f"mfa:{username}"}


def _counts(session: Session, settings: Settings, keys: list[str]) -> dict[str, int]:
    since = utcnow() - timedelta(minutes=settings.login_lockout_minutes)
    rows = session.exec(
        select(LoginFailure.key, func.count())
        .where(col(LoginFailure.key).in_(keys), col(LoginFailure.at) >= since)
        .group_by(LoginFailure.key)
    ).all()
    return {key: int(n) for key, n in rows}


def account_locked(session: Session, settings: Settings, username: str, ip: str) -> bool:
    """Whether the account is locked (from this address or everywhere): the one copy of the rule.
    A look only: the login's early password check asks it without counting a lockout."""
    keys = _keys(username, ip)
    n = _counts(session, settings, list(keys.values()))
    pair, user, mfa = (n.get(keys[k], 0) for k in ("pair", "user", "mfa"))
    return (
        pair >= settings.login_max_failures_account
        or mfa >= settings.login_max_failures_account
        or user + mfa >= settings.login_max_failures_account_all
    )


def check_account(session: Session, settings: Settings, username: str, ip: str) -> None:
    """Refuse before any password or code is checked when the account is locked (from this address
    or everywhere). Raises ``Locked`` and counts the refused attempt once."""
    if account_locked(session, settings, username, ip):
        metrics.LOCKOUTS.labels("account").inc()
        raise Locked(
            f"登录失败次数过多，账号已临时锁定，请 {settings.login_lockout_minutes} 分钟后再试", code="account_locked"
        )


def address_over_limit(session: Session, settings: Settings, ip: str) -> bool:
    key = f"ip:{ip[:64]}"
    return bool(ip) and _counts(session, settings, [key]).get(key, 0) >= settings.login_max_failures_address


def record_failure(
    session: Session, settings: Settings, username: str, ip: str, reason: str, *, second_factor: bool = False
) -> RateLimited | None:
    """Count a failure under every key and audit it. Returns the 429 to answer instead of the usual
    401 when the address is past its failure limit (the caller raises whichever it gets)."""
    over = address_over_limit(session, settings, ip)
    metrics.LOGIN_FAILURES.labels("code" if second_factor else "password").inc()
    keys = _keys(username, ip)
    session.add(LoginFailure(key=keys["mfa" if second_factor else "user"]))
    session.add(LoginFailure(key=keys["pair"]))
    if ip:
        session.add(LoginFailure(key=f"ip:{ip[:64]}"))
    metrics.LOCKOUTS.labels("address").inc(over)
    audit.record(
        session,
        None,
        "auth.login_failed",
        target_type="user",
        target_id=username[:80],
        detail={"reason": reason, "address_locked": over} if over else {"reason": reason},
        ip=ip,
    )
    return RateLimited("该地址登录失败次数过多，请稍后再试", code="address_locked") if over else None


def password_passed(session: Session, username: str) -> None:
    """A correct password clears the account's wrong passwords (not its wrong codes)."""
    session.execute(delete(LoginFailure).where(col(LoginFailure.key) == f"user:{username}"))


def login_completed(session: Session, username: str, ip: str) -> None:
    """Every factor passed: the account's counts start again (other addresses' pairs expire on their own)."""
    keys = _keys(username, ip)
    session.execute(delete(LoginFailure).where(col(LoginFailure.key).in_(list(keys.values()))))
