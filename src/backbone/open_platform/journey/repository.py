"""Every query of the journey: memberships, account links and consent requests."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from backbone.kit.db import TableRecord, TableRecords
from backbone.open_platform.consents.domain import Consent, ConsentKind, ConsentMethod
from backbone.open_platform.consents.repository import consent_of
from backbone.open_platform.firms.domain import PlatformFirm
from backbone.open_platform.firms.repository import firm_of
from backbone.open_platform.journey.domain import ConsentRequest, LinkedAccount, Membership, MembershipStatus
from backbone.open_platform.models import (
    AccountLinkRow,
    AppRow,
    ConsentRequestRow,
    ConsentRow,
    FirmRow,
    MembershipRow,
    VirtualAccountRow,
)
from backbone.open_platform.virtual_accounts.domain import VirtualAccount, VirtualAccountStatus
from backbone.open_platform.virtual_accounts.repository import virtual_account_of


def membership_of_row(row: MembershipRow | TableRecord) -> Membership:
    return Membership(
        id=row.id,
        member_id=row.member_id,
        app_id=row.app_id,
        subject=row.subject,
        status=MembershipStatus(row.status),
        applied_at=row.applied_at,
    )


def insert_membership(session: Session, membership: Membership) -> None:
    session.execute(
        insert(MembershipRow).values(
            id=membership.id,
            member_id=membership.member_id,
            app_id=membership.app_id,
            subject=membership.subject,
            status=membership.status.value,
            applied_at=membership.applied_at,
            withdrawn_at=None,
        )
    )


def membership_of(session: Session, member_id: int, app_id: int) -> Membership | None:
    row = session.scalars(
        select(MembershipRow).where(MembershipRow.member_id == member_id, MembershipRow.app_id == app_id)
    ).first()
    return None if row is None else membership_of_row(row)


def membership_by_subject(session: Session, subject: str) -> Membership | None:
    row = session.scalars(select(MembershipRow).where(MembershipRow.subject == subject)).first()
    return None if row is None else membership_of_row(row)


def membership_by_id(session: Session, membership_id: int) -> Membership | None:
    row = session.get(MembershipRow, membership_id)
    return None if row is None else membership_of_row(row)


def memberships_of_member(session: Session, member_id: int) -> list[Membership]:
    rows = session.scalars(
        select(MembershipRow).where(MembershipRow.member_id == member_id).order_by(MembershipRow.id)
    )
    return [membership_of_row(row) for row in rows]


def set_membership_status(
    session: Session, membership_id: int, status: MembershipStatus, at: datetime | None
) -> None:
    session.execute(
        update(MembershipRow)
        .where(MembershipRow.id == membership_id)
        .values(status=status.value, withdrawn_at=at)
    )


# --- links --------------------------------------------------------------------------------------


def linked_account_ids(session: Session, app_id: int, member_id: int) -> list[int]:
    return list(
        session.scalars(
            select(AccountLinkRow.virtual_account_id)
            .join(VirtualAccountRow, VirtualAccountRow.id == AccountLinkRow.virtual_account_id)
            .where(AccountLinkRow.app_id == app_id, VirtualAccountRow.member_id == member_id)
            .order_by(AccountLinkRow.virtual_account_id)
        )
    )


_VIRTUAL_ACCOUNTS = cast(Table, VirtualAccountRow.__table__)
_FIRMS = cast(Table, FirmRow.__table__)
_CONSENTS = cast(Table, ConsentRow.__table__)
_LINKS = cast(Table, AccountLinkRow.__table__)
_LINKED = TableRecords(_VIRTUAL_ACCOUNTS, _FIRMS, _CONSENTS)
# Built once, in Core: every open API call runs it (the ORM query of the same cost five times more).
_LINKED_ACCOUNTS = (
    select(*_LINKED.columns)
    .select_from(
        _VIRTUAL_ACCOUNTS.join(_LINKS, _LINKS.c.virtual_account_id == _VIRTUAL_ACCOUNTS.c.id)
        .join(_FIRMS, _FIRMS.c.id == _VIRTUAL_ACCOUNTS.c.firm_id)
        .outerjoin(
            _CONSENTS,
            and_(
                _CONSENTS.c.member_id == _VIRTUAL_ACCOUNTS.c.member_id,
                _CONSENTS.c.firm_id == _VIRTUAL_ACCOUNTS.c.firm_id,
                or_(
                    _CONSENTS.c.kind == ConsentKind.PLATFORM_FIRM.value,
                    and_(
                        _CONSENTS.c.kind == ConsentKind.FINTECH_FIRM.value,
                        _CONSENTS.c.company_id == bindparam("company_id"),
                    ),
                ),
            ),
        )
    )
    .where(
        _LINKS.c.app_id == bindparam("app_id"),
        _VIRTUAL_ACCOUNTS.c.member_id == bindparam("member_id"),
        _VIRTUAL_ACCOUNTS.c.status == VirtualAccountStatus.ACTIVE.value,
    )
    .order_by(_VIRTUAL_ACCOUNTS.c.id, _CONSENTS.c.id)
)


def linked_accounts(session: Session, *, app_id: int, company_id: int, member_id: int) -> list[LinkedAccount]:
    """The app's active linked accounts (in link order) with their firms and the newest consent
    of each kind per firm: one query, as every open API call asks it."""
    rows = session.connection().execute(
        _LINKED_ACCOUNTS, {"app_id": app_id, "company_id": company_id, "member_id": member_id}
    )
    accounts: dict[int, tuple[VirtualAccount, PlatformFirm]] = {}
    newest: dict[tuple[int, str], Consent] = {}
    for row in rows:
        account_record, firm_record, consent_record = _LINKED.split(row)
        if account_record.id not in accounts:
            accounts[account_record.id] = (
                virtual_account_of(account_record, firm_record.code),
                firm_of(firm_record),
            )
        if consent_record is not None:  # ordered by id: the last one seen is the newest
            newest[(account_record.id, consent_record.kind)] = consent_of(consent_record)
    return [
        LinkedAccount(
            virtual_account=account,
            firm=firm,
            platform_consent=newest.get((account_id, ConsentKind.PLATFORM_FIRM.value)),
            fintech_consent=newest.get((account_id, ConsentKind.FINTECH_FIRM.value)),
        )
        for account_id, (account, firm) in accounts.items()
    ]


def replace_links(
    session: Session, *, membership: Membership, virtual_account_ids: list[int], at: datetime
) -> None:
    session.execute(delete(AccountLinkRow).where(AccountLinkRow.membership_id == membership.id))
    if virtual_account_ids:
        session.execute(
            insert(AccountLinkRow),
            [
                {
                    "app_id": membership.app_id,
                    "virtual_account_id": account_id,
                    "membership_id": membership.id,
                    "linked_at": at,
                }
                for account_id in virtual_account_ids
            ],
        )


def unlink_account_everywhere(session: Session, virtual_account_id: int) -> list[int]:
    """Remove every link of one virtual account; returns the apps it was linked to."""
    apps = list(
        session.scalars(
            select(AccountLinkRow.app_id).where(AccountLinkRow.virtual_account_id == virtual_account_id)
        )
    )
    session.execute(delete(AccountLinkRow).where(AccountLinkRow.virtual_account_id == virtual_account_id))
    return apps


def apps_linked_at_firm(session: Session, member_id: int, firm_id: int, company_id: int | None) -> list[int]:
    """Apps (of one company, when given) that see some of this member's accounts at this firm."""
    statement = (
        select(AccountLinkRow.app_id)
        .join(VirtualAccountRow, VirtualAccountRow.id == AccountLinkRow.virtual_account_id)
        .where(VirtualAccountRow.member_id == member_id, VirtualAccountRow.firm_id == firm_id)
        .distinct()
    )
    if company_id is not None:
        statement = statement.join(AppRow, AppRow.id == AccountLinkRow.app_id).where(
            AppRow.company_id == company_id
        )
    return sorted(set(session.scalars(statement)))


# --- consent requests ---------------------------------------------------------------------------


def _request(row: ConsentRequestRow) -> ConsentRequest:
    return ConsentRequest(
        id=row.id,
        member_id=row.member_id,
        kind=ConsentKind(row.kind),
        firm_ids=tuple(int(part) for part in row.firm_ids.split(",") if part),
        company_id=row.company_id,
        app_id=row.app_id,
        method=ConsentMethod(row.method),
        text=row.text,
        challenge_id=row.challenge_id,
        ars_call_id=row.ars_call_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
    )


def consent_request(session: Session, request_id: int) -> ConsentRequest | None:
    row = session.get(ConsentRequestRow, request_id)
    return None if row is None else _request(row)
