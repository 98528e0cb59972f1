"""Runtime tuning of an engine process: the garbage collector.

The engine leaves no reference cycles behind (an order unlinks itself from its level when it leaves
the book; events and results hold no back-references), so everything it discards is freed at once
by reference counting; a test holds it to that (test_engine_leaves_no_cyclic_garbage). CPython's
cyclic collector would still walk the live orders over and over as they accumulate through the
day, which costs the engine more than half its throughput and puts millisecond pauses into its
latency. An engine process therefore freezes what exists after recovery (it is never collected)
and collects the youngest generation only every GENERATION_0_OBJECTS_MAX allocations; the older
generations, where the day's orders end up, rarely. The process collects fully at quiet moments
(`collect_when_quiet`, e.g. at a phase change), so cycles made elsewhere in the process are still
reclaimed.
"""

from __future__ import annotations

import gc
from typing import Final

GENERATION_0_OBJECTS_MAX: Final = 100_000
GENERATION_1_COLLECTIONS_MAX: Final = 50
GENERATION_2_COLLECTIONS_MAX: Final = 1_000


def tune_garbage_collector() -> None:
    """Call once the engine is recovered, before serving commands."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GENERATION_0_OBJECTS_MAX, GENERATION_1_COLLECTIONS_MAX, GENERATION_2_COLLECTIONS_MAX)


def collect_when_quiet() -> int:
    """A full collection, at a moment when a pause hurts nobody. Returns what it freed."""
    return gc.collect()


def restore_garbage_collector() -> None:
    """Back to CPython's defaults (for tests and benchmarks that compare)."""
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
