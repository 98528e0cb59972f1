"""Test builders for the exchange: engines in a given phase, commands with readable defaults.

Samsung Electronics (005930) at a base price of 71,500 won trades on a 100-won tick with daily
limits 50,100 - 92,900; SK hynix (000660) at 180,000 on a 100-won tick (500 from 200,000).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from backbone.exchange.engine import MatchingEngine
from backbone.exchange.messages import (
    CancelOrder,
    ChangeSessionPhase,
    Event,
    LevelChanged,
    ModifyOrder,
    OrderRejected,
    PlaceOrder,
    SessionPhaseChangeRejected,
    TradeExecuted,
)
from backbone.exchange.orders import OrderState, OrderType, RejectReason, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import timestamp_ns
from backbone.kit.clock import SEOUL

SAMSUNG = "005930"
HYNIX = "000660"
BASE_PRICES = {SAMSUNG: 71_500, HYNIX: 180_000}
MONDAY_OPEN = datetime(2025, 1, 6, 9, 0, tzinfo=SEOUL)
T0 = timestamp_ns(MONDAY_OPEN)

E = TypeVar("E", bound=Event)

PHASE_PATH = {
    SessionPhase.CLOSED: [],
    SessionPhase.PRE_OPEN_AUCTION: [SessionPhase.PRE_OPEN_AUCTION],
    SessionPhase.CONTINUOUS: [SessionPhase.PRE_OPEN_AUCTION, SessionPhase.CONTINUOUS],
    SessionPhase.CLOSING_AUCTION: [
        SessionPhase.PRE_OPEN_AUCTION,
        SessionPhase.CONTINUOUS,
        SessionPhase.CLOSING_AUCTION,
    ],
}


def engine_in(
    phase: SessionPhase = SessionPhase.CONTINUOUS,
    *,
    base_prices: dict[str, int] | None = None,
    orders_per_day_max: int | None = None,
    orders_resting_per_book_max: int | None = None,
) -> MatchingEngine:
    limits = {}
    if orders_per_day_max is not None:
        limits["orders_per_day_max"] = orders_per_day_max
    if orders_resting_per_book_max is not None:
        limits["orders_resting_per_book_max"] = orders_resting_per_book_max
    engine = MatchingEngine(base_prices or BASE_PRICES, **limits)
    for step in PHASE_PATH[phase]:
        engine.handle(ChangeSessionPhase(step, T0))
    return engine


def buy(
    order_id: int,
    price: int,
    quantity: int,
    *,
    time_in_force: TimeInForce = TimeInForce.DAY,
    instrument: str = SAMSUNG,
    timestamp: int = T0,
) -> PlaceOrder:
    return PlaceOrder(
        instrument, order_id, Side.BUY, OrderType.LIMIT, time_in_force, price, quantity, timestamp
    )


def sell(
    order_id: int,
    price: int,
    quantity: int,
    *,
    time_in_force: TimeInForce = TimeInForce.DAY,
    instrument: str = SAMSUNG,
    timestamp: int = T0,
) -> PlaceOrder:
    return PlaceOrder(
        instrument, order_id, Side.SELL, OrderType.LIMIT, time_in_force, price, quantity, timestamp
    )


def market(
    order_id: int,
    side: Side,
    quantity: int,
    *,
    time_in_force: TimeInForce = TimeInForce.IOC,
    instrument: str = SAMSUNG,
    price: int = 0,
) -> PlaceOrder:
    return PlaceOrder(instrument, order_id, side, OrderType.MARKET, time_in_force, price, quantity, T0)


def modify(order_id: int, price: int, quantity: int, *, instrument: str = SAMSUNG) -> ModifyOrder:
    return ModifyOrder(instrument, order_id, price, quantity, T0)


def cancel(order_id: int, *, instrument: str = SAMSUNG) -> CancelOrder:
    return CancelOrder(instrument, order_id, T0)


def phase(to: SessionPhase, timestamp: int = T0) -> ChangeSessionPhase:
    return ChangeSessionPhase(to, timestamp)


def run(engine: MatchingEngine, commands: Iterable[PlaceOrder | ModifyOrder | CancelOrder]) -> list[Event]:
    events: list[Event] = []
    for command in commands:
        events.extend(engine.handle(command))
    return events


def of_type(kind: type[E], events: Sequence[Event]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def trades(events: Sequence[Event]) -> list[tuple[int, int, int, int]]:
    """(price, quantity, buy order id, sell order id) of each trade, in order."""
    return [
        (trade.price, trade.quantity, trade.buy_order_id, trade.sell_order_id)
        for trade in of_type(TradeExecuted, events)
    ]


def rejected(events: Sequence[Event]) -> RejectReason:
    assert len(events) == 1, f"a reject is one event, got {events}"
    event = events[0]
    assert isinstance(event, OrderRejected | SessionPhaseChangeRejected), f"not a reject: {event}"
    return event.reason


def levels(events: Sequence[Event]) -> list[tuple[Side, int, int, int]]:
    return [
        (level.side, level.price, level.quantity, level.order_count)
        for level in of_type(LevelChanged, events)
    ]


def queue(engine: MatchingEngine, side: Side, instrument: str = SAMSUNG) -> list[tuple[int, int, int]]:
    """(order id, price, open quantity) of resting orders in priority order."""
    return [
        (state.order_id, state.price, state.open_quantity)
        for state in engine.resting_orders(instrument, side)
    ]


def state(engine: MatchingEngine, order_id: int) -> OrderState:
    found = engine.order_state(order_id)
    assert found is not None, f"order {order_id} is unknown"
    return found
