"""Market data built from the engine's events: trades, 10-level depth (10단계 호가), best bid and
offer, OHLCV candles (1 minute, 1 day), auction indications and the session phase.

It reads only published `CommandResult`s, never the engine, so it can run anywhere the results
go. Each instrument has its own update sequence (1, 2, 3, ...). A consumer applies updates in
order; a jump in `sequence` means it missed one and must take a `snapshot(instrument)` and apply
only the updates after the snapshot's sequence (`MarketDataMirror` does exactly that).

Wire shapes (JSON objects; every update has "type", "instrument", "sequence"; times are
nanoseconds since the Unix epoch, UTC; prices in won, quantities in shares; absent is null):

    trade       trade_id, price, quantity, aggressor ("buy" | "sell" | null for an auction), time_ns
    depth       bids: [[price, quantity, orders], ...] best first, at most 10; asks: likewise; time_ns
    bbo         bid: [price, quantity] | null, ask: [price, quantity] | null, time_ns
    candle      interval ("1m" | "1d"), start_ns, open, high, low, close, volume, value (won), time_ns
    indicative  price | null, volume, time_ns              (during call auctions: 예상체결가)
    phase       phase, trading_day, time_ns
    snapshot    sequence of the last update it includes, phase, trading_day, depth {bids, asks},
                bbo {bid, ask}, last_trade (a trade object or null), candles {"1m": c|null, "1d": c|null},
                indicative {price, volume}

`MarketDataUpdate.encoded` is the update's JSON, encoded once when the update is made, for every
subscriber to share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, final

import orjson

from backbone.exchange.messages import (
    CommandResult,
    IndicativePriceChanged,
    LevelChanged,
    SessionPhaseChanged,
    TradeExecuted,
)
from backbone.exchange.orders import Side
from backbone.exchange.phases import SessionPhase
from backbone.kit.check import invariant

DEPTH_LEVELS: Final = 10
CANDLES_KEPT_MAX: Final = 1_000  # closed candles kept per instrument and interval
NANOSECONDS_PER_MINUTE: Final = 60 * 1_000_000_000
NANOSECONDS_PER_DAY: Final = 86_400 * 1_000_000_000
SEOUL_OFFSET_NS: Final = 9 * 3_600 * 1_000_000_000


class Interval(StrEnum):
    MINUTE = "1m"
    DAY = "1d"


def interval_start(interval: Interval, timestamp_ns: int) -> int:
    """The first instant of the candle holding `timestamp_ns`; days are KST calendar days."""
    if interval is Interval.MINUTE:
        return timestamp_ns - timestamp_ns % NANOSECONDS_PER_MINUTE
    local = timestamp_ns + SEOUL_OFFSET_NS
    return local - local % NANOSECONDS_PER_DAY - SEOUL_OFFSET_NS


@dataclass(slots=True)
class Candle:
    interval: Interval
    start_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int = 0
    value: int = 0  # 거래대금: sum of price x quantity, in won

    def add(self, price: int, quantity: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += quantity
        self.value += price * quantity

    def to_wire(self) -> dict[str, Any]:
        return {
            "interval": self.interval.value,
            "start_ns": self.start_ns,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "value": self.value,
        }


@final
class MarketDataUpdate:
    """One update for one instrument, immutable, encoded once."""

    __slots__ = ("encoded", "instrument", "kind", "sequence")

    def __init__(self, instrument: str, sequence: int, kind: str, body: dict[str, Any]) -> None:
        self.instrument: Final = instrument
        self.sequence: Final = sequence
        self.kind: Final = kind
        self.encoded: Final = orjson.dumps(
            {"type": kind, "instrument": instrument, "sequence": sequence, **body}
        )

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = orjson.loads(self.encoded)
        return wire

    def __repr__(self) -> str:
        return f"MarketDataUpdate({self.encoded.decode()})"


@dataclass(slots=True)
class InstrumentData:
    instrument: str
    sequence: int = 0
    bids: dict[int, tuple[int, int]] = field(default_factory=dict)  # price -> (quantity, orders)
    asks: dict[int, tuple[int, int]] = field(default_factory=dict)
    depth: tuple[list[list[int]], list[list[int]]] = field(default_factory=lambda: ([], []))
    bbo: tuple[list[int] | None, list[int] | None] = (None, None)
    last_trade: dict[str, Any] | None = None
    candles: dict[Interval, Candle] = field(default_factory=dict)
    history: dict[Interval, deque[Candle]] = field(
        default_factory=lambda: {interval: deque(maxlen=CANDLES_KEPT_MAX) for interval in Interval}
    )
    indicative: tuple[int | None, int] = (None, 0)


class MarketData:
    def __init__(self, instruments: Iterable[str]) -> None:
        self.instruments = {code: InstrumentData(code) for code in instruments}
        self.phase = SessionPhase.CLOSED
        self.trading_day = ""

    def apply(self, result: CommandResult) -> list[MarketDataUpdate]:
        """The updates that one command's events cause, in order."""
        updates: list[MarketDataUpdate] = []
        traded: dict[str, int] = {}  # instrument -> time of its last trade in this command
        levels_changed: dict[str, int] = {}
        for event in result.events:
            if isinstance(event, LevelChanged):
                data = self.instruments[event.instrument]
                levels = data.bids if event.side is Side.BUY else data.asks
                if event.quantity:
                    levels[event.price] = (event.quantity, event.order_count)
                else:
                    levels.pop(event.price, None)
                levels_changed[event.instrument] = event.timestamp_ns
            elif isinstance(event, TradeExecuted):
                self.trade(event, updates)
                traded[event.instrument] = event.timestamp_ns
            elif isinstance(event, IndicativePriceChanged):
                data = self.instruments[event.instrument]
                data.indicative = (event.price, event.volume)
                body = {"price": event.price, "volume": event.volume, "time_ns": event.timestamp_ns}
                updates.append(self.update(data, "indicative", body))
            elif isinstance(event, SessionPhaseChanged):
                self.phase_changed(event, updates)
        for instrument, time_ns in traded.items():
            data = self.instruments[instrument]
            for interval in Interval:
                body = {**data.candles[interval].to_wire(), "time_ns": time_ns}
                updates.append(self.update(data, "candle", body))
        for instrument, time_ns in levels_changed.items():
            self.publish_depth(self.instruments[instrument], time_ns, updates)
        return updates

    def update(self, data: InstrumentData, kind: str, body: dict[str, Any]) -> MarketDataUpdate:
        data.sequence += 1
        return MarketDataUpdate(data.instrument, data.sequence, kind, body)

    def trade(self, event: TradeExecuted, updates: list[MarketDataUpdate]) -> None:
        data = self.instruments[event.instrument]
        wire = {
            "trade_id": event.trade_id,
            "price": event.price,
            "quantity": event.quantity,
            "aggressor": None if event.aggressor is None else event.aggressor.value,
            "time_ns": event.timestamp_ns,
        }
        data.last_trade = wire
        for interval in Interval:
            start = interval_start(interval, event.timestamp_ns)
            candle = data.candles.get(interval)
            if candle is None or candle.start_ns != start:
                if candle is not None:
                    invariant(candle.start_ns < start, "candles move forward in time")
                    data.history[interval].append(candle)
                candle = Candle(interval, start, event.price, event.price, event.price, event.price)
                data.candles[interval] = candle
            candle.add(event.price, event.quantity)
        updates.append(self.update(data, "trade", wire))

    def publish_depth(self, data: InstrumentData, time_ns: int, updates: list[MarketDataUpdate]) -> None:
        bids = [[price, *data.bids[price]] for price in sorted(data.bids, reverse=True)[:DEPTH_LEVELS]]
        asks = [[price, *data.asks[price]] for price in sorted(data.asks)[:DEPTH_LEVELS]]
        if (bids, asks) != data.depth:
            data.depth = (bids, asks)
            updates.append(self.update(data, "depth", {"bids": bids, "asks": asks, "time_ns": time_ns}))
        bbo = (bids[0][:2] if bids else None, asks[0][:2] if asks else None)
        if bbo != data.bbo:
            data.bbo = bbo
            updates.append(self.update(data, "bbo", {"bid": bbo[0], "ask": bbo[1], "time_ns": time_ns}))

    def phase_changed(self, event: SessionPhaseChanged, updates: list[MarketDataUpdate]) -> None:
        if event.phase is SessionPhase.PRE_OPEN_AUCTION and event.trading_day != self.trading_day:
            for data in self.instruments.values():
                data.last_trade = None
        self.phase = event.phase
        self.trading_day = event.trading_day
        body = {"phase": event.phase.value, "trading_day": event.trading_day, "time_ns": event.timestamp_ns}
        for data in self.instruments.values():
            data.indicative = (None, 0)
            updates.append(self.update(data, "phase", body))

    # ── queries ───────────────────────────────────────────────────────────────────────────────

    def snapshot(self, instrument: str) -> dict[str, Any]:
        """Everything a consumer needs to start, valid as of update `sequence`."""
        data = self.instruments[instrument]
        return {
            "type": "snapshot",
            "instrument": instrument,
            "sequence": data.sequence,
            "phase": self.phase.value,
            "trading_day": self.trading_day,
            "depth": {"bids": data.depth[0], "asks": data.depth[1]},
            "bbo": {"bid": data.bbo[0], "ask": data.bbo[1]},
            "last_trade": data.last_trade,
            "candles": {
                interval.value: (candle.to_wire() if (candle := data.candles.get(interval)) else None)
                for interval in Interval
            },
            "indicative": {"price": data.indicative[0], "volume": data.indicative[1]},
        }

    def candles(self, instrument: str, interval: Interval) -> list[dict[str, Any]]:
        """Closed candles then the current one, oldest first (at most CANDLES_KEPT_MAX + 1)."""
        data = self.instruments[instrument]
        found = [candle.to_wire() for candle in data.history[interval]]
        current = data.candles.get(interval)
        if current is not None:
            found.append(current.to_wire())
        return found


class MarketDataMirror:
    """A consumer's copy of one instrument, kept from updates; on a gap it resynchronises from a
    snapshot (fetched through `fetch_snapshot`) and skips updates the snapshot already holds."""

    def __init__(self, instrument: str, fetch_snapshot: Callable[[str], dict[str, Any]]) -> None:
        self.instrument = instrument
        self.fetch_snapshot = fetch_snapshot
        self.state: dict[str, Any] = fetch_snapshot(instrument)
        self.resynchronisations = 0

    @property
    def sequence(self) -> int:
        sequence: int = self.state["sequence"]
        return sequence

    def receive(self, update: dict[str, Any]) -> None:
        sequence = update["sequence"]
        if sequence <= self.sequence:
            return  # already in the snapshot
        if sequence != self.sequence + 1:
            self.state = self.fetch_snapshot(self.instrument)
            self.resynchronisations += 1
            if sequence <= self.sequence:
                return
            invariant(sequence == self.sequence + 1, "a fresh snapshot ends just before the next update")
        kind = update["type"]
        state = self.state
        if kind == "depth":
            state["depth"] = {"bids": update["bids"], "asks": update["asks"]}
        elif kind == "bbo":
            state["bbo"] = {"bid": update["bid"], "ask": update["ask"]}
        elif kind == "trade":
            state["last_trade"] = {
                key: update[key] for key in ("trade_id", "price", "quantity", "aggressor", "time_ns")
            }
        elif kind == "candle":
            state["candles"][update["interval"]] = {
                key: value
                for key, value in update.items()
                if key not in {"type", "instrument", "sequence", "time_ns"}
            }
        elif kind == "indicative":
            state["indicative"] = {"price": update["price"], "volume": update["volume"]}
        elif kind == "phase":
            if (
                update["phase"] == SessionPhase.PRE_OPEN_AUCTION.value
                and update["trading_day"] != state["trading_day"]
            ):
                state["last_trade"] = None
            state["phase"] = update["phase"]
            state["trading_day"] = update["trading_day"]
            state["indicative"] = {"price": None, "volume": 0}
        state["sequence"] = sequence
