"""The certificate authority's root, members' certificates, signing challenges and kept signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from backbone.identity.domain import (
    ChallengeStatus,
    IssuedCertificate,
    RevocationReason,
    SigningChallenge,
)
from backbone.identity.models import (
    AuthorityRow,
    CertificateRow,
    SignatureRow,
    SigningChallengeRow,
)
from backbone.kit.check import present

# --- the certificate authority ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredAuthority:
    id: int
    certificate_der: bytes
    private_key_encrypted: bytes


def authority(session: Session, role: str) -> StoredAuthority | None:
    row = session.scalars(select(AuthorityRow).where(AuthorityRow.role == role)).first()
    if row is None:
        return None
    return StoredAuthority(
        id=row.id, certificate_der=row.certificate_der, private_key_encrypted=row.private_key_encrypted
    )


def insert_authority(
    session: Session,
    *,
    authority_id: int,
    role: str,
    subject: str,
    certificate_der: bytes,
    private_key_encrypted: bytes,
    created_at: datetime,
    not_after: datetime,
) -> None:
    session.execute(
        insert(AuthorityRow).values(
            id=authority_id,
            role=role,
            subject=subject,
            certificate_der=certificate_der,
            private_key_encrypted=private_key_encrypted,
            crl_number=0,
            created_at=created_at,
            not_after=not_after,
        )
    )


def take_crl_number(session: Session, authority_id: int) -> int:
    number = session.scalar(
        update(AuthorityRow)
        .where(AuthorityRow.id == authority_id)
        .values(crl_number=AuthorityRow.crl_number + 1)
        .returning(AuthorityRow.crl_number)
    )
    return int(present(number, "the authority vanished while numbering a CRL"))


# --- certificates and signatures ----------------------------------------------------------------


def _certificate(row: CertificateRow) -> IssuedCertificate:
    return IssuedCertificate(
        id=row.id,
        member_id=row.member_id,
        serial=row.serial,
        subject=row.subject,
        key_algorithm=row.key_algorithm,
        not_before=row.not_before,
        not_after=row.not_after,
        revoked_at=row.revoked_at,
        revocation_reason=None if row.revocation_reason is None else RevocationReason(row.revocation_reason),
        certificate_der=row.certificate_der,
    )


def insert_certificate(
    session: Session,
    *,
    certificate_id: int,
    member_id: int,
    serial: str,
    subject: str,
    key_algorithm: str,
    extended: bool,
    not_before: datetime,
    not_after: datetime,
    certificate_der: bytes,
    issued_at: datetime,
) -> None:
    session.execute(
        insert(CertificateRow).values(
            id=certificate_id,
            member_id=member_id,
            serial=serial,
            subject=subject,
            key_algorithm=key_algorithm,
            extended=extended,
            not_before=not_before,
            not_after=not_after,
            certificate_der=certificate_der,
            issued_at=issued_at,
            revoked_at=None,
            revocation_reason=None,
        )
    )


def certificate_by_serial(session: Session, serial: str) -> IssuedCertificate | None:
    row = session.scalars(select(CertificateRow).where(CertificateRow.serial == serial)).first()
    return None if row is None else _certificate(row)


def certificate_by_id(session: Session, certificate_id: int) -> IssuedCertificate | None:
    row = session.get(CertificateRow, certificate_id)
    return None if row is None else _certificate(row)


def certificates_of_member(session: Session, member_id: int) -> list[IssuedCertificate]:
    rows = session.scalars(
        select(CertificateRow).where(CertificateRow.member_id == member_id).order_by(CertificateRow.issued_at)
    )
    return [_certificate(row) for row in rows]


def unexpired_unrevoked_count(session: Session, member_id: int, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(CertificateRow)
            .where(
                CertificateRow.member_id == member_id,
                CertificateRow.revoked_at.is_(None),
                CertificateRow.not_after > now,
            )
        )
        or 0
    )


def revoke_certificate(
    session: Session, certificate_id: int, *, now: datetime, reason: RevocationReason
) -> bool:
    result = session.execute(
        update(CertificateRow)
        .where(CertificateRow.id == certificate_id, CertificateRow.revoked_at.is_(None))
        .values(revoked_at=now, revocation_reason=reason.value)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount


def revoked_certificates(session: Session, now: datetime) -> list[tuple[str, datetime, RevocationReason]]:
    """Revoked and not yet expired: what a revocation list must name."""
    rows = session.execute(
        select(CertificateRow.serial, CertificateRow.revoked_at, CertificateRow.revocation_reason)
        .where(CertificateRow.revoked_at.is_not(None), CertificateRow.not_after > now)
        .order_by(CertificateRow.revoked_at)
    )
    return [
        (serial, present(revoked_at, "filtered on"), RevocationReason(reason or "unspecified"))
        for serial, revoked_at, reason in rows
    ]


def _challenge(row: SigningChallengeRow) -> SigningChallenge:
    return SigningChallenge(
        id=row.id,
        member_id=row.member_id,
        purpose=row.purpose,
        text=row.text,
        nonce=row.nonce,
        document=row.document,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        status=ChallengeStatus(row.status),
        attempts=row.attempts,
    )


def insert_challenge(
    session: Session,
    *,
    challenge_id: int,
    member_id: int | None,
    purpose: str,
    text: str,
    nonce: str,
    document: bytes,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    session.execute(
        insert(SigningChallengeRow).values(
            id=challenge_id,
            member_id=member_id,
            purpose=purpose,
            text=text,
            nonce=nonce,
            document=document,
            issued_at=issued_at,
            expires_at=expires_at,
            status=ChallengeStatus.OPEN.value,
            attempts=0,
            used_at=None,
        )
    )


def challenge_by_id(session: Session, challenge_id: int) -> SigningChallenge | None:
    row = session.get(SigningChallengeRow, challenge_id)
    return None if row is None else _challenge(row)


def challenge_by_nonce(session: Session, nonce: str) -> SigningChallenge | None:
    row = session.scalars(select(SigningChallengeRow).where(SigningChallengeRow.nonce == nonce)).first()
    return None if row is None else _challenge(row)


def record_challenge_failure(session: Session, challenge_id: int, *, attempts_max: int) -> int:
    """Count a failed signature; the challenge fails when the count reaches attempts_max."""
    attempts = int(
        present(
            session.scalar(
                update(SigningChallengeRow)
                .where(SigningChallengeRow.id == challenge_id)
                .values(attempts=SigningChallengeRow.attempts + 1)
                .returning(SigningChallengeRow.attempts)
            ),
            "the challenge vanished while counting a failure",
        )
    )
    if attempts >= attempts_max:
        session.execute(
            update(SigningChallengeRow)
            .where(
                SigningChallengeRow.id == challenge_id,
                SigningChallengeRow.status == ChallengeStatus.OPEN.value,
            )
            .values(status=ChallengeStatus.FAILED.value)
        )
    return attempts


def use_challenge(session: Session, challenge_id: int, now: datetime) -> bool:
    """Mark the challenge used; False if it was not open (someone else used it first)."""
    result = session.execute(
        update(SigningChallengeRow)
        .where(
            SigningChallengeRow.id == challenge_id, SigningChallengeRow.status == ChallengeStatus.OPEN.value
        )
        .values(status=ChallengeStatus.USED.value, used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredSignature:
    id: int
    challenge_id: int
    member_id: int
    certificate_id: int
    purpose: str
    cms_der: bytes
    content_sha256: str
    signing_time: datetime
    verified_at: datetime


def insert_signature(
    session: Session,
    *,
    signature_id: int,
    challenge_id: int,
    member_id: int,
    certificate_id: int,
    purpose: str,
    cms_der: bytes,
    content_sha256: str,
    signing_time: datetime,
    verified_at: datetime,
) -> None:
    session.execute(
        insert(SignatureRow).values(
            id=signature_id,
            challenge_id=challenge_id,
            member_id=member_id,
            certificate_id=certificate_id,
            purpose=purpose,
            cms_der=cms_der,
            content_sha256=content_sha256,
            signing_time=signing_time,
            verified_at=verified_at,
        )
    )


def signature_by_id(session: Session, signature_id: int) -> StoredSignature | None:
    row = session.get(SignatureRow, signature_id)
    if row is None:
        return None
    return StoredSignature(
        id=row.id,
        challenge_id=row.challenge_id,
        member_id=row.member_id,
        certificate_id=row.certificate_id,
        purpose=row.purpose,
        cms_der=row.cms_der,
        content_sha256=row.content_sha256,
        signing_time=row.signing_time,
        verified_at=row.verified_at,
    )


def signature_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SignatureRow)) or 0
