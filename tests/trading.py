"""Builders for order-chain tests: a venue with its own journal, the pipeline, and tickets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

from backbone import bootstrap
from backbone.bootstrap import Container, Trading
from backbone.brokerage.trading.desk import CancelRequest, ModifyRequest, PlaceRequest
from backbone.brokerage.trading.domain import OrderRecord, OrderTicket
from backbone.brokerage.trading.pipeline import Outcome
from backbone.brokerage.trading.reconciliation import check_orders
from backbone.errors import BackboneError
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.ledger.audit import audit

_keys = count(1)


FAST_RETRIES_MS = (1, 2, 5)  # the pipeline's tries after a failure, quick enough for a test


@contextmanager
def trading(
    container: Container, directory: Path, *, retry_delays_ms: tuple[int, ...] = FAST_RETRIES_MS
) -> Iterator[Trading]:
    opened = bootstrap.open_trading(
        container, journal_directory=directory / "exchange", retry_delays_ms=retry_delays_ms
    )
    try:
        yield opened
    finally:
        opened.close()


def open_market(clock: SimulatedClock, opened: Trading, *, at: tuple[int, int] = (9, 0)) -> None:
    """Move the clock to today's session time and let the schedule's phase changes through."""
    today = clock.now().astimezone(SEOUL)
    target = datetime(today.year, today.month, today.day, *at, tzinfo=SEOUL)
    if target > clock.now():
        clock.set(target)
    opened.pipeline.advance_session()


def advance(clock: SimulatedClock, opened: Trading, delta: timedelta) -> None:
    clock.advance(delta)
    opened.pipeline.advance_session()


def limit(
    side: Side, quantity: int, price: int, code: str = "005930", tif: TimeInForce = TimeInForce.DAY
) -> OrderTicket:
    return OrderTicket(code, side, OrderType.LIMIT, tif, price, quantity)


def market(side: Side, quantity: int, code: str = "005930") -> OrderTicket:
    return OrderTicket(code, side, OrderType.MARKET, TimeInForce.IOC, None, quantity)


def place(opened: Trading, account_id: int, ticket: OrderTicket, key: str | None = None) -> Outcome:
    return opened.pipeline.process([PlaceRequest(account_id, key or f"key-{next(_keys)}", ticket)])[0]


def placed(opened: Trading, account_id: int, ticket: OrderTicket) -> OrderRecord:
    outcome = place(opened, account_id, ticket)
    if isinstance(outcome, BackboneError):
        raise AssertionError(f"the order was refused: {outcome!r}")
    return outcome


def cancel(opened: Trading, account_id: int, order_id: int) -> Outcome:
    return opened.pipeline.process([CancelRequest(account_id, order_id)])[0]


def modify(
    opened: Trading, account_id: int, order_id: int, *, price: int | None = None, quantity: int | None = None
) -> Outcome:
    return opened.pipeline.process([ModifyRequest(account_id, order_id, price, quantity)])[0]


def agreement(container: Container, opened: Trading) -> list[str]:
    """Every way the brokerage's books differ from the venue's journal (`backbone orders check`)
    or the ledger from itself (`backbone ledger check`): empty when they all agree."""
    with container.database.reading() as session:
        orders = check_orders(
            session, journal_directory=opened.venue.journal_directory, base_prices=opened.venue.base_prices
        )
        ledger = audit(session)
    return [difference.message for difference in orders.differences] + [
        str(violation) for violation in ledger.violations
    ]
