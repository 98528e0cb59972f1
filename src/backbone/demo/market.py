"""The demo market: the liquidity simulator as a background thread of `backbone serve`, trading on
the real venue through the order pipeline (`run_commands`), so that customers' orders on the
trading screen trade against its liquidity and the quote feed shows every move.

The market must be open whenever someone runs `make run`, so the server runs on a `RunningClock`:
real time, started at the next moment of continuous trading — now, if the KRX schedule has the
market open now; otherwise 09:00 KST of the next trading day. The clock never runs backwards
across restarts: the last instant is kept in `var/demo-clock` and the next start is no earlier.
When the day closes (15:30 on that clock) the clock jumps to 08:59 of the next trading day: a
minute of pre-open auction, then the opening uncross and a new day.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from backbone.brokerage.trading.pipeline import BROKERAGE_ORDER_ID_MAX, OrderPipeline
from backbone.brokerage.trading.venue import Venue
from backbone.exchange.messages import Command, CommandResult
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import SessionSchedule
from backbone.exchange.simulator import LiquiditySimulator
from backbone.kit.clock import SEOUL, Clock, RunningClock, SystemClock, seoul_date
from backbone.kit.ids import EPOCH
from backbone.kit.logs import get_logger

CLOCK_FILE: Final = "demo-clock"
TICK_S: Final = 0.1
RESTING_ORDERS_PER_INSTRUMENT: Final = 60
WARM_UP_COMMANDS_PER_INSTRUMENT: Final = 40  # so the books have depth from the first second
COMMANDS_PER_BATCH_MAX: Final = 500
PRE_OPEN_LEAD: Final = timedelta(minutes=1)
SEED: Final = 20_260_101
log = get_logger("backbone.demo.market")


def opening_at_or_after(instant: datetime, schedule: SessionSchedule) -> datetime:
    """`instant` if the schedule has continuous trading then; else 09:00 KST of the next trading
    day (today's, when it is a trading day before the open)."""
    if schedule.phase_at(instant) is SessionPhase.CONTINUOUS:
        return instant
    local = instant.astimezone(SEOUL)
    day = local.date()
    if not (schedule.is_trading_day(day) and local.timetz().replace(tzinfo=None) < schedule.open):
        day += timedelta(days=1)
    while not schedule.is_trading_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, schedule.open, tzinfo=SEOUL)


def demo_clock(var_directory: Path, schedule: SessionSchedule, *, base: Clock | None = None) -> RunningClock:
    """The demo market's clock, never earlier than where the last run's clock stopped."""
    base = base or SystemClock()
    floor = base.now()
    saved = _saved_instant(var_directory / CLOCK_FILE)
    if saved is not None and saved > floor:
        floor = saved
    return RunningClock(opening_at_or_after(floor, schedule), base=base)


def _saved_instant(path: Path) -> datetime | None:
    try:
        instant = datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return instant if instant.tzinfo is not None else None


class DemoMarket:
    def __init__(
        self,
        *,
        pipeline: OrderPipeline,
        venue: Venue,
        clock: Clock,
        var_directory: Path,
        commands_per_second: int,
    ) -> None:
        self.pipeline = pipeline
        self.venue = venue
        self.clock = clock
        self.clock_file = var_directory / CLOCK_FILE
        self.commands_per_tick = max(1, round(commands_per_second * TICK_S))
        # Ids above the brokerage's 53-bit space, distinct per run (the engine keeps a day's ids).
        start_ms = int((clock.now() - EPOCH).total_seconds() * 1000)
        self.simulator = LiquiditySimulator(
            venue.reference_prices(),
            seed=SEED,
            first_order_id=BROKERAGE_ORDER_ID_MAX + 1 + (start_ms << 20),
            resting_target=RESTING_ORDERS_PER_INSTRUMENT,
        )
        self.simulator.phase = venue.phase
        self.simulator.trading_day = venue.trading_day_code
        self.warmed_up = False
        self.lock = threading.Lock()  # the simulator, between its thread and the pipeline's
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        pipeline.add_listener(self.observe)

    def observe(self, results: list[CommandResult]) -> None:
        with self.lock:
            for result in results:
                self.simulator.observe(result)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="demo-market", daemon=True)
        self.thread.start()
        log.info("demo_market.started", clock=self.clock.now().astimezone(SEOUL).isoformat())

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
            self.thread = None
        self._save_clock()

    def _loop(self) -> None:
        while not self.stopping.wait(TICK_S):
            try:
                self.tick()
            except Exception as error:
                log.error("demo_market.tick_failed", exc_info=error)

    def tick(self) -> None:
        self._keep_open()
        self._save_clock()
        if self.venue.phase is SessionPhase.CLOSED:
            return  # the pipeline opens the market within a second
        if not self.warmed_up:
            self.warmed_up = True
            self.send(WARM_UP_COMMANDS_PER_INSTRUMENT * len(self.simulator.flows))
        self.send(self.commands_per_tick)

    def send(self, count: int) -> None:
        for start in range(0, count, COMMANDS_PER_BATCH_MAX):
            timestamp = self.venue.timestamp_ns()
            with self.lock:
                commands: list[Command] = [
                    self.simulator.next_command(timestamp)
                    for _ in range(min(COMMANDS_PER_BATCH_MAX, count - start))
                ]
            self.pipeline.run_commands(commands)

    def _keep_open(self) -> None:
        """After the close (or on a day the venue already closed), on to the next trading day."""
        if not isinstance(self.clock, RunningClock) or self.venue.phase is not SessionPhase.CLOSED:
            return
        now = self.clock.now()
        today = seoul_date(now)
        schedule = self.venue.schedule
        over = (
            schedule.phase_at(now) is SessionPhase.CLOSED or self.venue.trading_day_code == today.isoformat()
        )
        if not over:
            return
        day = today + timedelta(days=1)
        while not schedule.is_trading_day(day):
            day += timedelta(days=1)
        if (
            schedule.is_trading_day(today)
            and now.astimezone(SEOUL).timetz().replace(tzinfo=None) < schedule.pre_open
        ):
            day = today
        target = datetime.combine(day, schedule.open, tzinfo=SEOUL) - PRE_OPEN_LEAD
        self.clock.jump_to(target)
        log.info("demo_market.next_day", clock=target.isoformat())

    def _save_clock(self) -> None:
        if not isinstance(self.clock, RunningClock):
            return
        self.clock_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.clock_file.with_suffix(".tmp")
        temporary.write_text(self.clock.now().isoformat())
        os.replace(temporary, self.clock_file)
