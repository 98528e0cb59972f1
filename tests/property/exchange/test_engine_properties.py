"""Properties of the matching engine over any command sequence (Hypothesis):

- the continuous book is never crossed, and every book's structure stays sound;
- quantity is conserved: submitted = filled + resting + cancelled + rejected, per order and in
  total, counted from the published events alone and checked against the engine's own state;
- replaying the journal gives the identical event sequence, also from a snapshot taken midway.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backbone.exchange.book import tick_grid
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.journal import FsyncPolicy
from backbone.exchange.messages import (
    CancelOrder,
    ChangeSessionPhase,
    Command,
    CommandResult,
    Event,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    TradeExecuted,
)
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import DAY_SEQUENCE, SessionPhase
from backbone.exchange.sequencer import Sequencer, open_sequencer, recover, replay
from backbone.exchange.snapshot import capture
from backbone.kit.money import price_limits

BASE_PRICES = {"005930": 71_500, "035720": 4_995}  # 100-won ticks; 5 below 5,000 and 10 above
GRIDS = {code: tick_grid(*price_limits(base)) for code, base in BASE_PRICES.items()}
T0 = 1_736_121_600_000_000_000


@dataclass(frozen=True)
class Place:
    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    ticks: int  # from the base price
    off_grid: bool
    quantity: int


@dataclass(frozen=True)
class Modify:
    choice: int  # which earlier order (modulo their number)
    ticks: int  # price move
    quantity: int


@dataclass(frozen=True)
class Cancel:
    choice: int


@dataclass(frozen=True)
class Advance:
    valid: bool  # False tries to skip a phase, which the engine refuses


Action = Place | Modify | Cancel | Advance

places = st.builds(
    Place,
    st.sampled_from(sorted(BASE_PRICES)),
    st.sampled_from(list(Side)),
    st.sampled_from([OrderType.LIMIT] * 5 + [OrderType.MARKET]),
    st.sampled_from([TimeInForce.DAY] * 4 + [TimeInForce.IOC, TimeInForce.FOK]),
    st.integers(-8, 8),
    st.sampled_from([False] * 9 + [True]),
    st.sampled_from([-1, 0, *range(1, 31)]),
)
modifies = st.builds(Modify, st.integers(0, 10_000), st.integers(-6, 6), st.sampled_from([-1, *range(1, 41)]))
cancels = st.builds(Cancel, st.integers(0, 10_000))
advances = st.builds(Advance, st.sampled_from([True] * 4 + [False]))


@st.composite
def actions(draw: st.DrawFn) -> Action:
    """Mostly new orders, then moves and cancels, and a phase step now and then (about one
    trading day per hundred actions). Shrinks toward new orders."""
    roll = draw(st.integers(0, 99))
    if roll < 55:
        return draw(places)
    if roll < 80:
        return draw(modifies)
    if roll < 97:
        return draw(cancels)
    return draw(advances)


sequences = st.lists(actions(), min_size=20, max_size=300)


def price_of(instrument: str, ticks: int) -> int:
    """The price `ticks` steps from the base price on the instrument's grid."""
    grid = GRIDS[instrument]
    return grid[grid.index(BASE_PRICES[instrument]) + ticks]


def build(steps: list[Action]) -> list[Command]:
    """Concrete commands: order ids count up; modifies and cancels name an earlier order (or,
    now and then, one that does not exist); phase steps advance the day (or try to skip)."""
    commands: list[Command] = [
        ChangeSessionPhase(SessionPhase.PRE_OPEN_AUCTION, T0),
        ChangeSessionPhase(SessionPhase.CONTINUOUS, T0),
    ]
    placed: list[tuple[int, str, int]] = []  # order id, instrument, tick offset
    phase_index = DAY_SEQUENCE.index(SessionPhase.CONTINUOUS)
    for position, step in enumerate(steps):
        timestamp = T0 + position * 1_000_000
        if isinstance(step, Place):
            order_id = len(placed) + 1
            placed.append((order_id, step.instrument, step.ticks))
            price = price_of(step.instrument, step.ticks) + (1 if step.off_grid else 0)
            if step.order_type is OrderType.MARKET:
                price = 0
            commands.append(
                PlaceOrder(
                    step.instrument,
                    order_id,
                    step.side,
                    step.order_type,
                    step.time_in_force,
                    price,
                    step.quantity,
                    timestamp,
                )
            )
        elif isinstance(step, Modify) and placed:
            order_id, instrument, ticks = placed[step.choice % len(placed)]
            price = price_of(instrument, max(-9, min(9, ticks + step.ticks)))
            commands.append(ModifyOrder(instrument, order_id, price, step.quantity, timestamp))
        elif isinstance(step, Cancel) and placed:
            order_id, instrument, _ = (
                placed[step.choice % len(placed)] if step.choice % 7 else (999_999, "005930", 0)
            )
            commands.append(CancelOrder(instrument, order_id, timestamp))
        elif isinstance(step, Advance):
            jump = 1 if step.valid else 2
            commands.append(
                ChangeSessionPhase(DAY_SEQUENCE[(phase_index + jump) % len(DAY_SEQUENCE)], timestamp)
            )
            if step.valid:
                phase_index = (phase_index + 1) % len(DAY_SEQUENCE)
    return commands


@dataclass
class Ledger:
    """Quantities per order, counted from published events only."""

    submitted: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    filled: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    cancelled: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    open: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    rejected: int = 0  # quantities of refused new orders

    def record(self, command: Command, events: list[Event]) -> None:
        if isinstance(events[0], OrderRejected):
            if isinstance(command, PlaceOrder):
                self.rejected += max(command.quantity, 0)
            return
        for event in events:
            if isinstance(event, OrderAccepted):
                self.submitted[event.order_id] += event.quantity
                self.open[event.order_id] = event.quantity
            elif isinstance(event, OrderModified):
                change = event.quantity - self.open[event.order_id]
                if change > 0:
                    self.submitted[event.order_id] += change
                else:
                    self.cancelled[event.order_id] -= change
                self.open[event.order_id] = event.quantity
            elif isinstance(event, TradeExecuted):
                for order_id, left in (
                    (event.buy_order_id, event.buy_open_quantity),
                    (event.sell_order_id, event.sell_open_quantity),
                ):
                    self.filled[order_id] += event.quantity
                    self.open[order_id] = left
            elif isinstance(event, OrderCancelled | OrderExpired):
                self.cancelled[event.order_id] += event.quantity
                self.open[event.order_id] = 0


def run_engine(commands: list[Command]) -> tuple[MatchingEngine, Ledger]:
    engine = MatchingEngine(BASE_PRICES)
    ledger = Ledger()
    for command in commands:
        events = engine.handle(command)
        assert events, "every command has at least one event"
        ledger.record(command, events)
        engine.check_invariants()
        if engine.phase is SessionPhase.CONTINUOUS:
            for instrument in BASE_PRICES:
                bid, ask = engine.best_bid(instrument), engine.best_ask(instrument)
                assert bid is None or ask is None or bid < ask
    return engine, ledger


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ON_DISK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(sequences)
def test_continuous_book_is_never_crossed_after_any_command(steps: list[Action]) -> None:
    run_engine(build(steps))


@FAST
@given(sequences)
def test_quantity_is_conserved_per_order_and_in_total(steps: list[Action]) -> None:
    engine, ledger = run_engine(build(steps))
    for order_id, submitted in ledger.submitted.items():
        state = engine.order_state(order_id)
        if state is None:  # orders of a day that has since ended are forgotten
            continue
        assert ledger.open[order_id] == state.open_quantity
        assert ledger.filled[order_id] == state.filled_quantity
        assert submitted == ledger.filled[order_id] + ledger.open[order_id] + ledger.cancelled[order_id]
        assert submitted == state.quantity
    submitted_total = sum(ledger.submitted.values()) + ledger.rejected
    filled = sum(ledger.filled.values())
    resting = sum(ledger.open.values())
    cancelled = sum(ledger.cancelled.values())
    assert submitted_total == filled + resting + cancelled + ledger.rejected
    in_books = sum(level.quantity for book in engine.books.values() for level in [*book.bids, *book.asks])
    assert in_books == resting


@ON_DISK
@given(sequences, st.integers(0, 210))
def test_replaying_the_journal_gives_the_identical_event_sequence(
    steps: list[Action], snapshot_after: int
) -> None:
    commands = build(steps)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        published: list[CommandResult] = []
        sequencer, _ = open_sequencer(directory, BASE_PRICES, published.extend, policy=FsyncPolicy.NONE)
        for position, command in enumerate(commands):
            sequencer.submit(command)
            if position == snapshot_after:
                sequencer.snapshot()
        sequencer.close()
        assert list(replay(directory, BASE_PRICES)) == published
        recovered = recover(directory, BASE_PRICES)
        assert capture(recovered.engine) == capture(sequencer.engine)


@ON_DISK
@given(sequences, st.integers(0, 210))
def test_engine_restored_from_a_snapshot_continues_exactly_like_the_original(
    steps: list[Action], split: int
) -> None:
    commands = build(steps)
    original: list[CommandResult] = []
    whole = Sequencer(MatchingEngine(BASE_PRICES), None, original.extend)
    for command in commands:
        whole.submit(command)
    whole.flush()
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        resumed: list[CommandResult] = []
        first, _ = open_sequencer(directory, BASE_PRICES, resumed.extend, policy=FsyncPolicy.NONE)
        for command in commands[:split]:
            first.submit(command)
        first.snapshot()
        first.close()
        second, recovery = open_sequencer(directory, BASE_PRICES, resumed.extend, policy=FsyncPolicy.NONE)
        assert recovery.replayed == 0  # everything came from the snapshot
        for command in commands[split:]:
            second.submit(command)
        second.close()
    assert resumed == original
