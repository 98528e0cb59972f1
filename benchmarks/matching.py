"""Matching-engine benchmark: the exchange-core load mix on one core, for Backbone and its peers.

    .venv/bin/python benchmarks/matching.py                      # 1,000,000 commands (the figure)
    .venv/bin/python benchmarks/matching.py --commands 100000    # a quick run
    .venv/bin/python benchmarks/matching.py --pure               # Backbone without its compiled build

The stream: one instrument (Samsung Electronics, 71,500 won, 100-won ticks); the book is first
filled to about 1,000 resting orders (not timed); then, timed, about 9% new day limit orders
(GTC/DAY in exchange-core's terms), 3% IOC, 6% cancels and 82% price moves of resting orders,
some of which cross and trade. The resting count is steered back toward 1,000. The stream is
generated once (with Backbone as the shadow book that says which orders are live) and replayed
unchanged, in the same run, into:

- Backbone's engine alone (`MatchingEngine.handle`, the command objects built in advance);
- Backbone with the journal on and group commit (the sequencer: encode, append, run, one
  fdatasync per group, then publish), journal in a temporary directory;
- pyorderbook (pure Python) — it has no modify, so a move is a cancel and a re-match of the same
  order object, and an IOC is a match whose remainder is cancelled;
- liquibook (C++ core through SWIG) — `replace` for moves, `oc_immediate_or_cancel` for IOC, with
  the order listener in Python that liquibook's Python API requires to keep orders up to date.

Each command's latency is the time between two clock reads around it, so it includes the loop and
one list store (the harness overhead, printed). Commands per second = commands / total time.
A benchmark, not a test: it prints figures and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any, Final

INSTRUMENT: Final = "005930"
BASE_PRICE: Final = 71_500
RESTING_TARGET: Final = 1_000
NEW, IOC, CANCEL, MOVE = 0, 1, 2, 3
KIND_NAMES: Final = ("new", "ioc", "cancel", "move")
T0: Final = 1_736_121_600_000_000_000  # 2025-01-06 09:00 KST


@dataclass
class Stream:
    preload: list[tuple[int, ...]]
    timed: list[tuple[int, ...]]
    backbone_preload: list[Any]
    backbone_timed: list[Any]
    kinds: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    shadow_trades: int = 0
    resting_at_end: int = 0


@dataclass
class Figures:
    name: str
    commands: int
    seconds: float
    latencies_ns: list[int]
    trades: int
    note: str = ""
    publish_latencies_ns: list[int] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.commands / self.seconds


def percentile(sorted_values: list[int], fraction: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


# ── the stream ────────────────────────────────────────────────────────────────────────────────


def generate(commands: int, seed: int) -> Stream:
    from backbone.exchange.engine import MatchingEngine
    from backbone.exchange.messages import (
        CancelOrder,
        ChangeSessionPhase,
        Command,
        ModifyOrder,
        OrderCancelled,
        PlaceOrder,
        TradeExecuted,
    )
    from backbone.exchange.orders import OrderType, Side, TimeInForce
    from backbone.exchange.phases import SessionPhase

    rng = random.Random(seed)
    engine = MatchingEngine({INSTRUMENT: BASE_PRICE})
    for phase in (SessionPhase.PRE_OPEN_AUCTION, SessionPhase.CONTINUOUS):
        engine.handle(ChangeSessionPhase(phase, T0))
    book = engine.books[INSTRUMENT]
    prices = book.prices
    mid = book.price_index[BASE_PRICE]
    live: list[int] = []
    position: dict[int, int] = {}
    next_id = 1

    def remember(order_id: int) -> None:
        position[order_id] = len(live)
        live.append(order_id)

    def forget(order_id: int) -> None:
        index = position.pop(order_id, None)
        if index is None:
            return
        last = live.pop()
        if last != order_id:
            live[index] = last
            position[last] = index

    def passive_price(is_buy: bool) -> int:
        offset = min(1 + int(rng.expovariate(0.15)), 40)
        return prices[mid - offset if is_buy else mid + offset]

    def aggressive_price(is_buy: bool) -> int:
        if is_buy:
            best = book.best_ask if book.best_ask < len(prices) else mid + 1
            return prices[min(best + rng.randint(0, 2), len(prices) - 1)]
        best = book.best_bid if book.best_bid >= 0 else mid - 1
        return prices[max(best - rng.randint(0, 2), 0)]

    def apply(command: Command) -> None:
        for event in engine.handle(command):
            if isinstance(event, TradeExecuted):
                if event.buy_open_quantity == 0:
                    forget(event.buy_order_id)
                if event.sell_open_quantity == 0:
                    forget(event.sell_order_id)
            elif isinstance(event, OrderCancelled):
                forget(event.order_id)

    neutral: list[tuple[int, ...]] = []
    backbone: list[Any] = []
    command: Command
    for _ in range(RESTING_TARGET):
        is_buy = rng.random() < 0.5
        price = passive_price(is_buy)
        quantity = rng.randint(1, 100)
        command = PlaceOrder(
            INSTRUMENT,
            next_id,
            Side.BUY if is_buy else Side.SELL,
            OrderType.LIMIT,
            TimeInForce.DAY,
            price,
            quantity,
            T0,
        )
        apply(command)
        remember(next_id)
        neutral.append((NEW, next_id, int(is_buy), price, quantity))
        backbone.append(command)
        next_id += 1
    stream = Stream(neutral, [], backbone, [])
    for step in range(commands):
        if step % 1_000 == 0:
            pull = 0.5 + (book.price_index[BASE_PRICE] - mid) / 40
            mid += 1 if rng.random() < pull else -1
        timestamp = T0 + step * 1_000
        resting = book.resting_count
        new_share = 0.09 + (
            0.03 if resting < RESTING_TARGET * 0.95 else -0.03 if resting > RESTING_TARGET * 1.05 else 0
        )
        cancel_share = 0.15 - new_share
        roll = rng.random()
        if roll < new_share or not live:
            kind = NEW
            is_buy = rng.random() < 0.5
            price = aggressive_price(is_buy) if rng.random() < 0.05 else passive_price(is_buy)
            quantity = rng.randint(1, 100)
            command = PlaceOrder(
                INSTRUMENT,
                next_id,
                Side.BUY if is_buy else Side.SELL,
                OrderType.LIMIT,
                TimeInForce.DAY,
                price,
                quantity,
                timestamp,
            )
            apply(command)
            if engine.orders[next_id].open_quantity:
                remember(next_id)
            op: tuple[int, ...] = (NEW, next_id, int(is_buy), price, quantity)
            next_id += 1
        elif roll < new_share + 0.03:
            kind = IOC
            is_buy = rng.random() < 0.5
            price = aggressive_price(is_buy)
            quantity = rng.randint(1, 50)
            command = PlaceOrder(
                INSTRUMENT,
                next_id,
                Side.BUY if is_buy else Side.SELL,
                OrderType.LIMIT,
                TimeInForce.IOC,
                price,
                quantity,
                timestamp,
            )
            apply(command)
            op = (IOC, next_id, int(is_buy), price, quantity)
            next_id += 1
        elif roll < new_share + 0.03 + cancel_share:
            kind = CANCEL
            order_id = live[rng.randrange(len(live))]
            command = CancelOrder(INSTRUMENT, order_id, timestamp)
            apply(command)
            forget(order_id)
            op = (CANCEL, order_id)
        else:
            kind = MOVE
            order_id = live[rng.randrange(len(live))]
            order = engine.orders[order_id]
            price = aggressive_price(order.is_buy) if rng.random() < 0.01 else passive_price(order.is_buy)
            if price == order.price:
                price = prices[order.index - 1 if order.is_buy else order.index + 1]
            command = ModifyOrder(INSTRUMENT, order_id, price, order.open_quantity, timestamp)
            apply(command)
            op = (MOVE, order_id, price, order.open_quantity)
        stream.kinds[kind] += 1
        stream.timed.append(op)
        stream.backbone_timed.append(command)
    stream.shadow_trades = engine.last_trade_id
    stream.resting_at_end = book.resting_count
    return stream


# ── the engines ───────────────────────────────────────────────────────────────────────────────


GC_MODE = ["tuned"]


def settle() -> None:
    """Before a timed loop: a full collection, then the garbage-collector policy of the run —
    `tuned` is what Backbone's engine process uses (backbone.exchange.tuning), applied to every
    engine alike; `default` is CPython's own."""
    from backbone.exchange.tuning import restore_garbage_collector, tune_garbage_collector

    restore_garbage_collector()
    gc.collect()
    if GC_MODE[0] == "tuned":
        tune_garbage_collector()


def timed_loop(items: list[Any], handle: Callable[[Any], object]) -> tuple[float, list[int], list[int]]:
    """Run every item through `handle`, reading the clock between items: (seconds, latency of
    each item in ns, the clock before each item and after the last)."""
    clock = time.perf_counter_ns
    stamps = [0] * (len(items) + 1)
    index = 0
    stamps[0] = clock()
    for item in items:
        handle(item)
        index += 1  # noqa: SIM113 - enumerate would build a tuple per command inside the timing
        stamps[index] = clock()
    latencies = [stamps[position + 1] - stamps[position] for position in range(len(items))]
    return (stamps[-1] - stamps[0]) / 1e9, latencies, stamps


def run_harness_overhead(stream: Stream) -> Figures:
    seconds, latencies, _ = timed_loop(stream.backbone_timed, id)
    return Figures("(harness: id() per command)", len(latencies), seconds, latencies, 0)


def fresh_backbone() -> Any:
    from backbone.exchange.engine import MatchingEngine
    from backbone.exchange.messages import ChangeSessionPhase
    from backbone.exchange.phases import SessionPhase

    engine = MatchingEngine({INSTRUMENT: BASE_PRICE})
    for phase in (SessionPhase.PRE_OPEN_AUCTION, SessionPhase.CONTINUOUS):
        engine.handle(ChangeSessionPhase(phase, T0))
    return engine


def run_backbone(stream: Stream) -> Figures:
    import backbone.exchange

    engine = fresh_backbone()
    for command in stream.backbone_preload:
        engine.handle(command)
    settle()
    seconds, latencies, _ = timed_loop(stream.backbone_timed, engine.handle)
    mode = "compiled" if backbone.exchange.COMPILED else "pure Python"
    return Figures(f"backbone engine ({mode})", len(latencies), seconds, latencies, engine.last_trade_id)


def run_backbone_journal(stream: Stream, group: int, directory: Path | None) -> Figures:
    from backbone.exchange.journal import FsyncPolicy, JournalWriter
    from backbone.exchange.sequencer import Sequencer

    with tempfile.TemporaryDirectory(prefix="backbone-journal-", dir=directory) as name:
        published_at: list[tuple[int, int]] = []  # (last sequence of the group, time published)
        clock = time.perf_counter_ns

        def publish(results: list[Any]) -> None:
            published_at.append((results[-1].sequence, clock()))

        journal = JournalWriter(Path(name), next_sequence=1, policy=FsyncPolicy.GROUP)
        sequencer = Sequencer(fresh_backbone(), journal, publish, group_commands_max=group)
        for command in stream.backbone_preload:
            sequencer.submit(command)
        sequencer.flush()
        first = sequencer.next_sequence
        published_at.clear()
        settle()
        _, latencies, stamps = timed_loop(stream.backbone_timed, sequencer.submit)
        sequencer.flush()  # the last, partial group: its time counts
        ended = clock()
        sequencer.close()
        # Time from a command's submission until its group was durable and published.
        publish_latencies: list[int] = []
        command_sequence = first
        for last_sequence, at in published_at:
            while command_sequence <= last_sequence:
                publish_latencies.append(at - stamps[command_sequence - first])
                command_sequence += 1
        return Figures(
            f"backbone + journal (group commit, {group}/fdatasync)",
            len(latencies),
            (ended - stamps[0]) / 1e9,
            latencies,
            sequencer.engine.last_trade_id,
            note=f"{len(published_at)} fdatasyncs",
            publish_latencies_ns=publish_latencies,
        )


def run_pyorderbook(stream: Stream) -> Figures:
    import logging

    from pyorderbook import Book, Order, Side

    logging.getLogger("pyorderbook.book").setLevel(logging.WARNING)
    book = Book()
    decimals: dict[int, Decimal] = {}
    orders: dict[int, Any] = {}
    trades = 0
    misses = 0

    def prepare(op: tuple[int, ...]) -> Any:
        if op[0] in (NEW, IOC):
            _, order_id, is_buy, price, quantity = op
            decimals.setdefault(price, Decimal(price))
            return (op[0], order_id, Order(Side.BID if is_buy else Side.ASK, INSTRUMENT, price, quantity))
        if op[0] == MOVE:
            decimals.setdefault(op[2], Decimal(op[2]))
            return (MOVE, op[1], decimals[op[2]])
        return op

    def handle(item: Any) -> None:
        nonlocal trades, misses
        kind = item[0]
        if kind == MOVE:
            order = orders.get(item[1])
            if order is None or order.quantity == 0:
                misses += 1
                return
            book.cancel(order)
            order.price = item[2]
            trades += len(book.match(order).trades)
        elif kind == NEW:
            order = item[2]
            trades += len(book.match(order).trades)
            if order.quantity:
                orders[item[1]] = order
        elif kind == CANCEL:
            order = orders.pop(item[1], None)
            if order is None or order.quantity == 0:
                misses += 1
                return
            book.cancel(order)
        else:
            order = item[2]
            trades += len(book.match(order).trades)
            if order.quantity:
                book.cancel(order)  # IOC: the remainder does not rest

    for item in [prepare(op) for op in stream.preload]:
        handle(item)
    timed = [prepare(op) for op in stream.timed]
    trades = 0
    settle()
    seconds, latencies, _ = timed_loop(timed, handle)
    version = metadata.version("pyorderbook")
    note = f"{misses} commands found their order already gone" if misses else ""
    return Figures(f"pyorderbook {version}", len(latencies), seconds, latencies, trades, note)


def run_liquibook(stream: Stream) -> Figures:
    import liquibook

    class Listener(liquibook.OrderListener):  # type: ignore[misc]
        """liquibook's Python API leaves order state to the listener: it must apply each event."""

        def __init__(self) -> None:
            liquibook.OrderListener.__init__(self)
            self.fills = 0

        def on_accept(self, order: Any) -> None:
            order.accept()

        def on_reject(self, order: Any, reason: str) -> None:
            pass

        def on_fill(self, order: Any, matched: Any, quantity: int, price: int) -> None:
            order.fill(quantity, price, 0)
            matched.fill(quantity, price, 0)
            self.fills += 1

        def on_cancel(self, order: Any) -> None:
            order.cancel()

        def on_cancel_reject(self, order: Any, reason: str) -> None:
            pass

        def on_replace(self, order: Any, size_delta: int, new_price: int) -> None:
            order.replace(size_delta, new_price)

        def on_replace_reject(self, order: Any, reason: str) -> None:
            pass

        def on_trigger_stop(self, order: Any) -> None:
            pass

    # The plain book: DepthOrderBook (which also aggregates depth) reports internal errors in this
    # wrapper when a replace crosses, and the plain book is liquibook's fastest configuration.
    book = liquibook.liquibook_book_OrderBook()
    listener = Listener()
    book.set_order_listener(listener)
    orders: dict[int, Any] = {}
    ioc = liquibook.oc_immediate_or_cancel

    def prepare(op: tuple[int, ...]) -> Any:
        if op[0] in (NEW, IOC):
            _, order_id, is_buy, price, quantity = op
            return (op[0], order_id, liquibook.SimpleOrder(bool(is_buy), price, quantity))
        return op

    def handle(item: Any) -> None:
        kind = item[0]
        if kind == MOVE:
            book.replace(orders[item[1]], 0, item[2])
        elif kind == NEW:
            order = item[2]
            book.add(order)
            orders[item[1]] = order
        elif kind == CANCEL:
            book.cancel(orders.pop(item[1]))
        else:
            book.add(item[2], ioc)

    for item in [prepare(op) for op in stream.preload]:
        handle(item)
    timed = [prepare(op) for op in stream.timed]
    listener.fills = 0
    settle()
    seconds, latencies, _ = timed_loop(timed, handle)
    return Figures(
        f"liquibook {metadata.version('liquibook')}", len(latencies), seconds, latencies, listener.fills
    )


# ── the report ────────────────────────────────────────────────────────────────────────────────


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{model}; {os.cpu_count()} CPUs; load average {load}; Python {platform.python_version()}"


def print_row(figures: Figures) -> None:
    ordered = sorted(figures.latencies_ns)
    print(
        f"{figures.name:<46} {figures.per_second:>12,.0f} {percentile(ordered, 0.5):>9,} "
        f"{percentile(ordered, 0.99):>9,} {percentile(ordered, 0.999):>10,} {figures.trades:>9,}"
        + (f"   {figures.note}" if figures.note else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=1_000_000, help="timed commands (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", default="backbone,journal,pyorderbook,liquibook")
    parser.add_argument("--group", type=int, default=4_096, help="commands per group commit")
    parser.add_argument(
        "--journal-dir", type=Path, default=None, help="where the journal is written (a temp dir)"
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin to this CPU (default: the last one; -1: no pin)"
    )
    parser.add_argument("--pure", action="store_true", help="run Backbone's pure-Python modules")
    parser.add_argument(
        "--gc",
        choices=["tuned", "default"],
        default="tuned",
        help="garbage-collector policy for every engine",
    )
    options = parser.parse_args()
    GC_MODE[0] = options.gc
    if options.pure and os.environ.get("BACKBONE_PURE_PYTHON") != "1":
        environment = {**os.environ, "BACKBONE_PURE_PYTHON": "1"}
        os.execve(sys.executable, [sys.executable, *sys.argv], environment)  # noqa: S606 - ourselves again
    if options.cpu != -1 and hasattr(os, "sched_setaffinity"):
        cpu = options.cpu if options.cpu is not None else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    engines = options.engines.split(",")

    started = time.perf_counter()
    stream = generate(options.commands, options.seed)
    total = len(stream.timed)
    mix = ", ".join(
        f"{name} {count / total:.1%}" for name, count in zip(KIND_NAMES, stream.kinds, strict=True)
    )
    preload = len(stream.preload)
    print(f"Matching-engine benchmark: {total:,} commands after {preload:,} preloaded; seed {options.seed}")
    pinned = sorted(os.sched_getaffinity(0))
    print(f"machine: {machine()}; pinned to CPU {pinned}; garbage collector {options.gc}")
    print(f"mix: {mix}; {stream.shadow_trades:,} trades; {stream.resting_at_end:,} orders resting at the end")
    print(f"(stream generated in {time.perf_counter() - started:.1f} s)\n")
    print(f"{'engine':<46} {'commands/s':>12} {'p50 ns':>9} {'p99 ns':>9} {'p99.9 ns':>10} {'trades':>9}")
    results: dict[str, Figures] = {}
    runners: dict[str, Callable[[], Figures]] = {
        "backbone": lambda: run_backbone(stream),
        "journal": lambda: run_backbone_journal(stream, options.group, options.journal_dir),
        "pyorderbook": lambda: run_pyorderbook(stream),
        "liquibook": lambda: run_liquibook(stream),
    }
    for name in engines:
        results[name] = runners[name]()
        print_row(results[name])
    overhead = run_harness_overhead(stream)
    print_row(overhead)
    print()
    if "backbone" in results and "pyorderbook" in results:
        ratio = results["backbone"].per_second / results["pyorderbook"].per_second
        print(f"backbone engine / pyorderbook: {ratio:.1f}x")
    if "journal" in results and results["journal"].publish_latencies_ns:
        ordered = sorted(results["journal"].publish_latencies_ns)
        print(
            "journal: submit-to-publish latency (waiting for the group and its fdatasync): "
            f"p50 {percentile(ordered, 0.5) / 1e6:.2f} ms, p99 {percentile(ordered, 0.99) / 1e6:.2f} ms, "
            f"p99.9 {percentile(ordered, 0.999) / 1e6:.2f} ms"
        )
    print("latencies include the harness overhead (one clock read and one list store per command).")


if __name__ == "__main__":
    main()
