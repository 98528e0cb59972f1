"""Signing challenges and their verification: the interface other domains use for signed consents.

    challenge = identity.signing.issue(session, member_id=m, purpose="consent:platform-firm", text=t)
    # … the member signs challenge.document (CMS SignedData, attached, SHA-256) …
    verified = identity.signing.verify(session, challenge_id=challenge.id, signed_data=cms_der)
    # verified.member_id, verified.certificate_serial, verified.signature_id (kept for non-repudiation)

Call `verify` through `backbone.identity.attempts.counting` so a failed attempt stays counted.
Identity knows nothing of what the text means; the caller keeps the signature id beside its own
record. A challenge is single-use, expires after CHALLENGE_TTL_S and fails after
CHALLENGE_ATTEMPTS_MAX bad signatures.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from backbone.errors import BackboneError
from backbone.identity import cms, repository
from backbone.identity.attempts import recorded
from backbone.identity.domain import (
    CHALLENGE_ATTEMPTS_MAX,
    CHALLENGE_TTL_S,
    SIGNING_CLOCK_SKEW_S,
    ChallengeStatus,
    Factor,
    IssuedCertificate,
    SigningChallenge,
    check_purpose,
    check_signed_text,
)
from backbone.identity.errors import (
    CertificateForeign,
    ChallengeAttemptsExhausted,
    ChallengeExpired,
    ChallengeUsed,
    NonceMismatch,
    SignatureInvalid,
    SignedTextMismatch,
    UnknownChallenge,
    UnknownSignature,
)
from backbone.identity.repository import StoredSignature
from backbone.identity.service.attempts import AttemptLog
from backbone.identity.service.certificates import CertificateAuthority
from backbone.kit.check import present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")
NONCE_BYTES = 24


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A member's signature over a document Backbone issued, verified and stored."""

    signature_id: int
    challenge_id: int
    member_id: int
    personal_identifier: str
    certificate_serial: str
    purpose: str
    text: str
    signing_time: datetime


class Signing:
    def __init__(
        self, *, clock: Clock, ids: IdGenerator, authority: CertificateAuthority, attempts: AttemptLog
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._authority = authority
        self._attempts = attempts

    def issue(
        self, session: Session, *, purpose: str, text: str, member_id: int | None = None
    ) -> SigningChallenge:
        """A document for the member to sign: the text, a fresh nonce and the time, canonical JSON.
        With member_id, only that member's certificate can answer it."""
        check_purpose(purpose)
        check_signed_text(text)
        now = self._clock.now().replace(microsecond=0)
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        challenge_id = self._ids.next()
        repository.insert_challenge(
            session,
            challenge_id=challenge_id,
            member_id=member_id,
            purpose=purpose,
            text=text,
            nonce=nonce,
            document=cms.canonical_document(text=text, nonce=nonce, time=now),
            issued_at=now,
            expires_at=now + timedelta(seconds=CHALLENGE_TTL_S),
        )
        log.info("identity.challenge_issued", challenge_id=challenge_id, purpose=purpose, member_id=member_id)
        return present(repository.challenge_by_id(session, challenge_id), "just inserted")

    def challenge(
        self, session: Session, challenge_id: int, *, member_id: int | None = None
    ) -> SigningChallenge:
        challenge = repository.challenge_by_id(session, challenge_id)
        if challenge is None or (member_id is not None and challenge.member_id not in (None, member_id)):
            raise UnknownChallenge(f"no challenge {challenge_id}")
        return challenge

    def verify(
        self, session: Session, *, challenge_id: int, signed_data: bytes, member_id: int | None = None
    ) -> VerifiedSignature:
        """Check a CMS signature against the challenge it answers and keep it. Every refusal after
        the challenge is found counts against it (and is recorded; see `attempts.counting`)."""
        challenge = self.challenge(session, challenge_id, member_id=member_id)
        now = self._clock.now()
        if challenge.status is ChallengeStatus.USED:
            raise ChallengeUsed("this challenge has already been signed; ask for a new one")
        if challenge.status is ChallengeStatus.FAILED:
            raise ChallengeAttemptsExhausted("too many failed signatures; ask for a new challenge")
        if now >= challenge.expires_at:
            raise ChallengeExpired("the challenge has expired; ask for a new one")
        try:
            verified, issued = self._check(session, challenge, signed_data, now)
        except BackboneError as error:
            attempts = repository.record_challenge_failure(
                session, challenge.id, attempts_max=CHALLENGE_ATTEMPTS_MAX
            )
            self._attempts.record(
                session,
                member_id=challenge.member_id,
                factor=Factor.CERTIFICATE,
                reason=error.code,
                reference=f"challenge:{challenge.id}",
            )
            error.extensions.setdefault("attempts_left", max(0, CHALLENGE_ATTEMPTS_MAX - attempts))
            raise recorded(error) from None
        if not repository.use_challenge(session, challenge.id, now):
            raise ChallengeUsed("this challenge has already been signed; ask for a new one")
        signature_id = self._ids.next()
        repository.insert_signature(
            session,
            signature_id=signature_id,
            challenge_id=challenge.id,
            member_id=issued.member_id,
            certificate_id=issued.id,
            purpose=challenge.purpose,
            cms_der=signed_data,
            content_sha256=hashlib.sha256(verified.content).hexdigest(),
            signing_time=verified.signing_time,
            verified_at=now,
        )
        self._attempts.record(
            session,
            member_id=issued.member_id,
            factor=Factor.CERTIFICATE,
            reason="verified",
            reference=f"signature:{signature_id}",
            succeeded=True,
        )
        member = present(repository.member_by_id(session, issued.member_id), "a certificate's member exists")
        log.info(
            "identity.signature_verified",
            signature_id=signature_id,
            challenge_id=challenge.id,
            member_id=member.id,
            serial=issued.serial,
        )
        return VerifiedSignature(
            signature_id=signature_id,
            challenge_id=challenge.id,
            member_id=member.id,
            personal_identifier=member.personal_identifier,
            certificate_serial=issued.serial,
            purpose=challenge.purpose,
            text=challenge.text,
            signing_time=verified.signing_time,
        )

    def signature(
        self, session: Session, signature_id: int, *, member_id: int | None = None
    ) -> StoredSignature:
        stored = repository.signature_by_id(session, signature_id)
        if stored is None or (member_id is not None and stored.member_id != member_id):
            raise UnknownSignature(f"no signature {signature_id}")
        return stored

    def _check(
        self, session: Session, challenge: SigningChallenge, signed_data: bytes, now: datetime
    ) -> tuple[cms.VerifiedSignedData, IssuedCertificate]:
        verified = cms.verify_signed_data(signed_data)
        document = cms.parse_document(verified.content)
        if document.nonce != challenge.nonce:
            raise NonceMismatch("the signed document answers another challenge")
        if verified.content != challenge.document:
            raise SignedTextMismatch("the signed text is not the text that was issued")
        skew = timedelta(seconds=SIGNING_CLOCK_SKEW_S)
        if not challenge.issued_at - skew <= verified.signing_time <= now + skew:
            raise SignatureInvalid("the signing time is outside the challenge's life")
        issued = self._authority.trusted_signer(
            session, verified.signer, signing_time=min(verified.signing_time, now)
        )
        if challenge.member_id is not None and issued.member_id != challenge.member_id:
            raise CertificateForeign("the certificate belongs to another member")
        return verified, issued
