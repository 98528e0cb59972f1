"""The sequencer: journal before publish, group commit, snapshots, recovery and replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbone.exchange.codec import command_from_wire
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.errors import InvalidCommand
from backbone.exchange.journal import FsyncPolicy, list_segments, read_journal
from backbone.exchange.messages import Command, CommandResult, PlaceOrder
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.exchange.sequencer import Sequencer, open_sequencer, recover, replay
from backbone.exchange.simulator import LiquiditySimulator
from backbone.exchange.snapshot import capture, list_snapshots
from tests.unit.exchange.builders import BASE_PRICES, T0, buy, phase, sell


class Published:
    """A publisher that also checks, at the moment of publishing, that the journal holds every
    result it is given: the rule "journaled before published"."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.results: list[CommandResult] = []
        self.batches = 0

    def __call__(self, results: list[CommandResult]) -> None:
        if self.directory is not None:
            journaled = {sequence for sequence, _ in read_journal(self.directory)}
            assert {result.sequence for result in results} <= journaled
        self.results.extend(results)
        self.batches += 1


def flow(count: int, *, seed: int = 3) -> list[Command]:
    """A deterministic stream of commands (the simulator, fed back by a private engine)."""
    engine = MatchingEngine(BASE_PRICES)
    simulator = LiquiditySimulator(BASE_PRICES, seed=seed)
    commands: list[Command] = [phase(SessionPhase.PRE_OPEN_AUCTION), phase(SessionPhase.CONTINUOUS)]
    for command in commands:
        simulator.observe(CommandResult(0, command, engine.handle(command)))
    for _ in range(count):
        command = simulator.next_command(T0)
        simulator.observe(CommandResult(0, command, engine.handle(command)))
        commands.append(command)
    return commands


def test_results_are_published_only_after_their_group_is_journaled(tmp_path: Path) -> None:
    published = Published(tmp_path)
    sequencer, _ = open_sequencer(
        tmp_path,
        BASE_PRICES,
        published,
        policy=FsyncPolicy.GROUP,
        group_commands_max=3,
    )
    sequencer.submit(phase(SessionPhase.PRE_OPEN_AUCTION))
    sequencer.submit(buy(1, 71_000, 1))
    assert published.results == []
    assert list(read_journal(tmp_path)) == []
    sequencer.submit(sell(2, 72_000, 1))  # the group is full: it is written while the next one fills
    assert published.results == []
    for order_id in (3, 4, 5):
        sequencer.submit(buy(order_id, 70_000, 1))
    assert [result.sequence for result in published.results] == [1, 2, 3]  # durable, published
    sequencer.flush()
    assert [result.sequence for result in published.results] == [1, 2, 3, 4, 5, 6]
    assert published.batches == 2
    sequencer.close()


def test_flush_publishes_a_partial_group(tmp_path: Path) -> None:
    published = Published(tmp_path)
    sequencer, _ = open_sequencer(tmp_path, BASE_PRICES, published, policy=FsyncPolicy.GROUP)
    sequencer.submit(phase(SessionPhase.PRE_OPEN_AUCTION))
    sequencer.flush()
    assert [result.sequence for result in published.results] == [1]
    sequencer.close()


def test_always_policy_publishes_each_command_on_its_own(tmp_path: Path) -> None:
    published = Published(tmp_path)
    sequencer, _ = open_sequencer(tmp_path, BASE_PRICES, published, policy=FsyncPolicy.ALWAYS)
    sequencer.submit(phase(SessionPhase.PRE_OPEN_AUCTION))
    sequencer.submit(buy(1, 71_000, 1))
    assert published.batches == 2
    sequencer.close()


def test_recovery_rebuilds_the_engine_exactly(tmp_path: Path) -> None:
    sequencer, _ = open_sequencer(tmp_path, BASE_PRICES, Published(), policy=FsyncPolicy.NONE)
    for command in flow(3_000):
        sequencer.submit(command)
    sequencer.close()
    recovery = recover(tmp_path, BASE_PRICES)
    assert capture(recovery.engine) == capture(sequencer.engine)
    assert (recovery.next_sequence, recovery.replayed, recovery.snapshot_sequence) == (3_003, 3_002, 0)


def test_snapshot_bounds_replay_and_recovery_still_rebuilds_the_engine_exactly(tmp_path: Path) -> None:
    sequencer, _ = open_sequencer(tmp_path, BASE_PRICES, Published(), policy=FsyncPolicy.NONE)
    commands = flow(3_000)
    for position, command in enumerate(commands, start=1):
        sequencer.submit(command)
        if position == 2_000:
            sequencer.snapshot()
    sequencer.close()
    assert [segment.first_sequence for segment in list_segments(tmp_path)] == [1, 2_001]
    assert len(list_snapshots(tmp_path)) == 1
    recovery = recover(tmp_path, BASE_PRICES)
    assert (recovery.snapshot_sequence, recovery.replayed) == (2_000, 1_002)
    assert capture(recovery.engine) == capture(sequencer.engine)


def test_recovered_sequencer_continues_the_sequence_and_the_journal(tmp_path: Path) -> None:
    first, _ = open_sequencer(tmp_path, BASE_PRICES, Published(), policy=FsyncPolicy.GROUP)
    first.submit(phase(SessionPhase.PRE_OPEN_AUCTION))
    first.submit(buy(1, 71_000, 1))
    first.close()
    published = Published(tmp_path)
    second, recovery = open_sequencer(tmp_path, BASE_PRICES, published, policy=FsyncPolicy.GROUP)
    assert recovery.next_sequence == 3
    assert second.submit(buy(1, 71_000, 1)) == 3
    second.close()
    assert published.results[0].events[0].KIND == "order_rejected"  # a duplicate, applied once only
    assert [sequence for sequence, _ in read_journal(tmp_path)] == [1, 2, 3]


def test_replay_gives_the_published_results_again(tmp_path: Path) -> None:
    published = Published()
    sequencer, _ = open_sequencer(tmp_path, BASE_PRICES, published, policy=FsyncPolicy.NONE)
    for command in flow(2_000):
        sequencer.submit(command)
    sequencer.close()
    assert list(replay(tmp_path, BASE_PRICES)) == published.results


def test_sequencer_without_a_journal_publishes_per_group() -> None:
    published = Published()
    sequencer = Sequencer(MatchingEngine(BASE_PRICES), None, published, group_commands_max=2)
    sequencer.submit(phase(SessionPhase.PRE_OPEN_AUCTION))
    assert published.results == []
    sequencer.submit(buy(1, 71_000, 1))
    assert len(published.results) == 2


def test_client_command_is_read_from_its_json_object_and_stamped() -> None:
    wire = {
        "type": "place_order",
        "instrument": "005930",
        "order_id": 5,
        "side": "buy",
        "order_type": "limit",
        "time_in_force": "ioc",
        "price": 71_000,
        "quantity": 3,
    }
    command = command_from_wire(wire, timestamp_ns=T0)
    assert command == PlaceOrder("005930", 5, Side.BUY, OrderType.LIMIT, TimeInForce.IOC, 71_000, 3, T0)
    assert command.to_wire() == {**wire, "timestamp_ns": T0}


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "launch_rocket"},
        {"type": "cancel_order", "instrument": "005930", "order_id": "5"},
        {"type": "cancel_order", "instrument": "005930", "order_id": True},
        {"type": "cancel_order", "instrument": "", "order_id": 5},
        {"type": "cancel_order", "instrument": "005930", "order_id": 2**64},
        {"type": "modify_order", "instrument": "005930", "order_id": 5, "price": 1.5, "quantity": 1},
        {"type": "place_order", "instrument": "005930", "order_id": 5, "side": "BID"},
        {"type": "change_session_phase", "phase": None},
    ],
)
def test_malformed_client_command_is_refused_before_it_gets_a_sequence(wire: dict[str, object]) -> None:
    with pytest.raises(InvalidCommand):
        command_from_wire(wire, timestamp_ns=T0)
