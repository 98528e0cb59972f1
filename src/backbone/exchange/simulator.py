"""A liquidity simulator: seeded, reproducible order flow that keeps a demo market alive.

Each instrument has a fair value that wanders one tick at a time around its base price (pulled
back toward it, so it stays well inside the daily limits). Traders quote around the fair value:
mostly passive day orders a few ticks away, some marketable orders and IOCs that trade, cancels and
price moves of their own resting orders. The number of resting orders per instrument hovers around
`resting_target`. During call auctions only day limit orders, moves and cancels are sent.

The same seed and the same engine give the same commands, so the same trades: the simulator learns
which of its orders are still open only from the published results (`observe`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from backbone.exchange.book import tick_grid
from backbone.exchange.messages import (
    CancelOrder,
    ChangeSessionPhase,
    Command,
    CommandResult,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    PlaceOrder,
    SessionPhaseChanged,
    TradeExecuted,
)
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import SessionSchedule, timestamp_ns
from backbone.exchange.sequencer import Sequencer
from backbone.kit.check import invariant
from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.kit.money import price_limits

RESTING_TARGET_DEFAULT: Final = 200  # resting orders per instrument the flow aims for
FAIR_VALUE_BAND_TICKS: Final = 40  # the fair value wanders at most this far from the base price
QUOTE_DEPTH_TICKS: Final = 12  # passive orders sit 1..this many ticks from the fair value
LOT_NOTIONAL_WON: Final = 2_000_000  # a typical order is worth about this much
COMMANDS_PER_RUN_MAX: Final = 100_000_000
DEFAULT_DAY: Final = date(2025, 1, 6)  # a Monday; any trading day works


@dataclass(slots=True)
class LiveOrder:
    order_id: int
    side: Side
    price: int
    open_quantity: int


@dataclass(slots=True)
class InstrumentFlow:
    instrument: str
    base_price: int
    prices: list[int] = field(default_factory=list)
    base_index: int = 0
    fair_index: int = 0
    last_price: int = 0
    live: list[LiveOrder] = field(default_factory=list)
    position: dict[int, int] = field(default_factory=dict)  # order id -> index in `live`

    def reset_grid(self) -> None:
        self.prices = tick_grid(*price_limits(self.base_price))
        self.base_index = self.prices.index(self.base_price)
        self.fair_index = self.base_index

    def add(self, order: LiveOrder) -> None:
        self.position[order.order_id] = len(self.live)
        self.live.append(order)

    def remove(self, order_id: int) -> None:
        index = self.position.pop(order_id, None)
        if index is None:
            return
        last = self.live.pop()
        if last.order_id != order_id:
            self.live[index] = last
            self.position[last.order_id] = index

    def find(self, order_id: int) -> LiveOrder | None:
        index = self.position.get(order_id)
        return None if index is None else self.live[index]


class LiquiditySimulator:
    def __init__(
        self,
        base_prices: Mapping[str, int],
        *,
        seed: int,
        first_order_id: int = 1,
        resting_target: int = RESTING_TARGET_DEFAULT,
    ) -> None:
        invariant(bool(base_prices), "the simulator needs at least one instrument")
        self.random = random.Random(seed)
        self.flows = {code: InstrumentFlow(code, price) for code, price in base_prices.items()}
        for flow in self.flows.values():
            flow.reset_grid()
        self.codes = list(self.flows)
        self.first_order_id = first_order_id
        self.next_order_id = first_order_id
        self.resting_target = resting_target
        self.phase = SessionPhase.CLOSED
        self.trading_day = ""

    def next_command(self, timestamp_ns: int) -> Command:
        """The next order-flow command (never a phase change: the schedule sends those)."""
        rng = self.random
        flow = self.flows[self.codes[rng.randrange(len(self.codes))]]
        self.wander(flow)
        in_auction = self.phase is not SessionPhase.CONTINUOUS
        crowded = len(flow.live) / self.resting_target
        roll = rng.random()
        if flow.live and roll < 0.25 * crowded:
            return self.cancel(flow, timestamp_ns)
        if flow.live and roll < 0.25 * crowded + 0.30:
            return self.move(flow, timestamp_ns)
        if not in_auction and roll > 0.93:
            return self.take(flow, timestamp_ns)
        return self.quote(flow, timestamp_ns, marketable=not in_auction and roll > 0.85)

    def wander(self, flow: InstrumentFlow) -> None:
        rng = self.random
        if rng.random() < 0.2:
            pull = (flow.base_index - flow.fair_index) / FAIR_VALUE_BAND_TICKS
            step = 1 if rng.random() < 0.5 + pull / 2 else -1
            low = max(flow.base_index - FAIR_VALUE_BAND_TICKS, QUOTE_DEPTH_TICKS)
            high = min(flow.base_index + FAIR_VALUE_BAND_TICKS, len(flow.prices) - 1 - QUOTE_DEPTH_TICKS)
            flow.fair_index = min(max(flow.fair_index + step, low), high)

    def lot(self, flow: InstrumentFlow) -> int:
        typical = max(1, LOT_NOTIONAL_WON // flow.prices[flow.fair_index])
        return max(1, int(typical * self.random.lognormvariate(0, 0.8)))

    def new_order_id(self) -> int:
        order_id = self.next_order_id
        self.next_order_id += 1
        return order_id

    def quote(self, flow: InstrumentFlow, timestamp_ns: int, *, marketable: bool) -> Command:
        rng = self.random
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        # A marketable quote goes through the fair value (likely to trade); a passive one rests.
        offset = -rng.randint(0, 2) if marketable else self.passive_offset()
        index = flow.fair_index - offset if side is Side.BUY else flow.fair_index + offset
        price = flow.prices[min(max(index, 0), len(flow.prices) - 1)]
        return PlaceOrder(
            flow.instrument,
            self.new_order_id(),
            side,
            OrderType.LIMIT,
            TimeInForce.DAY,
            price,
            self.lot(flow),
            timestamp_ns,
        )

    def passive_offset(self) -> int:
        """Ticks away from the fair value: mostly 1-3, rarely the full quote depth."""
        return min(int(self.random.expovariate(0.35)) + 1, QUOTE_DEPTH_TICKS)

    def take(self, flow: InstrumentFlow, timestamp_ns: int) -> Command:
        rng = self.random
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        if rng.random() < 0.5:
            return PlaceOrder(
                flow.instrument,
                self.new_order_id(),
                side,
                OrderType.MARKET,
                TimeInForce.IOC,
                0,
                self.lot(flow),
                timestamp_ns,
            )
        reach = rng.randint(0, 3)
        index = flow.fair_index + reach if side is Side.BUY else flow.fair_index - reach
        return PlaceOrder(
            flow.instrument,
            self.new_order_id(),
            side,
            OrderType.LIMIT,
            TimeInForce.IOC,
            flow.prices[index],
            self.lot(flow),
            timestamp_ns,
        )

    def cancel(self, flow: InstrumentFlow, timestamp_ns: int) -> Command:
        order = flow.live[self.random.randrange(len(flow.live))]
        return CancelOrder(flow.instrument, order.order_id, timestamp_ns)

    def move(self, flow: InstrumentFlow, timestamp_ns: int) -> Command:
        rng = self.random
        order = flow.live[rng.randrange(len(flow.live))]
        if rng.random() < 0.15 and order.open_quantity > 1:
            return ModifyOrder(
                flow.instrument, order.order_id, order.price, order.open_quantity // 2, timestamp_ns
            )
        offset = self.passive_offset()
        index = flow.fair_index - offset if order.side is Side.BUY else flow.fair_index + offset
        price = flow.prices[index]
        if price == order.price:
            price = flow.prices[index - 1 if order.side is Side.BUY else index + 1]
        return ModifyOrder(flow.instrument, order.order_id, price, order.open_quantity, timestamp_ns)

    def observe(self, result: CommandResult) -> None:
        """Learn from published events which of our orders are open, at what price and size."""
        for event in result.events:
            if isinstance(event, OrderAccepted):
                # Other participants trade on the same venue: only orders we numbered are ours.
                ours = self.first_order_id <= event.order_id < self.next_order_id
                if ours and event.time_in_force is TimeInForce.DAY and event.order_type is OrderType.LIMIT:
                    flow = self.flows.get(event.instrument)
                    if flow is not None:
                        flow.add(LiveOrder(event.order_id, event.side, event.price, event.quantity))
            elif isinstance(event, TradeExecuted):
                flow = self.flows[event.instrument]
                flow.last_price = event.price
                self.filled(flow, event.buy_order_id, event.buy_open_quantity)
                self.filled(flow, event.sell_order_id, event.sell_open_quantity)
            elif isinstance(event, OrderModified):
                order = self.flows[event.instrument].find(event.order_id)
                if order is not None:
                    order.price = event.price
                    order.open_quantity = event.quantity
            elif isinstance(event, OrderCancelled | OrderExpired):
                self.flows[event.instrument].remove(event.order_id)
            elif isinstance(event, SessionPhaseChanged):
                self.phase_changed(event)

    def filled(self, flow: InstrumentFlow, order_id: int, open_quantity: int) -> None:
        if open_quantity == 0:
            flow.remove(order_id)
        else:
            order = flow.find(order_id)
            if order is not None:
                order.open_quantity = open_quantity

    def phase_changed(self, event: SessionPhaseChanged) -> None:
        if event.phase is SessionPhase.PRE_OPEN_AUCTION and event.trading_day != self.trading_day:
            for flow in self.flows.values():
                if flow.last_price:
                    flow.base_price = flow.last_price  # the engine's rule: yesterday's close
                flow.last_price = 0
                flow.reset_grid()
        self.phase = event.phase
        self.trading_day = event.trading_day


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    commands: int  # order-flow commands, not counting phase changes
    phase_changes: int
    results: int
    trades: int
    volume: int
    rejects: int
    last_sequence: int


def first_trading_morning(day: date, schedule: SessionSchedule) -> datetime:
    """Just before the pre-open of the first trading day on or after `day`."""
    while not schedule.is_trading_day(day):
        day += timedelta(days=1)
    opening = datetime.combine(day, schedule.pre_open, tzinfo=SEOUL)
    return opening - timedelta(minutes=1)


def simulate_day(
    sequencer: Sequencer,
    simulator: LiquiditySimulator,
    clock: SimulatedClock,
    *,
    commands: int,
    schedule: SessionSchedule | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Run `commands` commands spread evenly over one trading session (pre-open to close) of
    simulated time, sending the schedule's phase changes as they fall due, then close the day."""
    invariant(0 < commands <= COMMANDS_PER_RUN_MAX, "commands per run are between 1 and COMMANDS_PER_RUN_MAX")
    schedule = schedule or SessionSchedule()
    local_day = clock.now().astimezone(SEOUL).date()
    session_start = datetime.combine(local_day, schedule.pre_open, tzinfo=SEOUL)
    session_end = datetime.combine(local_day, schedule.close, tzinfo=SEOUL)
    invariant(clock.now() <= session_start, "the simulated day starts before the pre-open")
    step = (session_end - session_start) / (commands + 1)
    clock.set(session_start)
    counts = {"results": 0, "trades": 0, "volume": 0, "rejects": 0, "phase_changes": 0}
    original_publish = sequencer.publish

    def publish(results: list[CommandResult]) -> None:
        for result in results:
            simulator.observe(result)
            counts["results"] += 1
            for event in result.events:
                if isinstance(event, TradeExecuted):
                    counts["trades"] += 1
                    counts["volume"] += event.quantity
                elif event.KIND.endswith("_rejected"):
                    counts["rejects"] += 1
        original_publish(results)

    sequencer.publish = publish
    try:
        for done in range(commands):
            instant = clock.now()
            for phase in schedule.phase_changes(
                sequencer.engine.phase, sequencer.engine.trading_day, instant
            ):
                sequencer.submit(ChangeSessionPhase(phase, timestamp_ns(instant)))
                sequencer.flush()  # phase changes are rare: publish them at once
                counts["phase_changes"] += 1
            # Results reach the simulator when the sequencer publishes a group, so its picture of
            # its own orders lags by up to one group: some cancels find an order already filled,
            # as they do for real traders. The same group size gives the same run.
            sequencer.submit(simulator.next_command(timestamp_ns(instant)))
            if progress is not None and done % 1_000 == 0:
                progress(done)
            clock.advance(step)
        clock.set(max(clock.now(), session_end))
        instant = clock.now()
        for phase in schedule.phase_changes(sequencer.engine.phase, sequencer.engine.trading_day, instant):
            sequencer.submit(ChangeSessionPhase(phase, timestamp_ns(instant)))
            counts["phase_changes"] += 1
        sequencer.flush()
    finally:
        sequencer.publish = original_publish
    if progress is not None:
        progress(commands)
    return SimulationSummary(
        commands=commands,
        phase_changes=counts["phase_changes"],
        results=counts["results"],
        trades=counts["trades"],
        volume=counts["volume"],
        rejects=counts["rejects"],
        last_sequence=sequencer.last_sequence,
    )


def simulation_codes(requested: Iterable[str], base_prices: Mapping[str, int]) -> dict[str, int]:
    """The base prices of the requested codes, in the order asked; unknown codes raise KeyError."""
    return {code: base_prices[code] for code in requested}
