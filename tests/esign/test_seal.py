from __future__ import annotations

from datetime import timedelta

import pytest

from esign import crypto, seal
from tests.esign.conftest import NOW, Pki

PNG = b"\x89PNG\r\n\x1a\nfake-for-structure-tests"


def _make(pki: Pki, **overrides) -> bytes:
    keeper = pki.seal_keeper
    args = dict(
        es_id="11010000000001",
        name="某市人民政府办公室",
        signer_certs=[pki.people[crypto.ALG_ECDSA].certificate, pki.people[crypto.ALG_SM2].certificate],
        picture=PNG,
        width_mm=42,
        height_mm=42,
        valid_start=NOW - timedelta(days=1),
        valid_end=NOW + timedelta(days=365),
        maker_cert=keeper.certificate,
        alg=keeper.alg,
        maker_sign=crypto.load_signer(keeper.alg, keeper.private_key).sign,
        created=NOW - timedelta(days=1),
    )
    args.update(overrides)
    return seal.make_seal(**args)


@pytest.mark.parametrize("list_type", [seal.CERT_LIST_CERTS, seal.CERT_LIST_DIGESTS])
def test_make_parse_verify(pki: Pki, list_type: int) -> None:
    der = _make(pki, cert_list_type=list_type)
    data = seal.verify_seal(der, at_time=NOW)
    assert (data.name, data.es_id, data.version, data.vid) == ("某市人民政府办公室", "11010000000001", 4, "TONGBAN")
    assert (data.picture, data.picture_type, data.width_mm, data.height_mm) == (PNG, "PNG", 42, 42)
    assert data.maker_cert == pki.seal_keeper.certificate and data.alg == crypto.ALG_ECDSA
    assert data.lists_cert(pki.people[crypto.ALG_SM2].certificate)
    assert not data.lists_cert(pki.stranger.certificate)
    assert seal.parse_seal(der) == data


def test_sm2_maker(pki: Pki) -> None:
    maker = pki.people[crypto.ALG_SM2]
    der = _make(
        pki,
        maker_cert=maker.certificate,
        alg=maker.alg,
        maker_sign=crypto.load_signer(maker.alg, maker.private_key).sign,
    )
    data = seal.verify_seal(der, at_time=NOW)
    assert data.alg == crypto.ALG_SM2 and data.cert_list[0][0] == "SM3"


def test_validity_window(pki: Pki) -> None:
    der = _make(pki)
    for when, code in ((NOW + timedelta(days=400), "seal_expired"), (NOW - timedelta(days=2), "seal_not_yet_valid")):
        with pytest.raises(seal.SealInvalid) as info:
            seal.verify_seal(der, at_time=when)
        assert info.value.code == code


def test_tampered_seal_rejected(pki: Pki) -> None:
    der = _make(pki)
    parsed = seal.SESeal.load(der)
    parsed["e_seal_info"]["property"]["name"] = "某市财政局"
    with pytest.raises(seal.SealInvalid) as info:
        seal.verify_seal(parsed.dump(force=True), at_time=NOW)
    assert info.value.code == "bad_maker_signature"
    parsed = seal.SESeal.load(der)
    parsed["e_seal_info"]["header"]["version"] = 1
    with pytest.raises(seal.SealInvalid) as info:
        seal.verify_seal(parsed.dump(force=True), at_time=NOW)
    assert info.value.code == "bad_header"
    # a seal "made" by someone whose certificate is swapped in afterwards
    parsed = seal.SESeal.load(der)
    parsed["cert"] = pki.stranger.certificate
    with pytest.raises(seal.SealInvalid):
        seal.verify_seal(parsed.dump(force=True), at_time=NOW)
    for junk in (b"", b"\x30\x03\x02\x01\x01", der[:-1], der + b"\x00"):
        with pytest.raises(seal.SealInvalid) as info:
            seal.verify_seal(junk, at_time=NOW)
        assert info.value.code == "malformed"


def test_make_seal_argument_checks(pki: Pki) -> None:
    with pytest.raises(seal.ValidationError):
        _make(pki, signer_certs=[])
    with pytest.raises(seal.ValidationError):
        _make(pki, valid_end=NOW - timedelta(days=5))
    with pytest.raises(seal.ValidationError):
        _make(pki, alg=crypto.ALG_SM2)


def test_signature_structure_roundtrip(pki: Pki) -> None:
    der_seal = _make(pki)
    tbs = seal.build_tbs_sign(
        seal_der=der_seal,
        time_info=NOW,
        data_hash=b"\x01" * 32,
        property_info="range=all",
        ext_datas={"1.2.3.4": b"value"},
    )
    sig = seal.encode_signature(
        tbs=tbs, cert=pki.people[crypto.ALG_SM2].certificate, alg=crypto.ALG_SM2, signature=b"sig", timestamp=b"ts"
    )
    data = seal.parse_signature(sig)
    assert data.tbs == tbs and data.seal_der == der_seal and data.version == 4 and data.alg == crypto.ALG_SM2
    assert data.ext_datas == {"1.2.3.4": b"value"} and data.timestamp == b"ts" and data.time_info == NOW
    bare = seal.parse_signature(
        seal.encode_signature(
            tbs=seal.build_tbs_sign(seal_der=None, time_info=NOW, data_hash=b"", property_info="", ext_datas={}),
            cert=b"c",
            alg=crypto.ALG_ECDSA,
            signature=b"s",
            timestamp=None,
        )
    )
    assert bare.seal_der is None and bare.timestamp is None and bare.ext_datas == {}
