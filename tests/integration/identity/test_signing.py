"""Signing: a member signs the document Backbone issued (CMS SignedData, attached, SHA-256 over
canonical JSON); Backbone verifies signature, chain, validity, revocation, nonce and text and keeps
the CMS; `openssl cms -verify` accepts what members sign. Every refusal stores nothing but counts."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from backbone.bootstrap import Container
from backbone.identity import certificate_authority, cms, repository
from backbone.identity.attempts import counting
from backbone.identity.client import KeyAlgorithm, generate_key, sign_document, signing_request
from backbone.identity.domain import (
    CERTIFICATE_VALIDITY_DAYS,
    CHALLENGE_ATTEMPTS_MAX,
    CHALLENGE_TTL_S,
    CMS_BYTES_MAX,
    Factor,
    Member,
    RevocationReason,
    SigningChallenge,
)
from backbone.identity.errors import (
    CertificateExpired,
    CertificateForeign,
    CertificateRevoked,
    ChallengeAttemptsExhausted,
    ChallengeExpired,
    ChallengeUsed,
    InvalidSignedData,
    NonceMismatch,
    PayloadTooLarge,
    SignatureInvalid,
    SignedTextMismatch,
    UnsupportedAlgorithm,
)
from backbone.identity.service.signing import VerifiedSignature
from backbone.kit.clock import SimulatedClock
from tests.identity import flows

CONSENT = "금융거래정보 제3자 제공 동의: 한빛증권의 계좌 정보를 Backbone 오픈플랫폼에 1년간 제공합니다."


def issue(container: Container, member: Member, text: str = CONSENT) -> SigningChallenge:
    with container.database.transaction() as session:
        return container.identity.signing.issue(
            session, purpose="consent:platform-firm", text=text, member_id=member.id
        )


def sign(holder: flows.Holder, document: bytes, at: datetime) -> bytes:
    return sign_document(document, certificate_pem=holder.certificate_pem, key=holder.key, signing_time=at)


def verify(container: Container, challenge: SigningChallenge, signed: bytes) -> VerifiedSignature:
    return counting(
        container.database,
        lambda session: container.identity.signing.verify(
            session, challenge_id=challenge.id, signed_data=signed, member_id=challenge.member_id
        ),
    )


def stored_signatures(container: Container) -> int:
    with container.database.reading() as session:
        return repository.signature_count(session)


def failed_certificate_attempts(container: Container, member: Member) -> int:
    with container.database.reading() as session:
        return sum(
            1
            for factor, succeeded, _ in repository.attempts_of_member(session, member.id)
            if factor is Factor.CERTIFICATE and not succeeded
        )


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_key_csr_certificate_consent_signature_verified_here_and_by_openssl(
    container: Container, clock: SimulatedClock, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None, "the suite needs the openssl command (scripts/install-system-packages)"
    member = flows.sign_up(container)
    key = generate_key(algorithm)
    with container.database.transaction() as session:
        issued = container.identity.authority.issue(session, member, signing_request(key))
        ca_pem = container.identity.authority.root_certificate_pem(session)
    holder = flows.Holder(key=key, certificate=issued)
    challenge = issue(container, member)
    signed = sign(holder, challenge.document, clock.now())

    verified = verify(container, challenge, signed)

    assert verified.member_id == member.id
    assert verified.personal_identifier == member.personal_identifier
    assert verified.certificate_serial == issued.serial
    assert verified.text == CONSENT
    with container.database.reading() as session:
        kept = container.identity.signing.signature(session, verified.signature_id, member_id=member.id)
    assert kept.cms_der == signed  # as received, for non-repudiation
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    (tmp_path / "consent.der").write_bytes(kept.cms_der)
    completed = subprocess.run(  # noqa: S603 - a fixed binary on files this test wrote
        [
            openssl,
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "consent.der"),
            "-CAfile",
            str(tmp_path / "ca.pem"),
            "-purpose",
            "smimesign",
            "-attime",
            str(int(clock.now().timestamp())),
            "-out",
            str(tmp_path / "content"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Verification successful" in completed.stderr
    content = (tmp_path / "content").read_bytes()
    assert content == challenge.document
    assert cms.parse_document(content).text == CONSENT
    # And openssl refuses the same signature against another authority.
    other_root = certificate_authority.create_root(now=clock.now())
    (tmp_path / "other.pem").write_bytes(other_root.certificate.public_bytes(Encoding.PEM))
    refused = subprocess.run(  # noqa: S603
        [
            openssl,
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "consent.der"),
            "-CAfile",
            str(tmp_path / "other.pem"),
            "-attime",
            str(int(clock.now().timestamp())),
            "-out",
            str(tmp_path / "ignored"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0


def test_a_replayed_signature_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    signed = sign(holder, challenge.document, clock.now())
    verify(container, challenge, signed)
    with pytest.raises(ChallengeUsed):
        verify(container, challenge, signed)
    assert stored_signatures(container) == 1


def test_a_signature_over_another_challenges_nonce_is_refused(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    first, second = issue(container, member), issue(container, member)
    with pytest.raises(NonceMismatch):
        verify(container, second, sign(holder, first.document, clock.now()))
    made_up = cms.canonical_document(text=CONSENT, nonce="made-up-nonce", time=second.issued_at)
    with pytest.raises(NonceMismatch):
        verify(container, second, sign(holder, made_up, clock.now()))
    assert stored_signatures(container) == 0
    assert failed_certificate_attempts(container, member) == 2


def test_a_signature_over_different_text_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    altered = cms.canonical_document(
        text=CONSENT.replace("1년간", "10년간"), nonce=challenge.nonce, time=challenge.issued_at
    )
    with pytest.raises(SignedTextMismatch):
        verify(container, challenge, sign(holder, altered, clock.now()))
    assert stored_signatures(container) == 0


def test_signed_text_tampered_after_signing_fails_the_digest(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    signed = sign(holder, challenge.document, clock.now())
    original = "1년간".encode()
    assert original in signed
    tampered = signed.replace(original, "9년간".encode())  # same length: the DER stays well formed
    with pytest.raises(SignatureInvalid):
        verify(container, challenge, tampered)
    assert stored_signatures(container) == 0


def test_an_expired_challenge_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    signed = sign(holder, challenge.document, clock.now())
    clock.advance(timedelta(seconds=CHALLENGE_TTL_S))
    with pytest.raises(ChallengeExpired):
        verify(container, challenge, signed)


def test_an_expired_certificate_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    clock.advance(timedelta(days=CERTIFICATE_VALIDITY_DAYS, seconds=1))
    challenge = issue(container, member)
    with pytest.raises(CertificateExpired):
        verify(container, challenge, sign(holder, challenge.document, clock.now()))
    assert stored_signatures(container) == 0
    assert failed_certificate_attempts(container, member) == 1


def test_a_revoked_certificate_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    with container.database.transaction() as session:
        container.identity.authority.revoke(
            session, holder.certificate.serial, reason=RevocationReason.SUPERSEDED
        )
    challenge = issue(container, member)
    with pytest.raises(CertificateRevoked):
        verify(container, challenge, sign(holder, challenge.document, clock.now()))
    assert stored_signatures(container) == 0


def test_a_certificate_from_another_authority_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    foreign_root = certificate_authority.create_root(now=clock.now(), common_name="Backbone Root CA")
    key = generate_key()
    forged = certificate_authority.issue(
        foreign_root,
        x509.load_pem_x509_csr(signing_request(key)),
        subject=certificate_authority.member_subject(name=member.name, member_number=str(member.id)),
        serial=x509.random_serial_number(),
        not_before=clock.now(),
        not_after=clock.now() + timedelta(days=365),
    )
    challenge = issue(container, member)
    signed = cms.sign(challenge.document, certificate=forged, key=key, signing_time=clock.now())
    with pytest.raises(CertificateForeign):
        verify(container, challenge, signed)
    assert stored_signatures(container) == 0


def test_another_members_certificate_cannot_answer_a_members_challenge(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    other = flows.sign_up(container, name="이서연", phone="010-2222-3333", email="seoyeon@example.com")
    other_holder = flows.certify(container, other)
    challenge = issue(container, member)
    with pytest.raises(CertificateForeign):
        verify(container, challenge, sign(other_holder, challenge.document, clock.now()))


def test_malformed_cms_blobs_are_refused_counted_and_not_stored(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    good = sign(holder, issue(container, member).document, clock.now())
    blobs = [b"", b"not cms at all", good[: len(good) // 2], good + b"\x00trailing"]
    for blob in blobs:
        challenge = issue(container, member)
        with pytest.raises(InvalidSignedData):
            verify(container, challenge, blob)
    challenge = issue(container, member)
    with pytest.raises(PayloadTooLarge):
        verify(container, challenge, b"\x30" * (CMS_BYTES_MAX + 1))
    assert stored_signatures(container) == 0
    assert failed_certificate_attempts(container, member) == len(blobs) + 1


def test_a_certificate_altered_inside_the_cms_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    certificate_der = holder.certificate.certificate_der
    for offset in (
        len(certificate_der) // 3,
        len(certificate_der) - 3,
    ):  # inside the body; the CA's signature
        challenge = issue(container, member)
        signed = sign(holder, challenge.document, clock.now())
        altered_certificate = bytearray(certificate_der)
        altered_certificate[offset] ^= 0x01
        altered = signed.replace(certificate_der, bytes(altered_certificate))
        assert altered != signed
        with pytest.raises((InvalidSignedData, CertificateForeign, SignatureInvalid)):
            verify(container, challenge, altered)
    assert stored_signatures(container) == 0
    assert failed_certificate_attempts(container, member) == 2


def test_a_detached_signature_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    info = asn1_cms.ContentInfo.load(sign(holder, challenge.document, clock.now()))
    signed_data = info["content"]
    detached = asn1_cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": asn1_cms.SignedData(
                {
                    "version": signed_data["version"],
                    "digest_algorithms": signed_data["digest_algorithms"],
                    "encap_content_info": {"content_type": "data"},
                    "certificates": signed_data["certificates"],
                    "signer_infos": signed_data["signer_infos"],
                }
            ),
        }
    ).dump()
    with pytest.raises(InvalidSignedData, match="detached"):
        verify(container, challenge, detached)


def test_a_digest_other_than_sha256_is_refused(container: Container, clock: SimulatedClock) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs7  # noqa: PLC0415

    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    certificate = x509.load_der_x509_certificate(holder.certificate.certificate_der)
    signed = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(challenge.document)
        .add_signer(certificate, holder.key, hashes.SHA512())
        .sign(Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    with pytest.raises(UnsupportedAlgorithm):
        verify(container, challenge, signed)


def test_a_challenge_fails_after_too_many_bad_signatures(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    for _ in range(CHALLENGE_ATTEMPTS_MAX):
        with pytest.raises(InvalidSignedData):
            verify(container, challenge, b"junk")
    with pytest.raises(ChallengeAttemptsExhausted):
        verify(container, challenge, sign(holder, challenge.document, clock.now()))


def test_a_signing_time_before_the_challenge_is_refused(container: Container, clock: SimulatedClock) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    challenge = issue(container, member)
    with pytest.raises(SignatureInvalid):
        verify(container, challenge, sign(holder, challenge.document, clock.now() - timedelta(hours=1)))


def test_a_signature_within_the_second_of_issue_verifies(container: Container, clock: SimulatedClock) -> None:
    """A member signs in the same second as the certificate was issued, at a fraction of a second:
    the CMS signing time is whole seconds, so the certificate's recorded validity must start at
    its own whole-second notBefore, not at the fraction, or the fresh signature looks premature."""
    clock.advance(timedelta(milliseconds=731))
    member = flows.sign_up(container)
    key = generate_key(KeyAlgorithm.EC_P256)
    with container.database.transaction() as session:
        issued = container.identity.authority.issue(session, member, signing_request(key))
    certificate = x509.load_der_x509_certificate(issued.certificate_der)
    assert issued.not_before == certificate.not_valid_before_utc
    assert issued.not_after == certificate.not_valid_after_utc
    assert clock.now().microsecond != 0
    challenge = issue(container, member)

    verified = verify(
        container, challenge, sign(flows.Holder(key=key, certificate=issued), challenge.document, clock.now())
    )

    assert verified.certificate_serial == issued.serial
    assert stored_signatures(container) == 1
