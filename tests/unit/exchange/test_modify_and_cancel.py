"""Modify (정정) and cancel (취소): what keeps time priority and what loses it."""

from __future__ import annotations

from backbone.exchange.messages import LevelChanged, OrderCancelled, OrderModified
from backbone.exchange.orders import CancelReason, OrderStatus, RejectReason, Side
from backbone.exchange.snapshot import capture
from tests.unit.exchange.builders import (
    HYNIX,
    buy,
    cancel,
    engine_in,
    modify,
    of_type,
    queue,
    rejected,
    run,
    sell,
    state,
    trades,
)


def test_quantity_decrease_at_the_same_price_keeps_time_priority() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 10), buy(2, 71_000, 10)])
    events = engine.handle(modify(1, 71_000, 4))
    (modified,) = of_type(OrderModified, events)
    assert (modified.quantity, modified.priority_kept) == (4, True)
    assert queue(engine, Side.BUY) == [(1, 71_000, 4), (2, 71_000, 10)]
    assert trades(engine.handle(sell(3, 71_000, 5))) == [(71_000, 4, 1, 3), (71_000, 1, 2, 3)]


def test_quantity_decrease_counts_as_cancelled_quantity() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 10))
    engine.handle(modify(1, 71_000, 4))
    order = state(engine, 1)
    assert (order.quantity, order.open_quantity, order.cancelled_quantity) == (10, 4, 6)
    assert order.status is OrderStatus.OPEN


def test_price_change_loses_time_priority_even_when_it_comes_back() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 10), buy(2, 71_000, 10)])
    engine.handle(modify(1, 70_900, 10))
    (modified,) = of_type(OrderModified, engine.handle(modify(1, 71_000, 10)))
    assert modified.priority_kept is False
    assert queue(engine, Side.BUY) == [(2, 71_000, 10), (1, 71_000, 10)]


def test_quantity_increase_goes_to_the_back_of_its_level() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 10), buy(2, 71_000, 10)])
    (modified,) = of_type(OrderModified, engine.handle(modify(1, 71_000, 15)))
    assert modified.priority_kept is False
    assert queue(engine, Side.BUY) == [(2, 71_000, 10), (1, 71_000, 15)]
    assert state(engine, 1).quantity == 15  # submitted quantity includes the increase


def test_price_change_moves_the_quantity_between_levels() -> None:
    engine = engine_in()
    run(engine, [sell(1, 72_000, 10), sell(2, 72_000, 5)])
    events = engine.handle(modify(1, 72_500, 10))
    changed = [(e.side, e.price, e.quantity, e.order_count) for e in of_type(LevelChanged, events)]
    assert changed == [(Side.SELL, 72_000, 5, 1), (Side.SELL, 72_500, 10, 1)]


def test_modify_that_crosses_trades_as_aggressor_at_the_resting_price() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 3), buy(2, 71_000, 10)])
    events = engine.handle(modify(2, 71_600, 10))
    assert trades(events) == [(71_500, 3, 2, 1)]
    assert of_type(OrderModified, events)[0].priority_kept is False
    assert queue(engine, Side.BUY) == [(2, 71_600, 7)]
    assert state(engine, 2).status is OrderStatus.PARTIALLY_FILLED


def test_modify_of_a_partially_filled_order_keeps_its_fills() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 10), sell(2, 71_000, 4)])
    engine.handle(modify(1, 70_800, 3))
    order = state(engine, 1)
    assert (order.filled_quantity, order.open_quantity, order.cancelled_quantity) == (4, 3, 3)
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_cancel_removes_the_order_and_reports_its_open_quantity() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 10), buy(2, 71_000, 3), sell(3, 71_000, 4)])
    events = engine.handle(cancel(1))
    (cancelled,) = of_type(OrderCancelled, events)
    assert (cancelled.quantity, cancelled.reason) == (6, CancelReason.REQUESTED)
    assert queue(engine, Side.BUY) == [(2, 71_000, 3)]
    assert state(engine, 1).status is OrderStatus.CANCELLED


def test_cancel_of_a_filled_order_is_rejected_and_changes_nothing() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 5), sell(2, 71_000, 5), buy(3, 70_000, 1)])
    before = capture(engine)
    assert rejected(engine.handle(cancel(1))) is RejectReason.ORDER_NOT_OPEN
    assert capture(engine) == before


def test_cancel_twice_is_rejected_the_second_time() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 5))
    engine.handle(cancel(1))
    assert rejected(engine.handle(cancel(1))) is RejectReason.ORDER_NOT_OPEN


def test_modify_of_a_cancelled_order_is_rejected() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 5))
    engine.handle(cancel(1))
    assert rejected(engine.handle(modify(1, 71_100, 5))) is RejectReason.ORDER_NOT_OPEN


def test_cancel_naming_the_wrong_instrument_is_an_unknown_order() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 5))
    assert rejected(engine.handle(cancel(1, instrument=HYNIX))) is RejectReason.UNKNOWN_ORDER
    assert queue(engine, Side.BUY) == [(1, 71_000, 5)]


def test_modify_to_the_same_price_and_quantity_is_rejected_as_nothing_to_modify() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 5))
    assert rejected(engine.handle(modify(1, 71_000, 5))) is RejectReason.NOTHING_TO_MODIFY
