"""Every brokerage query."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from backbone.brokerage.domain import (
    Account,
    AccountNumberFormat,
    AccountStatus,
    AccountType,
    Customer,
    Firm,
    TransactionKind,
    TransactionLine,
)
from backbone.brokerage.models import AccountRow, CustomerRow, FirmRow, TransactionRow
from backbone.kit.check import present


def _firm(row: FirmRow) -> Firm:
    return Firm(
        id=row.id,
        code=row.code,
        name_ko=row.name_ko,
        name_en=row.name_en,
        account_number_format=AccountNumberFormat(row.account_number_pattern),
        branch=row.branch,
        commission_ppm=row.commission_ppm,
    )


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        firm_id=row.firm_id,
        customer_number=row.customer_number,
        name=row.name,
        birth_date=row.birth_date,
        phone=row.phone,
        email=row.email,
        personal_identifier=row.personal_identifier,
    )


def _account(row: AccountRow | Row[Any], firm: Firm) -> Account:
    return Account(
        id=row.id,
        firm=firm,
        customer_id=row.customer_id,
        number=row.number,
        account_type=AccountType(row.account_type),
        alias=row.alias,
        status=AccountStatus(row.status),
        opened_at=row.opened_at,
    )


# --- firms --------------------------------------------------------------------------------------


def insert_firm(
    session: Session,
    *,
    firm_id: int,
    code: str,
    name_ko: str,
    name_en: str,
    pattern: str,
    branch: int,
    commission_ppm: int,
    created_at: datetime,
) -> None:
    session.execute(
        insert(FirmRow).values(
            commission_ppm=commission_ppm,
            id=firm_id,
            code=code,
            name_ko=name_ko,
            name_en=name_en,
            account_number_pattern=pattern,
            branch=branch,
            next_account_serial=1,
            created_at=created_at,
        )
    )


def firm_by_code(session: Session, code: str) -> Firm | None:
    row = session.scalars(select(FirmRow).where(FirmRow.code == code)).first()
    return None if row is None else _firm(row)


def firm_by_id(session: Session, firm_id: int) -> Firm | None:
    row = session.get(FirmRow, firm_id)
    return None if row is None else _firm(row)


def firms(session: Session) -> list[Firm]:
    return [_firm(row) for row in session.scalars(select(FirmRow).order_by(FirmRow.code))]


def firm_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(FirmRow)) or 0


def take_account_serial(session: Session, firm_id: int) -> int:
    """The next serial for this firm's accounts, taken atomically."""
    serial = session.scalar(
        update(FirmRow)
        .where(FirmRow.id == firm_id)
        .values(next_account_serial=FirmRow.next_account_serial + 1)
        .returning(FirmRow.next_account_serial)
    )
    return int(present(serial, f"firm {firm_id} vanished while opening an account")) - 1


# --- customers ----------------------------------------------------------------------------------


def insert_customer(
    session: Session,
    *,
    customer_id: int,
    firm_id: int,
    customer_number: str,
    name: str,
    birth_date: date,
    phone: str,
    email: str | None,
    personal_identifier: str | None,
    created_at: datetime,
) -> None:
    session.execute(
        insert(CustomerRow).values(
            id=customer_id,
            firm_id=firm_id,
            customer_number=customer_number,
            name=name,
            birth_date=birth_date,
            phone=phone,
            email=email,
            personal_identifier=personal_identifier,
            created_at=created_at,
        )
    )


def customer_by_id(session: Session, customer_id: int) -> Customer | None:
    row = session.get(CustomerRow, customer_id)
    return None if row is None else _customer(row)


def customers_of_firm(session: Session, firm_id: int) -> list[Customer]:
    rows = session.scalars(
        select(CustomerRow).where(CustomerRow.firm_id == firm_id).order_by(CustomerRow.customer_number)
    )
    return [_customer(row) for row in rows]


def customers_by_personal_identifier(session: Session, personal_identifier: str) -> list[Customer]:
    rows = session.scalars(
        select(CustomerRow)
        .where(CustomerRow.personal_identifier == personal_identifier)
        .order_by(CustomerRow.id)
    )
    return [_customer(row) for row in rows]


def customer_count(session: Session, firm_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(CustomerRow).where(CustomerRow.firm_id == firm_id))
        or 0
    )


# --- accounts -----------------------------------------------------------------------------------


def insert_account(
    session: Session,
    *,
    account_id: int,
    firm_id: int,
    customer_id: int,
    number: str,
    account_type: AccountType,
    alias: str,
    opened_at: datetime,
) -> None:
    session.execute(
        insert(AccountRow).values(
            id=account_id,
            firm_id=firm_id,
            customer_id=customer_id,
            number=number,
            account_type=account_type.value,
            alias=alias,
            status=AccountStatus.ACTIVE.value,
            opened_at=opened_at,
        )
    )


def lock_accounts(session: Session, account_ids: list[int]) -> None:
    """Serialise every money movement on these accounts until commit (row locks, in id order, on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises all writers)."""
    session.execute(
        select(AccountRow.id)
        .where(AccountRow.id.in_(sorted(set(account_ids))))
        .order_by(AccountRow.id)
        .with_for_update()
    ).all()


def account_by_id(session: Session, account_id: int) -> Account | None:
    row = session.get(AccountRow, account_id)
    if row is None:
        return None
    firm = present(firm_by_id(session, row.firm_id), "an account's firm must exist (foreign key)")
    return _account(row, firm)


_OWNED_ACCOUNT = (
    select(AccountRow, FirmRow)
    .join(CustomerRow, CustomerRow.id == AccountRow.customer_id)
    .join(FirmRow, FirmRow.id == AccountRow.firm_id)
    .where(AccountRow.id == bindparam("account_id"), CustomerRow.personal_identifier == bindparam("person"))
)


def account_of_person(session: Session, personal_identifier: str, account_id: int) -> Account | None:
    """The account if its customer carries this personal identifier, with one query."""
    row = session.execute(_OWNED_ACCOUNT, {"account_id": account_id, "person": personal_identifier}).first()
    return None if row is None else _account(row[0], _firm(row[1]))


def holders_of(session: Session, account_ids: Iterable[int]) -> dict[int, str | None]:
    """Each account's customer's personal identifier, with one query."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(AccountRow.id, CustomerRow.personal_identifier)
        .join(CustomerRow, CustomerRow.id == AccountRow.customer_id)
        .where(AccountRow.id.in_(ids))
    )
    return {row[0]: row[1] for row in rows}


def accounts_by_ids(session: Session, account_ids: Iterable[int]) -> dict[int, Account]:
    """Accounts with their firms, with two queries however many."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = list(session.scalars(select(AccountRow).where(AccountRow.id.in_(ids))))
    firm_rows = session.scalars(select(FirmRow).where(FirmRow.id.in_({row.firm_id for row in rows})))
    firms = {row.id: _firm(row) for row in firm_rows}
    return {row.id: _account(row, firms[row.firm_id]) for row in rows}


def account_by_number(session: Session, firm: Firm, number: str) -> Account | None:
    row = session.scalars(
        select(AccountRow).where(AccountRow.firm_id == firm.id, AccountRow.number == number)
    ).first()
    return None if row is None else _account(row, firm)


def account_with_holder(session: Session, firm: Firm, number: str) -> tuple[Account, str | None] | None:
    """The account and its holder's personal identifier, in one query (for the open platform's
    in-process adapter, which checks the holder on every read)."""
    found = session.execute(
        select(AccountRow, CustomerRow.personal_identifier)
        .join(CustomerRow, CustomerRow.id == AccountRow.customer_id)
        .where(AccountRow.firm_id == firm.id, AccountRow.number == number)
    ).first()
    return None if found is None else (_account(found[0], firm), found[1])


_ACCOUNTS = cast(Table, AccountRow.__table__)
_CUSTOMERS = cast(Table, CustomerRow.__table__)
_ACCOUNTS_WITH_HOLDERS = (
    select(_ACCOUNTS, _CUSTOMERS.c.personal_identifier)
    .join(_CUSTOMERS, _CUSTOMERS.c.id == _ACCOUNTS.c.customer_id)
    .where(_ACCOUNTS.c.number.in_(bindparam("numbers", expanding=True)))
)


def accounts_with_holders(
    session: Session, wanted: Sequence[tuple[Firm, str]]
) -> dict[tuple[int, str], tuple[Account, str | None]]:
    """(firm id, number) -> the account and its holder's personal identifier, for accounts at
    several firms in one Core query (the open platform's integrated inquiry asks for all of a
    member's accounts at once)."""
    firms = {firm.id: firm for firm, _ in wanted}
    keys = {(firm.id, number) for firm, number in wanted}
    if not keys:
        return {}
    rows = session.connection().execute(
        _ACCOUNTS_WITH_HOLDERS, {"numbers": sorted({number for _, number in keys})}
    )
    return {
        (row.firm_id, row.number): (_account(row, firms[row.firm_id]), row.personal_identifier)
        for row in rows
        if (row.firm_id, row.number) in keys
    }


def accounts_of_customer(session: Session, customer_id: int) -> list[Account]:
    rows = list(
        session.scalars(
            select(AccountRow).where(AccountRow.customer_id == customer_id).order_by(AccountRow.id)
        )
    )
    if not rows:
        return []
    firm = present(firm_by_id(session, rows[0].firm_id), "a customer's firm must exist (foreign key)")
    return [_account(row, firm) for row in rows]


def accounts_of_firm(session: Session, firm: Firm) -> list[Account]:
    rows = session.scalars(
        select(AccountRow).where(AccountRow.firm_id == firm.id).order_by(AccountRow.number)
    )
    return [_account(row, firm) for row in rows]


# --- transaction lines (거래내역) ----------------------------------------------------------------

_TRANSACTIONS = cast(Table, TransactionRow.__table__)


def insert_transaction_lines(
    session: Session, lines: Sequence[TransactionLine], transfer_ids: Sequence[int | None]
) -> None:
    if not lines:
        return
    session.connection().execute(
        insert(_TRANSACTIONS),
        [
            {
                "id": line.id,
                "account_id": line.account_id,
                "kind": line.kind.value,
                "occurred_at": line.occurred_at,
                "instrument": line.instrument,
                "quantity_micro": line.quantity_micro,
                "price": line.price,
                "amount_won": line.amount_won,
                "commission_won": line.commission_won,
                "tax_won": line.tax_won,
                "cash_won": line.cash_won,
                "settlement_date": line.settlement_date,
                "memo": line.memo,
                "ledger_transfer_id": transfer_id,
                "execution_id": None,
            }
            for line, transfer_id in zip(lines, transfer_ids, strict=True)
        ],
    )


def transaction_lines(
    session: Session,
    account_id: int,
    *,
    since: datetime | None,
    until: datetime | None,
    kinds: Iterable[TransactionKind] | None,
    before_id: int | None,
    limit: int,
) -> list[TransactionLine]:
    conditions = [_TRANSACTIONS.c.account_id == account_id]
    if since is not None:
        conditions.append(_TRANSACTIONS.c.occurred_at >= since)
    if until is not None:
        conditions.append(_TRANSACTIONS.c.occurred_at < until)
    if kinds is not None:
        conditions.append(_TRANSACTIONS.c.kind.in_([kind.value for kind in kinds]))
    if before_id is not None:
        conditions.append(_TRANSACTIONS.c.id < before_id)
    rows = session.connection().execute(
        select(_TRANSACTIONS).where(*conditions).order_by(_TRANSACTIONS.c.id.desc()).limit(limit)
    )
    return [
        TransactionLine(
            id=row.id,
            account_id=row.account_id,
            kind=TransactionKind(row.kind),
            occurred_at=row.occurred_at,
            instrument=row.instrument,
            quantity_micro=row.quantity_micro,
            price=row.price,
            amount_won=row.amount_won,
            commission_won=row.commission_won,
            tax_won=row.tax_won,
            cash_won=row.cash_won,
            settlement_date=row.settlement_date,
            memo=row.memo,
        )
        for row in rows
    ]
