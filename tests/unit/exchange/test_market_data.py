"""Market data from engine events: depth, BBO, trades, candles, sequences, gap recovery."""

from __future__ import annotations

from typing import Any

import orjson

from backbone.exchange.engine import MatchingEngine
from backbone.exchange.market_data import Interval, MarketData, MarketDataMirror, MarketDataUpdate
from backbone.exchange.messages import Command, CommandResult
from backbone.exchange.phases import SessionPhase
from tests.unit.exchange.builders import (
    HYNIX,
    SAMSUNG,
    T0,
    buy,
    cancel,
    engine_in,
    phase,
    sell,
)

SECOND = 1_000_000_000


class Feed:
    """An engine whose results go straight into a MarketData, as the sequencer would publish."""

    def __init__(self, engine: MatchingEngine | None = None) -> None:
        self.engine = engine or engine_in()
        self.market_data = MarketData(self.engine.instruments)
        self.sequence = 0
        self.updates: list[MarketDataUpdate] = []

    def send(self, *commands: Command) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        for command in commands:
            self.sequence += 1
            result = CommandResult(self.sequence, command, self.engine.handle(command))
            updates = self.market_data.apply(result)
            self.updates.extend(updates)
            sent.extend(update.to_wire() for update in updates)
        return sent


def of_kind(kind: str, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [update for update in updates if update["type"] == kind]


def test_depth_shows_the_best_ten_levels_each_side_best_first() -> None:
    feed = Feed()
    feed.send(*(buy(order_id, 70_000 + order_id * 100, order_id) for order_id in range(1, 13)))
    depth = of_kind("depth", feed.send(sell(100, 72_000, 3), sell(101, 72_000, 4)))[-1]
    assert depth["bids"] == [[71_200 - 100 * n, 12 - n, 1] for n in range(10)]
    assert depth["asks"] == [[72_000, 7, 2]]


def test_a_change_below_the_tenth_level_publishes_no_depth_update() -> None:
    feed = Feed()
    feed.send(*(buy(order_id, 70_000 + order_id * 100, 1) for order_id in range(1, 13)))
    assert feed.send(buy(50, 70_100, 5)) == []  # the twelfth level from the top


def test_bbo_is_published_only_when_the_best_bid_or_offer_changes() -> None:
    feed = Feed()
    first = feed.send(buy(1, 71_000, 5))
    assert of_kind("bbo", first)[0]["bid"] == [71_000, 5]
    assert of_kind("bbo", first)[0]["ask"] is None
    assert of_kind("bbo", feed.send(buy(2, 70_900, 5))) == []
    assert of_kind("bbo", feed.send(buy(3, 71_000, 1)))[0]["bid"] == [71_000, 6]


def test_trades_are_published_with_id_price_quantity_and_aggressor() -> None:
    feed = Feed()
    feed.send(sell(1, 71_500, 10))
    (trade,) = of_kind("trade", feed.send(buy(2, 71_500, 4)))
    assert {key: trade[key] for key in ("trade_id", "price", "quantity", "aggressor")} == {
        "trade_id": 1,
        "price": 71_500,
        "quantity": 4,
        "aggressor": "buy",
    }


def test_candles_roll_over_on_the_minute_and_the_day_candle_accumulates() -> None:
    feed = Feed()
    feed.send(
        sell(1, 71_500, 10, timestamp=T0 + 10 * SECOND),
        buy(2, 71_500, 10, timestamp=T0 + 10 * SECOND),
        sell(3, 71_700, 5, timestamp=T0 + 50 * SECOND),
        buy(4, 71_700, 5, timestamp=T0 + 50 * SECOND),
        buy(5, 71_400, 2, timestamp=T0 + 65 * SECOND),
        sell(6, 71_400, 2, timestamp=T0 + 65 * SECOND),
    )
    minutes = feed.market_data.candles(SAMSUNG, Interval.MINUTE)
    assert [(c["start_ns"], c["open"], c["high"], c["low"], c["close"], c["volume"]) for c in minutes] == [
        (T0, 71_500, 71_700, 71_500, 71_700, 15),
        (T0 + 60 * SECOND, 71_400, 71_400, 71_400, 71_400, 2),
    ]
    assert minutes[0]["value"] == 71_500 * 10 + 71_700 * 5
    (day,) = feed.market_data.candles(SAMSUNG, Interval.DAY)
    assert (day["open"], day["high"], day["low"], day["close"], day["volume"]) == (
        71_500,
        71_700,
        71_400,
        71_400,
        17,
    )
    assert day["start_ns"] == T0 - 9 * 3_600 * SECOND  # the KST midnight before the 09:00 open


def test_candle_updates_follow_the_trades_of_each_command() -> None:
    feed = Feed()
    feed.send(sell(1, 71_500, 1), sell(2, 71_600, 1))
    updates = feed.send(buy(3, 71_600, 2))
    assert [update["type"] for update in updates] == ["trade", "trade", "candle", "candle", "depth", "bbo"]
    assert [update["interval"] for update in of_kind("candle", updates)] == ["1m", "1d"]


def test_sequences_count_up_by_one_per_instrument_independently() -> None:
    feed = Feed()
    feed.send(buy(1, 71_000, 1), buy(2, 180_000, 1, instrument=HYNIX), sell(3, 71_000, 1))
    for instrument in (SAMSUNG, HYNIX):
        sequences = [update.sequence for update in feed.updates if update.instrument == instrument]
        assert sequences == list(range(1, len(sequences) + 1))


def test_phase_changes_and_indicative_prices_reach_every_instrument() -> None:
    feed = Feed(engine_in(SessionPhase.CLOSED))
    updates = feed.send(phase(SessionPhase.PRE_OPEN_AUCTION))
    assert sorted(update["instrument"] for update in of_kind("phase", updates)) == sorted([SAMSUNG, HYNIX])
    (indicative,) = of_kind("indicative", feed.send(buy(1, 71_800, 10), sell(2, 71_200, 4)))
    assert (indicative["price"], indicative["volume"]) == (71_500, 4)


def test_an_update_is_encoded_once_as_compact_json() -> None:
    feed = Feed()
    feed.send(buy(1, 71_000, 5))
    update = feed.updates[0]
    assert isinstance(update.encoded, bytes)
    assert orjson.loads(update.encoded) == update.to_wire()
    assert update.to_wire()["type"] == "depth"
    assert set(update.to_wire()) == {"type", "instrument", "sequence", "bids", "asks", "time_ns"}


def snapshot_over_the_wire(feed: Feed) -> Any:
    return lambda instrument: orjson.loads(orjson.dumps(feed.market_data.snapshot(instrument)))


def test_mirror_that_misses_an_update_resynchronises_from_a_snapshot() -> None:
    feed = Feed()
    mirror = MarketDataMirror(SAMSUNG, snapshot_over_the_wire(feed))
    feed.send(buy(1, 71_000, 5), sell(2, 72_000, 5), buy(3, 72_000, 2), buy(4, 71_100, 1), cancel(1))
    updates = [update.to_wire() for update in feed.updates if update.instrument == SAMSUNG]
    for position, update in enumerate(updates):
        if position != 3:  # lost on the way
            mirror.receive(update)
    assert mirror.resynchronisations == 1
    assert mirror.state == snapshot_over_the_wire(feed)(SAMSUNG)


def test_mirror_that_receives_every_update_matches_the_snapshot_without_resynchronising() -> None:
    feed = Feed()
    mirror = MarketDataMirror(SAMSUNG, snapshot_over_the_wire(feed))
    feed.send(buy(1, 71_000, 5), sell(2, 72_000, 5), buy(3, 72_000, 2), phase(SessionPhase.CLOSING_AUCTION))
    for update in feed.updates:
        if update.instrument == SAMSUNG:
            mirror.receive(update.to_wire())
    assert mirror.resynchronisations == 0
    assert mirror.state == snapshot_over_the_wire(feed)(SAMSUNG)


def test_snapshot_carries_the_sequence_it_is_valid_at() -> None:
    feed = Feed()
    feed.send(buy(1, 71_000, 5), sell(2, 71_000, 2))
    snapshot = feed.market_data.snapshot(SAMSUNG)
    assert snapshot["sequence"] == max(
        update.sequence for update in feed.updates if update.instrument == SAMSUNG
    )
    assert snapshot["last_trade"]["price"] == 71_000
    assert snapshot["depth"]["bids"] == [[71_000, 3, 1]]
