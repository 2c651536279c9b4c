"""电子印章 (esign): seals and personal keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class SealChanged:
    """A seal was created, used (用印, with its `use_id`), given other users, suspended, resumed or
    revoked, given a 用印授权 (an approved 用印申请) or its rule on those changed: `op` is `created`,
    `used`, `users_changed`, `suspended`, `resumed`, `revoked`, `authorised` or `policy`."""

    type: ClassVar[str] = "esign.seal"
    recipients: ClassVar[str] = "the agency's seal keepers (and, for `users_changed`, the seal's users)"
    op: str
    seal_id: int
    use_id: int | None = None


@dataclass(frozen=True)
class CredentialChanged:
    """A personal signing key was revoked (`op` is `revoked`)."""

    type: ClassVar[str] = "esign.credential"
    recipients: ClassVar[str] = "the key holder"
    op: str
    credential_id: int


EVENT_TYPES = (SealChanged, CredentialChanged)
