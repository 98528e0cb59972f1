"""Quotes fan-out over WebSocket: tick-to-client latency and messages delivered per second to
1,000 and 5,000 subscribers of one instrument.

The server is Backbone's own stack in this process: the venue and the order pipeline (journal
with group fsync, booking in SQLite), the quote feed and hub, uvicorn serving `/ws/quotes`. A
ticker thread sends one marketable order every 1/rate seconds through `pipeline.run_commands`
against deep resting liquidity, so every tick is a real trade: three messages to every subscriber
(trade, candle, depth). The subscribers are in separate processes on loopback: a small RFC 6455
client on asyncio protocols (handshake, frame parsing, pong), deliberately lean so that on this
2-core machine the clients' CPU does not decide the figure. Every subscriber checks that its
sequence numbers are consecutive (a gap counts as a drop) and counts close frames (4001 = dropped
as too slow).

Tick-to-client latency = the instant the subscriber has parsed the trade message minus the
trade's own time (the timestamp the ticker gave the order before submitting it: venue, journal,
booking, feed, hub, socket, parse). The server runs on the demo market's clock so the market is
open at any hour; the clients are given that clock's offset from the system clock.

    .venv/bin/python -m benchmarks.quotes_fanout \
        [--subscribers 1000,5000] [--rate 4] [--seconds 20] [--processes 4]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, cast

import orjson
import uvicorn

from backbone import bootstrap, schema
from backbone.app import create_app
from backbone.bootstrap import Container
from backbone.config import Settings
from backbone.demo.market import demo_clock
from backbone.exchange.calendar import krx_calendar
from backbone.exchange.messages import PlaceOrder
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.schedule import SessionSchedule
from backbone.kit.clock import SystemClock

CODE = "005930"
BID, ASK = 71_400, 71_600
RESTING_SHARES = 5_000_000
PARTICIPANT_IDS = 1 << 60
CONNECTS_IN_FLIGHT_MAX = 100
DRAIN_S = 3.0
FLOOR_PAYLOAD_BYTES = 700  # about one tick's three frames (trade, candle, depth)


# --- subscribers (separate processes) -----------------------------------------------------------


@dataclass
class Tally:
    messages: int = 0
    gaps: int = 0
    closes: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    connected: int = 0


def masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    length = len(payload)
    header = (
        bytes([0x80 | opcode, 0x80 | length])
        if length < 126
        else bytes([0x80 | opcode, 0xFE]) + length.to_bytes(2, "big")
    )
    return header + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


class Subscriber(asyncio.Protocol):
    def __init__(self, port: int, tally: Tally, offset_ns: int, ready: asyncio.Future[None]) -> None:
        self.port = port
        self.tally = tally
        self.offset_ns = offset_ns
        self.ready = ready
        self.buffer = bytearray()
        self.upgraded = False
        self.sequence = -1
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET /ws/quotes HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            assert buffer.startswith(b"HTTP/1.1 101"), bytes(buffer[:80])
            del buffer[: end + 4]
            self.upgraded = True
            assert self.transport is not None
            self.transport.write(masked_frame(0x1, orjson.dumps({"op": "subscribe", "instruments": [CODE]})))
        position = 0
        while len(buffer) - position >= 2:
            opcode, length, start = buffer[position] & 0x0F, buffer[position + 1] & 0x7F, position + 2
            if length == 126:
                length, start = int.from_bytes(buffer[start : start + 2], "big"), start + 2
            elif length == 127:
                length, start = int.from_bytes(buffer[start : start + 8], "big"), start + 8
            if len(buffer) < start + length:
                break
            payload = bytes(buffer[start : start + length])
            position = start + length
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9 and self.transport is not None:
                self.transport.write(masked_frame(0xA, payload))
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big")
                self.tally.closes[code] = self.tally.closes.get(code, 0) + 1
        del buffer[:position]

    def on_text(self, payload: bytes) -> None:
        received_ns = time.time_ns()
        message = orjson.loads(payload)
        tally = self.tally
        tally.messages += 1
        kind = message["type"]
        if kind == "snapshot":
            self.sequence = message["sequence"]
            if not self.ready.done():
                self.ready.set_result(None)
            return
        if message["sequence"] != self.sequence + 1:
            tally.gaps += 1
        self.sequence = message["sequence"]
        if kind == "trade":
            traded_ns = int(datetime.fromisoformat(message["trade"]["time"]).timestamp() * 1e9)
            tally.latencies_ms.append((received_ns + self.offset_ns - traded_ns) / 1e6)


async def subscribe_all(port: int, count: int, offset_ns: int, tally: Tally) -> list[asyncio.Transport]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT_MAX)
    transports: list[asyncio.Transport] = []

    async def one() -> None:
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda: Subscriber(port, tally, offset_ns, ready), "127.0.0.1", port
            )
            transports.append(transport)
            await asyncio.wait_for(ready, 60)
            tally.connected += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return transports


def subscriber_process(port: int, count: int, offset_ns: int, ready: Connection, stop: Event) -> None:
    raise_open_files_limit()
    import uvloop  # noqa: PLC0415 - the clients' own event loop, in their own process

    async def main() -> Tally:
        tally = Tally()
        transports = await subscribe_all(port, count, offset_ns, tally)
        tally.messages = 0  # count from the first tick: snapshots are not the figure
        ready.send(tally.connected)
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await asyncio.sleep(DRAIN_S)
        for transport in transports:
            transport.close()
        return tally

    tally = uvloop.run(main())
    ready.send((tally.messages, tally.gaps, tally.closes, tally.latencies_ms))


def raise_open_files_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def sink_process(ready: Connection, stop: Event) -> None:
    """Accepts connections and reads and discards everything: the far end of the floor."""
    raise_open_files_limit()
    import uvloop  # noqa: PLC0415 - the sink's own event loop, in its own process

    async def main() -> None:
        async def discard(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
            while await reader.read(65_536):
                pass

        listener = await asyncio.start_server(discard, "127.0.0.1", 0, backlog=8_192)
        ready.send(listener.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.05)

    uvloop.run(main())


def write_floor(connections: int, payload_bytes: int, rounds: int = 20) -> tuple[float, float]:
    """The floor under any fan-out: one bare uvloop `transport.write` of the same bytes to each of
    `connections` sockets (no hub, no WebSocket), per connection in microseconds: p50, p99 of rounds."""
    import uvloop  # noqa: PLC0415 - as the server's loop

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    mine, theirs = context.Pipe()
    sink = context.Process(target=sink_process, args=(theirs, stop))
    sink.start()
    port = mine.recv()

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        transports = []
        for _ in range(connections):
            transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
            transports.append(transport)
        data = b"x" * payload_bytes
        per_write_us = []
        for _ in range(rounds):
            began = time.perf_counter()
            for transport in transports:
                if not transport.is_closing():
                    transport.write(data)
                    transport.get_write_buffer_size()
            per_write_us.append((time.perf_counter() - began) / connections * 1e6)
            await asyncio.sleep(0.25)
        for transport in transports:
            transport.close()
        return sorted(per_write_us)

    try:
        timings = uvloop.run(main())
    finally:
        stop.set()
        sink.join(timeout=10)
    return statistics.median(timings), timings[int(len(timings) * 0.99)]


# --- the server (this process) ------------------------------------------------------------------


@contextmanager
def server(directory: Path) -> Iterator[tuple[Container, int, int]]:
    settings = Settings(
        database_url=f"sqlite:///{directory / 'backbone.sqlite3'}",
        var_directory=directory,
        log_level="WARNING",
    )
    clock = demo_clock(directory, SessionSchedule(holidays=krx_calendar().holidays))
    offset_ns = round((clock.now() - SystemClock().now()).total_seconds() * 1e9)
    container = bootstrap.build(settings, clock=clock)
    schema.upgrade(container.database.engine)
    with container.database.transaction() as session:
        bootstrap.sync_reference_data(session, container)
    config = uvicorn.Config(
        create_app(container, run_market=True), host="127.0.0.1", port=0, log_config=None, access_log=False
    )
    config.backlog = 8_192
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, name="server", daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.05)
    port = runner.servers[0].sockets[0].getsockname()[1]
    try:
        yield container, port, offset_ns
    finally:
        runner.should_exit = True
        thread.join(timeout=60)
        container.close()


class Ticker:
    def __init__(self, container: Container) -> None:
        trading = container.trading
        assert trading is not None
        self.pipeline = trading.pipeline
        self.venue = trading.venue
        self.next_id = PARTICIPANT_IDS
        self.ticks = 0
        self.pipeline_ms: list[float] = []  # run_commands: venue, journal fsync, booking commit, feed

    def order(
        self, side: Side, order_type: OrderType, tif: TimeInForce, price: int, quantity: int
    ) -> PlaceOrder:
        self.next_id += 1
        return PlaceOrder(
            CODE, self.next_id, side, order_type, tif, price, quantity, self.venue.timestamp_ns()
        )

    def open_market(self) -> None:
        deadline = time.monotonic() + 30
        while self.venue.phase.value != "continuous":
            assert time.monotonic() < deadline, "the market did not open"
            time.sleep(0.1)
        self.pipeline.run_commands(
            [
                self.order(Side.BUY, OrderType.LIMIT, TimeInForce.DAY, BID, RESTING_SHARES),
                self.order(Side.SELL, OrderType.LIMIT, TimeInForce.DAY, ASK, RESTING_SHARES),
            ]
        )

    def run(self, rate: float, seconds: float) -> None:
        interval = 1 / rate
        due = time.monotonic()
        end = due + seconds
        while due < end:
            side = Side.BUY if self.ticks % 2 == 0 else Side.SELL
            price = ASK if side is Side.BUY else BID
            command = self.order(side, OrderType.LIMIT, TimeInForce.IOC, price, 1)
            began = time.perf_counter()
            self.pipeline.run_commands([command])
            self.pipeline_ms.append((time.perf_counter() - began) * 1000)
            self.ticks += 1
            due += interval
            time.sleep(max(0.0, due - time.monotonic()))


@dataclass
class Figure:
    subscribers: int
    rate: float
    ticks: int
    seconds: float
    messages: int
    expected: int
    gaps: int
    closes: dict[int, int]
    latencies_ms: list[float]
    pipeline_ms: list[float]
    fan_out_ms: list[float]

    def row(self) -> str:
        ordered = sorted(self.latencies_ms)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        dropped = self.expected - self.messages
        pipeline = sorted(self.pipeline_ms)
        pipeline_p50, pipeline_p99 = statistics.median(pipeline), pipeline[int(len(pipeline) * 0.99)]
        fan_out = sorted(self.fan_out_ms)
        fan_out_p50, fan_out_p99 = statistics.median(fan_out), fan_out[int(len(fan_out) * 0.99)]
        return (
            f"| {self.subscribers:,} | {self.rate:g}/s | {self.ticks:,} "
            f"| {p50:.1f} | {p99:.1f} | {ordered[-1]:.1f} "
            f"| {pipeline_p50:.1f} / {pipeline_p99:.1f} | {fan_out_p50:.1f} / {fan_out_p99:.1f} "
            f"| {self.messages / self.seconds:,.0f} | {self.messages:,} / {self.expected:,} | {dropped:,} "
            f"| {self.gaps} | {self.closes or '-'} |"
        )


def measure(
    container: Container, port: int, offset_ns: int, subscribers: int, args: argparse.Namespace
) -> Figure:
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    pipes, processes = [], []
    for index in range(args.processes):
        count = subscribers // args.processes + (1 if index < subscribers % args.processes else 0)
        mine, theirs = context.Pipe()
        process = context.Process(target=subscriber_process, args=(port, count, offset_ns, theirs, stop))
        process.start()
        pipes.append(mine)
        processes.append(process)
    connected = sum(pipe.recv() for pipe in pipes)
    assert connected == subscribers, f"{connected} of {subscribers} subscribed"
    assert len(container.quotes.connections) == subscribers
    ticker = Ticker(container)
    ticker.next_id = PARTICIPANT_IDS + 1_000_000 * subscribers
    fan_out_ms = time_fan_out(container)
    started = time.monotonic()
    ticker.run(args.rate, args.seconds)
    seconds = time.monotonic() - started
    stop.set()
    del container.quotes.deliver  # back to the class's own
    messages, gaps = 0, 0
    closes: dict[int, int] = {}
    latencies: list[float] = []
    for pipe in pipes:
        count, gap, close, latency = pipe.recv()
        messages += count
        gaps += gap
        for code, number in close.items():
            closes[code] = closes.get(code, 0) + number
        latencies.extend(latency)
    for process in processes:
        process.join(timeout=60)
    expected = 3 * ticker.ticks * subscribers
    return Figure(
        subscribers,
        args.rate,
        ticker.ticks,
        seconds,
        messages,
        expected,
        gaps,
        closes,
        latencies,
        ticker.pipeline_ms,
        fan_out_ms,
    )


def time_fan_out(container: Container) -> list[float]:
    """Time the hub's delivery of each batch on the event loop (state, framing, every write)."""
    hub = container.quotes
    deliver = hub.deliver
    timings: list[float] = []

    def timed(quotes: Any) -> None:
        began = time.perf_counter()
        deliver(quotes)
        timings.append((time.perf_counter() - began) * 1000)

    hub.deliver = timed  # type: ignore[method-assign]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", default="1000,5000")
    parser.add_argument("--rate", type=float, default=4.0, help="ticks (trades) per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=4, help="subscriber processes")
    args = parser.parse_args()
    raise_open_files_limit()
    figures = []
    with tempfile.TemporaryDirectory() as directory, server(Path(directory)) as (container, port, offset_ns):
        first = Ticker(container)
        first.open_market()
        for subscribers in (int(item) for item in args.subscribers.split(",")):
            figure = measure(container, port, offset_ns, subscribers, args)
            figures.append(figure)
            print(figure.row(), flush=True)
            deadline = time.monotonic() + 30
            while container.quotes.connections and time.monotonic() < deadline:
                time.sleep(0.1)
        dropped_too_slow = container.quotes.dropped_too_slow
    print()
    print(
        "| subscribers | ticks | ticks sent | p50 ms | p99 ms | max ms | pipeline p50 / p99 ms "
        "| hub fan-out p50 / p99 ms "
        "| messages/s delivered "
        "| messages received / expected | missing | sequence gaps | close codes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for figure in figures:
        print(figure.row())
    print(f"\nsubscribers the hub closed as too slow: {dropped_too_slow}")
    largest = max(figure.subscribers for figure in figures)
    floor_p50, floor_p99 = write_floor(largest, FLOOR_PAYLOAD_BYTES)
    print(
        f"floor: a bare uvloop transport.write of {FLOOR_PAYLOAD_BYTES} bytes to each of {largest:,} "
        "sockets costs "
        f"{floor_p50:.1f} us per socket (p99 of rounds {floor_p99:.1f} us): "
        f"{floor_p50 * largest / 1000:.0f} ms for one batch to all of them"
    )


if __name__ == "__main__":
    main()
