"""Continuous trading (접속매매): price-time priority, every order type and time in force."""

from __future__ import annotations

from backbone.exchange.messages import (
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    TradeExecuted,
)
from backbone.exchange.orders import CancelReason, OrderStatus, OrderType, RejectReason, Side, TimeInForce
from tests.unit.exchange.builders import (
    SAMSUNG,
    T0,
    buy,
    engine_in,
    market,
    of_type,
    queue,
    rejected,
    run,
    sell,
    state,
    trades,
)


def test_limit_buy_crossing_best_ask_fills_at_ask_price() -> None:
    engine = engine_in()
    engine.handle(sell(1, 71_500, 10))
    events = engine.handle(buy(2, 71_700, 10))
    assert trades(events) == [(71_500, 10, 2, 1)]
    assert queue(engine, Side.SELL) == []
    assert queue(engine, Side.BUY) == []


def test_limit_sell_crossing_best_bid_fills_at_bid_price() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_600, 10))
    events = engine.handle(sell(2, 71_000, 4))
    assert trades(events) == [(71_600, 4, 1, 2)]
    assert queue(engine, Side.BUY) == [(1, 71_600, 6)]


def test_limit_order_that_does_not_cross_rests_and_reports_its_level() -> None:
    engine = engine_in()
    events = engine.handle(buy(1, 71_400, 7))
    assert isinstance(events[0], OrderAccepted)
    assert [(e.side, e.price, e.quantity, e.order_count) for e in of_type(LevelChanged, events)] == [
        (Side.BUY, 71_400, 7, 1)
    ]
    assert engine.best_bid(SAMSUNG) == 71_400
    assert engine.best_ask(SAMSUNG) is None


def test_orders_at_one_price_fill_oldest_first() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 5), sell(2, 71_500, 5), sell(3, 71_500, 5)])
    events = engine.handle(buy(4, 71_500, 8))
    assert trades(events) == [(71_500, 5, 4, 1), (71_500, 3, 4, 2)]
    assert queue(engine, Side.SELL) == [(2, 71_500, 2), (3, 71_500, 5)]


def test_better_price_fills_before_older_order_at_worse_price() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_600, 5), sell(2, 71_500, 5)])
    events = engine.handle(buy(3, 71_600, 6))
    assert trades(events) == [(71_500, 5, 3, 2), (71_600, 1, 3, 1)]


def test_buy_sweeping_several_levels_trades_each_at_its_resting_price() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 3), sell(2, 71_600, 3), sell(3, 71_800, 3)])
    events = engine.handle(buy(4, 71_700, 10))
    assert trades(events) == [(71_500, 3, 4, 1), (71_600, 3, 4, 2)]
    assert queue(engine, Side.BUY) == [(4, 71_700, 4)]
    assert engine.best_ask(SAMSUNG) == 71_800
    changed = [(e.side, e.price, e.quantity) for e in of_type(LevelChanged, events)]
    assert changed == [(Side.SELL, 71_500, 0), (Side.SELL, 71_600, 0), (Side.BUY, 71_700, 4)]


def test_partial_fill_leaves_both_orders_partially_filled_with_open_quantities_reported() -> None:
    engine = engine_in()
    engine.handle(sell(1, 71_500, 10))
    events = engine.handle(buy(2, 71_500, 4))
    (trade,) = of_type(TradeExecuted, events)
    assert (trade.buy_open_quantity, trade.sell_open_quantity) == (0, 6)
    assert trade.aggressor is Side.BUY
    seller = state(engine, 1)
    buyer = state(engine, 2)
    assert (seller.status, seller.open_quantity, seller.filled_quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        6,
        4,
    )
    assert (buyer.status, buyer.open_quantity, buyer.filled_quantity) == (OrderStatus.FILLED, 0, 4)


def test_trade_ids_count_up_across_instruments_and_commands() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 1), sell(2, 71_500, 1), sell(3, 180_000, 1, instrument="000660")])
    first = of_type(TradeExecuted, engine.handle(buy(4, 71_500, 2)))
    second = of_type(TradeExecuted, engine.handle(buy(5, 180_000, 1, instrument="000660")))
    assert [trade.trade_id for trade in first + second] == [1, 2, 3]


def test_market_buy_sweeps_the_book_and_cancels_what_it_cannot_fill() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 3), sell(2, 72_000, 3)])
    events = engine.handle(market(3, Side.BUY, 10))
    assert trades(events) == [(71_500, 3, 3, 1), (72_000, 3, 3, 2)]
    (cancelled,) = of_type(OrderCancelled, events)
    assert (cancelled.quantity, cancelled.reason) == (4, CancelReason.UNFILLED_REMAINDER)
    assert (state(engine, 3).status, state(engine, 3).filled_quantity) == (OrderStatus.CANCELLED, 6)
    assert queue(engine, Side.BUY) == []


def test_market_sell_with_day_time_in_force_still_never_rests() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 2))
    events = engine.handle(market(2, Side.SELL, 5, time_in_force=TimeInForce.DAY))
    assert trades(events) == [(71_000, 2, 1, 2)]
    assert of_type(OrderCancelled, events)[0].quantity == 3
    assert queue(engine, Side.SELL) == []


def test_market_order_into_an_empty_side_is_rejected_for_no_liquidity() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 2))  # liquidity on the wrong side only
    assert rejected(engine.handle(market(2, Side.BUY, 5))) is RejectReason.NO_LIQUIDITY
    assert engine.order_state(2) is None


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 4), sell(2, 71_700, 4)])
    events = engine.handle(buy(3, 71_600, 10, time_in_force=TimeInForce.IOC))
    assert trades(events) == [(71_500, 4, 3, 1)]
    assert of_type(OrderCancelled, events)[0].quantity == 6
    assert queue(engine, Side.BUY) == []
    assert queue(engine, Side.SELL) == [(2, 71_700, 4)]


def test_ioc_that_does_not_cross_is_accepted_then_cancelled_whole() -> None:
    engine = engine_in()
    events = engine.handle(buy(1, 71_000, 10, time_in_force=TimeInForce.IOC))
    assert [type(event) for event in events] == [OrderAccepted, OrderCancelled]
    assert queue(engine, Side.BUY) == []


def test_fok_that_can_fill_completely_trades_across_levels() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 4), sell(2, 71_600, 4)])
    events = engine.handle(buy(3, 71_600, 8, time_in_force=TimeInForce.FOK))
    assert trades(events) == [(71_500, 4, 3, 1), (71_600, 4, 3, 2)]
    assert not of_type(OrderCancelled, events)


def test_fok_that_cannot_fill_completely_is_rejected_and_trades_nothing() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 4), sell(2, 71_700, 4)])
    before = queue(engine, Side.SELL)
    events = engine.handle(buy(3, 71_600, 8, time_in_force=TimeInForce.FOK))
    assert rejected(events) is RejectReason.FOK_NOT_FILLABLE
    assert queue(engine, Side.SELL) == before


def test_market_fok_fills_up_to_the_price_limit() -> None:
    engine = engine_in()
    run(engine, [sell(1, 71_500, 4), sell(2, 92_900, 4)])  # 92,900 is the upper limit
    events = engine.handle(market(3, Side.BUY, 8, time_in_force=TimeInForce.FOK))
    assert trades(events) == [(71_500, 4, 3, 1), (92_900, 4, 3, 2)]


def test_order_accepted_event_echoes_the_order() -> None:
    engine = engine_in()
    accepted = engine.handle(buy(9, 71_000, 3))[0]
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.order_id, accepted.side, accepted.order_type, accepted.price, accepted.quantity) == (
        9,
        Side.BUY,
        OrderType.LIMIT,
        71_000,
        3,
    )
    assert accepted.timestamp_ns == T0


def test_best_bid_and_ask_follow_the_book_as_levels_empty() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 1), buy(2, 70_500, 1), sell(3, 72_000, 1), sell(4, 73_000, 1)])
    assert (engine.best_bid(SAMSUNG), engine.best_ask(SAMSUNG)) == (71_000, 72_000)
    run(engine, [sell(5, 71_000, 1), buy(6, 72_000, 1)])
    assert (engine.best_bid(SAMSUNG), engine.best_ask(SAMSUNG)) == (70_500, 73_000)


def test_depth_lists_levels_best_first_with_totals_and_counts() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 1), buy(2, 71_000, 2), buy(3, 70_900, 5), sell(4, 71_200, 7)])
    assert engine.depth(SAMSUNG, Side.BUY) == [(71_000, 3, 2), (70_900, 5, 1)]
    assert engine.depth(SAMSUNG, Side.SELL) == [(71_200, 7, 1)]
    assert engine.depth(SAMSUNG, Side.BUY, 1) == [(71_000, 3, 2)]


def test_engine_invariants_hold_after_a_busy_sequence() -> None:
    engine = engine_in()
    for order_id in range(1, 200):
        price = 70_000 + (order_id * 37 % 30) * 100
        command = (
            buy(order_id, price, order_id % 7 + 1)
            if order_id % 2
            else sell(order_id, price, order_id % 5 + 1)
        )
        engine.handle(command)
        engine.check_invariants()
