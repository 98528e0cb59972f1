"""`backbone demo day`: a whole simulated trading day, in seconds.

A fresh installation (its own SQLite database and venue journal) is seeded with the demo world;
then, on a simulated clock, the pre-open call auction, continuous trading and the closing auction
run with the liquidity simulator's order flow and the demo customers' own orders (buys within their
cash, sales within their holdings, some cancelled), the day ends (day orders expire), and the clock
moves to the settlement date, when Monday's trades settle (T+2). At the end the ledger is audited and
the brokerage's orders are checked against the venue's journal (`trading.reconciliation`): both must
find nothing. Everything is seeded: the same seed gives the same day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from backbone import bootstrap, schema
from backbone.bootstrap import Container, Trading
from backbone.brokerage.domain import Account
from backbone.brokerage.models import ExecutionRow, OrderRow, SettlementRow
from backbone.brokerage.trading.desk import CancelRequest, PlaceRequest, Request
from backbone.brokerage.trading.domain import OrderRecord, OrderTicket
from backbone.brokerage.trading.reconciliation import check_orders
from backbone.demo import seed as demo_seed
from backbone.exchange.calendar import krx_calendar
from backbone.exchange.messages import CommandResult, TradeExecuted
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.simulator import LiquiditySimulator
from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.kit.money import MICRO_PER_SHARE, round_down_to_tick, tick_size
from backbone.ledger.audit import audit

DAY_INSTRUMENTS = ("005930", "000660", "035420", "035720", "005380", "051910", "068270", "105560")
SIMULATOR_COMMANDS_PER_STEP = 12
CUSTOMER_ORDER_CHANCE_PER_STEP = 0.35
STEP = timedelta(minutes=1)
SIMULATOR_FIRST_ORDER_ID = 1 << 60  # far above the brokerage's 53-bit ids


@dataclass(frozen=True, slots=True)
class DaySummary:
    trading_day: date
    settlement_day: date
    simulator_commands: int
    customer_orders: int
    customer_cancels: int
    trades: int  # on the venue, all participants
    volume_shares: int
    customer_executions: int
    customer_value_won: int
    commission_won: int
    tax_won: int
    settled: int
    ledger_violations: int
    transfers_checked: int
    orders_checked: int
    order_differences: tuple[str, ...]  # each difference's message; none on a sound day


def first_trading_day(after: date) -> date:
    calendar = krx_calendar()
    day = after
    while not calendar.is_trading_day(day):
        day += timedelta(days=1)
    return day


def run_day(
    container: Container,
    trading: Trading,
    *,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DaySummary:
    clock = container.clock
    if not isinstance(clock, SimulatedClock):
        raise TypeError("a demo day runs on a simulated clock")
    day = clock.now().astimezone(SEOUL).date()
    generator = random.Random(seed)
    base_prices = {code: container.instruments[code].base_price for code in DAY_INSTRUMENTS}
    simulator = LiquiditySimulator(base_prices, seed=seed, first_order_id=SIMULATOR_FIRST_ORDER_ID)
    pipeline = trading.pipeline

    def observe(results: list[CommandResult]) -> None:
        # The simulator learns which of its orders are open only from what the venue publishes.
        for result in results:
            simulator.observe(result)

    pipeline.add_listener(observe)
    with container.database.reading() as session:
        accounts = [
            account
            for firm in container.brokerage.firms(session)
            for account in container.brokerage.accounts_of_firm(session, firm.code)
        ]
    start = datetime.combine(day, datetime.min.time(), tzinfo=SEOUL) + timedelta(hours=8, minutes=30)
    end = start + timedelta(hours=7, minutes=1)  # past the 15:30 close
    steps = int((end - start) / STEP)
    clock.set(start)
    counts = {"simulator": 0, "orders": 0, "cancels": 0, "trades": 0, "volume": 0}
    open_orders: list[OrderRecord] = []
    for step in range(steps):
        pipeline.advance_session()
        commands = [
            simulator.next_command(trading.venue.timestamp_ns()) for _ in range(SIMULATOR_COMMANDS_PER_STEP)
        ]
        for result in pipeline.run_commands(commands):
            for event in result.events:
                if isinstance(event, TradeExecuted):
                    counts["trades"] += 1
                    counts["volume"] += event.quantity
        counts["simulator"] += len(commands)
        if generator.random() < CUSTOMER_ORDER_CHANCE_PER_STEP:
            _customer_turn(container, trading, generator, accounts, open_orders, counts)
        clock.advance(STEP)
        if progress is not None:
            progress(step + 1, steps)
    pipeline.advance_session()  # the close: the closing auction, then day orders expire
    settlement_day = krx_calendar().add_trading_days(day, 2)
    clock.set(
        datetime.combine(settlement_day, datetime.min.time(), tzinfo=SEOUL) + timedelta(hours=8, minutes=31)
    )
    pipeline.advance_session()  # the settlement day opens: Monday's trades settle
    return _summary(container, trading, day, settlement_day, counts)


def _customer_turn(
    container: Container,
    trading: Trading,
    generator: random.Random,
    accounts: list[Account],
    open_orders: list[OrderRecord],
    counts: dict[str, int],
) -> None:
    if open_orders and generator.random() < 0.3:
        order = open_orders.pop(generator.randrange(len(open_orders)))
        outcome = trading.pipeline.process([CancelRequest(order.account_id, order.id)])[0]
        counts["cancels"] += isinstance(outcome, OrderRecord)
        return
    account = generator.choice(accounts)
    request = _customer_order(container, trading, generator, account, counts["orders"])
    if request is None:
        return
    outcome = trading.pipeline.process([request])[0]
    counts["orders"] += 1
    if isinstance(outcome, OrderRecord) and not outcome.is_finished:
        open_orders.append(outcome)


def _customer_order(
    container: Container, trading: Trading, generator: random.Random, account: Account, number: int
) -> Request | None:
    with container.database.reading() as session:
        balance = container.holdings.balance(session, account)
    code = generator.choice(DAY_INSTRUMENTS)
    last = trading.venue.last_price(code)
    held = next((position for position in balance.positions if position.instrument == code), None)
    selling = held is not None and held.available >= MICRO_PER_SHARE and generator.random() < 0.5
    offset = generator.randint(-3, 3) * tick_size(last)
    price = round_down_to_tick(max(tick_size(last), last + offset))
    if selling and held is not None:
        quantity = generator.randint(1, max(1, held.available // MICRO_PER_SHARE // 3))
        side = Side.SELL
    else:
        budget = balance.cash_available // 4
        quantity = budget // (price + price // 1_000 + 10)
        if quantity < 1:
            return None
        quantity = generator.randint(1, min(quantity, 200))
        side = Side.BUY
    market_order = generator.random() < 0.1
    ticket = OrderTicket(
        instrument=code,
        side=side,
        order_type=OrderType.MARKET if market_order else OrderType.LIMIT,
        time_in_force=TimeInForce.IOC if market_order else TimeInForce.DAY,
        price=None if market_order else price,
        quantity=quantity,
    )
    return PlaceRequest(account.id, f"demo-day-{number}", ticket)


def _summary(
    container: Container, trading: Trading, day: date, settlement_day: date, counts: dict[str, int]
) -> DaySummary:
    with container.database.reading() as session:
        executions, value, commission, tax = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(ExecutionRow.gross_won), 0),
                func.coalesce(func.sum(ExecutionRow.commission_won), 0),
                func.coalesce(func.sum(ExecutionRow.tax_won), 0),
            ).where(ExecutionRow.trade_date == day)
        ).one()
        settled = session.scalar(
            select(func.count()).select_from(SettlementRow).where(SettlementRow.status == "settled")
        )
        customer_orders = session.scalar(
            select(func.count()).select_from(OrderRow).where(OrderRow.trade_date == day)
        )
        report = audit(session)
        orders = check_orders(
            session, journal_directory=trading.venue.journal_directory, base_prices=trading.venue.base_prices
        )
    return DaySummary(
        trading_day=day,
        settlement_day=settlement_day,
        simulator_commands=counts["simulator"],
        customer_orders=customer_orders or 0,
        customer_cancels=counts["cancels"],
        trades=counts["trades"],
        volume_shares=counts["volume"],
        customer_executions=executions,
        customer_value_won=value,
        commission_won=commission,
        tax_won=tax,
        settled=settled or 0,
        ledger_violations=report.violation_count,
        transfers_checked=report.transfers_checked,
        orders_checked=orders.orders_checked,
        order_differences=tuple(difference.message for difference in orders.differences),
    )


def prepare(container: Container) -> None:
    """A fresh database: migrated, the instrument master, the demo world."""
    schema.upgrade(container.database.engine)
    with container.database.transaction() as session:
        bootstrap.sync_reference_data(session, container)
        demo_seed.seed(session, container)
