from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esign import ca, crypto
from office.errors import ValidationError
from tests.esign.conftest import NOW, Pki, make_identity


@pytest.mark.parametrize("alg", crypto.ALGORITHMS)
def test_person_certificate_chains_to_root(pki: Pki, alg: str) -> None:
    person = pki.people[alg]
    path = ca.verify_chain(person.certificate, [pki.agency.certificate], NOW, trust_roots=[pki.root.certificate])
    assert [ca.subject_text(c) for c in path] == [f"张三（{alg}）", "某市人民政府办公室签发CA", "通办根证书"]
    assert ca.subject_text(person.certificate, NameOID.ORGANIZATION_NAME) == "某市人民政府办公室"
    assert ca.public_key_from_cert(person.certificate) == (alg, person.public_key)
    cert = ca.load_cert(person.certificate)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    assert ca.has_eku(cert, ca.OID_DOCUMENT_SIGNING)
    assert cert.serial_number.bit_length() > 100  # random serials


def test_tsa_certificate_has_critical_timestamping(pki: Pki) -> None:
    cert = ca.load_cert(pki.tsa.certificate)
    ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert ext.critical and ExtendedKeyUsageOID.TIME_STAMPING in list(ext.value)
    assert not ca.has_eku(pki.people[crypto.ALG_ECDSA].certificate, ExtendedKeyUsageOID.TIME_STAMPING)


def test_chain_failures(pki: Pki) -> None:
    person = pki.people[crypto.ALG_ECDSA].certificate
    roots = [pki.root.certificate]
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.verify_chain(person, [], NOW, trust_roots=roots)
    assert info.value.code == "untrusted_chain"
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.verify_chain(pki.stranger.certificate, [pki.other_agency.certificate], NOW, trust_roots=roots)
    assert info.value.code == "untrusted_chain"
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.verify_chain(person, [pki.agency.certificate], NOW + timedelta(days=800), trust_roots=roots)
    assert info.value.code == "cert_expired"
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.verify_chain(person, [pki.agency.certificate], NOW - timedelta(days=60), trust_roots=roots)
    assert info.value.code == "cert_not_yet_valid"
    # an end-entity certificate cannot act as an issuer
    fake = make_identity(ca.KeyAndCert(pki.people[crypto.ALG_ECDSA].private_key, person), crypto.ALG_ECDSA, "伪造")
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.verify_chain(fake.certificate, [person, pki.agency.certificate], NOW, trust_roots=roots)
    assert info.value.code == "not_a_ca"


def test_same_name_different_key_is_bad_signature(pki: Pki) -> None:
    """An impostor CA with the agency's exact subject name does not verify."""
    start = NOW - timedelta(days=30)
    impostor_root = ca.create_root_ca("通办根证书", "通办电子政务", now=start)
    impostor = ca.create_issuing_ca(impostor_root, "某市人民政府办公室签发CA", "某市人民政府办公室", now=start)
    victim = make_identity(impostor, crypto.ALG_ECDSA, "王五")
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.verify_chain(victim.certificate, [pki.agency.certificate], NOW, trust_roots=[pki.root.certificate])
    assert info.value.code == "bad_cert_signature"


def test_crl_revocation_respects_signature_time(pki: Pki) -> None:
    person = pki.people[crypto.ALG_SM2]
    serial = ca.load_cert(person.certificate).serial_number
    revoked_at = NOW - timedelta(days=1)
    crl = ca.build_crl(pki.agency, [(serial, revoked_at, "key_compromise"), (12345, NOW, None)], this_update=NOW)
    after = ca.is_revoked(person.certificate, crl, NOW, issuer=pki.agency.certificate)
    assert after and after.revoked_at == revoked_at and after.reason == "key_compromise"
    before = ca.is_revoked(person.certificate, crl, NOW - timedelta(days=2), issuer=pki.agency.certificate)
    assert not before and before.revoked_at == revoked_at
    other = ca.is_revoked(pki.people[crypto.ALG_ECDSA].certificate, crl, NOW, issuer=pki.agency.certificate)
    assert not other and other.revoked_at is None


def test_crl_must_come_from_the_issuer(pki: Pki) -> None:
    crl = ca.build_crl(pki.other_agency, [], this_update=NOW)
    with pytest.raises(ca.CertificateInvalid) as info:
        ca.is_revoked(pki.people[crypto.ALG_ECDSA].certificate, crl, NOW, issuer=pki.agency.certificate)
    assert info.value.code == "bad_crl"
    with pytest.raises(ca.CertificateInvalid):
        ca.is_revoked(pki.people[crypto.ALG_ECDSA].certificate, b"junk", NOW, issuer=pki.agency.certificate)


def test_pem_chain_roundtrip_and_bad_input(pki: Pki) -> None:
    pem = ca.chain_pem([pki.people[crypto.ALG_SM2].certificate, pki.agency.certificate, pki.root.certificate])
    certs = ca.load_pem_chain(pem)
    assert [ca.subject_text(c) for c in certs][1:] == ["某市人民政府办公室签发CA", "通办根证书"]
    assert ca.load_cert(pem).subject == certs[0].subject
    with pytest.raises(ca.CertificateInvalid):
        ca.load_cert(b"not a cert")
    with pytest.raises(ca.CertificateInvalid):
        ca.load_pem_chain(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_issue_rejects_bad_keys(pki: Pki) -> None:
    with pytest.raises(ValidationError):
        ca.issue_certificate(pki.agency, subject_public_key=b"\x04" + b"\x01" * 64, alg=crypto.ALG_SM2, common_name="x")
    with pytest.raises(ValidationError):
        ca.issue_certificate(
            pki.agency, subject_public_key=pki.tsa.public_key, alg=crypto.ALG_ECDSA, common_name="x", purpose="root"
        )
