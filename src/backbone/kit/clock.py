"""Injected time. Nothing in Backbone calls `datetime.now()` directly.

A `SimulatedClock` lets a test or the demo run a whole trading day in seconds; the `SystemClock`
is the one real time source. Instants are timezone-aware UTC; `SEOUL` gives the market's local time
(Korea has no daylight saving, so a fixed offset is exact).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

SEOUL = timezone(timedelta(hours=9), "KST")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to. Safe to share between threads."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a simulated clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a simulated clock needs timezone-aware instants")
        with self._lock:
            if instant.astimezone(UTC) < self._now:
                raise ValueError("time does not run backwards")
            self._now = instant.astimezone(UTC)


def seoul_date(instant: datetime) -> date:
    """The Korean calendar date of an instant: the trading day it belongs to."""
    return instant.astimezone(SEOUL).date()


def seoul_midnight(day: date) -> datetime:
    """The first instant of a Korean calendar day, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=SEOUL).astimezone(UTC)


def monotonic_ns() -> int:
    """For measuring durations only; never for timestamps."""
    return time.monotonic_ns()


class RunningClock:
    """Real time from a chosen starting instant: `start` at creation, then moving with `base` (the
    system clock), second for second. It only ever jumps forward (`jump_to`), so ids and
    timestamps made from it keep increasing. The demo market runs on it so that the market is
    open whatever the hour. Safe to share between threads."""

    def __init__(self, start: datetime, *, base: Clock | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("a running clock needs a timezone-aware start")
        self._base = base or SystemClock()
        self._offset = start.astimezone(UTC) - self._base.now()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base.now() + self._offset

    def jump_to(self, instant: datetime) -> None:
        with self._lock:
            ahead = instant.astimezone(UTC) - (self._base.now() + self._offset)
            if ahead < timedelta(0):
                raise ValueError("time does not run backwards")
            self._offset += ahead
