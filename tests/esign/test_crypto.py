from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from esign import crypto
from office.errors import PermissionDenied, ValidationError
from tests.esign.conftest import FAST_KDF

ALGS = crypto.ALGORITHMS


def test_sm3_official_vector() -> None:
    assert crypto.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert crypto.digest("SM3", b"abc") == crypto.sm3(b"abc")
    assert crypto.digest("SHA-256", b"abc") == crypto.sha256(b"abc")
    with pytest.raises(ValidationError):
        crypto.digest("MD5", b"abc")


@pytest.mark.parametrize("alg", ALGS)
def test_sign_verify_roundtrip_and_tamper(alg: str) -> None:
    private, public = crypto.generate_keypair(alg)
    assert len(private) == 32 and len(public) == 65 and public[0] == 4
    assert crypto.public_key_of(alg, private) == public
    sig = crypto.sign(alg, private, b"message")
    assert crypto.verify(alg, public, b"message", sig)
    assert not crypto.verify(alg, public, b"messagf", sig)
    other = crypto.generate_keypair(alg)[1]
    assert not crypto.verify(alg, other, b"message", sig)
    broken = bytearray(sig)
    broken[-1] ^= 1
    assert not crypto.verify(alg, public, b"message", bytes(broken))
    signer = crypto.load_signer(alg, private)
    assert signer.public_key == public and crypto.verify(alg, public, b"x", signer.sign(b"x"))


@pytest.mark.parametrize("alg", ALGS)
def test_verify_rejects_garbage_without_raising(alg: str) -> None:
    private, public = crypto.generate_keypair(alg)
    sig = crypto.sign(alg, private, b"m")
    r, s = decode_dss_signature(sig)
    for bad_sig in (
        b"",
        b"\x30\x00",
        sig + b"\x00",
        b"\x00" * 64,
        encode_dss_signature(0, s),
        encode_dss_signature(r, 2**256 + 1),
    ):
        assert not crypto.verify(alg, public, b"m", bad_sig)
    for bad_key in (b"", public[:-1], b"\x04" + b"\x00" * 64, b"\x02" + public[1:33]):
        assert not crypto.verify(alg, bad_key, b"m", sig)
    assert not crypto.verify("RSA", public, b"m", sig)


def test_cross_algorithm_confusion_rejected() -> None:
    private, public = crypto.generate_keypair(crypto.ALG_ECDSA)
    sig = crypto.sign(crypto.ALG_ECDSA, private, b"m")
    assert not crypto.verify(crypto.ALG_SM2, public, b"m", sig)


def test_sm2_accepts_raw_r_s() -> None:
    private, public = crypto.generate_keypair(crypto.ALG_SM2)
    r, s = decode_dss_signature(crypto.sign(crypto.ALG_SM2, private, b"m"))
    assert crypto.verify(crypto.ALG_SM2, public, b"m", r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_sm2_gmssl_fallback_interoperates_with_tongsuopy() -> None:
    """The pure-Python path (CSPRNG nonce, own Z/e) and the OpenSSL path verify each other."""
    private, public = crypto.generate_keypair(crypto.ALG_SM2)
    scalar = int.from_bytes(private, "big")
    fallback_sig = crypto._gmssl_sign(scalar, public, b"data")
    assert crypto.verify(crypto.ALG_SM2, public, b"data", fallback_sig)
    r, s = decode_dss_signature(crypto.sign(crypto.ALG_SM2, private, b"data"))
    assert crypto._gmssl_verify(public, b"data", r, s)
    assert not crypto._gmssl_verify(public, b"datb", r, s)
    c = crypto._gmssl(None, public)
    assert b"\x04" + bytes.fromhex(c._kg(scalar, c.ecc_table["g"])) == public


def test_bad_private_keys_and_algorithms() -> None:
    with pytest.raises(ValidationError):
        crypto.sign(crypto.ALG_ECDSA, b"\x00" * 32, b"m")
    with pytest.raises(ValidationError):
        crypto.sign(crypto.ALG_SM2, b"\x01" * 31, b"m")
    with pytest.raises(ValidationError):
        crypto.generate_keypair("Ed25519")


@pytest.mark.parametrize("alg", ALGS)
def test_seal_unseal_private_key(alg: str) -> None:
    private, _ = crypto.generate_keypair(alg)
    blob = crypto.seal_private_key(private, "246810", kdf_params=FAST_KDF, key_alg=alg)
    header = crypto.key_blob_header(blob)
    assert header["kdf"] == "argon2id" and header["cipher"] == "AES-256-GCM" and header["key_alg"] == alg
    assert header["kdf_params"] == FAST_KDF
    assert private not in blob
    assert crypto.unseal_private_key(blob, "246810") == private
    with pytest.raises(crypto.WrongPin) as info:
        crypto.unseal_private_key(blob, "246811")
    assert isinstance(info.value, PermissionDenied) and info.value.code == "wrong_pin"
    # two seals of the same key differ (fresh salt and nonce)
    assert crypto.seal_private_key(private, "246810", kdf_params=FAST_KDF) != blob


def test_sealed_blob_tampering() -> None:
    blob = crypto.seal_private_key(b"k" * 32, "1234", kdf_params=FAST_KDF)
    head_end = blob.index(b"\n", 7)
    header = json.loads(blob[7:head_end])
    header["kdf_params"]["time_cost"] = 2  # weaken/alter parameters: header is AAD
    forged = blob[:7] + json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + blob[head_end:]
    with pytest.raises(crypto.WrongPin):
        crypto.unseal_private_key(forged, "1234")
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(crypto.WrongPin):
        crypto.unseal_private_key(flipped, "1234")
    header["kdf_params"]["memory_cost"] = 10**9  # denial-of-service parameters refused before hashing
    huge = blob[:7] + json.dumps(header).encode() + blob[head_end:]
    with pytest.raises(crypto.KeyBlobInvalid):
        crypto.unseal_private_key(huge, "1234")
    for junk in (b"", b"TBKEY1\n", b"TBKEY1\n{not json}\nxx", b"TBKEY2\n{}\n"):
        with pytest.raises(crypto.KeyBlobInvalid):
            crypto.unseal_private_key(junk, "1234")
    with pytest.raises(ValidationError):
        crypto.seal_private_key(b"k", "")


def test_wrap_with_master_key() -> None:
    key = bytes(range(32))
    blob = crypto.wrap_with_key(b"ca private key", key, aad=b"ca:1")
    assert crypto.unwrap_with_key(blob, key, aad=b"ca:1") == b"ca private key"
    with pytest.raises(crypto.KeyBlobInvalid):
        crypto.unwrap_with_key(blob, bytes(32), aad=b"ca:1")
    with pytest.raises(crypto.KeyBlobInvalid):
        crypto.unwrap_with_key(blob, key, aad=b"ca:2")
    with pytest.raises(crypto.KeyBlobInvalid):
        crypto.unwrap_with_key(b"\x01short", key)
    with pytest.raises(ValidationError):
        crypto.wrap_with_key(b"x", b"short")
    with pytest.raises(ValidationError):
        crypto.unwrap_with_key(blob, b"short")
