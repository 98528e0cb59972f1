"""Every authentication query.

Counters and single-use marks are changed with one conditional UPDATE each (`… SET attempts =
attempts + 1 … RETURNING`, `… SET status = 'used' WHERE status = 'open'`), so two concurrent
requests can neither share a nonce nor both slip under a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from backbone.identity.domain import (
    ArsCall,
    ArsStatus,
    ChallengeStatus,
    Factor,
    IssuedCertificate,
    Member,
    MemberStatus,
    RevocationReason,
    SigningChallenge,
    Verification,
    VerificationPurpose,
    VerificationStatus,
)
from backbone.identity.models import (
    ArsCallRow,
    AttemptRow,
    AuthorityRow,
    CertificateRow,
    DeviceRow,
    MemberRow,
    OutboxRow,
    PasskeyRow,
    SessionProofRow,
    SessionRow,
    SignatureRow,
    SigningChallengeRow,
    TermAcceptanceRow,
    VerificationRow,
    WebauthnChallengeRow,
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


# --- members ------------------------------------------------------------------------------------


def _member(row: MemberRow) -> Member:
    return Member(
        id=row.id,
        personal_identifier=row.personal_identifier,
        name=row.name,
        birth_date=row.birth_date,
        phone=row.phone,
        email=row.email,
        status=MemberStatus(row.status),
        joined_at=row.joined_at,
        pin_set=row.pin_hash is not None,
        pin_failures=row.pin_failures,
    )


def insert_member(
    session: Session,
    *,
    member_id: int,
    personal_identifier: str,
    name: str,
    birth_date: date,
    phone: str,
    email: str,
    joined_at: datetime,
) -> None:
    session.execute(
        insert(MemberRow).values(
            id=member_id,
            personal_identifier=personal_identifier,
            name=name,
            birth_date=birth_date,
            phone=phone,
            email=email,
            status=MemberStatus.ACTIVE.value,
            joined_at=joined_at,
            pin_hash=None,
            pin_failures=0,
            pin_changed_at=None,
        )
    )


def member_by_id(session: Session, member_id: int) -> Member | None:
    row = session.get(MemberRow, member_id)
    return None if row is None else _member(row)


def member_by_personal_identifier(session: Session, personal_identifier: str) -> Member | None:
    row = session.scalars(
        select(MemberRow).where(MemberRow.personal_identifier == personal_identifier)
    ).first()
    return None if row is None else _member(row)


def member_by_phone(session: Session, phone: str) -> Member | None:
    row = session.scalars(select(MemberRow).where(MemberRow.phone == phone)).first()
    return None if row is None else _member(row)


def lock_member(session: Session, member_id: int) -> None:
    """Serialise PIN checks of one member until commit (a row lock on PostgreSQL)."""
    session.execute(select(MemberRow.id).where(MemberRow.id == member_id).with_for_update()).all()


def pin_hash(session: Session, member_id: int) -> str | None:
    return session.scalar(select(MemberRow.pin_hash).where(MemberRow.id == member_id))


def set_pin(session: Session, member_id: int, *, hashed: str, now: datetime) -> None:
    session.execute(
        update(MemberRow)
        .where(MemberRow.id == member_id)
        .values(pin_hash=hashed, pin_failures=0, pin_changed_at=now)
    )


def record_pin_failure(session: Session, member_id: int) -> int:
    failures = session.scalar(
        update(MemberRow)
        .where(MemberRow.id == member_id)
        .values(pin_failures=MemberRow.pin_failures + 1)
        .returning(MemberRow.pin_failures)
    )
    return int(present(failures, "the member vanished while counting a PIN failure"))


def clear_pin_failures(session: Session, member_id: int) -> None:
    session.execute(update(MemberRow).where(MemberRow.id == member_id).values(pin_failures=0))


def update_member_email(session: Session, member_id: int, email: str) -> None:
    session.execute(update(MemberRow).where(MemberRow.id == member_id).values(email=email))


# --- identity verifications and terms -----------------------------------------------------------


def _verification(row: VerificationRow) -> Verification:
    return Verification(
        id=row.id,
        purpose=VerificationPurpose(row.purpose),
        status=VerificationStatus(row.status),
        member_id=row.member_id,
        name=row.name,
        birth_date=row.birth_date,
        phone=row.phone,
        personal_identifier=row.personal_identifier,
        code_expires_at=row.code_expires_at,
        code_attempts=row.code_attempts,
        sends=row.sends,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def insert_verification(
    session: Session,
    *,
    verification_id: int,
    purpose: VerificationPurpose,
    token_hash: str,
    member_id: int | None,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    session.execute(
        insert(VerificationRow).values(
            id=verification_id,
            purpose=purpose.value,
            status=VerificationStatus.STARTED.value,
            token_hash=token_hash,
            member_id=member_id,
            code_attempts=0,
            sends=0,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def verification_by_token_hash(session: Session, token_hash: str) -> Verification | None:
    row = session.scalars(select(VerificationRow).where(VerificationRow.token_hash == token_hash)).first()
    return None if row is None else _verification(row)


def verification_by_id(session: Session, verification_id: int) -> Verification | None:
    row = session.get(VerificationRow, verification_id)
    return None if row is None else _verification(row)


def verification_code_hash(session: Session, verification_id: int) -> str | None:
    return session.scalar(select(VerificationRow.code_hash).where(VerificationRow.id == verification_id))


def update_verification(session: Session, verification_id: int, **values: Any) -> None:
    if "status" in values and isinstance(values["status"], VerificationStatus):
        values["status"] = values["status"].value
    session.execute(update(VerificationRow).where(VerificationRow.id == verification_id).values(**values))


def record_code_failure(session: Session, verification_id: int) -> int:
    attempts = session.scalar(
        update(VerificationRow)
        .where(VerificationRow.id == verification_id)
        .values(code_attempts=VerificationRow.code_attempts + 1)
        .returning(VerificationRow.code_attempts)
    )
    return int(present(attempts, "the verification vanished while counting a failure"))


def insert_term_acceptance(
    session: Session,
    *,
    acceptance_id: int,
    verification_id: int,
    term_code: str,
    version: str,
    accepted_at: datetime,
) -> None:
    session.execute(
        insert(TermAcceptanceRow).values(
            id=acceptance_id,
            verification_id=verification_id,
            member_id=None,
            term_code=term_code,
            version=version,
            accepted_at=accepted_at,
        )
    )


def assign_term_acceptances(session: Session, verification_id: int, member_id: int) -> None:
    session.execute(
        update(TermAcceptanceRow)
        .where(TermAcceptanceRow.verification_id == verification_id)
        .values(member_id=member_id)
    )


def term_acceptances_of_member(session: Session, member_id: int) -> list[tuple[str, str, datetime]]:
    rows = session.execute(
        select(TermAcceptanceRow.term_code, TermAcceptanceRow.version, TermAcceptanceRow.accepted_at)
        .where(TermAcceptanceRow.member_id == member_id)
        .order_by(TermAcceptanceRow.term_code)
    )
    return [(code, version, at) for code, version, at in rows]


def term_codes_of_verification(session: Session, verification_id: int) -> list[str]:
    return list(
        session.scalars(
            select(TermAcceptanceRow.term_code).where(TermAcceptanceRow.verification_id == verification_id)
        )
    )


# --- devices, sessions, proofs, attempts --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredDevice:
    id: int
    member_id: int
    label: str
    first_seen_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


def _device(row: DeviceRow) -> StoredDevice:
    return StoredDevice(
        id=row.id,
        member_id=row.member_id,
        label=row.label,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
    )


def insert_device(
    session: Session, *, device_id: int, member_id: int, token_hash: str, label: str, now: datetime
) -> None:
    session.execute(
        insert(DeviceRow).values(
            id=device_id,
            member_id=member_id,
            token_hash=token_hash,
            label=label,
            first_seen_at=now,
            last_seen_at=now,
            revoked_at=None,
        )
    )


def device_by_token_hash(session: Session, token_hash: str) -> StoredDevice | None:
    row = session.scalars(select(DeviceRow).where(DeviceRow.token_hash == token_hash)).first()
    return None if row is None else _device(row)


def device_by_id(session: Session, device_id: int) -> StoredDevice | None:
    row = session.get(DeviceRow, device_id)
    return None if row is None else _device(row)


def devices_of_member(session: Session, member_id: int) -> list[StoredDevice]:
    rows = session.scalars(
        select(DeviceRow)
        .where(DeviceRow.member_id == member_id, DeviceRow.revoked_at.is_(None))
        .order_by(DeviceRow.first_seen_at, DeviceRow.id)
    )
    return [_device(row) for row in rows]


def touch_device(session: Session, device_id: int, now: datetime) -> None:
    session.execute(update(DeviceRow).where(DeviceRow.id == device_id).values(last_seen_at=now))


def revoke_device(session: Session, device_id: int, now: datetime) -> None:
    session.execute(update(DeviceRow).where(DeviceRow.id == device_id).values(revoked_at=now))


@dataclass(frozen=True, slots=True)
class StoredSession:
    id: int
    member_id: int
    device_id: int
    login_factor: Factor
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


def _session(row: SessionRow) -> StoredSession:
    return StoredSession(
        id=row.id,
        member_id=row.member_id,
        device_id=row.device_id,
        login_factor=Factor(row.login_factor),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


def insert_session(
    session: Session,
    *,
    session_id: int,
    member_id: int,
    device_id: int,
    token_hash: str,
    login_factor: Factor,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.execute(
        insert(SessionRow).values(
            id=session_id,
            member_id=member_id,
            device_id=device_id,
            token_hash=token_hash,
            login_factor=login_factor.value,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            ended_at=None,
        )
    )


def session_by_token_hash(session: Session, token_hash: str) -> StoredSession | None:
    row = session.scalars(select(SessionRow).where(SessionRow.token_hash == token_hash)).first()
    return None if row is None else _session(row)


def touch_session(session: Session, session_id: int, now: datetime) -> None:
    session.execute(update(SessionRow).where(SessionRow.id == session_id).values(last_seen_at=now))


def end_session(session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(SessionRow)
        .where(SessionRow.id == session_id, SessionRow.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of_device(session: Session, device_id: int, now: datetime) -> None:
    session.execute(
        update(SessionRow)
        .where(SessionRow.device_id == device_id, SessionRow.ended_at.is_(None))
        .values(ended_at=now)
    )


def insert_proof(
    session: Session, *, proof_id: int, session_id: int, factor: Factor, reference: str, proven_at: datetime
) -> None:
    session.execute(
        insert(SessionProofRow).values(
            id=proof_id, session_id=session_id, factor=factor.value, reference=reference, proven_at=proven_at
        )
    )


def latest_proofs(session: Session, session_id: int) -> dict[Factor, datetime]:
    latest: dict[Factor, datetime] = {}
    rows = session.execute(
        select(SessionProofRow.factor, SessionProofRow.proven_at).where(
            SessionProofRow.session_id == session_id
        )
    )
    for factor, proven_at in rows:
        known = latest.get(Factor(factor))
        if known is None or proven_at > known:
            latest[Factor(factor)] = proven_at
    return latest


def insert_attempt(
    session: Session,
    *,
    attempt_id: int,
    member_id: int | None,
    factor: Factor,
    succeeded: bool,
    reason: str,
    reference: str,
    at: datetime,
) -> None:
    session.execute(
        insert(AttemptRow).values(
            id=attempt_id,
            member_id=member_id,
            factor=factor.value,
            succeeded=succeeded,
            reason=reason,
            reference=reference,
            at=at,
        )
    )


def attempts_of_member(session: Session, member_id: int) -> list[tuple[Factor, bool, str]]:
    rows = session.execute(
        select(AttemptRow.factor, AttemptRow.succeeded, AttemptRow.reason)
        .where(AttemptRow.member_id == member_id)
        .order_by(AttemptRow.id)
    )
    return [(Factor(factor), succeeded, reason) for factor, succeeded, reason in rows]


def attempt_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AttemptRow)) or 0


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


# --- passkeys -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredPasskey:
    id: int
    member_id: int
    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


def _passkey(row: PasskeyRow) -> StoredPasskey:
    return StoredPasskey(
        id=row.id,
        member_id=row.member_id,
        credential_id=row.credential_id,
        public_key=row.public_key,
        sign_count=row.sign_count,
        aaguid=row.aaguid,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def insert_passkey(
    session: Session,
    *,
    passkey_id: int,
    member_id: int,
    credential_id: str,
    public_key: bytes,
    sign_count: int,
    aaguid: str,
    label: str,
    created_at: datetime,
) -> None:
    session.execute(
        insert(PasskeyRow).values(
            id=passkey_id,
            member_id=member_id,
            credential_id=credential_id,
            public_key=public_key,
            sign_count=sign_count,
            aaguid=aaguid,
            label=label,
            created_at=created_at,
            last_used_at=None,
        )
    )


def passkey_by_credential_id(session: Session, credential_id: str) -> StoredPasskey | None:
    row = session.scalars(select(PasskeyRow).where(PasskeyRow.credential_id == credential_id)).first()
    return None if row is None else _passkey(row)


def passkeys_of_member(session: Session, member_id: int) -> list[StoredPasskey]:
    rows = session.scalars(
        select(PasskeyRow).where(PasskeyRow.member_id == member_id).order_by(PasskeyRow.created_at)
    )
    return [_passkey(row) for row in rows]


def record_passkey_use(
    session: Session, passkey_id: int, *, previous_count: int, sign_count: int, now: datetime
) -> bool:
    """Advance the counter only from the value the check was made against (no lost update)."""
    result = session.execute(
        update(PasskeyRow)
        .where(PasskeyRow.id == passkey_id, PasskeyRow.sign_count == previous_count)
        .values(sign_count=sign_count, last_used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete_passkey(session: Session, passkey_id: int) -> None:
    session.execute(delete(PasskeyRow).where(PasskeyRow.id == passkey_id))


@dataclass(frozen=True, slots=True)
class StoredWebauthnChallenge:
    id: int
    member_id: int | None
    ceremony: str
    challenge: str
    expires_at: datetime
    used_at: datetime | None


def insert_webauthn_challenge(
    session: Session,
    *,
    challenge_id: int,
    member_id: int | None,
    ceremony: str,
    challenge: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    session.execute(
        insert(WebauthnChallengeRow).values(
            id=challenge_id,
            member_id=member_id,
            ceremony=ceremony,
            challenge=challenge,
            created_at=created_at,
            expires_at=expires_at,
            used_at=None,
        )
    )


def webauthn_challenge(session: Session, challenge_id: int) -> StoredWebauthnChallenge | None:
    row = session.get(WebauthnChallengeRow, challenge_id)
    if row is None:
        return None
    return StoredWebauthnChallenge(
        id=row.id,
        member_id=row.member_id,
        ceremony=row.ceremony,
        challenge=row.challenge,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


def use_webauthn_challenge(session: Session, challenge_id: int, now: datetime) -> bool:
    result = session.execute(
        update(WebauthnChallengeRow)
        .where(WebauthnChallengeRow.id == challenge_id, WebauthnChallengeRow.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- ARS ----------------------------------------------------------------------------------------


def _ars_call(row: ArsCallRow) -> ArsCall:
    return ArsCall(
        id=row.id,
        member_id=row.member_id,
        purpose=row.purpose,
        text=row.text,
        phone=row.phone,
        status=ArsStatus(row.status),
        attempts=row.attempts,
        created_at=row.created_at,
        expires_at=row.expires_at,
        confirmed_at=row.confirmed_at,
    )


def insert_ars_call(
    session: Session,
    *,
    call_id: int,
    member_id: int,
    session_id: int | None,
    purpose: str,
    text: str,
    phone: str,
    code_hash: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    session.execute(
        insert(ArsCallRow).values(
            id=call_id,
            member_id=member_id,
            session_id=session_id,
            purpose=purpose,
            text=text,
            phone=phone,
            code_hash=code_hash,
            status=ArsStatus.CALLING.value,
            attempts=0,
            created_at=created_at,
            expires_at=expires_at,
            confirmed_at=None,
        )
    )


def ars_call(session: Session, call_id: int) -> ArsCall | None:
    row = session.get(ArsCallRow, call_id)
    return None if row is None else _ars_call(row)


def ars_call_session(session: Session, call_id: int) -> int | None:
    return session.scalar(select(ArsCallRow.session_id).where(ArsCallRow.id == call_id))


def ars_code_hash(session: Session, call_id: int) -> str:
    return present(
        session.scalar(select(ArsCallRow.code_hash).where(ArsCallRow.id == call_id)), "an ARS call has a code"
    )


def record_ars_failure(session: Session, call_id: int) -> int:
    attempts = session.scalar(
        update(ArsCallRow)
        .where(ArsCallRow.id == call_id)
        .values(attempts=ArsCallRow.attempts + 1)
        .returning(ArsCallRow.attempts)
    )
    return int(present(attempts, "the call vanished while counting a failure"))


def finish_ars_call(session: Session, call_id: int, *, status: ArsStatus, now: datetime) -> bool:
    result = session.execute(
        update(ArsCallRow)
        .where(ArsCallRow.id == call_id, ArsCallRow.status == ArsStatus.CALLING.value)
        .values(status=status.value, confirmed_at=now if status is ArsStatus.CONFIRMED else None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- outbox -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    reference: str
    created_at: datetime


def insert_outbox_message(
    session: Session,
    *,
    message_id: int,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    reference: str,
    created_at: datetime,
) -> None:
    session.execute(
        insert(OutboxRow).values(
            id=message_id,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            reference=reference,
            created_at=created_at,
        )
    )


def outbox_messages(
    session: Session, *, recipient: str | None, channel: str | None, limit: int
) -> list[OutboxMessage]:
    """The newest `limit` messages, oldest first."""
    query = select(OutboxRow)
    if recipient is not None:
        query = query.where(OutboxRow.recipient == recipient)
    if channel is not None:
        query = query.where(OutboxRow.channel == channel)
    rows = list(session.scalars(query.order_by(OutboxRow.id.desc()).limit(limit)))
    return [
        OutboxMessage(
            id=row.id,
            channel=row.channel,
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            reference=row.reference,
            created_at=row.created_at,
        )
        for row in reversed(rows)
    ]
