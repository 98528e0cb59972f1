"""Members, identity verifications and accepted terms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backbone.identity.domain import (
    Member,
    MemberStatus,
    Verification,
    VerificationPurpose,
    VerificationStatus,
)
from backbone.identity.models import (
    MemberRow,
    TermAcceptanceRow,
    VerificationRow,
)
from backbone.kit.check import present

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


def member_of_row(row: MemberRow) -> Member:
    return _member(row)


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
