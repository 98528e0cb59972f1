"""The compiled hot path (mypyc) and the pure-Python modules behave identically.

Both run the same simulated trading day in fresh interpreters; every published result, encoded,
must be the same byte for byte. (The whole exchange suite can also be run in either mode:
`BACKBONE_PURE_PYTHON=1 pytest tests/unit/exchange tests/property/exchange`.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import backbone.exchange
from backbone.exchange import PURE_PYTHON_VARIABLE

SCRIPT = """
import hashlib, sys
import orjson
import backbone.exchange, backbone.exchange.engine
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.schedule import SessionSchedule
from backbone.exchange.sequencer import Sequencer
from backbone.exchange.simulator import DEFAULT_DAY, LiquiditySimulator, first_trading_morning, simulate_day
from backbone.kit.clock import SimulatedClock

prices = {"005930": 71_500, "000660": 180_000, "035720": 38_000}
digest = hashlib.sha256()
def publish(results):
    for result in results:
        digest.update(orjson.dumps(result.to_wire()))
sequencer = Sequencer(MatchingEngine(prices), None, publish, group_commands_max=8)
clock = SimulatedClock(first_trading_morning(DEFAULT_DAY, SessionSchedule()))
simulate_day(sequencer, LiquiditySimulator(prices, seed=11), clock, commands=6_000)
print(backbone.exchange.COMPILED, backbone.exchange.engine.__file__.endswith(".py"), digest.hexdigest())
"""


def run_day(*, pure: bool) -> tuple[str, str, str]:
    environment = {key: value for key, value in os.environ.items() if key != PURE_PYTHON_VARIABLE}
    if pure:
        environment[PURE_PYTHON_VARIABLE] = "1"
    completed = subprocess.run(  # noqa: S603 - this interpreter on a fixed script
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=240,
    )
    compiled, from_source, digest = completed.stdout.split()
    return compiled, from_source, digest


def test_compiled_and_pure_python_engines_publish_identical_results() -> None:
    if not backbone.exchange.COMPILED and os.environ.get(PURE_PYTHON_VARIABLE) != "1":
        pytest.skip("no compiled build here: `make` builds it (scripts/build-native)")
    compiled = run_day(pure=False)
    pure = run_day(pure=True)
    assert compiled[:2] == ("True", "False")  # really the extension modules
    assert pure[:2] == ("False", "True")  # really the sources
    assert compiled[2] == pure[2]
