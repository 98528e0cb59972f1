"""Quotes over a real WebSocket (uvicorn on a loopback port) with real orders through the order
pipeline: snapshot then ordered updates, a lost message detected and resynchronised, a slow
client closed with 4001 while a fast one keeps up, bad messages answered, unknown instruments."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from backbone.bootstrap import Container
from backbone.errors import BackboneError
from backbone.exchange.messages import Command
from backbone.exchange.orders import Side
from backbone.quotes import endpoints, feed, protocol
from backbone.quotes.client import LocalBook, QuoteClient
from backbone.quotes.hub import Subscriber
from tests import builders
from tests.e2e.quotes.conftest import Participant, QuoteServer, serve, wait_for_open
from tests.trading import limit, place

CODE = "005930"  # base price 71,500 won, tick 100


def server_book(server: QuoteServer, code: str = CODE) -> dict[str, Any]:
    response = httpx.get(f"{server.http}/api/v1/market/instruments/{code}/quote", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_book_matches(book: LocalBook, server: QuoteServer) -> None:
    expected = server_book(server)
    assert book.sequence == expected["sequence"]
    assert (book.bids, book.asks) == (expected["depth"]["bids"], expected["depth"]["asks"])
    assert book.best == expected["best"]
    assert book.last == expected["last"]


def caught_up_with(sequence: int) -> Callable[[QuoteClient], bool]:
    return lambda client: client.books[CODE].sequence >= sequence


async def run(participant: Participant, commands: list[Command]) -> None:
    await asyncio.to_thread(participant.run, commands)


@pytest.mark.parametrize("fast_path", [True, False], ids=["frames-to-transport", "asgi-send"])
def test_a_subscriber_gets_a_snapshot_then_every_update_in_sequence(
    quote_server: QuoteServer, participant: Participant, fast_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast_path:  # as under a server whose transport the hub does not know: one ASGI send each
        monkeypatch.setattr(endpoints, "FAST_PATH_PROTOCOLS", frozenset())

    async def scenario() -> list[dict[str, Any]]:
        async with QuoteClient(quote_server.url, [CODE]) as client:
            snapshot = await client.receive()
            await client.handle(snapshot)
            await run(
                participant,
                [
                    participant.order(Side.BUY, 71_400, 10),
                    participant.order(Side.SELL, 71_600, 7),
                    participant.order(Side.BUY, 71_600, 4),  # trades 4 at 71,600
                ],
            )
            (subscriber,) = quote_server.container.quotes.subscribers[CODE]
            assert (subscriber.transport is not None) is fast_path
            received = [snapshot]
            while len(received) < 6:
                message = await client.receive()
                received.append(message)
                await client.handle(message)
            assert client.gaps == 0
            assert_book_matches(client.books[CODE], quote_server)
            return received

    snapshot, *updates = asyncio.run(scenario())
    assert snapshot["type"] == "snapshot"
    assert snapshot["phase"] == "continuous"
    assert [message["sequence"] for message in updates] == list(
        range(snapshot["sequence"] + 1, snapshot["sequence"] + 6)
    )
    assert [message["type"] for message in updates] == ["depth", "depth", "trade", "candle", "depth"]
    assert updates[0]["depth"] == {"bids": [[71_400, 10]], "asks": []}
    assert updates[0]["best"] == {"bid": 71_400, "ask": None}
    trade = updates[2]["trade"]
    assert (trade["price"], trade["quantity"], trade["aggressor"]) == (71_600, 4, "buy")
    assert trade["time"].endswith("+09:00")
    candle = updates[3]["candle"]
    assert (candle["open"], candle["close"], candle["volume"]) == (71_600, 71_600, 4)
    assert updates[4]["depth"] == {"bids": [[71_400, 10]], "asks": [[71_600, 3]]}
    trades = httpx.get(f"{quote_server.http}/api/v1/market/instruments/{CODE}/trades", timeout=10).json()
    assert trades["trades"] == [trade]
    candles = httpx.get(
        f"{quote_server.http}/api/v1/market/instruments/{CODE}/candles", params={"interval": "1m"}, timeout=10
    ).json()
    assert candles["candles"] == [candle]


def test_a_client_that_loses_a_message_detects_the_gap_and_resyncs(
    quote_server: QuoteServer, participant: Participant, market_container: Container
) -> None:
    with market_container.database.transaction() as session:
        builders.firm(market_container, session)
        buyer = builders.account(market_container, session, name="김매수", cash=50_000_000)

    def customer_buys(quantity: int, price: int) -> None:
        outcome = place(quote_server.trading, buyer.id, limit(Side.BUY, quantity, price))
        assert not isinstance(outcome, BackboneError), outcome

    async def scenario() -> QuoteClient:
        async with QuoteClient(quote_server.url, [CODE]) as client:
            await client.handle(await client.receive())  # the snapshot
            await run(
                participant, [participant.order(Side.SELL, 71_500 + 100 * step, 20) for step in range(5)]
            )
            for _ in range(5):
                await client.handle(await client.receive())
            assert client.gaps == 0
            # A customer's order crosses the participant's best offer: trade, candle, depth.
            await asyncio.to_thread(customer_buys, 5, 71_500)
            lost = await client.receive()
            assert lost["type"] == "trade"  # dropped on purpose: the book never sees it
            await client.handle(await client.receive())  # the candle: one past the expected sequence
            assert client.gaps == 1
            assert not client.books[CODE].synchronised
            # Until the fresh snapshot, updates are discarded; then the book follows again.
            await client.run_until(lambda current: current.books[CODE].synchronised, timeout_s=10)
            assert client.books[CODE].snapshots == 2
            await run(participant, [participant.order(Side.BUY, 71_300, 9)])
            await asyncio.to_thread(customer_buys, 3, 71_500)
            expected = server_book(quote_server)["sequence"]
            await client.run_until(lambda current: current.books[CODE].sequence == expected, timeout_s=10)
            return client

    client = asyncio.run(scenario())
    book = client.books[CODE]
    assert client.gaps == 1
    assert_book_matches(book, quote_server)
    assert book.last == {"price": 71_500, "quantity": 3, "time": book.trades[0]["time"]}
    assert [trade["quantity"] for trade in book.trades] == [3, 5]  # the lost trade, back from the snapshot
    assert book.asks[0] == [71_500, 12]
    assert book.bids == [[71_300, 9]]


def test_each_update_is_encoded_once_and_shared_by_every_subscriber(
    quote_server: QuoteServer,
    participant: Participant,
    market_container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = market_container.quotes
    encoded: list[str] = []

    def counting_encode(message: dict[str, Any]) -> str:
        text = protocol.encode(message)
        encoded.append(text)
        return text

    monkeypatch.setattr(feed, "encode", counting_encode)

    async def on_server_loop(make: Any) -> Any:
        return make()

    def server_loop(make: Any) -> Any:
        assert hub.loop is not None
        return asyncio.run_coroutine_threadsafe(on_server_loop(make), hub.loop).result(timeout=10)

    def probe() -> Subscriber:
        """A subscriber that never writes: everything offered to it stays in its queue."""
        subscriber = hub.connect()
        assert subscriber is not None
        hub.subscribe(subscriber, [CODE])
        return subscriber

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with (
            QuoteClient(quote_server.url, [CODE]) as first,
            QuoteClient(quote_server.url, [CODE]) as second,
        ):
            for client in (first, second):
                await client.handle(await client.receive())
            start = first.books[CODE].sequence
            # The real connections take the fast path: frames written to uvicorn's transport.
            assert all(subscriber.transport is not None for subscriber in hub.subscribers[CODE])
            probes = [server_loop(probe), server_loop(probe)]
            assert len(hub.subscribers[CODE]) == 4
            await run(
                participant, [participant.order(Side.BUY, 71_000, 1), participant.order(Side.SELL, 71_000, 1)]
            )
            texts = []
            for client in (first, second):
                await client.run_until(
                    lambda current: current.books[CODE].sequence == start + 4, timeout_s=10
                )
                texts.append(client.books[CODE].trades[0]["time"])
            queued = [
                server_loop(lambda subscriber=subscriber: list(subscriber.queue)[1:]) for subscriber in probes
            ]
            for subscriber in probes:
                server_loop(lambda subscriber=subscriber: hub.disconnect(subscriber))
            return queued[0], queued[1], texts

    one, other, times = asyncio.run(scenario())
    assert [orjson.loads(text)["type"] for text in one] == ["depth", "trade", "candle", "depth"]
    assert all(a is b for a, b in zip(one, other, strict=True))  # the same str object, not equal copies
    assert encoded == one  # four updates, four subscribers: four encodings
    assert times[0] == times[1]


@pytest.fixture
def small_buffer_server(market_container: Container) -> Any:
    yield from serve(
        market_container, buffer_bytes_max=256 * 1_024, send_buffer_bytes=8_192
    )  # above one flood of 200


class SilentClient:
    """A WebSocket client on a bare socket that subscribes and then reads nothing until told to:
    its kernel receive buffer is tiny, so the server's writes back up almost at once."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4_096)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws/quotes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        response = b""
        while not response.endswith(b"\r\n\r\n"):
            response += self.sock.recv(1)  # one byte at a time: frames may follow the headers
        assert response.startswith(b"HTTP/1.1 101"), response

    def send_text(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        assert len(payload) < 126
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(b"\x81" + bytes([0x80 | len(payload)]) + mask + masked)

    def read_until_close(self) -> tuple[int, str, int]:
        """Read every frame the server sent: the close frame's code and reason, and how many text
        frames came before it."""
        buffer, texts = b"", 0
        while True:
            while len(buffer) >= 2:
                opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
                if length == 126:
                    length, start = int.from_bytes(buffer[2:4], "big"), 4
                elif length == 127:
                    length, start = int.from_bytes(buffer[2:10], "big"), 10
                if len(buffer) < start + length:
                    break
                payload, buffer = buffer[start : start + length], buffer[start + length :]
                if opcode == 0x8:
                    return int.from_bytes(payload[:2], "big"), payload[2:].decode(), texts
                texts += opcode == 0x1
            chunk = self.sock.recv(65_536)
            assert chunk, "the connection ended without a close frame"
            buffer += chunk

    def close(self) -> None:
        self.sock.close()


def test_a_slow_client_is_closed_with_4001_and_the_fast_one_keeps_receiving(
    small_buffer_server: QuoteServer,
) -> None:
    server = small_buffer_server
    wait_for_open(server)
    participant = Participant(server)
    hub = server.container.quotes
    floods = 12
    orders_per_flood = 200
    slow = SilentClient(server.port)
    slow.send_text(orjson.dumps({"op": "subscribe", "instruments": [CODE]}).decode())

    async def scenario() -> QuoteClient:
        async with QuoteClient(server.url, [CODE]) as fast:
            await fast.handle(await fast.receive())
            for flood in range(floods):
                # Each order adds to one of the top ten levels a side: one depth message each.
                await run(
                    participant,
                    [
                        participant.order(side, 71_500 + sign * 100 * (1 + index % 10), 1 + flood)
                        for index in range(orders_per_flood // 2)
                        for side, sign in ((Side.BUY, -1), (Side.SELL, 1))
                    ],
                )
                # One depth message per order: wait for this flood's last, not for the hub's
                # sequence read now (under load the hub may not have published it all yet).
                await fast.run_until(caught_up_with((flood + 1) * orders_per_flood))
            return fast

    try:
        fast = asyncio.run(scenario())
        assert hub.dropped_too_slow == 1
        code, reason, received = slow.read_until_close()
    finally:
        slow.close()
    assert (code, reason) == (4001, "too slow")
    assert 0 < received < floods * orders_per_flood  # it got the snapshot and some updates, not all
    assert fast.gaps == 0
    assert fast.books[CODE].sequence == floods * orders_per_flood
    assert_book_matches(fast.books[CODE], server)


def test_bad_client_messages_are_answered_with_an_error_and_the_connection_stays(
    quote_server: QuoteServer,
) -> None:
    cases = [
        ("not json", "invalid-json"),
        ("[1, 2]", "invalid-message"),
        ('{"op": "trade"}', "unknown-op"),
        ('{"op": "subscribe", "instruments": "005930"}', "invalid-message"),
        ('{"op": "subscribe", "instruments": ["005930", "999999"]}', "unknown-instrument"),
        ('{"op": "resync", "instrument": 5930}', "invalid-message"),
        ('{"op": "resync", "instrument": "000660"}', "not-subscribed"),
        (
            '{"op": "subscribe", "instruments": [' + ",".join(['"005930"'] * 101) + "]}",
            "too-many-instruments",
        ),
        ("x" * 5_000, "message-too-large"),
    ]

    async def scenario() -> list[str]:
        codes = []
        async with QuoteClient(quote_server.url, []) as client:
            for text, _ in cases:
                await client.connection.send(text)
                message = await client.receive()
                assert message["type"] == "error"
                assert message["detail"]
                codes.append(message["code"])
            await client.connection.send(b"\x00binary")
            codes.append((await client.receive())["code"])
            await client.send({"op": "subscribe", "instruments": [CODE]})
            snapshot = await client.receive()
            assert (snapshot["type"], snapshot["instrument"]) == ("snapshot", CODE)
            assert quote_server.container.quotes.subscribers[CODE]
        return codes

    assert asyncio.run(scenario()) == [code for _, code in cases] + ["invalid-message"]


def test_an_unknown_instrument_is_refused_over_websocket_and_http(quote_server: QuoteServer) -> None:
    async def scenario() -> dict[str, Any]:
        async with QuoteClient(quote_server.url, ["123456"]) as client:
            return await client.receive()

    refused = asyncio.run(scenario())
    assert refused["type"] == "error"
    assert refused["code"] == "unknown-instrument"
    assert "123456" in refused["detail"]
    for path in ("quote", "orderbook", "trades", "candles"):
        response = httpx.get(f"{quote_server.http}/api/v1/market/instruments/123456/{path}", timeout=10)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "market.unknown_instrument"
