"""Quotes over WebSocket (`/ws/quotes`) and over HTTP (`/api/v1/market/instruments/{code}/...`).

The protocol is docs/quotes.md. No authentication: market data is public, like a market's own
listing. A connection has two tasks: one reads the client's messages (subscribe, unsubscribe,
resync; a bad one is answered with an error message and the connection stays), the other writes
what the hub queued for it. The HTTP handlers are `async` so that they read the hub's state on the
event loop, where it is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum
from typing import Annotated, Any, Final, cast

import orjson
from fastapi import APIRouter, Path, Query, Request, WebSocket
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backbone.exchange.errors import UnknownInstrument
from backbone.kit.logs import get_logger
from backbone.quotes.hub import QuoteHub, Subscriber
from backbone.quotes.protocol import (
    CLOSE_TOO_SLOW,
    CLOSE_TOO_SLOW_REASON,
    INSTRUMENTS_PER_CONNECTION_MAX,
    ErrorCode,
    Refused,
    Resync,
    Subscribe,
    Unsubscribe,
    error_message,
    read_client_message,
)

CLOSE_WAIT_S: Final = 10.0  # a too-slow client gets this long to take the close frame
CLOSE_TRY_AGAIN_LATER: Final = 1013
CODE_LENGTH_MAX: Final = 12
log = get_logger("backbone.quotes")

quotes_socket_router = APIRouter(tags=["quotes"])
quotes_router = APIRouter(prefix="/api/v1/market", tags=["market"])


TRANSPORT_SCOPE_KEY: Final = "backbone.websocket_transport"
FAST_PATH_PROTOCOLS: Final = frozenset({"WebSocketsSansIOProtocol"})  # uvicorn's, with `websockets`


class WebSocketTransportMiddleware:
    """Finds the transport under a WebSocket connection, so the hub can write each batch's frames
    (built once) straight to it instead of one ASGI `send` per message per subscriber: the fan-out
    then costs one write per subscriber per batch (docs/quotes.md, docs/performance.md).

    uvicorn hands the application its protocol's bound `send`; ServerErrorMiddleware and
    RequestMiddleware pass it on unchanged for WebSocket scopes. Only uvicorn's websockets-sansio
    protocol is trusted (its state machine tracks only handshakes and closes, so whole data frames
    written beside it are safe); anything else finds nothing and the hub takes the ASGI path.
    `test_quotes_over_websocket` checks the fast path is taken with the pinned uvicorn."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            transport = getattr(protocol, "transport", None)
            if type(protocol).__name__ in FAST_PATH_PROTOCOLS and transport is not None:
                scope[TRANSPORT_SCOPE_KEY] = transport
        await self.app(scope, receive, send)


def hub_of(app: Any) -> QuoteHub:
    return cast(QuoteHub, app.state.container.quotes)


# --- WebSocket ------------------------------------------------------------------------------------


@quotes_socket_router.websocket("/ws/quotes")
async def quotes_socket(websocket: WebSocket) -> None:
    hub = hub_of(websocket.app)
    await websocket.accept()
    subscriber = hub.connect()
    if subscriber is None:
        await websocket.close(CLOSE_TRY_AGAIN_LATER, "too many connections")
        return
    subscriber.transport = websocket.scope.get(TRANSPORT_SCOPE_KEY)
    # A write blocked on a client that reads nothing must not keep a dropped subscriber alive.
    closed = subscriber.on_close = asyncio.get_running_loop().create_future()
    tasks = {asyncio.create_task(_read(websocket, hub, subscriber))}
    if subscriber.transport is None:
        tasks.add(asyncio.create_task(_write(websocket, subscriber)))
    try:
        await asyncio.wait({*tasks, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.disconnect(subscriber)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if subscriber.too_slow and websocket.application_state is WebSocketState.CONNECTED:
        # The close frame waits behind what the client has not read yet; if the client never
        # reads, the connection is dropped anyway when this returns.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(CLOSE_TOO_SLOW, CLOSE_TOO_SLOW_REASON), CLOSE_WAIT_S)


async def _write(websocket: WebSocket, subscriber: Subscriber) -> None:
    send = websocket.send_text
    while True:
        text = await subscriber.next_message()
        if text is None:
            return
        await send(text)


async def _read(websocket: WebSocket, hub: QuoteHub, subscriber: Subscriber) -> None:
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            subscriber.offer(error_message(ErrorCode.INVALID_MESSAGE, "messages are JSON text frames"))
            continue
        _answer(hub, subscriber, text)


def _answer(hub: QuoteHub, subscriber: Subscriber, text: str) -> None:
    request = read_client_message(text, hub.known)
    if isinstance(request, Refused):
        subscriber.offer(error_message(request.code, request.detail))
    elif isinstance(request, Subscribe):
        if len(subscriber.instruments | set(request.instruments)) > INSTRUMENTS_PER_CONNECTION_MAX:
            subscriber.offer(
                error_message(
                    ErrorCode.TOO_MANY_INSTRUMENTS,
                    f"a connection follows at most {INSTRUMENTS_PER_CONNECTION_MAX} instruments",
                )
            )
            return
        hub.subscribe(subscriber, request.instruments)
    elif isinstance(request, Unsubscribe):
        hub.unsubscribe(subscriber, request.instruments)
    elif isinstance(request, Resync):
        if request.instrument not in subscriber.instruments:
            subscriber.offer(
                error_message(ErrorCode.NOT_SUBSCRIBED, f"subscribe to {request.instrument} before a resync")
            )
            return
        hub.resync(subscriber, request.instrument)


# --- HTTP -----------------------------------------------------------------------------------------


class CandleInterval(StrEnum):
    MINUTE = "1m"
    DAY = "1d"


CodePath = Annotated[str, Path(max_length=CODE_LENGTH_MAX, description="6-digit short code (단축코드)")]


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _known(hub: QuoteHub, code: str) -> str:
    if code not in hub.known:
        raise UnknownInstrument(f"no instrument with code {code!r}")
    return code


@quotes_router.get("/instruments/{code}/quote", summary="현재가: last trade, best bid and ask, 10 levels")
async def quote(code: CodePath, request: Request) -> Response:
    hub = hub_of(request.app)
    snapshot = hub.snapshot(_known(hub, code))
    del snapshot["trades"], snapshot["candles"]
    return _json(snapshot)


@quotes_router.get("/instruments/{code}/orderbook", summary="10단계 호가: ten levels a side")
async def order_book(code: CodePath, request: Request) -> Response:
    hub = hub_of(request.app)
    snapshot = hub.snapshot(_known(hub, code))
    return _json({key: snapshot[key] for key in ("instrument", "sequence", "phase", "best", "depth")})


@quotes_router.get("/instruments/{code}/trades", summary="The latest trades, newest first (up to 50)")
async def trades(code: CodePath, request: Request) -> Response:
    hub = hub_of(request.app)
    snapshot = hub.snapshot(_known(hub, code))
    return _json({key: snapshot[key] for key in ("instrument", "sequence", "trades")})


@quotes_router.get("/instruments/{code}/candles", summary="OHLCV candles of today (1m) or by day (1d)")
async def candles(
    code: CodePath, request: Request, interval: Annotated[CandleInterval, Query()] = CandleInterval.MINUTE
) -> Response:
    hub = hub_of(request.app)
    state = hub.states[_known(hub, code)]
    found = state.minute_candles if interval is CandleInterval.MINUTE else state.day_candles
    return _json(
        {"instrument": code, "sequence": state.sequence, "interval": interval.value, "candles": list(found)}
    )
