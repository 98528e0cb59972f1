"""The venue as the brokerage sees it: the exchange's sequencer, engine and journal in this process.

One process at a time opens the journal (`exchange.journal_lock`: a second server, or a repair
beside a running one, is refused). Only the order pipeline's thread submits commands (the engine
is single-threaded by design); any thread may ask for an instrument's limits, phase and last
price, which are plain integers the engine replaces whole. Results come back only once the
journal holds them, and go on to `on_results` (the quote feed) after the brokerage has booked them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from backbone.brokerage.trading.domain import Market
from backbone.exchange.calendar import krx_calendar
from backbone.exchange.errors import UnknownInstrument
from backbone.exchange.journal import FsyncPolicy, journal_identity, list_segments
from backbone.exchange.journal_lock import lock_journal
from backbone.exchange.messages import ChangeSessionPhase, Command, CommandResult
from backbone.exchange.orders import Side
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import SessionSchedule, timestamp_ns
from backbone.exchange.sequencer import Sequencer, open_sequencer, replay
from backbone.kit import faults
from backbone.kit.check import invariant
from backbone.kit.clock import SEOUL, Clock
from backbone.kit.faults import Point

VENUE_NAME = "backbone"  # the brokerage's booking cursor is kept per venue


class Venue:
    def __init__(
        self,
        *,
        journal_directory: Path,
        base_prices: Mapping[str, int],
        clock: Clock,
        policy: FsyncPolicy = FsyncPolicy.GROUP,
    ) -> None:
        self.journal_directory = journal_directory
        self.base_prices = dict(base_prices)
        self.clock = clock
        self.policy = policy
        self._published: list[CommandResult] = []
        self._lock = lock_journal(journal_directory)  # JournalInUse while another process has it
        self._sequencer: Sequencer
        try:
            self._sequencer, self.recovery = open_sequencer(
                journal_directory, self.base_prices, self._collect, policy=policy
            )
        except BaseException:
            self._lock.release()
            raise
        self.journal_identity = journal_identity(journal_directory)  # the writer wrote it if new
        calendar = krx_calendar()
        self.schedule = SessionSchedule(holidays=calendar.holidays)

    def _collect(self, results: list[CommandResult]) -> None:
        self._published.extend(results)

    # --- the pipeline's side --------------------------------------------------------------------

    def execute(self, commands: Sequence[Command]) -> list[CommandResult]:
        """Sequence, journal and run the commands; return their results once durable."""
        for command in commands:
            self._sequencer.submit(command)
        faults.hit(Point.VENUE_EXECUTE)
        self._sequencer.flush()
        results, self._published = self._published, []
        invariant(len(results) == len(commands), "every command submitted is published once flushed")
        return results

    def reopen(self) -> None:
        """After a failure inside `execute`: the engine may hold commands the journal does not, so
        it is rebuilt from the journal, which holds exactly what is durable."""
        self._sequencer.abandon()
        self._published = []
        self._sequencer, self.recovery = open_sequencer(
            self.journal_directory, self.base_prices, self._collect, policy=self.policy
        )

    def due_phase_changes(self) -> list[ChangeSessionPhase]:
        """The session phase changes the schedule says are due now, as commands."""
        engine = self._sequencer.engine
        now = self.clock.now()
        stamp = timestamp_ns(now)
        return [
            ChangeSessionPhase(phase, stamp)
            for phase in self.schedule.phase_changes(engine.phase, engine.trading_day, now)
        ]

    def timestamp_ns(self) -> int:
        return timestamp_ns(self.clock.now())

    @property
    def last_sequence(self) -> int:
        return self._sequencer.last_sequence

    def results_after(self, sequence: int) -> list[CommandResult]:
        """Every published result after `sequence`, replayed from the journal (for recovery)."""
        self._sequencer.flush()
        return [
            result
            for result in replay(self.journal_directory, self.base_prices)
            if result.sequence > sequence
        ]

    @property
    def last_segment(self) -> Path:
        """The journal's last segment file, the one it appends to (the writer made one if none)."""
        return list_segments(self.journal_directory)[-1].path

    def close(self) -> None:
        try:
            self._sequencer.close()
        finally:
            self._lock.release()

    # --- any thread -----------------------------------------------------------------------------

    def market(self, instrument: str) -> Market:
        engine = self._sequencer.engine
        book = engine.books.get(instrument)
        if book is None:
            raise UnknownInstrument(f"no instrument with code {instrument!r} trades here")
        last = book.last_price or book.base_price
        return Market(
            phase=engine.phase, lower_limit=book.lower_limit, upper_limit=book.upper_limit, last_price=last
        )

    def last_price(self, instrument: str) -> int:
        book = self._sequencer.engine.books.get(instrument)
        if book is None:
            return self.base_prices.get(instrument, 0)
        return book.last_price or book.base_price or self.base_prices.get(instrument, 0)

    def book_levels(self) -> dict[str, tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]]:
        """Every instrument's levels, (price, quantity, orders) best first, bids then asks: where the
        quote feed starts. Only on the pipeline's thread, or before it runs."""
        found = {}
        for code, book in self._sequencer.engine.books.items():
            levels = len(book.prices)
            found[code] = (book.depth(Side.BUY, levels), book.depth(Side.SELL, levels))
        return found

    def reference_prices(self) -> dict[str, int]:
        """Each instrument's base price today (기준가: the last close), which sets its limits."""
        return {code: book.base_price for code, book in self._sequencer.engine.books.items()}

    @property
    def trading_day_code(self) -> str:
        """The engine's trading day as it names it (ISO date, "" before the first session)."""
        return self._sequencer.engine.trading_day

    @property
    def phase(self) -> SessionPhase:
        return self._sequencer.engine.phase

    def trading_day(self) -> date:
        """The venue's trading day, or today in Seoul before the first session opened."""
        day = self._sequencer.engine.trading_day
        return date.fromisoformat(day) if day else self.clock.now().astimezone(SEOUL).date()


def trade_date_of(timestamp: int) -> date:
    """The Korean calendar date of a venue timestamp (nanoseconds since the epoch)."""
    return datetime.fromtimestamp(timestamp // 1_000_000_000, SEOUL).date()


ResultsListener = Callable[[list[CommandResult]], None]
