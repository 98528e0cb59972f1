"""The KRX session schedule: which phase applies at an instant, given an injected clock.

The schedule never changes the engine by itself: the sequencer's front end asks it which phase
changes are due (`phase_changes`) and submits them as `ChangeSessionPhase` commands, which are
journaled like any other, so a replay goes through exactly the same transitions.

Times are KST (no daylight saving). Weekends are closed; holidays are a set of dates passed in
(the KRX holiday calendar is published yearly; Backbone ships none by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from backbone.exchange.phases import DAY_SEQUENCE, SessionPhase
from backbone.kit.check import invariant
from backbone.kit.clock import SEOUL, Clock

SATURDAY = 5
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SessionSchedule:
    pre_open: time = time(8, 30)  # 장 시작 동시호가 접수
    open: time = time(9, 0)  # opening uncross, continuous trading begins
    closing_auction: time = time(15, 20)  # 장 마감 동시호가 접수
    close: time = time(15, 30)  # closing uncross; day orders expire
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        invariant(
            self.pre_open < self.open < self.closing_auction < self.close,
            "session times run pre-open < open < closing auction < close",
        )

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self.holidays

    def phase_at(self, instant: datetime) -> SessionPhase:
        local = instant.astimezone(SEOUL)
        if not self.is_trading_day(local.date()):
            return SessionPhase.CLOSED
        now = local.timetz().replace(tzinfo=None)
        if now < self.pre_open or now >= self.close:
            return SessionPhase.CLOSED
        if now < self.open:
            return SessionPhase.PRE_OPEN_AUCTION
        if now < self.closing_auction:
            return SessionPhase.CONTINUOUS
        return SessionPhase.CLOSING_AUCTION

    def phase_now(self, clock: Clock) -> SessionPhase:
        return self.phase_at(clock.now())

    def phase_changes(self, phase: SessionPhase, trading_day: str, instant: datetime) -> list[SessionPhase]:
        """The phases to enter, in order, to bring an engine in `phase` of `trading_day` (ISO date,
        "" before the first day) to the phase the schedule gives at `instant`. A day left open is
        closed first (closing auction, close), then the new day is walked up to its phase."""
        target = self.phase_at(instant)
        today = instant.astimezone(SEOUL).date().isoformat()
        changes: list[SessionPhase] = []
        if phase is not SessionPhase.CLOSED and trading_day != today:
            changes.extend(_walk(phase, SessionPhase.CLOSED))
            phase = SessionPhase.CLOSED
        if phase is SessionPhase.CLOSED and trading_day == today:
            return changes  # today's session is over (or never opened): stay closed until tomorrow
        changes.extend(_walk(phase, target))
        return changes


def _walk(start: SessionPhase, target: SessionPhase) -> Iterable[SessionPhase]:
    position = DAY_SEQUENCE.index(start)
    end = DAY_SEQUENCE.index(target)
    if end < position:
        end += len(DAY_SEQUENCE)
    return [DAY_SEQUENCE[step % len(DAY_SEQUENCE)] for step in range(position + 1, end + 1)]


def timestamp_ns(instant: datetime) -> int:
    """Nanoseconds since the Unix epoch, exactly (no float on the way), as commands carry time."""
    invariant(instant.tzinfo is not None, "instants are timezone-aware")
    return (instant - UNIX_EPOCH) // timedelta(microseconds=1) * 1_000


def instant_of(timestamp_ns: int) -> datetime:
    return UNIX_EPOCH + timedelta(microseconds=timestamp_ns // 1_000)
