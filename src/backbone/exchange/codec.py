"""Commands as bytes (for the journal) and as JSON objects (for clients), both ways.

Binary layout, little-endian, one command per journal record (the record adds length, checksum and
sequence number; see `journal.py`):

    place_order   B kind=1, B len(code), q order_id, B side, B type, B tif, q price, q quantity,
                  q timestamp_ns, code
    modify_order  B kind=2, B len(code), q order_id, q price, q quantity, q timestamp_ns, code
    cancel_order  B kind=3, B len(code), q order_id, q timestamp_ns, code
    change_phase  B kind=4, B phase, q timestamp_ns

Enum members are coded by their position in the tuples below, which only ever grow at the end.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Final, TypeVar

from backbone.exchange.errors import InvalidCommand
from backbone.exchange.messages import (
    CancelOrder,
    ChangeSessionPhase,
    Command,
    ModifyOrder,
    PlaceOrder,
)
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase

INSTRUMENT_CODE_BYTES_MAX: Final = 32
INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1

SIDES: Final = (Side.BUY, Side.SELL)
ORDER_TYPES: Final = (OrderType.LIMIT, OrderType.MARKET)
TIMES_IN_FORCE: Final = (TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK)
PHASES: Final = (
    SessionPhase.CLOSED,
    SessionPhase.PRE_OPEN_AUCTION,
    SessionPhase.CONTINUOUS,
    SessionPhase.CLOSING_AUCTION,
)
SIDE_CODES: Final = {member: code for code, member in enumerate(SIDES)}
ORDER_TYPE_CODES: Final = {member: code for code, member in enumerate(ORDER_TYPES)}
TIME_IN_FORCE_CODES: Final = {member: code for code, member in enumerate(TIMES_IN_FORCE)}
PHASE_CODES: Final = {member: code for code, member in enumerate(PHASES)}
SIDE_VALUES: Final = {member.value: member for member in SIDES}
ORDER_TYPE_VALUES: Final = {member.value: member for member in ORDER_TYPES}
TIME_IN_FORCE_VALUES: Final = {member.value: member for member in TIMES_IN_FORCE}
PHASE_VALUES: Final = {member.value: member for member in PHASES}

PLACE: Final = struct.Struct("<BBqBBBqqq")
MODIFY: Final = struct.Struct("<BBqqqq")
CANCEL: Final = struct.Struct("<BBqq")
PHASE: Final = struct.Struct("<BBq")
KIND_PLACE, KIND_MODIFY, KIND_CANCEL, KIND_PHASE = 1, 2, 3, 4

Member = TypeVar("Member", Side, OrderType, TimeInForce, SessionPhase)


def encode_command(command: Command) -> bytes:
    if isinstance(command, ModifyOrder):
        code = command.instrument.encode()
        return (
            MODIFY.pack(
                KIND_MODIFY,
                len(code),
                command.order_id,
                command.price,
                command.quantity,
                command.timestamp_ns,
            )
            + code
        )
    if isinstance(command, PlaceOrder):
        code = command.instrument.encode()
        return (
            PLACE.pack(
                KIND_PLACE,
                len(code),
                command.order_id,
                SIDE_CODES[command.side],
                ORDER_TYPE_CODES[command.order_type],
                TIME_IN_FORCE_CODES[command.time_in_force],
                command.price,
                command.quantity,
                command.timestamp_ns,
            )
            + code
        )
    if isinstance(command, CancelOrder):
        code = command.instrument.encode()
        return CANCEL.pack(KIND_CANCEL, len(code), command.order_id, command.timestamp_ns) + code
    if isinstance(command, ChangeSessionPhase):
        return PHASE.pack(KIND_PHASE, PHASE_CODES[command.phase], command.timestamp_ns)
    raise TypeError(f"not a command: {command!r}")


def decode_command(payload: bytes) -> Command:
    kind = payload[0]
    if kind == KIND_MODIFY:
        _, length, order_id, price, quantity, timestamp_ns = MODIFY.unpack_from(payload)
        code = _code(payload, MODIFY.size, length)
        return ModifyOrder(code, order_id, price, quantity, timestamp_ns)
    if kind == KIND_PLACE:
        _, length, order_id, side, order_type, tif, price, quantity, timestamp_ns = PLACE.unpack_from(payload)
        code = _code(payload, PLACE.size, length)
        return PlaceOrder(
            code,
            order_id,
            SIDES[side],
            ORDER_TYPES[order_type],
            TIMES_IN_FORCE[tif],
            price,
            quantity,
            timestamp_ns,
        )
    if kind == KIND_CANCEL:
        _, length, order_id, timestamp_ns = CANCEL.unpack_from(payload)
        return CancelOrder(_code(payload, CANCEL.size, length), order_id, timestamp_ns)
    if kind == KIND_PHASE:
        _, phase, timestamp_ns = PHASE.unpack_from(payload)
        return ChangeSessionPhase(PHASES[phase], timestamp_ns)
    raise ValueError(f"unknown command kind {kind}")


def _code(payload: bytes, start: int, length: int) -> str:
    if len(payload) != start + length:
        raise ValueError("command record has the wrong length")
    return payload[start:].decode()


# ── JSON objects from clients ─────────────────────────────────────────────────────────────────


def command_from_wire(wire: Mapping[str, object], *, timestamp_ns: int) -> Command:
    """A command from a client's JSON object (the shape of `Command.to_wire()`, without a
    timestamp: the sequencer's front end stamps it). Raises InvalidCommand for a malformed object;
    business checks (prices, quantities, order ids) are the engine's and come back as rejects."""
    kind = wire.get("type")
    if kind == PlaceOrder.KIND:
        return PlaceOrder(
            _instrument(wire),
            _integer(wire, "order_id"),
            _member(wire, "side", SIDE_VALUES),
            _member(wire, "order_type", ORDER_TYPE_VALUES),
            _member(wire, "time_in_force", TIME_IN_FORCE_VALUES),
            _integer(wire, "price"),
            _integer(wire, "quantity"),
            timestamp_ns,
        )
    if kind == ModifyOrder.KIND:
        return ModifyOrder(
            _instrument(wire),
            _integer(wire, "order_id"),
            _integer(wire, "price"),
            _integer(wire, "quantity"),
            timestamp_ns,
        )
    if kind == CancelOrder.KIND:
        return CancelOrder(_instrument(wire), _integer(wire, "order_id"), timestamp_ns)
    if kind == ChangeSessionPhase.KIND:
        return ChangeSessionPhase(_member(wire, "phase", PHASE_VALUES), timestamp_ns)
    raise InvalidCommand(f"unknown command type {kind!r}")


def _instrument(wire: Mapping[str, object]) -> str:
    value = wire.get("instrument")
    if not isinstance(value, str) or not value or len(value.encode()) > INSTRUMENT_CODE_BYTES_MAX:
        raise InvalidCommand(f"instrument must be a code of 1 to {INSTRUMENT_CODE_BYTES_MAX} bytes")
    return value


def _integer(wire: Mapping[str, object], name: str) -> int:
    value = wire.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not INT64_MIN <= value <= INT64_MAX:
        raise InvalidCommand(f"{name} must be a whole number within 64 bits")
    return value


def _member(wire: Mapping[str, object], name: str, members: Mapping[str, Member]) -> Member:
    value = wire.get(name)
    found = members.get(value) if isinstance(value, str) else None
    if found is None:
        raise InvalidCommand(f"{name} must be one of {', '.join(members)}")
    return found
