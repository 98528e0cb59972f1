"""Timeouts, retries and a circuit breaker around any firm adapter (SYSTEM.md §6: on every
connection to a firm).

- The timeout is the HTTP adapter's own (`FIRM_TIMEOUT_MS` per attempt); the in-process adapter
  answers from this process's database.
- A failure (`FirmError`) is retried up to `FIRM_RETRIES_MAX` times with a short, growing pause; a
  refusal (`FirmRefusal`) is an answer and never retried.
- After `FIRM_BREAKER_FAILURES_MAX` consecutive failed calls the breaker opens: calls fail at once
  for `FIRM_BREAKER_OPEN_MS`, then one trial call is let through (half-open); its success closes
  the breaker, its failure opens it again. The time comes from the injected clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from backbone.kit.clock import Clock
from backbone.open_platform.adapters.interface import (
    Capability,
    FirmAccount,
    FirmAdapter,
    FirmBalance,
    FirmError,
    FirmRefusal,
    FirmTransactionPage,
    FirmWatchlistGroup,
    TransactionQuery,
)

FIRM_TIMEOUT_MS = 2_000
FIRM_RETRIES_MAX = 2
FIRM_RETRY_PAUSE_MS = 50
FIRM_BREAKER_FAILURES_MAX = 5
FIRM_BREAKER_OPEN_MS = 30_000

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(FirmError):
    code = "platform.firm_circuit_open"
    title = "The securities firm is failing; calls to it are paused"


class CircuitBreaker:
    def __init__(
        self,
        *,
        clock: Clock,
        failures_max: int = FIRM_BREAKER_FAILURES_MAX,
        open_ms: int = FIRM_BREAKER_OPEN_MS,
    ) -> None:
        self._clock = clock
        self._failures_max = failures_max
        self._open_for = timedelta(milliseconds=open_ms)
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: datetime | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock.now() - self._opened_at >= self._open_for:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def admit(self) -> None:
        with self._lock:
            state = self._state()
            if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._trial_running):
                raise CircuitOpen(
                    "calls to this firm are paused after repeated failures", reason="circuit_open"
                )
            if state is BreakerState.HALF_OPEN:
                self._trial_running = True

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self._failures_max:
                self._opened_at = self._clock.now()
            self._trial_running = False


class ResilientFirm:
    """An adapter wrapped with retries and a breaker; the same interface."""

    def __init__(
        self,
        adapter: FirmAdapter,
        *,
        breaker: CircuitBreaker,
        retries_max: int = FIRM_RETRIES_MAX,
        retry_pause_ms: int = FIRM_RETRY_PAUSE_MS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.adapter = adapter
        self.breaker = breaker
        self._retries_max = retries_max
        self._retry_pause_s = retry_pause_ms / 1000
        self._sleep = sleep

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.adapter.capabilities

    def _call(self, work: Callable[[], T]) -> T:
        self.breaker.admit()
        attempt = 0
        while True:
            try:
                result = work()
            except FirmError:
                attempt += 1
                if attempt > self._retries_max:
                    self.breaker.failed()
                    raise
                self._sleep(self._retry_pause_s * attempt)
                continue
            except FirmRefusal:
                # A refusal is an answer: the firm is up.
                self.breaker.succeeded()
                raise
            self.breaker.succeeded()
            return result

    def accounts(self, personal_identifier: str) -> list[FirmAccount]:
        return self._call(lambda: self.adapter.accounts(personal_identifier))

    def account(self, personal_identifier: str, number: str) -> FirmAccount:
        return self._call(lambda: self.adapter.account(personal_identifier, number))

    def balance(self, personal_identifier: str, number: str) -> FirmBalance:
        return self._call(lambda: self.adapter.balance(personal_identifier, number))

    def transactions(
        self, personal_identifier: str, number: str, query: TransactionQuery
    ) -> FirmTransactionPage:
        return self._call(lambda: self.adapter.transactions(personal_identifier, number, query))

    def watchlist(self, personal_identifier: str, number: str) -> list[FirmWatchlistGroup]:
        return self._call(lambda: self.adapter.watchlist(personal_identifier, number))
