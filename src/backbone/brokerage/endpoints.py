"""The brokerage back office over HTTP, for a firm's operations staff and systems: customers,
accounts, deposits, withdrawals, transfers, balances and history. Bearer operator token."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from backbone.brokerage.domain import TransactionKind
from backbone.brokerage.holdings import Holdings
from backbone.brokerage.schemas import (
    AccountIn,
    AccountOut,
    BalanceOut,
    CashMovementIn,
    CustomerIn,
    CustomerOut,
    FirmIn,
    FirmOut,
    SecuritiesInIn,
    TransactionOut,
    TransactionPage,
    TransferIn,
    TransferOut,
)
from backbone.brokerage.service import Brokerage
from backbone.dependencies import DatabaseDep, IdempotencyKeyDep, OperatorDep, instant_range, service
from backbone.errors import InvalidInput
from backbone.kit.money import Quantity, Won
from backbone.ledger.domain import CASH

backoffice_router = APIRouter(prefix="/api/backoffice/v1", tags=["back office"])


def _brokerage(request: Request) -> Brokerage:
    brokerage: Brokerage = service(request, "brokerage")
    return brokerage


BrokerageDep = Annotated[Brokerage, Depends(_brokerage)]


def _holdings(request: Request) -> Holdings:
    holdings: Holdings = service(request, "holdings")
    return holdings


HoldingsDep = Annotated[Holdings, Depends(_holdings)]


@backoffice_router.get("/firms", summary="Securities firms on this installation")
def list_firms(database: DatabaseDep, brokerage: BrokerageDep, _operator: OperatorDep) -> list[FirmOut]:
    with database.reading() as session:
        return [FirmOut.of(firm) for firm in brokerage.firms(session)]


@backoffice_router.post("/firms", status_code=status.HTTP_201_CREATED, summary="Register a securities firm")
def register_firm(
    body: FirmIn, database: DatabaseDep, brokerage: BrokerageDep, _operator: OperatorDep
) -> FirmOut:
    with database.transaction() as session:
        firm = brokerage.register_firm(
            session,
            code=body.code,
            name_ko=body.name_ko,
            name_en=body.name_en,
            account_number_pattern=body.account_number_pattern,
            branch=body.branch,
            commission_ppm=body.commission_ppm,
        )
    return FirmOut.of(firm)


@backoffice_router.post(
    "/firms/{firm}/customers", status_code=status.HTTP_201_CREATED, summary="Register a customer"
)
def register_customer(
    firm: str, body: CustomerIn, database: DatabaseDep, brokerage: BrokerageDep, _operator: OperatorDep
) -> CustomerOut:
    with database.transaction() as session:
        customer = brokerage.register_customer(
            session,
            firm_code=firm,
            name=body.name,
            birth_date=body.birth_date,
            phone=body.phone,
            email=body.email,
            personal_identifier=body.personal_identifier,
        )
    return CustomerOut.of(customer, firm)


@backoffice_router.post(
    "/firms/{firm}/customers/{customer_id}/accounts",
    status_code=status.HTTP_201_CREATED,
    summary="Open an account",
)
def open_account(
    firm: str,
    customer_id: int,
    body: AccountIn,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    _operator: OperatorDep,
) -> AccountOut:
    with database.transaction() as session:
        customer = brokerage.customer(session, customer_id)
        if customer.firm_id != brokerage.firm(session, firm).id:
            raise InvalidInput(f"customer {customer_id} is not a customer of {firm}")
        account = brokerage.open_account(
            session, customer_id=customer_id, account_type=body.account_type, alias=body.alias
        )
    return AccountOut.of(account)


@backoffice_router.get("/firms/{firm}/accounts", summary="The firm's accounts")
def list_accounts(
    firm: str, database: DatabaseDep, brokerage: BrokerageDep, _operator: OperatorDep
) -> list[AccountOut]:
    with database.reading() as session:
        return [AccountOut.of(account) for account in brokerage.accounts_of_firm(session, firm)]


@backoffice_router.get("/firms/{firm}/accounts/{number}", summary="One account")
def get_account(
    firm: str, number: str, database: DatabaseDep, brokerage: BrokerageDep, _operator: OperatorDep
) -> AccountOut:
    with database.reading() as session:
        return AccountOut.of(brokerage.account_by_number(session, firm, number))


@backoffice_router.get("/firms/{firm}/accounts/{number}/balance", summary="Cash and positions (잔고)")
def get_balance(
    firm: str,
    number: str,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    holdings: HoldingsDep,
    _operator: OperatorDep,
) -> BalanceOut:
    with database.reading() as session:
        account = brokerage.account_by_number(session, firm, number)
        return BalanceOut.of(holdings.balance(session, account))


@backoffice_router.get(
    "/firms/{firm}/accounts/{number}/transactions", summary="Transaction history (거래내역)"
)
def list_transactions(
    firm: str,
    number: str,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    holdings: HoldingsDep,
    _operator: OperatorDep,
    since: Annotated[
        date | None, Query(alias="from", description="First Korean calendar day, inclusive")
    ] = None,
    until: Annotated[
        date | None, Query(alias="to", description="Last Korean calendar day, inclusive")
    ] = None,
    kind: Annotated[list[TransactionKind] | None, Query(description="Only these kinds")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int | None, Query()] = None,
) -> TransactionPage:
    start, end = instant_range(since, until)
    with database.reading() as session:
        account = brokerage.account_by_number(session, firm, number)
        page = holdings.transactions(
            session, account=account, since=start, until=end, kinds=kind, cursor=cursor, limit=limit
        )
    return TransactionPage(
        items=[TransactionOut.of(line) for line in page.items], next_cursor=page.next_cursor
    )


@backoffice_router.post(
    "/firms/{firm}/accounts/{number}/deposits",
    status_code=status.HTTP_201_CREATED,
    summary="Deposit cash (입금)",
)
def deposit(
    firm: str,
    number: str,
    body: CashMovementIn,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    _operator: OperatorDep,
    idempotency_key: IdempotencyKeyDep,
) -> TransferOut:
    with database.transaction() as session:
        account = brokerage.account_by_number(session, firm, number)
        transfer = brokerage.deposit(
            session,
            account=account,
            amount=Won(body.amount_won),
            idempotency_key=idempotency_key,
            memo=body.memo,
        )
    return TransferOut.of(transfer)


@backoffice_router.post(
    "/firms/{firm}/accounts/{number}/withdrawals",
    status_code=status.HTTP_201_CREATED,
    summary="Withdraw cash (출금)",
)
def withdraw(
    firm: str,
    number: str,
    body: CashMovementIn,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    _operator: OperatorDep,
    idempotency_key: IdempotencyKeyDep,
) -> TransferOut:
    with database.transaction() as session:
        account = brokerage.account_by_number(session, firm, number)
        transfer = brokerage.withdraw(
            session,
            account=account,
            amount=Won(body.amount_won),
            idempotency_key=idempotency_key,
            memo=body.memo,
        )
    return TransferOut.of(transfer)


@backoffice_router.post(
    "/firms/{firm}/accounts/{number}/transfers",
    status_code=status.HTTP_201_CREATED,
    summary="Move cash or securities to another account at the firm (대체)",
)
def transfer(
    firm: str,
    number: str,
    body: TransferIn,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    _operator: OperatorDep,
    idempotency_key: IdempotencyKeyDep,
) -> TransferOut:
    amount = _transfer_amount(body)
    with database.transaction() as session:
        source = brokerage.account_by_number(session, firm, number)
        target = brokerage.account_by_number(session, firm, body.to_account)
        moved = brokerage.transfer_between(
            session,
            source=source,
            target=target,
            asset=body.asset,
            amount=amount,
            idempotency_key=idempotency_key,
            memo=body.memo,
        )
    return TransferOut.of(moved)


def _transfer_amount(body: TransferIn) -> int:
    if body.asset == CASH:
        if body.amount_won is None or body.quantity is not None:
            raise InvalidInput("a KRW transfer gives amount_won, and no quantity")
        return Won(body.amount_won).amount
    if body.quantity is None or body.amount_won is not None:
        raise InvalidInput("a securities transfer gives quantity (whole shares), and no amount_won")
    return Quantity.shares(body.quantity).micro


@backoffice_router.post(
    "/firms/{firm}/accounts/{number}/securities-in",
    status_code=status.HTTP_201_CREATED,
    summary="Securities transferred in from another institution (입고), at their book cost",
)
def securities_in(
    firm: str,
    number: str,
    body: SecuritiesInIn,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    _operator: OperatorDep,
    idempotency_key: IdempotencyKeyDep,
) -> TransferOut:
    with database.transaction() as session:
        account = brokerage.account_by_number(session, firm, number)
        delivered = brokerage.deliver_securities(
            session,
            account=account,
            instrument=body.instrument,
            quantity=Quantity.shares(body.quantity),
            unit_cost_won=body.unit_cost_won,
            idempotency_key=idempotency_key,
            memo=body.memo,
        )
    return TransferOut.of(delivered)
