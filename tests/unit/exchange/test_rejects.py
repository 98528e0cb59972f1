"""Every reject reason: a stable code, exactly one event, and the engine unchanged."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from backbone.exchange.engine import ORDER_ID_MAX, ORDER_QUANTITY_MAX, MatchingEngine
from backbone.exchange.messages import Command
from backbone.exchange.orders import RejectReason, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.exchange.snapshot import capture
from tests.unit.exchange.builders import (
    buy,
    cancel,
    engine_in,
    market,
    modify,
    phase,
    rejected,
    run,
    sell,
)


def busy_engine(at: SessionPhase = SessionPhase.CONTINUOUS) -> MatchingEngine:
    """A book with something on both sides and one finished order (id 3)."""
    engine = engine_in(at)
    run(engine, [buy(1, 71_000, 10), sell(2, 72_000, 10)])
    if at is SessionPhase.CONTINUOUS:
        run(engine, [buy(3, 72_000, 10), buy(4, 71_000, 5)])
    return engine


CASES: list[tuple[str, Callable[[], MatchingEngine], Command, RejectReason]] = [
    (
        "unknown instrument",
        busy_engine,
        buy(10, 71_000, 1, instrument="999999"),
        RejectReason.UNKNOWN_INSTRUMENT,
    ),
    (
        "cancel on an unknown instrument",
        busy_engine,
        cancel(1, instrument="999999"),
        RejectReason.UNKNOWN_INSTRUMENT,
    ),
    (
        "modify on an unknown instrument",
        busy_engine,
        modify(1, 71_000, 1, instrument="999999"),
        RejectReason.UNKNOWN_INSTRUMENT,
    ),
    (
        "order while closed",
        lambda: engine_in(SessionPhase.CLOSED),
        buy(10, 71_000, 1),
        RejectReason.MARKET_CLOSED,
    ),
    ("cancel while closed", lambda: engine_in(SessionPhase.CLOSED), cancel(1), RejectReason.MARKET_CLOSED),
    (
        "market order in the pre-open auction",
        lambda: busy_engine(SessionPhase.PRE_OPEN_AUCTION),
        market(10, Side.BUY, 1, time_in_force=TimeInForce.DAY),
        RejectReason.NOT_ALLOWED_IN_AUCTION,
    ),
    (
        "IOC in the closing auction",
        lambda: busy_engine(SessionPhase.CLOSING_AUCTION),
        buy(10, 71_000, 1, time_in_force=TimeInForce.IOC),
        RejectReason.NOT_ALLOWED_IN_AUCTION,
    ),
    (
        "FOK in the pre-open auction",
        lambda: busy_engine(SessionPhase.PRE_OPEN_AUCTION),
        sell(10, 71_000, 1, time_in_force=TimeInForce.FOK),
        RejectReason.NOT_ALLOWED_IN_AUCTION,
    ),
    ("order id zero", busy_engine, buy(0, 71_000, 1), RejectReason.INVALID_ORDER_ID),
    ("negative order id", busy_engine, buy(-5, 71_000, 1), RejectReason.INVALID_ORDER_ID),
    ("order id beyond 63 bits", busy_engine, buy(ORDER_ID_MAX + 1, 71_000, 1), RejectReason.INVALID_ORDER_ID),
    ("duplicate of an open order", busy_engine, buy(1, 71_000, 1), RejectReason.DUPLICATE_ORDER_ID),
    ("duplicate of a finished order", busy_engine, sell(3, 73_000, 1), RejectReason.DUPLICATE_ORDER_ID),
    ("cancel of an unknown order", busy_engine, cancel(99), RejectReason.UNKNOWN_ORDER),
    ("modify of an unknown order", busy_engine, modify(99, 71_000, 1), RejectReason.UNKNOWN_ORDER),
    ("cancel of a filled order", busy_engine, cancel(3), RejectReason.ORDER_NOT_OPEN),
    ("modify of a filled order", busy_engine, modify(3, 71_000, 1), RejectReason.ORDER_NOT_OPEN),
    ("price off the 100-won tick", busy_engine, buy(10, 71_050, 1), RejectReason.PRICE_OFF_TICK),
    ("modify to a price off the tick", busy_engine, modify(1, 71_010, 10), RejectReason.PRICE_OFF_TICK),
    ("price above the upper limit", busy_engine, buy(10, 93_000, 1), RejectReason.PRICE_OUTSIDE_LIMITS),
    ("price below the lower limit", busy_engine, sell(10, 50_000, 1), RejectReason.PRICE_OUTSIDE_LIMITS),
    ("price zero on a limit order", busy_engine, sell(10, 0, 1), RejectReason.PRICE_OUTSIDE_LIMITS),
    (
        "modify to a price beyond the limit",
        busy_engine,
        modify(1, 95_000, 10),
        RejectReason.PRICE_OUTSIDE_LIMITS,
    ),
    (
        "market order with a price",
        busy_engine,
        market(10, Side.BUY, 1, price=72_000),
        RejectReason.MARKET_ORDER_WITH_PRICE,
    ),
    ("zero quantity", busy_engine, buy(10, 71_000, 0), RejectReason.QUANTITY_NOT_POSITIVE),
    ("negative quantity", busy_engine, sell(10, 72_000, -3), RejectReason.QUANTITY_NOT_POSITIVE),
    ("modify to zero quantity", busy_engine, modify(1, 71_000, 0), RejectReason.QUANTITY_NOT_POSITIVE),
    (
        "quantity above the maximum",
        busy_engine,
        buy(10, 71_000, ORDER_QUANTITY_MAX + 1),
        RejectReason.QUANTITY_ABOVE_MAXIMUM,
    ),
    (
        "modify above the maximum",
        busy_engine,
        modify(1, 71_000, ORDER_QUANTITY_MAX + 1),
        RejectReason.QUANTITY_ABOVE_MAXIMUM,
    ),
    ("modify that changes nothing", busy_engine, modify(1, 71_000, 10), RejectReason.NOTHING_TO_MODIFY),
    (
        "market order into an empty book",
        engine_in,
        market(10, Side.SELL, 1),
        RejectReason.NO_LIQUIDITY,
    ),
    (
        "FOK larger than the book",
        busy_engine,
        buy(10, 72_000, 11, time_in_force=TimeInForce.FOK),
        RejectReason.FOK_NOT_FILLABLE,
    ),
    (
        "FOK whose limit leaves too little",
        busy_engine,
        sell(10, 71_000, 16, time_in_force=TimeInForce.FOK),
        RejectReason.FOK_NOT_FILLABLE,
    ),
    (
        "book full",
        lambda: busy_engine_with_limits(orders_resting_per_book_max=2),
        buy(10, 70_000, 1),
        RejectReason.BOOK_FULL,
    ),
    (
        "order capacity for the day used up",
        lambda: busy_engine_with_limits(orders_per_day_max=4),
        buy(10, 70_000, 1),
        RejectReason.ORDER_CAPACITY_EXCEEDED,
    ),
    (
        "phase change out of order",
        busy_engine,
        phase(SessionPhase.PRE_OPEN_AUCTION),
        RejectReason.INVALID_PHASE_TRANSITION,
    ),
    (
        "closing before the closing auction",
        busy_engine,
        phase(SessionPhase.CLOSED),
        RejectReason.INVALID_PHASE_TRANSITION,
    ),
]


def busy_engine_with_limits(
    *, orders_per_day_max: int | None = None, orders_resting_per_book_max: int | None = None
) -> MatchingEngine:
    engine = engine_in(
        orders_per_day_max=orders_per_day_max, orders_resting_per_book_max=orders_resting_per_book_max
    )
    run(engine, [buy(1, 71_000, 10), sell(2, 72_000, 10), buy(3, 72_000, 10), buy(4, 71_000, 5)])
    return engine


@pytest.mark.parametrize(
    ("build", "command", "reason"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_rejected_command_returns_its_reason_and_leaves_the_engine_unchanged(
    build: Callable[[], MatchingEngine], command: Command, reason: RejectReason
) -> None:
    engine = build()
    before = capture(engine)
    assert rejected(engine.handle(command)) is reason
    assert capture(engine) == before


def test_every_reject_reason_is_exercised() -> None:
    exercised = {case[3] for case in CASES}
    assert exercised == set(RejectReason)


def test_reject_codes_are_stable_strings() -> None:
    assert RejectReason.PRICE_OFF_TICK.value == "price_off_tick"
    assert RejectReason.NO_LIQUIDITY.value == "no_liquidity"
    assert RejectReason.ORDER_NOT_OPEN.value == "order_not_open"
