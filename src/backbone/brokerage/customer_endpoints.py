"""The brokerage API for a firm's own front ends, as the investor signed in to the portal sees it:
their accounts at every firm, balances, transaction history, watchlists, withdrawals.

A member reaches the accounts of the customers carrying their personal identifier; any other
account answers as unknown (404), so account ids cannot be probed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from backbone.brokerage.domain import Account, TransactionKind
from backbone.brokerage.errors import BrokerageError
from backbone.brokerage.holdings import Holdings
from backbone.brokerage.schemas import BalanceOut, TransactionOut, TransactionPage, TransferOut
from backbone.brokerage.service import Brokerage
from backbone.brokerage.trading.schemas import (
    AccountSummaryOut,
    WatchlistIn,
    WatchlistOut,
    WatchlistUpdateIn,
    WithdrawalIn,
)
from backbone.brokerage.watchlists import Watchlists
from backbone.dependencies import ClockDep, DatabaseDep, IdempotencyKeyDep, instant_range, service
from backbone.identity.dependencies import CurrentMemberDep
from backbone.identity.domain import CurrentMember, Operation
from backbone.identity.service import Identity
from backbone.kit.db import Database
from backbone.kit.money import Won

customer_router = APIRouter(prefix="/api/v1/brokerage", tags=["brokerage"])


class WithdrawalWaiting(BrokerageError):
    """A large withdrawal from a new device waits after its certificate signature (voice-phishing rule)."""

    status_code = 409
    code = "brokerage.withdrawal_waiting_period"
    title = "The withdrawal must wait"


def _brokerage(request: Request) -> Brokerage:
    brokerage: Brokerage = service(request, "brokerage")
    return brokerage


def _holdings(request: Request) -> Holdings:
    holdings: Holdings = service(request, "holdings")
    return holdings


def _watchlists(request: Request) -> Watchlists:
    watchlists: Watchlists = service(request, "watchlists")
    return watchlists


def _identity(request: Request) -> Identity:
    identity: Identity = service(request, "identity")
    return identity


BrokerageDep = Annotated[Brokerage, Depends(_brokerage)]
HoldingsDep = Annotated[Holdings, Depends(_holdings)]
WatchlistsDep = Annotated[Watchlists, Depends(_watchlists)]
IdentityDep = Annotated[Identity, Depends(_identity)]


def owned_account(
    database: Database, brokerage: Brokerage, member: CurrentMember, account_id: int
) -> Account:
    with database.reading() as session:
        return brokerage.account_of_person(session, member.personal_identifier, account_id)


@customer_router.get("/accounts", summary="My accounts at every firm")
def my_accounts(
    member: CurrentMemberDep, database: DatabaseDep, brokerage: BrokerageDep
) -> list[AccountSummaryOut]:
    with database.reading() as session:
        return [
            AccountSummaryOut.of(account)
            for account in brokerage.accounts_of_person(session, member.personal_identifier)
        ]


@customer_router.get("/accounts/{account_id}/balance", summary="잔고: cash (D+0, D+1, D+2) and positions")
def balance(
    account_id: int,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    holdings: HoldingsDep,
) -> BalanceOut:
    with database.reading() as session:
        account = brokerage.account_of_person(session, member.personal_identifier, account_id)
        return BalanceOut.of(holdings.balance(session, account))


@customer_router.get("/accounts/{account_id}/transactions", summary="거래내역")
def transactions(
    account_id: int,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    holdings: HoldingsDep,
    since: Annotated[date | None, Query(alias="from", description="First Korean calendar day")] = None,
    until: Annotated[
        date | None, Query(alias="to", description="Last Korean calendar day, inclusive")
    ] = None,
    kind: Annotated[list[TransactionKind] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int | None, Query()] = None,
) -> TransactionPage:
    start, end = instant_range(since, until)
    with database.reading() as session:
        account = brokerage.account_of_person(session, member.personal_identifier, account_id)
        page = holdings.transactions(
            session, account=account, since=start, until=end, kinds=kind, cursor=cursor, limit=limit
        )
    return TransactionPage(
        items=[TransactionOut.of(line) for line in page.items], next_cursor=page.next_cursor
    )


@customer_router.get("/accounts/{account_id}/watchlists", summary="관심종목 groups")
def list_watchlists(
    account_id: int,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    watchlists: WatchlistsDep,
) -> list[WatchlistOut]:
    account = owned_account(database, brokerage, member, account_id)
    with database.reading() as session:
        return [WatchlistOut.of(group) for group in watchlists.groups(session, account.customer_id)]


@customer_router.post(
    "/accounts/{account_id}/watchlists", status_code=status.HTTP_201_CREATED, summary="A new 관심종목 group"
)
def create_watchlist(
    account_id: int,
    body: WatchlistIn,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    watchlists: WatchlistsDep,
) -> WatchlistOut:
    account = owned_account(database, brokerage, member, account_id)
    with database.transaction() as session:
        group = watchlists.create_group(session, account.customer_id, body.name, body.instruments)
    return WatchlistOut.of(group)


@customer_router.put(
    "/accounts/{account_id}/watchlists/{group_id}", summary="Rename a group or replace its list"
)
def update_watchlist(
    account_id: int,
    group_id: int,
    body: WatchlistUpdateIn,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    watchlists: WatchlistsDep,
) -> WatchlistOut:
    account = owned_account(database, brokerage, member, account_id)
    with database.transaction() as session:
        if body.name is not None:
            watchlists.rename(session, account.customer_id, group_id, body.name)
        if body.instruments is not None:
            watchlists.replace_items(session, account.customer_id, group_id, body.instruments)
        (group,) = [
            group for group in watchlists.groups(session, account.customer_id) if group.id == group_id
        ]
    return WatchlistOut.of(group)


@customer_router.delete(
    "/accounts/{account_id}/watchlists/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a group",
)
def delete_watchlist(
    account_id: int,
    group_id: int,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    watchlists: WatchlistsDep,
) -> None:
    account = owned_account(database, brokerage, member, account_id)
    with database.transaction() as session:
        watchlists.delete_group(session, account.customer_id, group_id)


@customer_router.post(
    "/accounts/{account_id}/withdrawals",
    status_code=status.HTTP_201_CREATED,
    summary="출금: to the account holder's bank; large amounts need a fresh signature or ARS",
)
def withdraw(
    account_id: int,
    body: WithdrawalIn,
    member: CurrentMemberDep,
    idempotency_key: IdempotencyKeyDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    identity: IdentityDep,
    clock: ClockDep,
) -> TransferOut:
    amount = Won(body.amount_won)
    clearance = identity.step_up.require(member, Operation.WITHDRAWAL, amount_won=amount.amount)
    if clearance.not_before > clock.now():
        raise WithdrawalWaiting(
            f"a withdrawal of {amount} from a new device may run from {clearance.not_before.isoformat()}",
            not_before=clearance.not_before.isoformat(),
        )
    with database.transaction() as session:
        account = brokerage.account_of_person(session, member.personal_identifier, account_id)
        transfer = brokerage.withdraw(
            session,
            account=account,
            amount=amount,
            idempotency_key=f"member:{member.member_id}:{idempotency_key}",
        )
    return TransferOut.of(transfer)
