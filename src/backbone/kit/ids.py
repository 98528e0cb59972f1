"""Time-ordered 53-bit ids, generated in the process, safe to send to JavaScript as numbers.

Layout (most significant first): 41 bits of milliseconds since 2024-01-01 UTC (69 years),
4 bits of node (0-15, one per process that writes), 8 bits of sequence within the millisecond.
When a millisecond's 256 ids are used up, the generator borrows the next millisecond rather than
waiting, so ids stay unique and increasing even under a simulated clock that stands still.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from backbone.kit.check import invariant
from backbone.kit.clock import Clock

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
NODE_BITS = 4
SEQUENCE_BITS = 8
NODE_MAX = (1 << NODE_BITS) - 1
SEQUENCE_MAX = (1 << SEQUENCE_BITS) - 1
ID_MAX = (1 << 53) - 1


class IdGenerator:
    def __init__(self, clock: Clock, *, node: int = 0) -> None:
        if not 0 <= node <= NODE_MAX:
            raise ValueError(f"node must be between 0 and {NODE_MAX}")
        self._clock = clock
        self._node = node
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next(self) -> int:
        now_ms = int((self._clock.now() - EPOCH).total_seconds() * 1000)
        with self._lock:
            if now_ms > self._last_ms:
                self._last_ms, self._sequence = now_ms, 0
            elif self._sequence < SEQUENCE_MAX:
                self._sequence += 1
            else:
                self._last_ms, self._sequence = self._last_ms + 1, 0
            value = (
                (self._last_ms << (NODE_BITS + SEQUENCE_BITS))
                | (self._node << SEQUENCE_BITS)
                | self._sequence
            )
        invariant(0 < value <= ID_MAX, "id out of the 53-bit range")
        return value
