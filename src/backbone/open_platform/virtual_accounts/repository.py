"""Every query about virtual accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from backbone.kit.db import TableRecord
from backbone.open_platform.models import FirmRow, VirtualAccountRow
from backbone.open_platform.virtual_accounts.domain import IssueSource, VirtualAccount, VirtualAccountStatus


def virtual_account_of(row: VirtualAccountRow | TableRecord, firm_code: str) -> VirtualAccount:
    return VirtualAccount(
        id=row.id,
        number=row.number,
        member_id=row.member_id,
        firm_id=row.firm_id,
        firm_code=firm_code,
        real_number=row.real_number,
        alias=row.alias,
        account_type=row.account_type,
        source=IssueSource(row.source),
        status=VirtualAccountStatus(row.status),
        issued_at=row.issued_at,
    )


def number_taken(session: Session, number: str) -> bool:
    return session.scalar(select(VirtualAccountRow.id).where(VirtualAccountRow.number == number)) is not None


def insert_virtual_account(session: Session, account: VirtualAccount) -> None:
    session.execute(
        insert(VirtualAccountRow).values(
            id=account.id,
            number=account.number,
            member_id=account.member_id,
            firm_id=account.firm_id,
            real_number=account.real_number,
            alias=account.alias,
            account_type=account.account_type,
            source=account.source.value,
            status=account.status.value,
            issued_at=account.issued_at,
            closed_at=None,
        )
    )


def virtual_accounts_of_member(
    session: Session, member_id: int, *, active_only: bool
) -> list[VirtualAccount]:
    statement = (
        select(VirtualAccountRow, FirmRow.code)
        .join(FirmRow, FirmRow.id == VirtualAccountRow.firm_id)
        .where(VirtualAccountRow.member_id == member_id)
        .order_by(VirtualAccountRow.id)
    )
    if active_only:
        statement = statement.where(VirtualAccountRow.status == VirtualAccountStatus.ACTIVE.value)
    return [virtual_account_of(row, code) for row, code in session.execute(statement)]


def virtual_account_by_number(session: Session, number: str) -> VirtualAccount | None:
    found = session.execute(
        select(VirtualAccountRow, FirmRow.code)
        .join(FirmRow, FirmRow.id == VirtualAccountRow.firm_id)
        .where(VirtualAccountRow.number == number)
    ).first()
    return None if found is None else virtual_account_of(found[0], found[1])


def count_of_member(session: Session, member_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(VirtualAccountRow)
            .where(
                VirtualAccountRow.member_id == member_id,
                VirtualAccountRow.status == VirtualAccountStatus.ACTIVE.value,
            )
        )
        or 0
    )


def update_alias(session: Session, account_id: int, alias: str) -> None:
    session.execute(update(VirtualAccountRow).where(VirtualAccountRow.id == account_id).values(alias=alias))


def close(session: Session, account_id: int, at: datetime) -> None:
    session.execute(
        update(VirtualAccountRow)
        .where(VirtualAccountRow.id == account_id)
        .values(status=VirtualAccountStatus.CLOSED.value, closed_at=at)
    )
