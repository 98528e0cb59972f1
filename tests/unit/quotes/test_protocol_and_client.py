"""The quotes protocol without a network: client messages read, frames built, the hub's state and
fan-out fed from a real matching engine, and the client's gap detection."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from backbone.demo.market import opening_at_or_after
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.messages import ChangeSessionPhase, Command, CommandResult, PlaceOrder
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import SessionSchedule, timestamp_ns
from backbone.kit.clock import SEOUL, RunningClock, SimulatedClock
from backbone.quotes.client import QuoteClient
from backbone.quotes.feed import QuoteFeed
from backbone.quotes.hub import QuoteHub, Subscriber
from backbone.quotes.protocol import (
    ErrorCode,
    Refused,
    Resync,
    Subscribe,
    Unsubscribe,
    frame,
    iso_time,
    read_client_message,
)

KNOWN = frozenset({"005930", "000660"})
OPEN = datetime(2026, 11, 23, 9, 0, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"op": "subscribe", "instruments": ["005930", "000660", "005930"]}',
            Subscribe(("005930", "000660")),
        ),
        ('{"op": "unsubscribe", "instruments": ["000660"]}', Unsubscribe(("000660",))),
        ('{"op": "resync", "instrument": "005930"}', Resync("005930")),
        ("{", Refused(ErrorCode.INVALID_JSON, "the message is not JSON")),
    ],
)
def test_client_messages_are_read_or_refused_with_a_code(text: str, expected: object) -> None:
    assert read_client_message(text, KNOWN) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('"subscribe"', ErrorCode.INVALID_MESSAGE),
        ('{"op": "buy"}', ErrorCode.UNKNOWN_OPERATION),
        ('{"op": "subscribe", "instruments": [5930]}', ErrorCode.INVALID_MESSAGE),
        ('{"op": "subscribe", "instruments": ["005930", "123456"]}', ErrorCode.UNKNOWN_INSTRUMENT),
        ('{"op": "resync", "instrument": "123456"}', ErrorCode.UNKNOWN_INSTRUMENT),
        ('{"op": "resync"}', ErrorCode.INVALID_MESSAGE),
        ("[" + "1," * 3_000 + "1]", ErrorCode.MESSAGE_TOO_LARGE),
    ],
)
def test_bad_client_messages_are_refused_with_their_code(text: str, code: ErrorCode) -> None:
    refused = read_client_message(text, KNOWN)
    assert isinstance(refused, Refused)
    assert refused.code is code


@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536])
def test_a_frame_is_what_a_websocket_reader_decodes_back(length: int) -> None:
    text = "x" * length
    reader = StreamReader()
    reader.feed_data(frame(text))
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
        while True:
            parser.send(None)
    except StopIteration as done:
        parsed: Frame = done.value
    assert parsed.opcode is Opcode.TEXT
    assert parsed.fin
    assert bytes(parsed.data).decode() == text


def test_times_are_seoul_iso_with_the_offset_to_the_microsecond() -> None:
    assert iso_time(timestamp_ns(OPEN) + 1_234_567) == "2026-11-23T09:00:00.001234+09:00"


class Market:
    """A real engine feeding a hub through the feed, as the pipeline's listener does."""

    def __init__(self) -> None:
        self.engine = MatchingEngine({"005930": 71_500, "000660": 180_000})
        self.hub = QuoteHub(["005930", "000660"], queue_messages_max=20)
        self.feed = QuoteFeed(self.hub)
        self.sequence = 0
        self.order_id = 0
        self.run(
            ChangeSessionPhase(SessionPhase.PRE_OPEN_AUCTION, timestamp_ns(OPEN - timedelta(minutes=30)))
        )
        self.run(ChangeSessionPhase(SessionPhase.CONTINUOUS, timestamp_ns(OPEN)))

    def run(self, command: Command) -> None:
        self.sequence += 1
        self.feed([CommandResult(self.sequence, command, self.engine.handle(command))])

    def order(self, side: Side, price: int, quantity: int, code: str = "005930") -> None:
        self.order_id += 1
        self.run(
            PlaceOrder(
                code,
                self.order_id,
                side,
                OrderType.LIMIT,
                TimeInForce.DAY,
                price,
                quantity,
                timestamp_ns(OPEN),
            )
        )


def subscribed(hub: QuoteHub, *codes: str) -> Subscriber:
    subscriber = hub.connect()
    assert subscriber is not None
    hub.subscribe(subscriber, codes)
    return subscriber


def test_every_subscriber_gets_the_same_encoded_update_and_the_state_follows() -> None:
    market = Market()
    first, second = subscribed(market.hub, "005930"), subscribed(market.hub, "005930")
    other = subscribed(market.hub, "000660")
    market.order(Side.BUY, 71_400, 10)
    market.order(Side.SELL, 71_400, 4)
    assert [orjson.loads(text)["type"] for text in first.queue] == [
        "snapshot",
        "depth",
        "trade",
        "candle",
        "depth",
    ]
    assert all(a is b for a, b in zip(first.queue, second.queue, strict=True))
    assert len(other.queue) == 1  # its snapshot only
    snapshot = market.hub.snapshot("005930")
    assert snapshot["sequence"] == 4
    assert snapshot["depth"] == {"bids": [[71_400, 6]], "asks": []}
    assert snapshot["last"]["price"] == 71_400
    assert snapshot["trades"][0]["aggressor"] == "sell"
    assert market.hub.snapshot_text("005930") is market.hub.snapshot_text("005930")  # encoded once per state


def test_a_subscriber_whose_queue_overflows_is_dropped_and_the_others_are_not() -> None:
    market = Market()
    slow, fast = subscribed(market.hub, "005930"), subscribed(market.hub, "005930")
    for step in range(25):
        fast.queue.clear()  # the fast one keeps up
        market.order(Side.BUY, 70_000 + 100 * (step % 10), 1)
    assert slow.closed
    assert slow.too_slow
    assert not fast.closed
    assert market.hub.dropped_too_slow == 1
    assert list(market.hub.subscribers["005930"]) == [fast]


def test_a_phase_change_sends_a_fresh_snapshot_without_a_new_sequence() -> None:
    market = Market()
    subscriber = subscribed(market.hub, "005930")
    market.order(Side.BUY, 71_400, 10)
    market.run(ChangeSessionPhase(SessionPhase.CLOSING_AUCTION, timestamp_ns(OPEN + timedelta(hours=6))))
    *_, pushed = [orjson.loads(text) for text in subscriber.queue]
    assert (pushed["type"], pushed["phase"], pushed["sequence"]) == ("snapshot", "closing_auction", 1)


class EngineBooks:
    """The venue as the feed reads it to start again: the engine's books, phase and day."""

    def __init__(self, engine: MatchingEngine) -> None:
        self.engine = engine

    @property
    def phase(self) -> SessionPhase:
        return self.engine.phase

    @property
    def trading_day_code(self) -> str:
        return self.engine.trading_day

    def book_levels(self) -> dict[str, tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]]:
        return {
            code: (book.depth(Side.BUY, len(book.prices)), book.depth(Side.SELL, len(book.prices)))
            for code, book in self.engine.books.items()
        }


def test_a_feed_that_missed_a_batch_starts_again_from_the_books_and_sends_every_subscriber_a_snapshot() -> (
    None
):
    market = Market()
    subscriber = subscribed(market.hub, "005930")
    market.order(Side.BUY, 71_400, 10)
    # A batch the feed failed on: the engine has it, the feed and the hub do not.
    market.engine.handle(
        PlaceOrder("005930", 99, Side.BUY, OrderType.LIMIT, TimeInForce.DAY, 71_300, 5, timestamp_ns(OPEN))
    )
    subscriber.queue.clear()
    market.feed.resynchronise(EngineBooks(market.engine))
    depth, snapshot = (orjson.loads(text) for text in subscriber.queue)
    assert (depth["type"], depth["sequence"]) == ("depth", 2)
    assert depth["depth"]["bids"] == [[71_400, 10], [71_300, 5]]
    assert (snapshot["type"], snapshot["sequence"]) == ("snapshot", 2)
    assert snapshot["depth"]["bids"] == [[71_400, 10], [71_300, 5]]
    market.order(Side.SELL, 71_400, 4)  # and it goes on from there, in sequence
    assert orjson.loads(subscriber.queue[-1])["sequence"] == 5


def test_the_client_resyncs_on_a_gap_and_ignores_updates_until_the_snapshot() -> None:
    market = Market()
    subscriber = subscribed(market.hub, "005930")
    for price in (71_000, 71_100, 71_200):
        market.order(Side.BUY, price, 1)
    messages = [orjson.loads(text) for text in subscriber.queue]
    client = QuoteClient("ws://unused", ["005930"])
    assert client.apply(messages[0]) is None
    assert client.apply(messages[2]) == "005930"  # messages[1] lost
    assert client.gaps == 1
    assert client.apply(messages[3]) is None  # discarded: waiting for the snapshot
    assert not client.books["005930"].synchronised
    assert client.apply(market.hub.snapshot("005930")) is None
    book = client.books["005930"]
    assert (book.synchronised, book.sequence, book.bids[0]) == (True, 3, [71_200, 1])
    assert client.discarded == 2


def test_the_demo_clock_starts_now_during_trading_and_at_the_next_opening_otherwise() -> None:
    schedule = SessionSchedule()
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=SEOUL)
    assert opening_at_or_after(monday_noon, schedule) == monday_noon
    assert opening_at_or_after(datetime(2026, 11, 23, 7, 0, tzinfo=SEOUL), schedule) == OPEN
    assert opening_at_or_after(datetime(2026, 11, 23, 15, 25, tzinfo=SEOUL), schedule) == OPEN + timedelta(
        days=1
    )
    friday_evening = datetime(2026, 11, 27, 20, 0, tzinfo=SEOUL)
    assert opening_at_or_after(friday_evening, schedule) == OPEN + timedelta(days=7)  # the next Monday


def test_a_running_clock_moves_with_its_base_from_its_start_and_only_jumps_forward() -> None:
    base = SimulatedClock(datetime(2026, 12, 3, 20, 0, tzinfo=SEOUL))
    clock = RunningClock(OPEN, base=base)
    base.advance(timedelta(seconds=90))
    assert clock.now() == OPEN + timedelta(seconds=90)
    clock.jump_to(OPEN + timedelta(hours=1))
    base.advance(timedelta(seconds=1))
    assert clock.now() == OPEN + timedelta(hours=1, seconds=1)
    with pytest.raises(ValueError, match="backwards"):
        clock.jump_to(OPEN)
