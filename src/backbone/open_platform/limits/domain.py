"""Per-app limits, pure: a token bucket for bursts and a daily quota per Korean calendar day.

Both take the time as an argument, so a test drives them with a simulated clock. Units last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

NANOSECONDS_PER_SECOND: Final = 1_000_000_000


@dataclass(slots=True)
class TokenBucket:
    """`capacity` requests at once, refilled at `capacity` per second."""

    capacity: int
    tokens_nano: int  # tokens × 10⁹, so refilling stays in integers
    updated_ns: int

    @classmethod
    def full(cls, capacity: int, now_ns: int) -> TokenBucket:
        return cls(capacity, capacity * NANOSECONDS_PER_SECOND, now_ns)

    def take(self, now_ns: int) -> int:
        """0 when a request may go now, else the nanoseconds until one may."""
        elapsed = max(0, now_ns - self.updated_ns)
        ceiling = self.capacity * NANOSECONDS_PER_SECOND
        self.tokens_nano = min(ceiling, self.tokens_nano + elapsed * self.capacity)
        self.updated_ns = now_ns
        if self.tokens_nano >= NANOSECONDS_PER_SECOND:
            self.tokens_nano -= NANOSECONDS_PER_SECOND
            return 0
        missing = NANOSECONDS_PER_SECOND - self.tokens_nano
        return -(-missing // self.capacity)


@dataclass(slots=True)
class DailyQuota:
    limit: int
    day: date
    used: int = 0

    def take(self, today: date) -> bool:
        if today != self.day:
            self.day, self.used = today, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the quota resets (midnight in Seoul)
    retry_after_s: int  # when refused: seconds to wait
    reason: str  # "" | "burst" | "quota"
