"""The quote hub: per-instrument quote state and the fan-out to WebSocket subscribers.

Everything here runs on the event loop. The pipeline's thread hands over each batch of quotes in
one `publish` call (`loop.call_soon_threadsafe`), so the loop applies them in order and a
snapshot, built on the loop from the state as delivered so far, is exactly consistent with the
updates that follow it in a subscriber's queue.

Each update arrives already encoded (one `str` shared by every subscriber), and each batch's
messages for an instrument are framed once (RFC 6455 server frames are the same bytes for every
connection) and written with one call per subscriber. A subscriber's unsent data is bounded (the
transport's write buffer, or the queue of its writer task); a subscriber over its bound is too
slow: it is dropped from every instrument at once (it gets nothing more) and its connection is
closed with code 4001, so it never slows the others nor grows memory without bound.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Protocol

from backbone.kit.check import invariant
from backbone.quotes.protocol import (
    DAY_CANDLES_KEPT,
    MINUTE_CANDLES_KEPT,
    TRADES_KEPT,
    Level,
    Message,
    best_of,
    encode,
    frame,
)

QUEUE_MESSAGES_MAX: Final = 8_192  # waiting to be written, per subscriber: a few full batches
BUFFER_BYTES_MAX: Final = 2 * 1_048_576  # unsent bytes a connection's transport may hold
CONNECTIONS_MAX: Final = 20_000


class QuoteKind(Enum):
    DEPTH = "depth"
    TRADE = "trade"
    CANDLE = "candle"
    DAY_CANDLE = "day_candle"  # state only: daily candles are served over HTTP
    PHASE = "phase"  # state only; subscribers get a fresh snapshot


@dataclass(frozen=True, slots=True)
class Quote:
    instrument: str
    kind: QuoteKind
    sequence: int  # the instrument's sequence after this quote
    body: Message  # depth: {bids, asks}; trade; candle; phase: {phase, trading_day}
    text: str | None  # the message, encoded once; None for state-only quotes


@dataclass(slots=True)
class InstrumentQuotes:
    instrument: str
    sequence: int = 0
    last: Message | None = None
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)
    trades: deque[Message] = field(default_factory=lambda: deque(maxlen=TRADES_KEPT))  # newest first
    minute_candles: deque[Message] = field(default_factory=lambda: deque(maxlen=MINUTE_CANDLES_KEPT))
    day_candles: deque[Message] = field(default_factory=lambda: deque(maxlen=DAY_CANDLES_KEPT))
    snapshot_text: str | None = None  # encoded once per state, for every subscriber who asks

    def apply(self, quote: Quote) -> None:
        invariant(quote.sequence in (self.sequence, self.sequence + 1), "quotes arrive in sequence")
        self.sequence = quote.sequence
        self.snapshot_text = None
        kind = quote.kind
        body = quote.body
        if kind is QuoteKind.DEPTH:
            self.bids, self.asks = body["bids"], body["asks"]
        elif kind is QuoteKind.TRADE:
            self.trades.appendleft(body)
            self.last = {"price": body["price"], "quantity": body["quantity"], "time": body["time"]}
        elif kind is QuoteKind.CANDLE:
            _put_candle(self.minute_candles, body)
        elif kind is QuoteKind.DAY_CANDLE:
            _put_candle(self.day_candles, body)


def _put_candle(candles: deque[Message], candle: Message) -> None:
    if candles and candles[-1]["time"] == candle["time"]:
        candles[-1] = candle
    else:
        candles.append(candle)


class Transport(Protocol):
    """The part of an asyncio transport the hub writes frames to."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...

    def get_write_buffer_size(self) -> int: ...


class Subscriber:
    """One connection: the instruments it follows and where its messages go.

    With the connection's transport (`transport`, set when the server is uvicorn), the hub writes
    each batch's frames straight to it and the transport's write buffer is the bounded queue
    (`buffer_bytes_max`). Without (another ASGI server), messages wait in `queue` (at most
    `queue_messages_max`) for the connection's writer task, which sends them through ASGI."""

    __slots__ = (
        "buffer_bytes_max",
        "closed",
        "instruments",
        "on_close",
        "queue",
        "queue_messages_max",
        "too_slow",
        "transport",
        "waiter",
    )

    def __init__(self, *, queue_messages_max: int, buffer_bytes_max: int) -> None:
        self.queue: deque[str] = deque()
        self.queue_messages_max = queue_messages_max
        self.buffer_bytes_max = buffer_bytes_max
        self.transport: Transport | None = None
        self.instruments: set[str] = set()
        self.waiter: asyncio.Future[None] | None = None
        self.too_slow = False
        self.closed = False
        self.on_close: asyncio.Future[None] | None = None  # the connection's, to stop a blocked write

    def offer(self, text: str) -> bool:
        """Send one message; False when the subscriber is too slow to take it."""
        return self.push([text], frame(text))

    def push(self, texts: list[str], frames: bytes) -> bool:
        """Send messages (`frames` is `texts` framed); False when the subscriber is too slow."""
        transport = self.transport
        if transport is not None:
            if transport.is_closing():
                return True  # the connection is going; its handler disconnects it
            transport.write(frames)
            return transport.get_write_buffer_size() <= self.buffer_bytes_max
        if len(self.queue) + len(texts) > self.queue_messages_max:
            return False
        self.queue.extend(texts)
        self._wake()
        return True

    def close(self, *, too_slow: bool) -> None:
        self.closed = True
        self.too_slow = self.too_slow or too_slow
        self.queue.clear()
        self._wake()
        if self.on_close is not None and not self.on_close.done():
            self.on_close.set_result(None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_message(self) -> str | None:
        """The next queued message to write, waiting for one; None once closed."""
        while not self.queue:
            if self.closed:
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
            self.waiter = None
        if self.closed:
            return None
        return self.queue.popleft()


class QuoteHub:
    def __init__(
        self,
        instruments: Iterable[str],
        *,
        queue_messages_max: int = QUEUE_MESSAGES_MAX,
        buffer_bytes_max: int = BUFFER_BYTES_MAX,
    ) -> None:
        self.instruments = tuple(instruments)
        self.known = frozenset(self.instruments)
        self.states = {code: InstrumentQuotes(code) for code in self.instruments}
        self.subscribers: dict[str, dict[Subscriber, None]] = {code: {} for code in self.instruments}
        self.connections: set[Subscriber] = set()
        self.queue_messages_max = queue_messages_max
        self.buffer_bytes_max = buffer_bytes_max
        self.phase = "closed"
        self.trading_day = ""
        self.dropped_too_slow = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None

    # --- the pipeline's thread ------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Deliver on `loop` from now on (the server's); None: deliver on the publishing thread."""
        self.loop = loop
        self.loop_thread = threading.get_ident() if loop is not None else None

    def publish(self, quotes: Sequence[Quote]) -> None:
        """From any thread: the quotes go to the loop in one call, in order."""
        loop = self.loop
        if loop is None or threading.get_ident() == self.loop_thread:
            self.deliver(quotes)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self.deliver, quotes)

    def reset(
        self, *, phase: str, trading_day: str, depths: Mapping[str, tuple[list[Level], list[Level]]]
    ) -> None:
        """The venue's state at start (before any quote is published)."""
        self.phase, self.trading_day = phase, trading_day
        self.states = {code: InstrumentQuotes(code) for code in self.instruments}
        for instrument, (bids, asks) in depths.items():
            state = self.states[instrument]
            state.bids, state.asks = bids, asks

    # --- the loop -------------------------------------------------------------------------------

    def deliver(self, quotes: Sequence[Quote]) -> None:
        """Apply a batch to the state, then send each instrument's messages of the batch to its
        subscribers: framed once per instrument, one write per subscriber."""
        batches: dict[str, list[str]] = {}
        for quote in quotes:
            instrument = quote.instrument
            state = self.states[instrument]
            if quote.kind is QuoteKind.PHASE:
                self._phase_changed(quote.body)
                state.snapshot_text = None
            state.apply(quote)
            text = quote.text
            if text is None and quote.kind is QuoteKind.PHASE:
                text = self.snapshot_text(instrument)
            if text is not None and self.subscribers[instrument]:
                batches.setdefault(instrument, []).append(text)
        too_slow: list[Subscriber] = []
        for instrument, texts in batches.items():
            frames = b"".join([frame(text) for text in texts])
            for subscriber in self.subscribers[instrument]:
                if not subscriber.push(texts, frames):
                    too_slow.append(subscriber)
        for subscriber in too_slow:
            if not subscriber.closed:
                self.disconnect(subscriber, too_slow=True)

    def _phase_changed(self, change: Message) -> None:
        new_day = change["phase"] == "pre_open_auction" and change["trading_day"] != self.trading_day
        if new_day:
            for state in self.states.values():
                state.last = None
                state.trades.clear()
                state.minute_candles.clear()
        self.phase, self.trading_day = change["phase"], change["trading_day"]

    def connect(self) -> Subscriber | None:
        """A new subscriber, or None when the hub holds CONNECTIONS_MAX already."""
        if len(self.connections) >= CONNECTIONS_MAX:
            return None
        subscriber = Subscriber(
            queue_messages_max=self.queue_messages_max, buffer_bytes_max=self.buffer_bytes_max
        )
        self.connections.add(subscriber)
        return subscriber

    def subscribe(self, subscriber: Subscriber, instruments: Iterable[str]) -> None:
        """Follow the instruments: each one's snapshot now, then its updates. Subscribing again to
        an instrument already followed sends a fresh snapshot (as a resync does)."""
        for instrument in instruments:
            self.subscribers[instrument][subscriber] = None
            subscriber.instruments.add(instrument)
            if not subscriber.offer(self.snapshot_text(instrument)):
                self.disconnect(subscriber, too_slow=True)
                return

    def resync(self, subscriber: Subscriber, instrument: str) -> None:
        if not subscriber.offer(self.snapshot_text(instrument)):
            self.disconnect(subscriber, too_slow=True)

    def unsubscribe(self, subscriber: Subscriber, instruments: Iterable[str]) -> None:
        for instrument in instruments:
            self.subscribers[instrument].pop(subscriber, None)
            subscriber.instruments.discard(instrument)

    def disconnect(self, subscriber: Subscriber, *, too_slow: bool = False) -> None:
        self.unsubscribe(subscriber, list(subscriber.instruments))
        self.connections.discard(subscriber)
        if too_slow and not subscriber.closed:
            self.dropped_too_slow += 1
        subscriber.close(too_slow=too_slow)

    # --- queries (the loop) ---------------------------------------------------------------------

    def snapshot(self, instrument: str) -> Message:
        state = self.states[instrument]
        return {
            "type": "snapshot",
            "instrument": instrument,
            "sequence": state.sequence,
            "phase": self.phase,
            "last": state.last,
            "best": best_of(state.bids, state.asks),
            "depth": {"bids": state.bids, "asks": state.asks},
            "trades": list(state.trades),
            "candles": {"1m": list(state.minute_candles)},
        }

    def snapshot_text(self, instrument: str) -> str:
        state = self.states[instrument]
        if state.snapshot_text is None:
            state.snapshot_text = encode(self.snapshot(instrument))
        return state.snapshot_text
