"""Every query of the audit trail: changes (consents, links, apps, firms) and reads of investors' data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from backbone.open_platform.models import AuditRow, DataReadRow

_READS = cast(Table, DataReadRow.__table__)


@dataclass(frozen=True, slots=True)
class DataRead:
    id: int
    at: datetime
    app_id: int
    member_id: int
    virtual_account_id: int
    fintech_consent_id: int
    platform_consent_id: int
    resource: str
    request_id: str


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    at: datetime
    action: str
    actor: str
    member_id: int | None
    app_id: int | None
    company_id: int | None
    consent_id: int | None
    virtual_account_id: int | None
    detail: str


def record_change(
    session: Session,
    *,
    audit_id: int,
    at: datetime,
    action: str,
    actor: str,
    detail: str = "",
    member_id: int | None = None,
    app_id: int | None = None,
    company_id: int | None = None,
    consent_id: int | None = None,
    virtual_account_id: int | None = None,
) -> None:
    session.execute(
        insert(AuditRow).values(
            id=audit_id,
            at=at,
            action=action,
            actor=actor,
            member_id=member_id,
            app_id=app_id,
            company_id=company_id,
            consent_id=consent_id,
            virtual_account_id=virtual_account_id,
            detail=detail[:400],
        )
    )


def changes_of_member(session: Session, member_id: int, limit: int) -> list[Change]:
    rows = session.scalars(
        select(AuditRow).where(AuditRow.member_id == member_id).order_by(AuditRow.id.desc()).limit(limit)
    )
    return [
        Change(
            id=row.id,
            at=row.at,
            action=row.action,
            actor=row.actor,
            member_id=row.member_id,
            app_id=row.app_id,
            company_id=row.company_id,
            consent_id=row.consent_id,
            virtual_account_id=row.virtual_account_id,
            detail=row.detail,
        )
        for row in rows
    ]


def insert_reads(session: Session, reads: Sequence[DataRead]) -> None:
    if reads:
        session.connection().execute(
            insert(_READS),
            [
                {
                    "id": read.id,
                    "at": read.at,
                    "app_id": read.app_id,
                    "member_id": read.member_id,
                    "virtual_account_id": read.virtual_account_id,
                    "fintech_consent_id": read.fintech_consent_id,
                    "platform_consent_id": read.platform_consent_id,
                    "resource": read.resource,
                    "request_id": read.request_id,
                }
                for read in reads
            ],
        )


def read_ids_present(session: Session, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.connection().scalars(select(_READS.c.id).where(_READS.c.id.in_(ids))))


def reads_of_member(session: Session, member_id: int, limit: int) -> list[DataRead]:
    rows = session.connection().execute(
        select(_READS).where(_READS.c.member_id == member_id).order_by(_READS.c.id.desc()).limit(limit)
    )
    return [
        DataRead(
            id=row.id,
            at=row.at,
            app_id=row.app_id,
            member_id=row.member_id,
            virtual_account_id=row.virtual_account_id,
            fintech_consent_id=row.fintech_consent_id,
            platform_consent_id=row.platform_consent_id,
            resource=row.resource,
            request_id=row.request_id,
        )
        for row in rows
    ]
