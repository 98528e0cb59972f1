"""The quotes protocol (docs/quotes.md): message shapes, times, and reading clients' messages.

Pure: no I/O, no web framework. Server → client messages are JSON objects whose first keys are
`type`, `instrument` and `sequence`; each instrument's updates (`depth`, `trade`, `candle`) number
1, 2, 3, ... and a `snapshot` carries the sequence of the last update it includes. Prices are
integer won, quantities integer shares, times ISO-8601 in Seoul time with the offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

import orjson

from backbone.kit.clock import SEOUL

DEPTH_LEVELS: Final = 10
TRADES_KEPT: Final = 50  # newest first, in snapshots and GET .../trades
MINUTE_CANDLES_KEPT: Final = 400  # a whole session (08:30-15:30) of 1-minute candles
DAY_CANDLES_KEPT: Final = 250  # about a year of trading days
INSTRUMENTS_PER_CONNECTION_MAX: Final = 100
CLIENT_MESSAGE_CHARACTERS_MAX: Final = 4_096
CLOSE_TOO_SLOW: Final = 4001
CLOSE_TOO_SLOW_REASON: Final = "too slow"
UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

Level = list[int]  # [price, quantity]
Message = dict[str, Any]


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid-json"
    INVALID_MESSAGE = "invalid-message"
    UNKNOWN_OPERATION = "unknown-op"
    UNKNOWN_INSTRUMENT = "unknown-instrument"
    TOO_MANY_INSTRUMENTS = "too-many-instruments"
    MESSAGE_TOO_LARGE = "message-too-large"
    NOT_SUBSCRIBED = "not-subscribed"


def iso_time(timestamp_ns: int) -> str:
    """A venue timestamp (nanoseconds since the epoch) as ISO-8601 in Seoul, to the microsecond."""
    instant = UNIX_EPOCH + timedelta(microseconds=timestamp_ns // 1_000)
    return instant.astimezone(SEOUL).isoformat(timespec="microseconds")


def encode(message: Message) -> str:
    """A message's JSON text, made once and shared by every subscriber."""
    return orjson.dumps(message).decode()


def frame(text: str) -> bytes:
    """The WebSocket text frame (RFC 6455, unmasked as a server sends it) carrying `text`: the same
    bytes for every connection, so a batch is framed once and written as is to each."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 65_536:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


def best_of(bids: list[Level], asks: list[Level]) -> dict[str, int | None]:
    return {"bid": bids[0][0] if bids else None, "ask": asks[0][0] if asks else None}


def depth_message(instrument: str, sequence: int, bids: list[Level], asks: list[Level]) -> Message:
    return {
        "type": "depth",
        "instrument": instrument,
        "sequence": sequence,
        "depth": {"bids": bids, "asks": asks},
        "best": best_of(bids, asks),
    }


def trade_message(instrument: str, sequence: int, trade: Message) -> Message:
    return {"type": "trade", "instrument": instrument, "sequence": sequence, "trade": trade}


def candle_message(instrument: str, sequence: int, candle: Message) -> Message:
    return {
        "type": "candle",
        "instrument": instrument,
        "sequence": sequence,
        "interval": "1m",
        "candle": candle,
    }


def error_message(code: ErrorCode, detail: str) -> str:
    return encode({"type": "error", "code": code.value, "detail": detail})


# ── client → server ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Subscribe:
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resync:
    instrument: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A client message that cannot be honoured: answered with an error message, nothing changed."""

    code: ErrorCode
    detail: str


ClientRequest = Subscribe | Unsubscribe | Resync


def read_client_message(text: str, known: Iterable[str] | frozenset[str]) -> ClientRequest | Refused:
    """Read one client message; every instrument it names must be `known`."""
    if len(text) > CLIENT_MESSAGE_CHARACTERS_MAX:
        return Refused(
            ErrorCode.MESSAGE_TOO_LARGE, f"messages are at most {CLIENT_MESSAGE_CHARACTERS_MAX} characters"
        )
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Refused(ErrorCode.INVALID_JSON, "the message is not JSON")
    if not isinstance(message, dict):
        return Refused(ErrorCode.INVALID_MESSAGE, 'a message is a JSON object with an "op"')
    operation = message.get("op")
    if operation in ("subscribe", "unsubscribe"):
        return _read_instruments(message, operation, known)
    if operation == "resync":
        return _read_resync(message, known)
    return Refused(ErrorCode.UNKNOWN_OPERATION, '"op" is one of "subscribe", "unsubscribe", "resync"')


def _read_instruments(
    message: dict[str, Any], operation: str, known: Iterable[str] | frozenset[str]
) -> ClientRequest | Refused:
    instruments = message.get("instruments")
    if not isinstance(instruments, list) or not all(isinstance(code, str) for code in instruments):
        return Refused(ErrorCode.INVALID_MESSAGE, f'"{operation}" takes "instruments", a list of codes')
    if len(instruments) > INSTRUMENTS_PER_CONNECTION_MAX:
        return Refused(
            ErrorCode.TOO_MANY_INSTRUMENTS,
            f"a connection follows at most {INSTRUMENTS_PER_CONNECTION_MAX} instruments",
        )
    unknown = [code for code in instruments if code not in known]
    if unknown:
        return Refused(ErrorCode.UNKNOWN_INSTRUMENT, f"no instrument with code {unknown[0][:12]!r}")
    codes = tuple(dict.fromkeys(instruments))  # in the order asked, once each
    return Subscribe(codes) if operation == "subscribe" else Unsubscribe(codes)


def _read_resync(message: dict[str, Any], known: Iterable[str] | frozenset[str]) -> Resync | Refused:
    instrument = message.get("instrument")
    if not isinstance(instrument, str):
        return Refused(ErrorCode.INVALID_MESSAGE, '"resync" names one "instrument" (a string)')
    if instrument not in known:
        return Refused(ErrorCode.UNKNOWN_INSTRUMENT, f"no instrument with code {instrument[:12]!r}")
    return Resync(instrument)
