"""KRX call auctions: collection without matching, indicative prices, and the single-price
uncross, with expected prices and allocations computed by hand in each test's comment."""

from __future__ import annotations

from backbone.exchange.auction import NO_PRICE, equilibrium
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.messages import (
    AuctionUncrossed,
    Event,
    IndicativePriceChanged,
    OrderExpired,
    PlaceOrder,
    SessionPhaseChanged,
    TradeExecuted,
)
from backbone.exchange.orders import OrderStatus, Side
from backbone.exchange.phases import SessionPhase
from tests.unit.exchange.builders import (
    SAMSUNG,
    buy,
    cancel,
    engine_in,
    of_type,
    phase,
    queue,
    run,
    sell,
    state,
    trades,
)

PRE_OPEN = SessionPhase.PRE_OPEN_AUCTION


def uncross_events(commands: list[PlaceOrder]) -> tuple[list[Event], MatchingEngine]:
    """Send `commands` in the pre-open call period, then open: the opening auction's events."""
    engine = engine_in(PRE_OPEN)
    run(engine, commands)
    return engine.handle(phase(SessionPhase.CONTINUOUS)), engine


def test_orders_in_a_call_period_rest_without_matching_even_when_they_cross() -> None:
    engine = engine_in(PRE_OPEN)
    events = run(engine, [buy(1, 72_000, 10), sell(2, 71_000, 10)])
    assert not of_type(TradeExecuted, events)
    assert queue(engine, Side.BUY) == [(1, 72_000, 10)]
    assert queue(engine, Side.SELL) == [(2, 71_000, 10)]


def test_indicative_price_is_published_after_each_change_that_moves_it() -> None:
    engine = engine_in(PRE_OPEN)
    # One bid: nothing crosses, nothing to indicate (the indication starts as "none").
    assert not of_type(IndicativePriceChanged, engine.handle(buy(1, 71_800, 10)))
    # Bid 71,800x10 vs ask 71,200x4: volume 4 at every price 71,200..71,800 with imbalance 6;
    # the nearest to the base price 71,500 is 71,500 itself.
    (first,) = of_type(IndicativePriceChanged, engine.handle(sell(2, 71_200, 4)))
    assert (first.price, first.volume) == (71_500, 4)
    # A bid far below the crossing range changes neither price nor volume: no event.
    assert not of_type(IndicativePriceChanged, engine.handle(buy(3, 60_000, 1)))
    (more,) = of_type(IndicativePriceChanged, engine.handle(sell(4, 71_200, 1)))
    assert (more.price, more.volume) == (71_500, 5)
    (less,) = of_type(IndicativePriceChanged, engine.handle(cancel(2)))
    assert (less.price, less.volume) == (71_500, 1)
    # The last ask goes: the book no longer crosses and the indication clears.
    (cleared,) = of_type(IndicativePriceChanged, engine.handle(cancel(4)))
    assert (cleared.price, cleared.volume) == (None, 0)


def test_uncross_at_the_price_of_maximum_volume() -> None:
    # bids: B1 72,000x30, B2 71,800x20, B3 71,500x40;  asks: S1 71,400x25, S2 71,700x30, S3 71,900x50
    # price   71,400 71,500 71,600 71,700 71,800 71,900 72,000
    # demand      90     90     50     50     50     30     30
    # supply      25     25     25     55     55    105    105
    # volume      25     25     25     50     50     30     30
    # 71,700 and 71,800 tie on volume (50) and imbalance (5); 71,700 is nearer the base 71,500.
    # At 71,700: buys B1 30 then B2 20; sells S1 25 then S2 25 of 30, in price-time order.
    events, engine = uncross_events(
        [
            buy(1, 72_000, 30),
            buy(2, 71_800, 20),
            buy(3, 71_500, 40),
            sell(11, 71_400, 25),
            sell(12, 71_700, 30),
            sell(13, 71_900, 50),
        ]
    )
    (uncrossed,) = of_type(AuctionUncrossed, events)
    assert (uncrossed.price, uncrossed.volume, uncrossed.phase) == (71_700, 50, PRE_OPEN)
    assert trades(events) == [(71_700, 25, 1, 11), (71_700, 5, 1, 12), (71_700, 20, 2, 12)]
    assert all(trade.aggressor is None for trade in of_type(TradeExecuted, events))
    assert queue(engine, Side.BUY) == [(3, 71_500, 40)]
    assert queue(engine, Side.SELL) == [(12, 71_700, 5), (13, 71_900, 50)]


def test_uncross_prefers_the_smaller_imbalance_when_volumes_tie() -> None:
    # bids: B1 71,700x20, B2 71,600x10;  asks: S1 71,500x20, S2 71,700x5
    # price   71,500 71,600 71,700
    # demand      30     30     20
    # supply      20     20     25
    # volume      20     20     20
    # imbal.      10     10      5   -> 71,700, although 71,500 is the base price.
    # At 71,700 only B1 buys (20), against S1 (20, the lowest ask first).
    events, engine = uncross_events(
        [buy(1, 71_700, 20), buy(2, 71_600, 10), sell(11, 71_500, 20), sell(12, 71_700, 5)]
    )
    assert [(event.price, event.volume) for event in of_type(AuctionUncrossed, events)] == [(71_700, 20)]
    assert trades(events) == [(71_700, 20, 1, 11)]
    assert queue(engine, Side.BUY) == [(2, 71_600, 10)]
    assert queue(engine, Side.SELL) == [(12, 71_700, 5)]


def test_uncross_picks_the_reference_price_between_two_order_prices() -> None:
    # bid 71,800x10, ask 71,200x10: volume 10 and imbalance 0 at every tick from 71,200 to 71,800,
    # so the nearest to the base price 71,500 wins, though no order is priced there.
    events, _engine = uncross_events([buy(1, 71_800, 10), sell(2, 71_200, 10)])
    assert trades(events) == [(71_500, 10, 1, 2)]


def test_uncross_nearest_reference_when_the_reference_is_outside_the_crossing_range() -> None:
    # bid 72,400x10, ask 72,000x10: every price 72,000..72,400 ties; the base 71,500 lies below,
    # so the lowest, 72,000, is nearest.
    events, _engine = uncross_events([buy(1, 72_400, 10), sell(2, 72_000, 10)])
    assert trades(events) == [(72_000, 10, 1, 2)]


def test_final_tie_break_takes_the_higher_price_when_two_are_equally_near_the_reference() -> None:
    # The reference is on the tick grid in the engine, where this cannot arise (it is itself a
    # candidate at least as good); with a reference of 71,550 between 71,500 and 71,600 the rule
    # still gives one answer: bid 71,600x10, ask 71,500x10 tie everywhere, so the higher price.
    engine = engine_in(PRE_OPEN)
    run(engine, [buy(1, 71_600, 10), sell(2, 71_500, 10)])
    book = engine.books[SAMSUNG]
    book.last_price = 71_550
    index, volume = equilibrium(book)
    assert (book.prices[index], volume) == (71_600, 10)


def test_equilibrium_of_a_book_that_does_not_cross_is_no_price() -> None:
    engine = engine_in(PRE_OPEN)
    run(engine, [buy(1, 71_000, 10), sell(2, 72_000, 10)])
    assert equilibrium(engine.books[SAMSUNG]) == (NO_PRICE, 0)


def test_orders_at_the_uncross_price_fill_in_time_priority() -> None:
    # bid 71,600x12; asks S1 71,600x10 then S2 71,600x10 (both at the price): the older fills first.
    # volume 12 at 71,600 (at 71,500 no ask), so S1 10 and S2 2.
    events, engine = uncross_events([sell(11, 71_600, 10), sell(12, 71_600, 10), buy(1, 71_600, 12)])
    assert trades(events) == [(71_600, 10, 1, 11), (71_600, 2, 1, 12)]
    assert queue(engine, Side.SELL) == [(12, 71_600, 8)]


def test_book_that_does_not_cross_opens_without_an_auction_and_keeps_its_orders() -> None:
    events, engine = uncross_events([buy(1, 71_000, 10), sell(2, 72_000, 10)])
    assert [type(event) for event in events] == [SessionPhaseChanged]
    assert queue(engine, Side.BUY) == [(1, 71_000, 10)]


def test_remainders_of_the_opening_auction_trade_on_continuously() -> None:
    events, engine = uncross_events([buy(1, 71_800, 10), sell(2, 71_200, 4)])
    assert trades(events) == [(71_500, 4, 1, 2)]
    assert engine.phase is SessionPhase.CONTINUOUS
    after = engine.handle(sell(3, 71_800, 6))
    assert trades(after) == [(71_800, 6, 1, 3)]


def test_closing_auction_uncrosses_at_the_last_price_then_expires_every_day_order() -> None:
    engine = engine_in()
    run(engine, [buy(1, 71_000, 5), sell(2, 71_000, 5)])  # last price 71,000
    engine.handle(phase(SessionPhase.CLOSING_AUCTION))
    # bid 72,000x10, ask 70,000x6: volume 6 at every price 70,000..72,000; the reference is the
    # last price 71,000. The bid's 4 left over expires at the close, as does the far bid.
    run(engine, [buy(3, 72_000, 10), sell(4, 70_000, 6), buy(5, 60_000, 1)])
    events = engine.handle(phase(SessionPhase.CLOSED))
    assert trades(events) == [(71_000, 6, 3, 4)]
    assert [(event.order_id, event.quantity) for event in of_type(OrderExpired, events)] == [(3, 4), (5, 1)]
    assert isinstance(events[-1], SessionPhaseChanged)
    assert state(engine, 3).status is OrderStatus.EXPIRED
    assert queue(engine, Side.BUY) == []
    engine.check_invariants()


def test_continuous_book_is_not_crossed_after_any_uncross() -> None:
    events, engine = uncross_events(
        [buy(1, 72_000, 7), buy(2, 71_900, 3), sell(3, 71_400, 5), sell(4, 71_900, 9), buy(5, 71_400, 2)]
    )
    assert of_type(AuctionUncrossed, events)
    engine.check_invariants()
