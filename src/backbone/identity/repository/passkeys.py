"""Passkeys and their WebAuthn ceremonies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from backbone.identity.models import (
    PasskeyRow,
    WebauthnChallengeRow,
)

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
