"""Devices, sessions, their proofs, and the log of authentication attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from backbone.identity.domain import (
    Factor,
    Member,
)
from backbone.identity.models import (
    AttemptRow,
    DeviceRow,
    MemberRow,
    SessionProofRow,
    SessionRow,
)
from backbone.identity.repository.members import member_of_row

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


_AUTHENTICATION = (
    select(SessionRow, DeviceRow, MemberRow)
    .join(DeviceRow, DeviceRow.id == SessionRow.device_id)
    .join(MemberRow, MemberRow.id == SessionRow.member_id)
    .where(SessionRow.token_hash == bindparam("token_hash"))
)
_PROOFS = select(SessionProofRow.factor, SessionProofRow.proven_at).where(
    SessionProofRow.session_id == bindparam("session_id")
)


def authentication_by_token_hash(
    session: Session, token_hash: str
) -> tuple[StoredSession, StoredDevice, Member] | None:
    """A session with its device and member, in one query: every authenticated request asks."""
    row = session.execute(_AUTHENTICATION, {"token_hash": token_hash}).first()
    if row is None:
        return None
    stored_session, device, member = row
    return _session(stored_session), _device(device), member_of_row(member)


def proofs_of_session(session: Session, session_id: int) -> dict[Factor, datetime]:
    latest: dict[Factor, datetime] = {}
    for factor, proven_at in session.connection().execute(_PROOFS, {"session_id": session_id}):
        known = latest.get(Factor(factor))
        if known is None or proven_at > known:
            latest[Factor(factor)] = proven_at
    return latest
