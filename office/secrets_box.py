"""Password hashing (Argon2id), token hashing, and symmetric encryption of small secrets at rest."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from office.config import Settings

_PRODUCTION = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Only for ``settings.testing``, which no OFFICE_* variable sets (tests build their Settings with it):
# a login under test cost 0.2 s of CPU with the real parameters, hundreds of times a pass.
_TESTING = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def password_hasher(settings: Settings) -> PasswordHasher:
    """The Argon2id parameters passwords are hashed with: the one place that picks them."""
    return _TESTING if settings.testing else _PRODUCTION


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verified against on unknown usernames so a miss costs the same time as a hit; made on first
    # use, so CLI commands that never check a password do not pay for it at import.
    return hasher.hash("tongban-dummy-password-for-timing")


COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password123",
        "123456789012",
        "qwertyuiop12",
        "111111111111",
        "123123123123",
        "admin1234567",
        "abc123456789",
        "iloveyou1234",
        "woaini1314520",
        "1qaz2wsx3edc",
        "qwer1234asdf",
        "passw0rd1234",
        "000000000000",
        "888888888888",
        "aaaaaaaaaaaa",
        "zxcvbnm12345",
        "tongban12345",
    }
)
MIN_PASSWORD = 12
MAX_PASSWORD = 128


def hash_password(settings: Settings, password: str) -> str:
    return password_hasher(settings).hash(password)


def verify_password(settings: Settings, stored: str, password: str) -> bool:
    hasher = password_hasher(settings)
    try:
        return hasher.verify(stored or _dummy_hash(hasher), password) and bool(stored)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, stored: str) -> bool:
    """True when ``stored`` was made with other parameters than ``settings`` hash with now."""
    return password_hasher(settings).check_needs_rehash(stored)


def password_problem(password: str, *, username: str = "") -> str | None:
    """A Chinese explanation of why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少需要 {MIN_PASSWORD} 个字符"
    if len(password) > MAX_PASSWORD:
        return f"密码不能超过 {MAX_PASSWORD} 个字符"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "密码过于常见或简单，请换一个"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名"
    return None


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SecretBox:
    """AES-256-GCM under a key derived from the deployment secret (for TOTP seeds and the like)."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"tongban:{purpose}:".encode() + secret_key.encode()).digest()

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        ct = AESGCM(self._key).encrypt(nonce, plaintext.encode(), None)
        return base64.urlsafe_b64encode(nonce + ct).decode()

    def open(self, sealed: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(self._key).decrypt(raw[:12], raw[12:], None).decode()
