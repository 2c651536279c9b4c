"""Algorithm-agile signing, digests and key wrapping: bytes in, bytes out.

Algorithms (``alg`` strings used everywhere in ``esign``):

- ``"ECDSA-P256-SHA256"`` (default): pyca ``cryptography``.
- ``"SM2-SM3"``: GB/T 32918 SM2 with SM3 and the default user ID ``1234567812345678`` (Z value).
  Uses ``tongsuopy`` when importable (OpenSSL-backed, ~0.3 ms); otherwise the pure-Python ``gmssl``
  with the fixes the spec asks for: nonce from ``secrets`` (gmssl's default uses ``random``),
  r/s range checks, public-key on-curve check, and SM3 computed with ``cryptography``.

Key formats (same for both algorithms, so the DB layer stores them uniformly):

- private key: 32-byte big-endian scalar;
- public key: 65-byte SEC1 uncompressed point ``04 || x || y``;
- signature: DER ``SEQUENCE { r INTEGER, s INTEGER }``. ``verify`` also accepts raw 64-byte ``r || s``
  for SM2 because some vendors store that.

Key wrapping: ``seal_private_key`` (PIN, argon2id + AES-256-GCM) for personal keys and
``wrap_with_key`` (AES-256-GCM under a 32-byte master key held outside the DB) for CA keys.

Error hierarchy::

    office.errors.PermissionDenied
    └── WrongPin (403 wrong_pin)
    office.errors.ValidationError
    └── KeyBlobInvalid (422 bad_key_blob)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from office.errors import PermissionDenied, ValidationError

ALG_ECDSA = "ECDSA-P256-SHA256"
ALG_SM2 = "SM2-SM3"
ALGORITHMS = (ALG_ECDSA, ALG_SM2)

#: Signature algorithm OIDs (ecdsa-with-SHA256, GB/T 33560 SM2-with-SM3).
SIGNATURE_OIDS = {ALG_ECDSA: "1.2.840.10045.4.3.2", ALG_SM2: "1.2.156.10197.1.501"}
OID_TO_ALG = {v: k for k, v in SIGNATURE_OIDS.items()}
#: Digest used for document hashes with each signature algorithm.
DIGEST_OF = {ALG_ECDSA: "SHA-256", ALG_SM2: "SM3"}
DIGEST_OIDS = {"SHA-256": "2.16.840.1.101.3.4.2.1", "SM3": "1.2.156.10197.1.401"}

# SM2 recommended curve parameters (GB/T 32918.5).
_SM2_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_SM2_A = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC", 16)
_SM2_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_SM2_GX = int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16)
_SM2_GY = int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16)
_P256_N = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
_SM2_DEFAULT_ID = b"1234567812345678"

try:  # pragma: no cover - which branch runs depends on the installation
    from tongsuopy.crypto import hashes as _ts_hashes
    from tongsuopy.crypto.asymciphers import ec as _ts_ec

    SM2_BACKEND = "tongsuopy"
except ImportError:  # pragma: no cover
    _ts_ec = None
    _ts_hashes = None
    SM2_BACKEND = "gmssl"


class WrongPin(PermissionDenied):
    code = "wrong_pin"
    default_message = "PIN 码错误"


class KeyBlobInvalid(ValidationError):
    code = "bad_key_blob"
    default_message = "密钥数据已损坏或格式不受支持"


def _check_alg(alg: str) -> None:
    if alg not in ALGORITHMS:
        raise ValidationError(f"不支持的签名算法：{alg}", code="unsupported_algorithm")


# --- digests -----------------------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data``."""
    return hashlib.sha256(data).digest()


def sm3(data: bytes) -> bytes:
    """SM3 of ``data`` (OpenSSL via cryptography, ~400 MB/s)."""
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def digest(name: str, data: bytes) -> bytes:
    """Digest by name: ``"SHA-256"`` or ``"SM3"``."""
    if name == "SHA-256":
        return sha256(data)
    if name == "SM3":
        return sm3(data)
    raise ValidationError(f"不支持的摘要算法：{name}", code="unsupported_digest")


# --- SM2 helpers (shared by both backends) -----------------------------------------------------


def _sm2_on_curve(x: int, y: int) -> bool:
    return 0 <= x < _SM2_P and 0 <= y < _SM2_P and (y * y - (x * x * x + _SM2_A * x + _SM2_B)) % _SM2_P == 0


def _sm2_e(public_point: bytes, data: bytes) -> bytes:
    """e = SM3(Z || M) with Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)."""
    entl = (len(_SM2_DEFAULT_ID) * 8).to_bytes(2, "big")
    params = b"".join(v.to_bytes(32, "big") for v in (_SM2_A, _SM2_B, _SM2_GX, _SM2_GY))
    z = sm3(entl + _SM2_DEFAULT_ID + params + public_point[1:])
    return sm3(z + data)


def _gmssl(private_scalar: int | None, public_point: bytes) -> Any:
    from gmssl import sm2 as gm_sm2

    c = gm_sm2.CryptSM2(private_key=None, public_key="00" * 64)
    # Set after construction: the constructor's public_key.lstrip("04") eats leading '0'/'4' digits.
    c.public_key = public_point[1:].hex()
    if private_scalar is not None:
        c.private_key = f"{private_scalar:064x}"
    return c


def _sm2_public_from_private(scalar: int) -> bytes:
    if _ts_ec is not None:
        key = _ts_ec.derive_private_key(scalar, _ts_ec.SM2())
        nums = key.public_key().public_numbers()
        return b"\x04" + nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")
    c = _gmssl(None, b"\x04" + b"\x00" * 64)  # pragma: no cover
    return b"\x04" + bytes.fromhex(c._kg(scalar, c.ecc_table["g"]))  # pragma: no cover


def _parse_point(alg: str, public_key: bytes) -> tuple[int, int]:
    if len(public_key) != 65 or public_key[0] != 4:
        raise ValidationError("公钥格式错误（需为 65 字节未压缩点）", code="bad_public_key")
    return int.from_bytes(public_key[1:33], "big"), int.from_bytes(public_key[33:], "big")


def _split_signature(signature: bytes) -> tuple[int, int] | None:
    if len(signature) == 64:
        return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        return None
    if encode_dss_signature(r, s) != signature:  # reject BER / trailing garbage
        return None
    return r, s


# --- keys, sign, verify ------------------------------------------------------------------------


def generate_keypair(alg: str = ALG_ECDSA) -> tuple[bytes, bytes]:
    """Return ``(private_scalar_32_bytes, public_point_65_bytes)`` for ``alg``."""
    _check_alg(alg)
    if alg == ALG_ECDSA:
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_numbers().private_value.to_bytes(32, "big"), public_key_of(alg, key)
    scalar = secrets.randbelow(_SM2_N - 2) + 1  # d in [1, n-2] (GB/T 32918.1 6.1)
    return scalar.to_bytes(32, "big"), _sm2_public_from_private(scalar)


def public_key_of(alg: str, private_key: bytes | ec.EllipticCurvePrivateKey) -> bytes:
    """Public point for a private key (raw scalar bytes, or a cryptography key for ECDSA)."""
    _check_alg(alg)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    if alg == ALG_ECDSA:
        return public_key_of(alg, ecdsa_private_key(private_key))
    return _sm2_public_from_private(_scalar(alg, private_key))


def _scalar(alg: str, private_key: bytes) -> int:
    n = _P256_N if alg == ALG_ECDSA else _SM2_N
    value = int.from_bytes(private_key, "big")
    if len(private_key) != 32 or not 1 <= value < n - 1:
        raise ValidationError("私钥格式错误", code="bad_private_key")
    return value


def ecdsa_private_key(private_key: bytes) -> ec.EllipticCurvePrivateKey:
    """cryptography key object for a 32-byte P-256 scalar (used by ``esign.ca`` for X.509)."""
    return ec.derive_private_key(_scalar(ALG_ECDSA, private_key), ec.SECP256R1())


@dataclass(frozen=True)
class Signer:
    """A loaded private key; ``sign`` avoids re-deriving the key object on every call."""

    alg: str
    public_key: bytes
    _sign: Callable[[bytes], bytes]

    def sign(self, data: bytes) -> bytes:
        return self._sign(data)


def load_signer(alg: str, private_key: bytes) -> Signer:
    """Load ``private_key`` once and return a reusable :class:`Signer`."""
    _check_alg(alg)
    if alg == ALG_ECDSA:
        key = ecdsa_private_key(private_key)
        return Signer(alg, public_key_of(alg, key), lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())))
    scalar = _scalar(alg, private_key)
    if _ts_ec is not None:
        ts_key = _ts_ec.derive_private_key(scalar, _ts_ec.SM2())
        algo = _ts_ec.ECDSA(_ts_hashes.SM3())
        return Signer(alg, _sm2_public_from_private(scalar), lambda data: ts_key.sign(data, algo))
    public = _sm2_public_from_private(scalar)  # pragma: no cover
    return Signer(alg, public, lambda data: _gmssl_sign(scalar, public, data))  # pragma: no cover


def _gmssl_sign(scalar: int, public: bytes, data: bytes) -> bytes:
    """Pure-Python SM2 signature with a CSPRNG nonce; retries on the (negligible) degenerate cases."""
    c = _gmssl(scalar, public)
    e = _sm2_e(public, data)
    while True:
        k = secrets.randbelow(_SM2_N - 1) + 1
        raw = c.sign(e, f"{k:064x}")
        if raw:
            return encode_dss_signature(int(raw[:64], 16), int(raw[64:], 16))


def sign(alg: str, private_key: bytes, data: bytes) -> bytes:
    """Sign ``data`` (the message, not a digest) and return a DER signature."""
    return load_signer(alg, private_key).sign(data)


@functools.lru_cache(maxsize=4096)
def _p256_public(point: bytes) -> ec.EllipticCurvePublicKey:
    """Decoding and checking the point is a third of a verification; a verifier meets the same few
    keys (signers, CAs, the TSA) again and again. Public keys only: nothing secret is cached."""
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def verify(alg: str, public_key: bytes, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` (DER, or raw r||s for SM2) is valid for ``data``; never raises on bad input."""
    if alg not in ALGORITHMS:
        return False
    try:
        x, y = _parse_point(alg, public_key)
    except ValidationError:
        return False
    rs = _split_signature(signature)
    if rs is None:
        return False
    r, s = rs
    n = _P256_N if alg == ALG_ECDSA else _SM2_N
    if not (1 <= r < n and 1 <= s < n):
        return False
    der = encode_dss_signature(r, s)
    if alg == ALG_ECDSA:
        try:
            _p256_public(public_key).verify(der, data, ec.ECDSA(hashes.SHA256()))
            return True
        except (ValueError, InvalidSignature):
            return False
    if not _sm2_on_curve(x, y):
        return False
    if _ts_ec is not None:
        try:
            ts_pub = _ts_ec.EllipticCurvePublicKey.from_encoded_point(_ts_ec.SM2(), public_key)
            ts_pub.verify(der, data, _ts_ec.ECDSA(_ts_hashes.SM3()))
            return True
        except Exception:  # tongsuopy raises its own InvalidSignature / ValueError types
            return False
    return _gmssl_verify(public_key, data, r, s)  # pragma: no cover


def _gmssl_verify(public_key: bytes, data: bytes, r: int, s: int) -> bool:
    c = _gmssl(None, public_key)
    return bool(c.verify(f"{r:064x}{s:064x}", _sm2_e(public_key, data)))


# --- key wrapping ------------------------------------------------------------------------------

#: argon2id defaults (RFC 9106 "second recommended option": 64 MiB, t=3, p=4), ~0.1-0.3 s per unlock.
DEFAULT_KDF_PARAMS: dict[str, int] = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
_BLOB_MAGIC = b"TBKEY1\n"
_MAX_KDF = {"time_cost": 20, "memory_cost": 1024 * 1024, "parallelism": 16}


def _kdf(pin: str, salt: bytes, params: dict[str, int]) -> bytes:
    for name, limit in _MAX_KDF.items():
        value = params.get(name)
        if not isinstance(value, int) or not 1 <= value <= limit:
            raise KeyBlobInvalid("密钥派生参数无效", code="bad_kdf_params")
    if params["memory_cost"] < 8 * params["parallelism"]:
        raise KeyBlobInvalid("密钥派生参数无效", code="bad_kdf_params")
    return hash_secret_raw(
        pin.encode("utf-8"),
        salt,
        time_cost=params["time_cost"],
        memory_cost=params["memory_cost"],
        parallelism=params["parallelism"],
        hash_len=32,
        type=Type.ID,
    )


def seal_private_key(
    private_bytes: bytes, pin: str, *, kdf_params: dict[str, int] | None = None, key_alg: str | None = None
) -> bytes:
    """Encrypt a private key under a PIN for storage at rest.

    Blob = ``b"TBKEY1\\n"`` + canonical JSON header (version, kdf "argon2id" + params + salt,
    cipher "AES-256-GCM" + nonce, optional key_alg) + ``b"\\n"`` + ciphertext||tag. The whole header is
    the GCM associated data, so changing a parameter is detected like a wrong PIN.
    """
    if not pin:
        raise ValidationError("PIN 码不能为空", code="empty_pin")
    params = dict(DEFAULT_KDF_PARAMS if kdf_params is None else kdf_params)
    salt, nonce = os.urandom(16), os.urandom(12)
    header: dict[str, Any] = {
        "v": 1,
        "kdf": "argon2id",
        "kdf_params": params,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode(),
    }
    if key_alg is not None:
        header["key_alg"] = key_alg
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    ct = AESGCM(_kdf(pin, salt, params)).encrypt(nonce, private_bytes, _BLOB_MAGIC + head)
    return _BLOB_MAGIC + head + b"\n" + ct


def key_blob_header(blob: bytes) -> dict[str, Any]:
    """Parse the public header of a sealed key (no PIN needed); raises KeyBlobInvalid."""
    if not blob.startswith(_BLOB_MAGIC) or b"\n" not in blob[len(_BLOB_MAGIC) :]:
        raise KeyBlobInvalid()
    head = blob[len(_BLOB_MAGIC) :].split(b"\n", 1)[0]
    try:
        header = json.loads(head)
        if header["v"] != 1 or header["kdf"] != "argon2id" or header["cipher"] != "AES-256-GCM":
            raise KeyBlobInvalid("不支持的密钥封装版本", code="unsupported_key_blob")
        header["salt_bytes"] = base64.b64decode(header["salt"], validate=True)
        header["nonce_bytes"] = base64.b64decode(header["nonce"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyBlobInvalid() from exc
    if len(header["nonce_bytes"]) != 12 or len(header["salt_bytes"]) < 8:
        raise KeyBlobInvalid()
    return dict(header)


def unseal_private_key(blob: bytes, pin: str) -> bytes:
    """Decrypt a blob from :func:`seal_private_key`; raises WrongPin (or KeyBlobInvalid if malformed).

    A tampered ciphertext or header is indistinguishable from a wrong PIN (that is how GCM works),
    so it also raises WrongPin; the service layer counts failures and locks the key.
    """
    header = key_blob_header(blob)
    head, ct = blob[len(_BLOB_MAGIC) :].split(b"\n", 1)
    key = _kdf(pin, header["salt_bytes"], header["kdf_params"])
    try:
        return AESGCM(key).decrypt(header["nonce_bytes"], ct, _BLOB_MAGIC + head)
    except InvalidTag as exc:
        raise WrongPin() from exc


_WRAP_VERSION = b"\x01"


def wrap_with_key(data: bytes, key: bytes, *, aad: bytes = b"") -> bytes:
    """AES-256-GCM encrypt ``data`` under a 32-byte master key: ``0x01 || nonce(12) || ct||tag``."""
    if len(key) != 32:
        raise ValidationError("主密钥长度必须为 32 字节", code="bad_master_key")
    nonce = os.urandom(12)
    return _WRAP_VERSION + nonce + AESGCM(key).encrypt(nonce, data, _WRAP_VERSION + aad)


def unwrap_with_key(blob: bytes, key: bytes, *, aad: bytes = b"") -> bytes:
    """Inverse of :func:`wrap_with_key`; raises KeyBlobInvalid on a wrong key or tampering."""
    if len(key) != 32:
        raise ValidationError("主密钥长度必须为 32 字节", code="bad_master_key")
    if len(blob) < 1 + 12 + 16 or blob[:1] != _WRAP_VERSION:
        raise KeyBlobInvalid()
    try:
        return AESGCM(key).decrypt(blob[1:13], blob[13:], _WRAP_VERSION + aad)
    except InvalidTag as exc:
        raise KeyBlobInvalid("主密钥错误或数据被篡改", code="unwrap_failed") from exc
