"""Snapshots of the whole engine, so that recovery replays only the journal written after one.

A snapshot is taken between two commands, after sequence S; it holds everything the engine's
future behaviour depends on: the phase and trading day, the trade counter, each book's base and
last price and indicative state, every order of the day (open or finished, in arrival order) and
each level's queue in time priority. Restoring it and replaying records S+1... gives exactly the
engine that never stopped.

File: `snapshot-<S>.json` in the journal directory, written to a temporary name, fsynced and
renamed, so a snapshot file either exists completely or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import orjson

from backbone.exchange.book import Order
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.journal import SEQUENCE_DIGITS, fsync_directory
from backbone.exchange.orders import OrderStatus, OrderType, Side, TimeInForce
from backbone.exchange.phases import CALL_PHASES, SessionPhase
from backbone.kit.check import invariant

FORMAT: Final = 1
SNAPSHOT_PREFIX: Final = "snapshot-"
SNAPSHOT_SUFFIX: Final = ".json"
SNAPSHOTS_KEPT: Final = 3


def capture(engine: MatchingEngine) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "orders_per_day_max": engine.orders_per_day_max,
        "orders_resting_per_book_max": engine.orders_resting_per_book_max,
        "phase": engine.phase.value,
        "trading_day": engine.trading_day,
        "last_trade_id": engine.last_trade_id,
        "books": [
            {
                "instrument": book.instrument,
                "base_price": book.base_price,
                "last_price": book.last_price,
                "indicative_price": book.indicative_price,
                "indicative_volume": book.indicative_volume,
                "bids": [order.order_id for order in book.resting(Side.BUY)],
                "asks": [order.order_id for order in book.resting(Side.SELL)],
            }
            for book in engine.books.values()
        ],
        "orders": [
            [
                order.order_id,
                order.instrument,
                order.side.value,
                order.order_type.value,
                order.time_in_force.value,
                order.price,
                order.index,
                order.quantity,
                order.open_quantity,
                order.filled_quantity,
                order.cancelled_quantity,
                order.status.value,
            ]
            for order in engine.orders.values()
        ],
    }


def restore(state: dict[str, Any]) -> MatchingEngine:
    invariant(state["format"] == FORMAT, f"snapshot format {state['format']} is not {FORMAT}")
    engine = MatchingEngine(
        {book["instrument"]: book["base_price"] for book in state["books"]},
        orders_per_day_max=state["orders_per_day_max"],
        orders_resting_per_book_max=state["orders_resting_per_book_max"],
    )
    engine.phase = SessionPhase(state["phase"])
    engine.call_period = engine.phase in CALL_PHASES
    engine.trading_day = state["trading_day"]
    engine.last_trade_id = state["last_trade_id"]
    for row in state["orders"]:
        (
            order_id,
            instrument,
            side,
            order_type,
            tif,
            price,
            index,
            quantity,
            open_,
            filled,
            cancelled,
            status,
        ) = row
        order = Order(
            order_id, instrument, Side(side), OrderType(order_type), TimeInForce(tif), price, index, quantity
        )
        order.open_quantity = open_
        order.filled_quantity = filled
        order.cancelled_quantity = cancelled
        order.status = OrderStatus(status)
        engine.orders[order_id] = order
    for saved in state["books"]:
        book = engine.books[saved["instrument"]]
        book.last_price = saved["last_price"]
        book.indicative_price = saved["indicative_price"]
        book.indicative_volume = saved["indicative_volume"]
        for order_id in [*saved["bids"], *saved["asks"]]:
            book.rest(engine.orders[order_id])
        book.emit_level_changes(0, [])  # restoring is not a change to report
    engine.check_invariants()
    return engine


def snapshot_path(directory: Path, sequence: int) -> Path:
    return directory / f"{SNAPSHOT_PREFIX}{sequence:0{SEQUENCE_DIGITS}d}{SNAPSHOT_SUFFIX}"


def write_snapshot(directory: Path, sequence: int, engine: MatchingEngine) -> Path:
    """Write the engine's state after `sequence` atomically; keep the newest SNAPSHOTS_KEPT."""
    path = snapshot_path(directory, sequence)
    temporary = path.with_suffix(".tmp")
    data = orjson.dumps({"sequence": sequence, "engine": capture(engine)})
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    fsync_directory(directory)
    for old in list_snapshots(directory)[:-SNAPSHOTS_KEPT]:
        old.unlink()
    return path


def list_snapshots(directory: Path) -> list[Path]:
    found = [
        path
        for path in directory.glob(f"{SNAPSHOT_PREFIX}*{SNAPSHOT_SUFFIX}")
        if path.name.removeprefix(SNAPSHOT_PREFIX).removesuffix(SNAPSHOT_SUFFIX).isdigit()
    ]
    return sorted(found)


def latest_snapshot(directory: Path) -> tuple[int, MatchingEngine] | None:
    """The newest snapshot as (sequence, engine), or None when there is none."""
    snapshots = list_snapshots(directory)
    if not snapshots:
        return None
    saved = orjson.loads(snapshots[-1].read_bytes())
    return saved["sequence"], restore(saved["engine"])
