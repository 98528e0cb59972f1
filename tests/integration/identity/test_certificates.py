"""The certificate authority: the root made on first use with its key encrypted at rest,
certificates from CSRs (RSA-2048 and ECDSA P-256 only), validity, key usage, subject, revocation,
status and the revocation list; malformed and wrong-algorithm requests store nothing."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from backbone.bootstrap import Container
from backbone.identity import certificate_authority, repository
from backbone.identity.client import KeyAlgorithm, generate_key, signing_request
from backbone.identity.domain import (
    CERTIFICATE_EXTENDED_VALIDITY_DAYS,
    CERTIFICATE_VALIDITY_DAYS,
    CSR_BYTES_MAX,
    CertificateStatus,
    RevocationReason,
)
from backbone.identity.errors import (
    CertificateAlreadyRevoked,
    InvalidCsr,
    PayloadTooLarge,
    UnsupportedAlgorithm,
)
from backbone.identity.service.certificates import ROOT_ROLE
from backbone.kit.clock import SimulatedClock
from tests.identity import flows


def certificates_stored(container: Container, member_id: int) -> int:
    with container.database.reading() as session:
        return len(repository.certificates_of_member(session, member_id))


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_a_csr_gets_a_one_year_signing_certificate_naming_the_member(
    container: Container, clock: SimulatedClock, algorithm: KeyAlgorithm
) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member, algorithm)
    certificate = x509.load_der_x509_certificate(holder.certificate.certificate_der)
    assert certificate.not_valid_before_utc == clock.now().replace(microsecond=0)
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == timedelta(
        days=CERTIFICATE_VALIDITY_DAYS
    )
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_cert_sign
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == member.name
    assert certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == str(member.id)
    assert certificate.public_key() == holder.key.public_key()
    with container.database.reading() as session:
        root = container.identity.authority.root(session)
    certificate_authority.check_issued_by(certificate, root.certificate)


def test_the_extended_option_gives_three_years(container: Container) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member, extended=True)
    issued = holder.certificate
    assert issued.not_after - issued.not_before == timedelta(days=CERTIFICATE_EXTENDED_VALIDITY_DAYS)


def test_the_root_is_created_once_and_its_key_is_stored_encrypted(container: Container) -> None:
    with container.database.transaction() as session:
        first = container.identity.authority.root(session)
    with container.database.transaction() as session:
        second = container.identity.authority.root(session)
        stored = repository.authority(session, ROOT_ROLE)
    assert stored is not None
    assert first.certificate == second.certificate
    assert b"ENCRYPTED PRIVATE KEY" in stored.private_key_encrypted
    with pytest.raises(TypeError):  # no password: it cannot be read
        serialization.load_pem_private_key(stored.private_key_encrypted, password=None)
    with pytest.raises(ValueError, match=r"[Bb]ad decrypt|[Ii]ncorrect password"):
        serialization.load_pem_private_key(stored.private_key_encrypted, password=b"another secret key")
    assert first.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def _csr_for(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, algorithm: hashes.SHA256 | hashes.SHA512
) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(key, algorithm)
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def test_keys_and_digests_other_than_rsa_2048_p256_and_sha256_are_refused(container: Container) -> None:
    member = flows.sign_up(container)
    refused = [
        _csr_for(rsa.generate_private_key(public_exponent=65_537, key_size=1024), hashes.SHA256()),  # noqa: S505 - must be refused
        _csr_for(ec.generate_private_key(ec.SECP384R1()), hashes.SHA256()),
        _csr_for(ec.generate_private_key(ec.SECP256R1()), hashes.SHA512()),
    ]
    for csr in refused:
        with pytest.raises(UnsupportedAlgorithm), container.database.transaction() as session:
            container.identity.authority.issue(session, member, csr)
    assert certificates_stored(container, member.id) == 0


def test_malformed_tampered_and_oversized_csrs_are_refused_and_nothing_is_stored(
    container: Container,
) -> None:
    member = flows.sign_up(container)
    good = signing_request(generate_key())
    der = x509.load_pem_x509_csr(good).public_bytes(serialization.Encoding.DER)
    other = x509.load_pem_x509_csr(signing_request(generate_key())).public_bytes(serialization.Encoding.DER)
    # The first CSR's body with another key's signature: parses, but proves no possession.
    spliced = _splice_signature(der, other)
    cases: list[tuple[bytes, type[Exception]]] = [
        (b"", InvalidCsr),
        (b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n", InvalidCsr),
        (der[:-10], InvalidCsr),
        (b"\x30\x82" + b"\xff" * 40, InvalidCsr),
        (spliced, InvalidCsr),
        (b"M" * (CSR_BYTES_MAX + 1), PayloadTooLarge),
    ]
    for data, error in cases:
        with pytest.raises(error), container.database.transaction() as session:
            container.identity.authority.issue(session, member, data)
    assert certificates_stored(container, member.id) == 0
    with container.database.transaction() as session:  # base64 DER is accepted too
        container.identity.authority.issue(session, member, base64.b64encode(der))
    assert certificates_stored(container, member.id) == 1


def _splice_signature(csr_der: bytes, donor_der: bytes) -> bytes:
    from asn1crypto import csr as asn1_csr  # noqa: PLC0415

    request = asn1_csr.CertificationRequest.load(csr_der)
    donor = asn1_csr.CertificationRequest.load(donor_der)
    spliced = asn1_csr.CertificationRequest(
        {
            "certification_request_info": request["certification_request_info"],
            "signature_algorithm": request["signature_algorithm"],
            "signature": donor["signature"],
        }
    )
    return bytes(spliced.dump())


def test_status_is_good_then_revoked_and_the_revocation_list_names_it(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    authority = container.identity.authority
    serial = holder.certificate.serial
    with container.database.reading() as session:
        assert authority.status(session, serial).status is CertificateStatus.GOOD
        assert authority.status(session, "abc123").status is CertificateStatus.UNKNOWN
    clock.advance(timedelta(minutes=1))
    with container.database.transaction() as session:
        authority.revoke(session, serial, reason=RevocationReason.KEY_COMPROMISE, member_id=member.id)
    with pytest.raises(CertificateAlreadyRevoked), container.database.transaction() as session:
        authority.revoke(session, serial, reason=RevocationReason.KEY_COMPROMISE)
    with container.database.transaction() as session:
        report = authority.status(session, serial)
        crl = x509.load_der_x509_crl(authority.revocation_list(session))
        root = authority.root(session)
    assert report.status is CertificateStatus.REVOKED
    assert report.revocation_reason is RevocationReason.KEY_COMPROMISE
    assert crl.is_signature_valid(root.key.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        is x509.ReasonFlags.key_compromise
    )


def test_status_is_expired_after_the_validity(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    clock.advance(timedelta(days=CERTIFICATE_VALIDITY_DAYS))
    with container.database.reading() as session:
        assert container.identity.authority.status(session, holder.certificate.serial).status is (
            CertificateStatus.EXPIRED
        )
