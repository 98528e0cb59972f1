"""Market data for the open API, read through a small interface so the running venue's
`MarketData` can be handed in when one runs in this process; until then (and for instruments the
venue has not traded) the instrument master's base prices answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from backbone.exchange.instruments import Instrument
from backbone.exchange.market_data import Interval, MarketData


@dataclass(frozen=True, slots=True)
class Quote:
    instrument: str
    last_price_won: int | None
    base_price_won: int
    bid_price_won: int | None
    bid_quantity: int | None
    ask_price_won: int | None
    ask_quantity: int | None
    phase: str | None
    trading_day: str | None
    sequence: int


@dataclass(frozen=True, slots=True)
class Depth:
    instrument: str
    bids: tuple[tuple[int, int, int], ...]  # price, quantity, orders: best first
    asks: tuple[tuple[int, int, int], ...]
    sequence: int


@dataclass(frozen=True, slots=True)
class Bar:
    start_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    value_won: int


class MarketDataSource(Protocol):
    def quote(self, instrument: Instrument) -> Quote: ...

    def depth(self, instrument: Instrument) -> Depth: ...

    def candles(self, instrument: Instrument, interval: Interval, limit: int) -> list[Bar]: ...


class VenueMarketData:
    """Over the venue's `MarketData` (snapshot(), candles()); base prices where it has nothing."""

    def __init__(self, market_data: MarketData | None = None) -> None:
        self.market_data = market_data

    def _snapshot(self, instrument: Instrument) -> dict[str, Any] | None:
        if self.market_data is None or instrument.code not in self.market_data.instruments:
            return None
        return self.market_data.snapshot(instrument.code)

    def quote(self, instrument: Instrument) -> Quote:
        snapshot = self._snapshot(instrument)
        if snapshot is None:
            return Quote(instrument.code, None, instrument.base_price, None, None, None, None, None, None, 0)
        bid, ask = snapshot["bbo"]["bid"], snapshot["bbo"]["ask"]
        last = snapshot["last_trade"]
        return Quote(
            instrument=instrument.code,
            last_price_won=None if last is None else int(last["price"]),
            base_price_won=instrument.base_price,
            bid_price_won=None if bid is None else int(bid[0]),
            bid_quantity=None if bid is None else int(bid[1]),
            ask_price_won=None if ask is None else int(ask[0]),
            ask_quantity=None if ask is None else int(ask[1]),
            phase=snapshot["phase"] or None,
            trading_day=snapshot["trading_day"] or None,
            sequence=int(snapshot["sequence"]),
        )

    def depth(self, instrument: Instrument) -> Depth:
        snapshot = self._snapshot(instrument)
        if snapshot is None:
            return Depth(instrument.code, (), (), 0)
        return Depth(
            instrument=instrument.code,
            bids=tuple((int(p), int(q), int(o)) for p, q, o in snapshot["depth"]["bids"]),
            asks=tuple((int(p), int(q), int(o)) for p, q, o in snapshot["depth"]["asks"]),
            sequence=int(snapshot["sequence"]),
        )

    def candles(self, instrument: Instrument, interval: Interval, limit: int) -> list[Bar]:
        if self.market_data is None or instrument.code not in self.market_data.instruments:
            return []
        found = self.market_data.candles(instrument.code, interval)[-limit:]
        return [
            Bar(
                start_ns=int(item["start_ns"]),
                open=int(item["open"]),
                high=int(item["high"]),
                low=int(item["low"]),
                close=int(item["close"]),
                volume=int(item["volume"]),
                value_won=int(item["value"]),
            )
            for item in found
        ]
