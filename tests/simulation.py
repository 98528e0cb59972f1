"""A seeded fault simulation of the order chain, in the spirit of TigerBeetle's simulator: orders,
cancels, modifications, session changes, faults at every stage of the pipeline and restarts, and
after every step the checks that must always hold:

- the ledger agrees with itself (`backbone ledger check`);
- whenever the pipeline takes orders, the brokerage's books agree with the venue's journal
  (`backbone orders check`): every order the venue has is booked with its status, fills and
  open quantity, every hold matches its open order, resting orders are the open orders;
- after the faults are healed, the pipeline comes back (and after a restart, it starts).

`tests/property/test_pipeline_fault_simulation.py` draws the steps with Hypothesis (a bounded
number per run, in `make test`); a longer run from seeds:

    .venv/bin/python -m tests.simulation --seeds 20 --steps 300
"""

from __future__ import annotations

import argparse
import errno
import shutil
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from random import Random

from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import OperationalError

from backbone import bootstrap
from backbone.bootstrap import Container, Trading
from backbone.brokerage.domain import Account
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.desk import CancelRequest, ModifyRequest, PlaceRequest, Request
from backbone.brokerage.trading.domain import OrderStatus, OrderTicket
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.kit import faults
from backbone.kit.clock import SimulatedClock
from backbone.kit.faults import Point
from backbone.kit.logs import configure_logging
from backbone.ledger.audit import audit
from tests import builders
from tests.conftest import MARKET_MORNING, _migrate, settings_for
from tests.trading import FAST_RETRIES_MS, agreement, open_market

ACCOUNTS = 3
CODE = "005930"  # base price 71,500, tick 100
PRICES = [71_200 + 100 * step for step in range(7)]
OPEN_STATUSES = [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
ERRORS = ("locked", "disk_full", "bug")
# Where a simulated fault may strike (a kill is a restart step: the in-memory state is lost).
FAULT_POINTS = (
    Point.ADMISSION_COMMIT,
    Point.VENUE_EXECUTE,
    Point.JOURNAL_WRITE,
    Point.BOOKING_COMMIT,
    Point.LISTENER,
    Point.SETTLEMENT_COMMIT,
    Point.RECOVERY_COMMIT,
)


@dataclass(frozen=True)
class Place:
    account: int
    side: Side
    kind: str  # limit (day), ioc, market
    price: int
    quantity: int


@dataclass(frozen=True)
class Cancel:
    pick: int  # which open order, modulo how many there are


@dataclass(frozen=True)
class Modify:
    pick: int
    price: int
    quantity: int


@dataclass(frozen=True)
class Advance:
    minutes: int  # the clock moves on; the schedule's phase changes (auctions, the close) follow


@dataclass(frozen=True)
class Fault:
    point: Point
    error: str  # one of ERRORS
    times: int  # how many hits fail; -1: every hit until healed
    skip: int


@dataclass(frozen=True)
class Heal:
    """Every fault disarmed: the database answers again, the disk has room."""


@dataclass(frozen=True)
class Restart:
    """The process stops (what it held in memory is gone) and starts again on the same disk."""


Step = Place | Cancel | Modify | Advance | Fault | Heal | Restart


def error_of(kind: str) -> BaseException:
    if kind == "locked":
        return OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))
    if kind == "disk_full":
        return OSError(errno.ENOSPC, "No space left on device")
    return RuntimeError("a bug in a stage")


@dataclass
class Figures:
    steps: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    orders_placed: int = 0
    checks: int = 0
    violations: list[str] = field(default_factory=list)


class Simulation:
    """One installation (SQLite copied from the suite's template, a venue journal) driven step by
    step; `check()` after each step."""

    def __init__(self, template: Path, directory: Path) -> None:
        self.directory = directory
        shutil.copyfile(template, directory / "simulation.sqlite3")
        self.clock = SimulatedClock(MARKET_MORNING)
        self.container: Container = bootstrap.build(
            settings_for(f"sqlite:///{directory / 'simulation.sqlite3'}", directory), clock=self.clock
        )
        with self.container.database.transaction() as session:
            builders.firm(self.container, session)
            self.accounts: list[Account] = [
                builders.account(
                    self.container, session, name=f"투자자{index}", cash=200_000_000, shares={CODE: 2_000}
                )
                for index in range(ACCOUNTS)
            ]
        self.figures = Figures()
        self.keys = 0
        self.opened = self._open()
        open_market(self.clock, self.opened)

    def _open(self) -> Trading:
        return bootstrap.open_trading(
            self.container, journal_directory=self.directory / "exchange", retry_delays_ms=FAST_RETRIES_MS
        )

    def close(self) -> None:
        faults.disarm_all()
        self.opened.close()
        self.container.close()

    # --- steps ----------------------------------------------------------------------------------

    def run(self, step: Step) -> None:
        self.figures.steps += 1
        if isinstance(step, Place | Cancel | Modify):
            request = self._request(step)
            if request is not None:
                self.opened.pipeline.process([request])
        elif isinstance(step, Advance):
            self.clock.advance(timedelta(minutes=step.minutes))
            self.opened.pipeline.advance_session()
        elif isinstance(step, Fault):
            self.figures.faults[step.point.value] += 1
            faults.arm(step.point, error_of(step.error), times=step.times, skip=step.skip)
        elif isinstance(step, Heal):
            self._heal()
        else:
            self._restart()

    def _heal(self) -> None:
        for point, count in faults.fired.items():
            self.figures.fired[point] += count
        faults.disarm_all()

    def _restart(self) -> None:
        self.figures.restarts += 1
        self._heal()  # a fresh process: the trouble it met (a lock, a full disk) has passed
        self.opened.close()
        self.opened = self._open()

    def _request(self, step: Place | Cancel | Modify) -> Request | None:
        self.keys += 1
        if isinstance(step, Place):
            self.figures.orders_placed += 1
            account = self.accounts[step.account]
            return PlaceRequest(account.id, f"sim-{self.keys}", ticket(step))
        with self.container.database.reading() as session:
            candidates = sorted(
                repository.orders_in_status(session, OPEN_STATUSES), key=lambda order: order.id
            )
        if not candidates:
            return None
        order = candidates[step.pick % len(candidates)]
        if isinstance(step, Cancel):
            return CancelRequest(order.account_id, order.id)
        return ModifyRequest(order.account_id, order.id, step.price, step.quantity)

    # --- checks ---------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """What must hold after any step; the list of what does not (empty: all is well)."""
        self.figures.checks += 1
        pipeline = self.opened.pipeline
        if pipeline.health().ready and not pipeline.needs_restore:
            found = agreement(self.container, self.opened)  # the ledger, and orders against the venue
        else:  # paused: the books lag the venue until it catches up; the ledger must still be whole
            with self.container.database.reading() as session:
                found = [str(violation) for violation in audit(session).violations]
        self.figures.violations.extend(found)
        return found

    def finish(self) -> list[str]:
        """Heal, let the pipeline come back, restart: the books agree and the pipeline is ready."""
        self._heal()
        self.opened.pipeline.process([])
        found = [] if self.opened.pipeline.health().ready else ["the pipeline did not come back"]
        self._restart()
        if not self.opened.pipeline.health().ready:
            found.append("the pipeline is not ready after a restart")
        found += agreement(self.container, self.opened)
        self.figures.violations.extend(found)
        return found


def ticket(step: Place) -> OrderTicket:
    if step.kind == "market":
        return OrderTicket(CODE, step.side, OrderType.MARKET, TimeInForce.IOC, None, step.quantity)
    time_in_force = TimeInForce.IOC if step.kind == "ioc" else TimeInForce.DAY
    return OrderTicket(CODE, step.side, OrderType.LIMIT, time_in_force, step.price, step.quantity)


def random_step(draw: Random) -> Step:  # noqa: PLR0911 - one return per kind of step
    """One step from a seeded generator, with about the weights the Hypothesis test uses."""
    roll = draw.random()
    if roll < 0.55:
        kind = draw.choice(["limit", "limit", "limit", "ioc", "market"])
        side = draw.choice(list(Side))
        return Place(draw.randrange(ACCOUNTS), side, kind, draw.choice(PRICES), draw.randint(1, 30))
    if roll < 0.65:
        return Cancel(draw.randrange(200))
    if roll < 0.72:
        return Modify(draw.randrange(200), draw.choice(PRICES), draw.randint(1, 30))
    if roll < 0.80:
        return Advance(draw.choice([1, 5, 30, 120, 400]))
    if roll < 0.92:
        times = draw.choice([1, 1, 2, -1])
        return Fault(draw.choice(FAULT_POINTS), draw.choice(ERRORS), times, draw.randrange(3))
    if roll < 0.97:
        return Heal()
    return Restart()


def simulate(template: Path, seed: int, steps: int) -> Figures:
    directory = Path(tempfile.mkdtemp(prefix=f"fault-simulation-{seed}-"))
    simulation = Simulation(template, directory)
    try:
        draw = Random(seed)
        for _ in range(steps):
            simulation.run(random_step(draw))
            simulation.check()
        simulation.finish()
        return simulation.figures
    finally:
        simulation.close()
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="The order chain under seeded faults and restarts.")
    parser.add_argument("--seeds", type=int, default=10, help="simulations to run, seeds 1..N")
    parser.add_argument("--steps", type=int, default=200, help="steps per simulation")
    parser.add_argument("--first-seed", type=int, default=1)
    arguments = parser.parse_args()
    configure_logging(level="CRITICAL", json=False)  # the faults' error lines would bury the figures
    console = Console()
    total = Figures()
    with tempfile.TemporaryDirectory(prefix="fault-simulation-template-") as folder:
        template = Path(folder) / "template.sqlite3"
        _migrate(f"sqlite:///{template}", Path(folder))
        with Progress(console=console) as progress:
            task = progress.add_task("simulating", total=arguments.seeds)
            for seed in range(arguments.first_seed, arguments.first_seed + arguments.seeds):
                figures = simulate(template, seed, arguments.steps)
                total.steps += figures.steps
                total.faults.update(figures.faults)
                total.fired.update(figures.fired)
                total.restarts += figures.restarts
                total.orders_placed += figures.orders_placed
                total.checks += figures.checks
                total.violations += [f"seed {seed}: {violation}" for violation in figures.violations]
                progress.advance(task)
    console.print(
        f"seeds {arguments.first_seed}..{arguments.first_seed + arguments.seeds - 1}: "
        f"{total.steps:,} steps, {total.orders_placed:,} orders, {sum(total.faults.values()):,} faults armed "
        f"({sum(total.fired.values()):,} struck), {total.restarts:,} restarts, {total.checks:,} checks, "
        f"violations {len(total.violations)}"
    )
    for point, count in sorted(total.fired.items()):
        console.print(f"  {point}: {count:,} struck")
    for violation in total.violations[:20]:
        console.print(f"[red]{violation}[/]")
    raise SystemExit(1 if total.violations else 0)


if __name__ == "__main__":
    main()
