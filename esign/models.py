"""Tables of the e-seal service: CA keys, personal signing credentials, seals, 用印登记, the transparency log.

Nothing here holds a private key in the clear: CA/TSA/log keys are AES-GCM wrapped under the
master key kept outside the database (``esign.keys``); personal keys and seal keys are sealed
under their holder's PIN (argon2id + AES-GCM, ``esign.crypto.seal_private_key``).

The log tables (``esign_log_leaf``, ``esign_log_node``) and the 用印登记 (``esign_seal_use``) are
append-only: database triggers refuse UPDATE and DELETE (:func:`install_guards`, installed by
``create_all`` and by migration 0002).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, BigInteger, Column, Index, LargeBinary, UniqueConstraint, event, inspect
from sqlmodel import Field, SQLModel

from office.db import utc_column, utcnow


def _blob(nullable: bool = False) -> Any:
    return Column(LargeBinary, nullable=nullable)


class AuthorityKind(str, enum.Enum):
    root = "root"  # self-signed root CA
    agency = "agency"  # issuing CA of one agency
    tsa = "tsa"  # internal time-stamping authority
    log = "log"  # transparency-log tree-head signing key


class Authority(SQLModel, table=True):
    """A server-held key (root/agency CA, TSA, log), wrapped under the master key."""

    __tablename__ = "esign_authority"
    __table_args__ = (UniqueConstraint("kind", "agency_id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: AuthorityKind
    agency_id: int | None = Field(default=None, index=True)
    alg: str = Field(max_length=24)
    certificate: bytes | None = Field(default=None, sa_column=_blob(nullable=True))  # DER; None for the log key
    public_key: bytes = Field(sa_column=_blob())
    wrapped_key: bytes = Field(sa_column=_blob())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Crl(SQLModel, table=True):
    """The current CRL of a CA authority, regenerated on every revocation (and when stale)."""

    __tablename__ = "esign_crl"
    authority_id: int = Field(primary_key=True, foreign_key="esign_authority.id")
    der: bytes = Field(sa_column=_blob())
    this_update: datetime = Field(sa_column=utc_column())
    next_update: datetime = Field(sa_column=utc_column())


class RevokedCert(SQLModel, table=True):
    """A revoked certificate; the CRL of ``authority_id`` lists every row."""

    __tablename__ = "esign_revoked_cert"
    id: int | None = Field(default=None, primary_key=True)
    authority_id: int = Field(foreign_key="esign_authority.id", index=True)
    serial: str = Field(max_length=64)  # decimal: serials are up to 159 bits
    revoked_at: datetime = Field(sa_column=utc_column())
    reason: str = Field(default="unspecified", max_length=40)


class CredentialStatus(str, enum.Enum):
    active = "active"
    locked = "locked"  # too many wrong PINs: revoke and re-enrol
    revoked = "revoked"


class Credential(SQLModel, table=True):
    """A person's signing key and certificate; the key is sealed under their PIN."""

    __tablename__ = "esign_credential"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    agency_id: int = Field(index=True)
    alg: str = Field(max_length=24)
    certificate: bytes = Field(sa_column=_blob())
    serial: str = Field(max_length=64)
    key_blob: bytes = Field(sa_column=_blob())
    status: CredentialStatus = Field(default=CredentialStatus.active)
    failed_attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class SealKind(str, enum.Enum):
    official = "official"  # 公章 / 专用章 of the agency (round)
    department = "department"  # 部门章 (round, department name)
    name = "name"  # 领导名章 (square, the holder's name)


class SealStatus(str, enum.Enum):
    active = "active"
    suspended = "suspended"
    revoked = "revoked"


class Seal(SQLModel, table=True):
    """An electronic seal: GB/T 38540 ``SESeal`` (``seal_der``) made with the seal's own key.

    The seal key signs only the seal structure (it is the 制章者 key) and is sealed under the
    seal PIN chosen by the seal keeper. Documents are signed by the authorised person's own key;
    ``seal_der`` lists the certificates of the people who may use the seal (see esign.service).
    """

    __tablename__ = "esign_seal"
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(index=True)
    department_id: int | None = Field(default=None)
    holder_user_id: int | None = Field(default=None)
    kind: SealKind
    name: str = Field(max_length=60)  # e.g. 省政府办公厅 / 赵刚
    seal_type: str = Field(default="", max_length=12)  # e.g. 公章, 合同专用章
    es_id: str = Field(max_length=40, unique=True)
    status: SealStatus = Field(default=SealStatus.active)
    image_png: bytes = Field(sa_column=_blob())
    width_mm: int = 42
    height_mm: int = 42
    alg: str = Field(max_length=24)
    certificate: bytes = Field(sa_column=_blob())
    serial: str = Field(max_length=64)
    key_blob: bytes = Field(sa_column=_blob())
    failed_attempts: int = 0
    seal_der: bytes = Field(sa_column=_blob())
    seal_version: int = 1
    valid_start: datetime = Field(sa_column=utc_column())
    valid_end: datetime = Field(sa_column=utc_column())
    created_by: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    status_changed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoke_reason: str = Field(default="", max_length=200)
    # Set by the keeper: every 用印 with this seal must cite an approved 用印申请 (esign.authorisations).
    requires_authorisation: bool = False


class SealUser(SQLModel, table=True):
    """A person the seal keeper authorised to use a seal (the agency's seal keepers always may)."""

    __tablename__ = "esign_seal_user"
    seal_id: int = Field(foreign_key="esign_seal.id", primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    granted_by: int = Field(foreign_key="user_account.id")
    granted_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class SealAuthorisation(SQLModel, table=True):
    """An approved 用印申请: the seal may be applied ``times_allowed`` times to the one file whose
    SHA-256 is ``document_sha256``. Granted by the approval that authorises it (办事: ``reference``
    "banshi:<request id>", ``link`` its page); each 用印 citing it counts one use (esign.authorisations)."""

    __tablename__ = "esign_seal_authorisation"
    id: int | None = Field(default=None, primary_key=True)
    seal_id: int = Field(foreign_key="esign_seal.id", index=True)
    agency_id: int = Field(index=True)
    reference: str = Field(max_length=200, index=True)
    title: str = Field(default="", max_length=200)  # what the keeper reads: 用印申请 编号 and purpose
    link: str = Field(default="", max_length=200)
    document_sha256: str = Field(max_length=64)
    times_allowed: int = 1
    times_used: int = 0
    applicant_id: int | None = Field(default=None, foreign_key="user_account.id")
    granted_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class SignatureKind(str, enum.Enum):
    text = "text"  # 签发 opinion over exact bytes
    docx = "docx"  # personal signature on a Word file
    seal = "seal"  # 用印 on a Word file


class SignatureRecord(SQLModel, table=True):
    """One signature made through the service; ``signature_der`` is the DER ``SES_Signature``.

    ``leaf_index`` is its entry in the transparency log (the leaf data is ``signature_der``).
    """

    __tablename__ = "esign_signature"
    id: int | None = Field(default=None, primary_key=True)
    kind: SignatureKind
    user_id: int = Field(foreign_key="user_account.id", index=True)
    credential_id: int = Field(foreign_key="esign_credential.id")
    seal_id: int | None = Field(default=None, foreign_key="esign_seal.id", index=True)
    purpose: str = Field(default="", max_length=200)  # 签发 purpose or document reference
    alg: str = Field(max_length=24)
    data_hash: str = Field(max_length=64)  # hex digest of what was signed (text) / of the result file
    signature_der: bytes = Field(sa_column=_blob())
    signed_at: datetime = Field(sa_column=utc_column())
    timestamp_at: datetime = Field(sa_column=utc_column())
    leaf_index: int = Field(index=True)


class SealUse(SQLModel, table=True):
    """用印登记: one application of a seal (append-only)."""

    __tablename__ = "esign_seal_use"
    id: int | None = Field(default=None, primary_key=True)
    seal_id: int = Field(foreign_key="esign_seal.id", index=True)
    user_id: int = Field(foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    reference: str = Field(max_length=200)
    document_sha256: str = Field(max_length=64)  # of the file as received
    sealed_sha256: str = Field(max_length=64)  # of the sealed file returned
    signature_id: int = Field(foreign_key="esign_signature.id")
    leaf_index: int
    # The 用印申请 this use was made under (None: a seal without that rule, or a 公文 authorised by its 签发).
    authorisation_id: int | None = Field(default=None, foreign_key="esign_seal_authorisation.id")


class LogLeaf(SQLModel, table=True):
    """Transparency-log entry ``idx``: ``data`` (a signature or an event) and its RFC 6962 leaf hash."""

    __tablename__ = "esign_log_leaf"
    __table_args__ = (Index("ix_esign_log_leaf_hash", "leaf_hash"),)
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    leaf_hash: bytes = Field(sa_column=_blob())
    kind: str = Field(max_length=40)
    data: bytes = Field(sa_column=_blob())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class LogNode(SQLModel, table=True):
    """Perfect-subtree hash ``(level >= 1, idx)`` of the log (level 0 lives in ``esign_log_leaf``)."""

    __tablename__ = "esign_log_node"
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=_blob())


class LogHead(SQLModel, table=True):
    """The latest signed tree head (one row, replaced on every append; history is in the tree itself)."""

    __tablename__ = "esign_log_head"
    id: int = Field(default=1, primary_key=True)
    tree_size: int = 0
    root_hash: bytes = Field(sa_column=_blob())
    timestamp_ms: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    alg: str = Field(max_length=24)
    signature: bytes = Field(sa_column=_blob())


# Append-only at the database level ---------------------------------------------------------

GUARDED_TABLES = ("esign_log_leaf", "esign_log_node", "esign_seal_use")


def _sqlite_guards(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


def _pg_guards(table: str) -> list[str]:
    return [
        "CREATE OR REPLACE FUNCTION esign_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION esign_append_only()",
    ]


def install_guards(connection: Any) -> None:
    """Create the append-only triggers (called after create_all and by migration 0002)."""
    for table in GUARDED_TABLES:
        stmts = _sqlite_guards(table) if connection.dialect.name == "sqlite" else _pg_guards(table)
        for stmt in stmts:
            connection.execute(DDL(stmt))


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(_target: Any, connection: Any, **_kw: Any) -> None:
    tables = set(inspect(connection).get_table_names())
    if set(GUARDED_TABLES) <= tables:
        install_guards(connection)
