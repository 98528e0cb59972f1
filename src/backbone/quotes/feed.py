"""The pipeline's side of the quotes: results in, protocol messages out, each encoded once.

`QuoteFeed` is an `OrderPipeline` listener: it runs on the pipeline's thread after each batch is
booked, turns the batch's results into market data with the exchange's `MarketData` (10-level
depth, trades, 1-minute and daily candles), numbers each protocol message per instrument,
encodes it once, and hands the whole batch to the hub (`QuoteHub.publish`), which moves it to the
event loop in one call. Updates the protocol does not carry (best bid and offer alone: every depth
message has `best`; auction indications) are dropped; daily candles and phase changes change the
hub's state without a message of their own (a phase change sends each subscriber a fresh snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from backbone.exchange.market_data import DEPTH_LEVELS, MarketData, MarketDataUpdate
from backbone.exchange.messages import CommandResult
from backbone.exchange.phases import SessionPhase
from backbone.quotes.hub import Quote, QuoteHub, QuoteKind
from backbone.quotes.protocol import (
    Level,
    candle_message,
    depth_message,
    encode,
    iso_time,
    trade_message,
)

BookLevels = tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]  # bids, asks: all levels


class VenueBooks(Protocol):
    """What the feed reads of the venue to start again from its books."""

    @property
    def phase(self) -> SessionPhase: ...

    @property
    def trading_day_code(self) -> str: ...

    def book_levels(self) -> Mapping[str, BookLevels]: ...


class QuoteFeed:
    def __init__(self, hub: QuoteHub) -> None:
        self.hub = hub
        self.market_data = MarketData(hub.instruments)
        self.sequences = dict.fromkeys(hub.instruments, 0)

    def seed(self, *, phase: SessionPhase, trading_day: str, books: Mapping[str, BookLevels]) -> None:
        """Start from the venue's books as recovered (before the pipeline runs): every level, so
        that the top ten stay right as the best levels trade away."""
        self.market_data.phase = phase
        self.market_data.trading_day = trading_day
        self.hub.reset(phase=phase.value, trading_day=trading_day, depths=self._set_books(books))

    def resynchronise(self, venue: VenueBooks) -> None:
        """After a batch this feed failed on (its state may hold part of it): the books again from
        the venue's, a depth message per instrument, then a fresh snapshot to every subscriber, so
        that no client goes on from a state that missed updates. Trades of that batch stay out
        of the trade list and the candles."""
        self.market_data.phase = venue.phase
        self.market_data.trading_day = venue.trading_day_code
        state = {"phase": venue.phase.value, "trading_day": venue.trading_day_code}
        quotes: list[Quote] = []
        for instrument, (bids, asks) in self._set_books(venue.book_levels()).items():
            sequence = self.next_sequence(instrument)
            message = depth_message(instrument, sequence, bids, asks)
            quotes.append(Quote(instrument, QuoteKind.DEPTH, sequence, message["depth"], encode(message)))
            quotes.append(Quote(instrument, QuoteKind.PHASE, sequence, state, None))
        self.hub.publish(quotes)

    def _set_books(self, books: Mapping[str, BookLevels]) -> dict[str, tuple[list[Level], list[Level]]]:
        """Every level of each instrument's book as the market data's state; the top ten of each."""
        depths: dict[str, tuple[list[Level], list[Level]]] = {}
        for instrument, (bids, asks) in books.items():
            data = self.market_data.instruments[instrument]
            data.bids = {price: (quantity, orders) for price, quantity, orders in bids}
            data.asks = {price: (quantity, orders) for price, quantity, orders in asks}
            data.depth = (
                [[price, quantity, orders] for price, quantity, orders in bids[:DEPTH_LEVELS]],
                [[price, quantity, orders] for price, quantity, orders in asks[:DEPTH_LEVELS]],
            )
            data.bbo = (data.depth[0][0][:2] if bids else None, data.depth[1][0][:2] if asks else None)
            depths[instrument] = (
                [[price, quantity] for price, quantity, _ in bids[:DEPTH_LEVELS]],
                [[price, quantity] for price, quantity, _ in asks[:DEPTH_LEVELS]],
            )
        return depths

    def __call__(self, results: list[CommandResult]) -> None:
        quotes: list[Quote] = []
        apply = self.market_data.apply
        for result in results:
            for update in apply(result):
                quote = self.translate(update)
                if quote is not None:
                    quotes.append(quote)
        if quotes:
            self.hub.publish(quotes)

    def translate(self, update: MarketDataUpdate) -> Quote | None:
        kind = update.kind
        if kind not in ("depth", "trade", "candle", "phase"):
            return None
        instrument = update.instrument
        wire = update.to_wire()
        if kind == "phase":
            state = {"phase": wire["phase"], "trading_day": wire["trading_day"]}
            return Quote(instrument, QuoteKind.PHASE, self.sequences[instrument], state, None)
        if kind == "candle":
            candle = _candle(wire)
            if wire["interval"] != "1m":
                return Quote(instrument, QuoteKind.DAY_CANDLE, self.sequences[instrument], candle, None)
            sequence = self.next_sequence(instrument)
            message = candle_message(instrument, sequence, candle)
            return Quote(instrument, QuoteKind.CANDLE, sequence, candle, encode(message))
        sequence = self.next_sequence(instrument)
        if kind == "trade":
            trade = {
                "price": wire["price"],
                "quantity": wire["quantity"],
                "time": iso_time(wire["time_ns"]),
                "aggressor": wire["aggressor"],
            }
            return Quote(
                instrument,
                QuoteKind.TRADE,
                sequence,
                trade,
                encode(trade_message(instrument, sequence, trade)),
            )
        bids = [level[:2] for level in wire["bids"]]
        asks = [level[:2] for level in wire["asks"]]
        message = depth_message(instrument, sequence, bids, asks)
        return Quote(instrument, QuoteKind.DEPTH, sequence, message["depth"], encode(message))

    def next_sequence(self, instrument: str) -> int:
        sequence = self.sequences[instrument] + 1
        self.sequences[instrument] = sequence
        return sequence


def _candle(wire: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": iso_time(wire["start_ns"]),
        "open": wire["open"],
        "high": wire["high"],
        "low": wire["low"],
        "close": wire["close"],
        "volume": wire["volume"],
    }
