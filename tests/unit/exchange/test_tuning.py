"""The engine leaves no cyclic garbage, which is what lets an engine process tune the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from backbone.exchange.engine import MatchingEngine
from backbone.exchange.schedule import SessionSchedule
from backbone.exchange.sequencer import Sequencer
from backbone.exchange.simulator import DEFAULT_DAY, LiquiditySimulator, first_trading_morning, simulate_day
from backbone.exchange.tuning import restore_garbage_collector, tune_garbage_collector
from backbone.kit.clock import SimulatedClock
from tests.unit.exchange.builders import BASE_PRICES


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.usefixtures("collector_off")
def test_engine_leaves_no_cyclic_garbage() -> None:
    # A whole simulated day (auctions, trades, cancels, modifications, expiries) with the cyclic
    # collector off: whatever the engine dropped, reference counting must already have freed.
    sequencer = Sequencer(MatchingEngine(BASE_PRICES), None, lambda results: None, group_commands_max=64)
    clock = SimulatedClock(first_trading_morning(DEFAULT_DAY, SessionSchedule()))
    simulate_day(sequencer, LiquiditySimulator(BASE_PRICES, seed=4), clock, commands=5_000)
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert gc.collect() == 0, [type(item).__name__ for item in gc.garbage[:20]]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_tuning_raises_the_thresholds_and_restoring_gives_the_defaults_back() -> None:
    try:
        tune_garbage_collector()
        assert gc.get_threshold()[0] > 700
        assert gc.get_freeze_count() > 0
    finally:
        restore_garbage_collector()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
