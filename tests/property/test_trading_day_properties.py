"""Random orders from many accounts across a whole trading day, through the closing auction, the
close and T+2 settlement:

- no account's cash or holdings ever goes below zero (checked after every order);
- after settlement, the cash over all accounts equals what was deposited less what was withdrawn,
  less the commissions and taxes paid; the shares over all accounts equal what was issued;
- the clearing house ends flat in every asset, and the ledger audit finds nothing.

Each example is a fresh SQLite database (copied from the suite's template) and a fresh venue.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backbone import bootstrap
from backbone.brokerage.domain import Account
from backbone.brokerage.models import ExecutionRow
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import CLEARING_OWNER
from backbone.brokerage.trading.desk import CancelRequest, ModifyRequest, PlaceRequest, Request
from backbone.brokerage.trading.domain import OrderStatus, OrderTicket
from backbone.brokerage.trading.reconciliation import check_orders
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.kit.clock import SimulatedClock
from backbone.kit.money import MICRO_PER_SHARE, Won
from backbone.ledger.audit import audit
from backbone.ledger.domain import CASH
from backbone.ledger.models import AccountRow
from tests import builders
from tests.conftest import MARKET_MORNING, settings_for
from tests.trading import open_market

ACCOUNTS = 5
CODE = "005930"  # base price 71,500: limits 50,100 to 92,900, tick 100
PRICES = [71_300 + 100 * step for step in range(5)]  # tight, so that orders cross often


@dataclass(frozen=True)
class Place:
    account: int
    side: Side
    kind: str
    price: int
    quantity: int


@dataclass(frozen=True)
class Cancel:
    account: int
    pick: int  # which earlier order, modulo how many there are


@dataclass(frozen=True)
class Modify:
    account: int
    pick: int
    price: int
    quantity: int


Operation = Place | Cancel | Modify
accounts_index = st.integers(0, ACCOUNTS - 1)
place = st.builds(
    Place,
    accounts_index,
    st.sampled_from(Side),
    st.sampled_from(["limit", "limit", "limit", "market", "ioc", "fok"]),
    st.sampled_from(PRICES),
    st.integers(1, 60),
)
cancel = st.builds(Cancel, accounts_index, st.integers(0, 200))
change = st.builds(Modify, accounts_index, st.integers(0, 200), st.sampled_from(PRICES), st.integers(1, 60))
days = st.lists(st.one_of(place, place, place, place, place, cancel, change), min_size=20, max_size=80)
funding = st.lists(
    st.tuples(st.integers(50, 3_000).map(lambda units: units * 10_000), st.integers(10, 300)),
    min_size=ACCOUNTS,
    max_size=ACCOUNTS,
)


def ticket(side: Side, kind: str, price: int, quantity: int) -> OrderTicket:
    if kind == "market":
        return OrderTicket(CODE, side, OrderType.MARKET, TimeInForce.IOC, None, quantity)
    time_in_force = {"limit": TimeInForce.DAY, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}[kind]
    return OrderTicket(CODE, side, OrderType.LIMIT, time_in_force, price, quantity)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(funding=funding, operations=days)
def test_a_random_trading_day_keeps_every_balance_whole(
    sqlite_template: Path, funding: list[tuple[int, int]], operations: list[Operation]
) -> None:
    directory = Path(tempfile.mkdtemp(prefix="trading-day-"))
    try:
        _run_day(directory, sqlite_template, funding, operations)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run_day(
    directory: Path, template: Path, funding: list[tuple[int, int]], operations: list[Operation]
) -> None:
    shutil.copyfile(template, directory / "day.sqlite3")
    clock = SimulatedClock(MARKET_MORNING)
    container = bootstrap.build(
        settings_for(f"sqlite:///{directory / 'day.sqlite3'}", directory), clock=clock
    )
    try:
        with container.database.transaction() as session:
            builders.firm(container, session)
            accounts = [
                builders.account(
                    container,
                    session,
                    name=f"투자자{index}",
                    cash=cash,
                    shares={CODE: shares} if shares else None,
                )
                for index, (cash, shares) in enumerate(funding)
            ]
        deposited = sum(cash for cash, _ in funding)
        issued = sum(shares for _, shares in funding) * MICRO_PER_SHARE
        opened = bootstrap.open_trading(container, journal_directory=directory / "exchange")
        try:
            open_market(clock, opened)
            placed: list[tuple[int, int]] = []  # (account index, order id)
            for operation in operations:
                request = _request(operation, accounts, placed)
                if request is None:
                    continue
                outcome = opened.pipeline.process([request])[0]
                if isinstance(request, PlaceRequest) and not isinstance(outcome, Exception):
                    placed.append((operation.account, outcome.id))
                _assert_nothing_negative(container)
                clock.advance(timedelta(seconds=30))
            open_market(clock, opened, at=(15, 25))  # the closing call auction
            open_market(clock, opened, at=(15, 31))  # the close: the uncross, then day orders expire
            # Settle: two trading days later (a Monday start, so Wednesday).
            clock.advance(timedelta(days=2))
            opened.pipeline.advance_session()
            withdrawn = 0
            with container.database.transaction() as session:
                first = accounts[0]
                spare = container.brokerage.withdrawable(session, first)
                if spare:
                    container.brokerage.withdraw(
                        session, account=first, amount=Won(spare // 2 or spare), idempotency_key="w"
                    )
                    withdrawn = spare // 2 or spare
            with container.database.reading() as session:
                _assert_whole(container, session, accounts, deposited - withdrawn, issued)
                assert not repository.orders_in_status(
                    session, [OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
                )
                agreement = check_orders(
                    session,
                    journal_directory=opened.venue.journal_directory,
                    base_prices=opened.venue.base_prices,
                )
                assert agreement.ok, [difference.message for difference in agreement.differences]
        finally:
            opened.close()
    finally:
        container.close()


def _request(
    operation: Operation, accounts: Sequence[Account], placed: list[tuple[int, int]]
) -> Request | None:
    if isinstance(operation, Place):
        ticket_ = ticket(operation.side, operation.kind, operation.price, operation.quantity)
        return PlaceRequest(accounts[operation.account].id, f"order-{len(placed)}-{id(operation)}", ticket_)
    if not placed:
        return None
    owner, order_id = placed[operation.pick % len(placed)]
    account_id = accounts[owner].id
    if isinstance(operation, Cancel):
        return CancelRequest(account_id, order_id)
    return ModifyRequest(account_id, order_id, operation.price, operation.quantity)


def _assert_nothing_negative(container: bootstrap.Container) -> None:
    with container.database.reading() as session:
        below = session.scalar(
            select(func.count()).where(AccountRow.minimum_balance.is_not(None), AccountRow.balance < 0)
        )
    assert below == 0


def _assert_whole(
    container: bootstrap.Container, session: Session, accounts: Sequence[Account], cash_in: int, issued: int
) -> None:
    owners = [account.owner for account in accounts]
    cash = session.scalar(
        select(func.coalesce(func.sum(AccountRow.balance), 0)).where(
            AccountRow.owner.in_(owners), AccountRow.asset == CASH
        )
    )
    shares = session.scalar(
        select(func.coalesce(func.sum(AccountRow.balance), 0)).where(
            AccountRow.owner.in_(owners), AccountRow.asset == CODE
        )
    )
    trades = session.scalar(select(func.count()).select_from(ExecutionRow)) or 0
    event(f"executions: {'none' if trades == 0 else 'some' if trades < 10 else 'ten or more'}")
    fees, taxes = session.execute(
        select(
            func.coalesce(func.sum(ExecutionRow.commission_won), 0),
            func.coalesce(func.sum(ExecutionRow.tax_won), 0),
        )
    ).one()
    assert cash == cash_in - fees - taxes
    assert shares == issued
    clearing = dict(
        session.execute(
            select(AccountRow.asset, AccountRow.balance).where(AccountRow.owner == CLEARING_OWNER)
        ).all()
    )
    assert all(balance == 0 for balance in clearing.values()), clearing
    report = audit(session)
    assert report.ok, report.violations
