"""KRX call auctions (단일가매매): one price for everything that executes.

During a call period orders are collected without matching, so the book may cross. The uncross
price is chosen among the tick prices where bids and asks overlap, by, in order:

1. the largest executable volume: min(bids at or above the price, asks at or below it);
2. the smallest imbalance: |bids at or above - asks at or below|;
3. the price nearest the reference price: today's last trade price, else the base price (기준가);
4. Backbone's final tie-break: the higher price.

Prices between two order prices count as candidates too (the volume there can tie with the best and
the imbalance can be smaller), so every tick index between the best ask and the best bid is scanned.
At the uncross price, bids fill best price first then oldest first, and asks likewise; each trade
pairs the next bid with the next ask. Whatever is left rests for continuous trading.
"""

from __future__ import annotations

from typing import Final

from backbone.exchange.book import OrderBook
from backbone.exchange.messages import AuctionUncrossed, Event, IndicativePriceChanged, TradeExecuted
from backbone.exchange.phases import SessionPhase
from backbone.kit.check import InvariantViolation, invariant

NO_PRICE: Final = -1


def equilibrium(book: OrderBook) -> tuple[int, int]:
    """(tick index of the uncross price, volume), or (NO_PRICE, 0) when the book does not cross."""
    low = book.best_ask
    high = book.best_bid
    if high < low:
        return NO_PRICE, 0
    bids = book.bids
    asks = book.asks
    prices = book.prices
    reference = book.reference_price
    # Bids at or above each index, built from the top down over the crossing range.
    span = high - low + 1
    bids_at_or_above = [0] * span
    running = 0
    for offset in range(span - 1, -1, -1):
        running += bids[low + offset].quantity
        bids_at_or_above[offset] = running
    best_index = NO_PRICE
    best_volume = 0
    best_imbalance = 0
    best_distance = 0
    asks_at_or_below = 0
    for offset in range(span):
        index = low + offset
        asks_at_or_below += asks[index].quantity
        demand = bids_at_or_above[offset]
        volume = min(demand, asks_at_or_below)
        imbalance = abs(demand - asks_at_or_below)
        distance = abs(prices[index] - reference)
        # Scanning upwards, ">=" on the last criterion is the "higher price wins" tie-break.
        if (
            volume > best_volume
            or (volume == best_volume and imbalance < best_imbalance)
            or (volume == best_volume and imbalance == best_imbalance and distance <= best_distance)
        ):
            best_index = index
            best_volume = volume
            best_imbalance = imbalance
            best_distance = distance
    invariant(best_volume > 0, "a crossed book executes something")
    return best_index, best_volume


def uncross(
    book: OrderBook, phase: SessionPhase, trade_id: int, timestamp_ns: int, events: list[Event]
) -> int:
    """Execute the call auction of one book. Returns the last trade id used."""
    index, volume = equilibrium(book)
    book.indicative_price = None
    book.indicative_volume = 0
    if index == NO_PRICE:
        return trade_id
    price = book.prices[index]
    instrument = book.instrument
    events.append(AuctionUncrossed(instrument, phase, price, volume, timestamp_ns))
    bids = book.bids
    asks = book.asks
    remaining = volume
    while remaining > 0:
        bid_level = bids[book.best_bid]
        ask_level = asks[book.best_ask]
        invariant(book.best_bid >= index >= book.best_ask, "auction fills stay inside the uncross price")
        buy = bid_level.head
        sell = ask_level.head
        if buy is None or sell is None:
            raise InvariantViolation(f"auction of {instrument} ran out of orders before its volume")
        quantity = min(buy.open_quantity, sell.open_quantity, remaining)
        remaining -= quantity
        book.fill_head(bid_level, quantity)
        book.fill_head(ask_level, quantity)
        trade_id += 1
        events.append(
            TradeExecuted(
                trade_id,
                instrument,
                price,
                quantity,
                buy.order_id,
                sell.order_id,
                None,
                buy.open_quantity,
                sell.open_quantity,
                timestamp_ns,
            )
        )
    book.last_price = price
    invariant(book.best_bid < book.best_ask, "an uncrossed book no longer crosses")
    return trade_id


def publish_indicative(book: OrderBook, timestamp_ns: int, events: list[Event]) -> None:
    """After a change during a call period: the indicative price and volume, when they moved."""
    index, volume = equilibrium(book)
    price = None if index == NO_PRICE else book.prices[index]
    if price == book.indicative_price and volume == book.indicative_volume:
        return
    book.indicative_price = price
    book.indicative_volume = volume
    events.append(IndicativePriceChanged(book.instrument, price, volume, timestamp_ns))
