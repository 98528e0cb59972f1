"""A real server for the quotes tests: uvicorn on a free loopback port, in a thread of the test
process, running the venue and the order pipeline, so that a test can put real orders through the
pipeline and watch them arrive over a real WebSocket."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn

from backbone import bootstrap
from backbone.app import create_app
from backbone.bootstrap import Container, Trading
from backbone.exchange.messages import Command, PlaceOrder
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.kit.clock import SEOUL, SimulatedClock
from tests.conftest import settings_for

SERVER_START_S_MAX = 30
MONDAY_OPEN = datetime(2026, 11, 23, 9, 0, 30, tzinfo=SEOUL)
PARTICIPANT_ORDER_ID_FIRST = 1 << 60  # another member's orders: above the brokerage's 53-bit ids


@dataclass
class QuoteServer:
    container: Container
    port: int

    @property
    def trading(self) -> Trading:
        trading = self.container.trading
        assert trading is not None
        return trading

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/quotes"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Participant:
    """Another exchange member's order flow, straight into the venue through the pipeline."""

    def __init__(self, server: QuoteServer) -> None:
        self.server = server
        self.next_order_id = PARTICIPANT_ORDER_ID_FIRST

    def order(self, side: Side, price: int, quantity: int, code: str = "005930") -> PlaceOrder:
        self.next_order_id += 1
        return PlaceOrder(
            code,
            self.next_order_id,
            side,
            OrderType.LIMIT,
            TimeInForce.DAY,
            price,
            quantity,
            self.server.trading.venue.timestamp_ns(),
        )

    def run(self, commands: list[Command]) -> None:
        results = self.server.trading.pipeline.run_commands(commands)
        rejected = [event for result in results for event in result.events if event.KIND.endswith("rejected")]
        assert not rejected, rejected


def serve(
    container: Container,
    *,
    buffer_bytes_max: int | None = None,
    send_buffer_bytes: int | None = None,
) -> Iterator[QuoteServer]:
    """Serve on a loopback port; `send_buffer_bytes` sets the kernel's send buffer of every
    connection (accepted sockets inherit it from the listening one), so that a client that stops
    reading backs up into the hub's queue after kilobytes rather than megabytes."""
    if buffer_bytes_max is not None:
        container.quotes.buffer_bytes_max = buffer_bytes_max
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer_bytes is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(container, run_market=True),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="quotes-test-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + SERVER_START_S_MAX
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.05)
    try:
        yield QuoteServer(container, port)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


@pytest.fixture
def market_container(sqlite_template: Path, tmp_path: Path) -> Iterator[Container]:
    path = tmp_path / "backbone.sqlite3"
    shutil.copyfile(sqlite_template, path)
    container = bootstrap.build(
        settings_for(f"sqlite:///{path}", tmp_path), clock=SimulatedClock(MONDAY_OPEN)
    )
    yield container
    container.close()


@pytest.fixture
def quote_server(market_container: Container) -> Iterator[QuoteServer]:
    yield from serve(market_container)


@pytest.fixture
def participant(quote_server: QuoteServer) -> Participant:
    wait_for_open(quote_server)
    return Participant(quote_server)


def wait_for_open(server: QuoteServer) -> None:
    """The pipeline's thread opens the market (pre-open, opening auction) within its first second."""
    deadline = time.monotonic() + 10
    while server.trading.venue.phase.value != "continuous":
        assert time.monotonic() < deadline, "the market did not open"
        time.sleep(0.05)
