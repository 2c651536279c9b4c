from __future__ import annotations

from datetime import timedelta

import pytest

from esign import crypto, tsa
from tests.esign.conftest import NOW, Pki


def _token(pki: Pki, digest: bytes, *, when=NOW, hash_alg: str = "SHA-256") -> bytes:
    return tsa.issue_token(pki.tsa.private_key, pki.tsa.certificate, digest, when, hash_alg=hash_alg)


@pytest.mark.parametrize("hash_alg,fn", [("SHA-256", crypto.sha256), ("SM3", crypto.sm3)])
def test_issue_and_verify(pki: Pki, hash_alg: str, fn) -> None:
    digest = fn(b"signature value")
    token = _token(pki, digest, hash_alg=hash_alg, when=NOW + timedelta(microseconds=123))
    assert tsa.verify_token(token, pki.tsa.certificate, expected_digest=digest) == NOW + timedelta(microseconds=123)
    info = tsa.verify_token_info(token, pki.tsa.certificate, expected_digest=digest)
    assert info.hash_alg == hash_alg and info.digest == digest and info.serial > 0


def test_rejections(pki: Pki) -> None:
    digest = crypto.sha256(b"x")
    token = _token(pki, digest)
    cases = {
        "timestamp_mismatch": (token, pki.tsa.certificate, crypto.sha256(b"y")),
        "tsa_cert_invalid": (token, pki.people[crypto.ALG_ECDSA].certificate, digest),  # no timeStamping EKU
        "timestamp_malformed": (token[:-3], pki.tsa.certificate, digest),
    }
    for code, (tok, cert, dig) in cases.items():
        with pytest.raises(tsa.TimestampInvalid) as info:
            tsa.verify_token(tok, cert, expected_digest=dig)
        assert info.value.code == code
    with pytest.raises(tsa.TimestampInvalid) as err:
        tsa.verify_token(token + b"\x00", pki.tsa.certificate, expected_digest=digest)
    assert err.value.code == "timestamp_malformed"


def test_forged_time_breaks_signature(pki: Pki) -> None:
    digest = crypto.sha256(b"x")
    parsed = tsa.decode_token(_token(pki, digest))
    parsed["tst_info"]["gen_time"] = NOW - timedelta(days=1)  # backdating
    forged = parsed.dump(force=True)
    with pytest.raises(tsa.TimestampInvalid) as info:
        tsa.verify_token(forged, pki.tsa.certificate, expected_digest=digest)
    assert info.value.code == "timestamp_bad_signature"


def test_token_from_another_tsa(pki: Pki) -> None:
    from tests.esign.conftest import make_identity

    rogue = make_identity(pki.agency, crypto.ALG_ECDSA, "另一个时间戳服务", purpose="tsa", now=NOW - timedelta(days=1))
    digest = crypto.sha256(b"x")
    token = tsa.issue_token(rogue.private_key, rogue.certificate, digest, NOW)
    with pytest.raises(tsa.TimestampInvalid) as info:
        tsa.verify_token(token, pki.tsa.certificate, expected_digest=digest)
    assert info.value.code == "timestamp_wrong_tsa"


def test_time_outside_tsa_validity_and_bad_input(pki: Pki) -> None:
    digest = crypto.sha256(b"x")
    token = _token(pki, digest, when=NOW + timedelta(days=4000))
    with pytest.raises(tsa.TimestampInvalid) as info:
        tsa.verify_token(token, pki.tsa.certificate, expected_digest=digest)
    assert info.value.code == "tsa_cert_invalid"
    with pytest.raises(tsa.ValidationError):
        _token(pki, b"short")
    with pytest.raises(ValueError):
        _token(pki, digest, when=NOW.replace(tzinfo=None))
