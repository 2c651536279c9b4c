"""Signed cookie values: the random session token plus an HMAC under the deployment secret."""

from __future__ import annotations

from itsdangerous import BadSignature, Signer


class CookieSigner:
    def __init__(self, secret_key: str) -> None:
        self._signer = Signer(secret_key, salt="tongban-session")

    def sign_token(self, token: str) -> str:
        return self._signer.sign(token.encode()).decode()

    def unsign_token(self, value: str) -> str | None:
        try:
            return self._signer.unsign(value.encode()).decode()
        except (BadSignature, UnicodeError):
            return None
