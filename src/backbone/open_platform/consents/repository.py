"""Every query about consents and consent requests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backbone.kit.db import TableRecord
from backbone.open_platform.consents.domain import Consent, ConsentKind, ConsentMethod, ConsentStatus
from backbone.open_platform.models import ConsentRequestRow, ConsentRow


def consent_of(row: ConsentRow | TableRecord) -> Consent:
    return Consent(
        id=row.id,
        kind=ConsentKind(row.kind),
        member_id=row.member_id,
        firm_id=row.firm_id,
        company_id=row.company_id,
        method=ConsentMethod(row.method),
        signature_id=row.signature_id,
        ars_call_id=row.ars_call_id,
        document_text=row.document_text,
        status=ConsentStatus(row.status),
        signed_at=row.signed_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


def insert_consent(session: Session, consent: Consent, request_id: int) -> None:
    session.execute(
        insert(ConsentRow).values(
            id=consent.id,
            kind=consent.kind.value,
            member_id=consent.member_id,
            firm_id=consent.firm_id,
            company_id=consent.company_id,
            method=consent.method.value,
            signature_id=consent.signature_id,
            ars_call_id=consent.ars_call_id,
            request_id=request_id,
            document_text=consent.document_text,
            status=consent.status.value,
            signed_at=consent.signed_at,
            expires_at=consent.expires_at,
            ended_at=None,
            renewed_by=None,
        )
    )


def consent_by_id(session: Session, consent_id: int) -> Consent | None:
    row = session.get(ConsentRow, consent_id)
    return None if row is None else consent_of(row)


def consents_of_member(session: Session, member_id: int) -> list[Consent]:
    rows = session.scalars(
        select(ConsentRow).where(ConsentRow.member_id == member_id).order_by(ConsentRow.id)
    )
    return [consent_of(row) for row in rows]


def current_consents(
    session: Session, member_id: int, kind: ConsentKind, *, company_id: int | None = None
) -> dict[int, Consent]:
    """The newest consent of this kind per firm (any status), by firm id."""
    statement = select(ConsentRow).where(ConsentRow.member_id == member_id, ConsentRow.kind == kind.value)
    if company_id is not None:
        statement = statement.where(ConsentRow.company_id == company_id)
    found: dict[int, Consent] = {}
    for row in session.scalars(statement.order_by(ConsentRow.id)):
        found[row.firm_id] = consent_of(row)
    return found


def set_status(
    session: Session,
    consent_id: int,
    *,
    expected: ConsentStatus,
    status: ConsentStatus,
    at: datetime,
    renewed_by: int | None = None,
) -> bool:
    """Compare-and-set, so two racing changes cannot both apply."""
    result = session.execute(
        update(ConsentRow)
        .where(ConsentRow.id == consent_id, ConsentRow.status == expected.value)
        .values(status=status.value, ended_at=at, renewed_by=renewed_by)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lapsed_active(session: Session, now: datetime, limit: int) -> list[Consent]:
    rows = session.scalars(
        select(ConsentRow)
        .where(ConsentRow.status == ConsentStatus.ACTIVE.value, ConsentRow.expires_at <= now)
        .order_by(ConsentRow.id)
        .limit(limit)
    )
    return [consent_of(row) for row in rows]


# --- consent requests ---------------------------------------------------------------------------


def insert_request(
    session: Session,
    *,
    request_id: int,
    member_id: int,
    kind: ConsentKind,
    firm_ids: Iterable[int],
    company_id: int | None,
    app_id: int | None,
    method: ConsentMethod,
    text: str,
    challenge_id: int | None,
    ars_call_id: int | None,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    session.execute(
        insert(ConsentRequestRow).values(
            id=request_id,
            member_id=member_id,
            kind=kind.value,
            firm_ids=",".join(str(firm_id) for firm_id in firm_ids),
            company_id=company_id,
            app_id=app_id,
            method=method.value,
            text=text,
            challenge_id=challenge_id,
            ars_call_id=ars_call_id,
            created_at=created_at,
            expires_at=expires_at,
            completed_at=None,
        )
    )


def complete_request(session: Session, request_id: int, at: datetime) -> bool:
    result = session.execute(
        update(ConsentRequestRow)
        .where(ConsentRequestRow.id == request_id, ConsentRequestRow.completed_at.is_(None))
        .values(completed_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
