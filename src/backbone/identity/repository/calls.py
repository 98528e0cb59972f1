"""ARS calls and the development outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backbone.identity.domain import (
    ArsCall,
    ArsStatus,
)
from backbone.identity.models import (
    ArsCallRow,
    OutboxRow,
)
from backbone.kit.check import present

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
