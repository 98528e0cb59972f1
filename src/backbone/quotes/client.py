"""A Python client of the quotes protocol: a local book per instrument, kept from a snapshot and
the updates after it; a gap in an instrument's sequence sends `resync` and discards that
instrument's updates until the fresh snapshot arrives.

    async with QuoteClient("ws://127.0.0.1:8000/ws/quotes", ["005930"]) as client:
        while True:
            await client.handle(await client.receive())
            print(client.books["005930"].best)

`receive()` and `handle()` are separate so that a caller (a test) can see, or lose, a message
before the book does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from backbone.quotes.protocol import TRADES_KEPT, Level, Message

MESSAGE_BYTES_MAX = 1_048_576


@dataclass(slots=True)
class LocalBook:
    instrument: str
    sequence: int = 0
    synchronised: bool = False  # False until the first snapshot, and from a gap to the next one
    phase: str = ""
    last: Message | None = None
    best: dict[str, int | None] = field(default_factory=lambda: {"bid": None, "ask": None})
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)
    trades: deque[Message] = field(default_factory=lambda: deque(maxlen=TRADES_KEPT))  # newest first
    minute_candles: list[Message] = field(default_factory=list)
    snapshots: int = 0

    def load(self, snapshot: Message) -> None:
        self.sequence = snapshot["sequence"]
        self.phase = snapshot["phase"]
        self.last = snapshot["last"]
        self.best = snapshot["best"]
        self.bids = snapshot["depth"]["bids"]
        self.asks = snapshot["depth"]["asks"]
        self.trades = deque(snapshot["trades"], maxlen=TRADES_KEPT)
        self.minute_candles = list(snapshot["candles"]["1m"])
        self.synchronised = True
        self.snapshots += 1

    def update(self, message: Message) -> None:
        kind = message["type"]
        if kind == "depth":
            self.bids, self.asks = message["depth"]["bids"], message["depth"]["asks"]
            self.best = message["best"]
        elif kind == "trade":
            trade = message["trade"]
            self.trades.appendleft(trade)
            self.last = {"price": trade["price"], "quantity": trade["quantity"], "time": trade["time"]}
        elif kind == "candle":
            candle = message["candle"]
            if self.minute_candles and self.minute_candles[-1]["time"] == candle["time"]:
                self.minute_candles[-1] = candle
            else:
                self.minute_candles.append(candle)
        self.sequence = message["sequence"]


class QuoteClient:
    def __init__(self, url: str, instruments: Sequence[str]) -> None:
        self.url = url
        self.instruments = list(instruments)
        self.books: dict[str, LocalBook] = {}
        self.gaps = 0  # sequence jumps seen
        self.discarded = 0  # updates dropped while waiting for a snapshot
        self.errors: list[Message] = []
        self._connection: ClientConnection | None = None

    async def __aenter__(self) -> QuoteClient:
        self._connection = await connect(self.url, max_size=MESSAGE_BYTES_MAX)
        if self.instruments:
            await self.send({"op": "subscribe", "instruments": self.instruments})
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.connection.close()

    @property
    def connection(self) -> ClientConnection:
        if self._connection is None:
            raise RuntimeError("the client is not connected: use `async with QuoteClient(...)`")
        return self._connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self) -> Message:
        text = await self.connection.recv()
        message: Message = orjson.loads(text)
        return message

    async def handle(self, message: Message) -> None:
        """Apply one server message; on a gap, ask for a fresh snapshot."""
        gap = self.apply(message)
        if gap is not None:
            await self.send({"op": "resync", "instrument": gap})

    def apply(self, message: Message) -> str | None:
        """Apply one server message; the instrument to resynchronise when it shows a gap."""
        kind = message["type"]
        if kind == "error":
            self.errors.append(message)
            return None
        instrument: str = message["instrument"]
        if kind == "snapshot":
            self.books.setdefault(instrument, LocalBook(instrument)).load(message)
            return None
        book = self.books.get(instrument)
        if book is None or not book.synchronised or message["sequence"] <= book.sequence:
            self.discarded += 1  # before its snapshot, or already in it
            return None
        if message["sequence"] != book.sequence + 1:
            self.gaps += 1
            book.synchronised = False
            self.discarded += 1
            return instrument
        book.update(message)
        return None

    async def run_until(self, done: Callable[[QuoteClient], bool], *, timeout_s: float = 10.0) -> None:
        """Receive and apply messages until `done(self)` holds."""
        async with asyncio.timeout(timeout_s):
            while not done(self):
                await self.handle(await self.receive())
