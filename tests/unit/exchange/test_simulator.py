"""The liquidity simulator: reproducible from its seed, and it keeps a market trading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
from typer.testing import CliRunner

from backbone.cli import app
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.messages import (
    AuctionUncrossed,
    CommandResult,
    OrderAccepted,
    PlaceOrder,
    SessionPhaseChanged,
    TradeExecuted,
)
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import SessionSchedule
from backbone.exchange.sequencer import Sequencer
from backbone.exchange.simulator import DEFAULT_DAY, LiquiditySimulator, first_trading_morning, simulate_day
from backbone.kit.clock import SimulatedClock
from tests.unit.exchange.builders import BASE_PRICES


def simulated_day(seed: int, commands: int = 3_000) -> list[CommandResult]:
    published: list[CommandResult] = []
    sequencer = Sequencer(MatchingEngine(BASE_PRICES), None, published.extend, group_commands_max=16)
    simulator = LiquiditySimulator(BASE_PRICES, seed=seed)
    clock = SimulatedClock(first_trading_morning(DEFAULT_DAY, SessionSchedule()))
    simulate_day(sequencer, simulator, clock, commands=commands)
    sequencer.engine.check_invariants()
    return published


def fingerprint(results: list[CommandResult]) -> str:
    return hashlib.sha256(b"".join(orjson.dumps(result.to_wire()) for result in results)).hexdigest()


def test_the_same_seed_gives_the_same_day_to_the_event() -> None:
    assert fingerprint(simulated_day(7)) == fingerprint(simulated_day(7))


def test_a_different_seed_gives_a_different_day() -> None:
    assert fingerprint(simulated_day(7)) != fingerprint(simulated_day(8))


def test_a_simulated_day_opens_by_auction_trades_all_day_and_closes() -> None:
    results = simulated_day(7)
    events = [event for result in results for event in result.events]
    phases = [event.phase for event in events if isinstance(event, SessionPhaseChanged)]
    assert phases == [
        SessionPhase.PRE_OPEN_AUCTION,
        SessionPhase.CONTINUOUS,
        SessionPhase.CLOSING_AUCTION,
        SessionPhase.CLOSED,
    ]
    opening = [event for event in events if isinstance(event, AuctionUncrossed)]
    assert {event.instrument for event in opening} == set(BASE_PRICES)
    continuous_trades = [event for event in events if isinstance(event, TradeExecuted) and event.aggressor]
    assert len(continuous_trades) > 300
    assert {trade.instrument for trade in continuous_trades} == set(BASE_PRICES)


def test_simulate_command_prints_a_summary_of_the_day() -> None:
    result = CliRunner().invoke(
        app, ["market", "simulate", "--commands", "2000", "--instruments", "005930,000660", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "삼성전자" in result.output
    assert "2,000 order commands and 4 phase changes" in result.output


def test_simulate_command_refuses_an_unknown_instrument() -> None:
    result = CliRunner().invoke(app, ["market", "simulate", "--commands", "10", "--instruments", "999999"])
    assert result.exit_code != 0
    assert "999999" in result.output


def test_recover_command_rebuilds_the_engine_of_a_journaled_simulation(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    arguments = [
        "market",
        "simulate",
        "--commands",
        "1500",
        "--instruments",
        "005930",
        "--journal",
        str(journal),
    ]
    assert CliRunner().invoke(app, arguments).exit_code == 0
    result = CliRunner().invoke(
        app, ["market", "recover", "--journal", str(journal), "--instruments", "005930"]
    )
    assert result.exit_code == 0, result.output
    assert "phase closed of trading day 2025-01-06" in result.output
    assert "commands replayed" in result.output


def test_the_simulator_never_adopts_another_participants_order() -> None:
    simulator = LiquiditySimulator({"005930": 71_500}, seed=1, first_order_id=1 << 60)
    foreign = PlaceOrder("005930", 42, Side.BUY, OrderType.LIMIT, TimeInForce.DAY, 71_000, 10, 1)
    accepted = OrderAccepted("005930", 42, Side.BUY, OrderType.LIMIT, TimeInForce.DAY, 71_000, 10, 1)
    simulator.observe(CommandResult(1, foreign, [accepted]))
    assert simulator.flows["005930"].find(42) is None
